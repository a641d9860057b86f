"""End to end: `phonomag run` on small settings writes everything, and a re-run reuses it."""

import json

import numpy as np
import pytest
import xarray as xr

from phonomag import __version__
from phonomag.cli.main import main
from phonomag.io.netcdf import complex_from
from phonomag.response.modes import read_results

CONFIG = """
[path]
npoints = 13
[response]
kgrid = [9, 9, 1]
[maps]
cells = [3, 3]
points_per_cell = 12
frames = 2
[[maps.modes]]
name = "K_odd"
q = "K"
mode = "odd:0"
style = "in-plane"
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    config = folder / "run.toml"
    config.write_text(CONFIG)
    main(["run", "-c", str(config), "-o", str(folder / "out")])
    return config, folder / "out"


def test_outputs_exist(finished_run):
    _, out = finished_run
    for name in ("results.nc", "summary.txt", "bands.png", "bands.pdf", "spin_texture.png", "phonons.pdf",
                 "fig3_magnetization_dispersion.png", "fig3_magnetization_dispersion.pdf",
                 "maps/K_odd.png", "maps/K_odd.pdf", "maps/K_odd_movie.gif", "maps/K_odd_n0.cube",
                 "maps/K_odd_mx.xsf"):
        assert (out / name).stat().st_size > 0, name


def test_results_file_is_self_describing(finished_run):
    config, out = finished_run
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["phonomag_version"] == __version__
        assert json.loads(ds.attrs["run_configuration"])["kgrid"] == [9, 9, 1]
        assert json.loads(ds.attrs["material_file"])["material"]["name"] == "WSe2"
        assert ds["frequency"].attrs["units"] == "meV"
        assert ds["cell_moment"].attrs["units"] == "electrons per cell"
        assert list(ds["part"].values) == ["real", "imag"]
        moments = complex_from(ds["cell_moment"])
        assert np.allclose(ds["rms"].values, np.abs(moments) / np.sqrt(2))
    data, ds = read_results(out / "results.nc")
    distances = ds["path_distance"].values
    assert data.frequencies.shape == (13, 9)
    assert np.all(np.diff(distances) > 0)


def test_rerun_reuses_finished_stages(finished_run, capsys):
    config, out = finished_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.suffix != ".json"}
    capsys.readouterr()
    main(["run", "-c", str(config), "-o", str(out)])
    printed = capsys.readouterr().out
    assert f"reused {out / 'results.nc'}" in printed
    after = {p: p.stat().st_mtime_ns for p in before}
    rewritten = [p.name for p in before if after[p] != before[p]]
    assert rewritten == ["summary.txt"]
