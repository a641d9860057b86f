"""End to end: `phonomag run` on small settings writes everything, and a re-run reuses it."""

import json

import numpy as np
import pytest
import xarray as xr
from file_checks import UNITS, check_cf_metadata, phonopy_frequencies, plot_against_path_distance

from phonomag import __version__
from phonomag.cli.main import main
from phonomag.io.netcdf import complex_from
from phonomag.response.modes import read_results, results_variables

#: The tight-binding engine's pipeline, with its field files (the default engine "auto" takes the shipped
#: first-principles kernel for WSe₂ once it is complete: test_kernel_run.py).
CONFIG = """
[run]
engine = "model"
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
                 "maps/K_odd_mx.xsf", "phonopy_params.yaml"):
        assert (out / name).stat().st_size > 0, name


def test_results_file_is_self_describing(finished_run):
    config, out = finished_run
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["phonomag_version"] == __version__
        assert json.loads(ds.attrs["run_configuration"])["response"]["kgrid"] == [9, 9, 1]
        assert json.loads(ds.attrs["material_file"])["material"]["name"] == "WSe2"
        assert ds.attrs["material"] == "WSe2"  # the material's name, not a species
        assert ds["frequency"].attrs["units"] == "meV"
        assert ds.attrs["engine"] == "tight-binding" and set(ds.data_vars) == results_variables("layer")
        assert ds["cell_moment"].attrs["units"] == "1"
        assert "electrons per unit cell" in ds["cell_moment"].attrs["long_name"]
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


def test_results_file_has_cf_metadata_that_pint_reads(finished_run):
    """Every units attribute parses in pint; qpoint, path_distance and label are coordinates,
    so a plot against path_distance works as the file is; m = −2 μ_B M in bohr_magneton."""
    from scipy.constants import physical_constants

    _, out = finished_run
    ds, units = check_cf_metadata(out / "results.nc")
    assert len(units) >= 12
    assert units["path_distance"] == UNITS.Unit("1/angstrom")
    assert units["magnetic_moment"] == UNITS.Unit("bohr_magneton")
    assert {"qpoint", "path_distance", "label"} <= set(ds.coords)
    lines = plot_against_path_distance(ds["frequency"])
    assert len(lines) == ds.sizes["mode"]
    assert np.array_equal(lines[0].get_xdata(), ds["path_distance"].values)
    corners = [str(x) for x in ds["label"].values if str(x)]
    assert corners == ["Γ", "M", "K", "Γ"]
    assert np.allclose(ds["qpoint"].values[ds["label"].values == "K"], [1 / 3, 1 / 3, 0])
    moment = ds.pint.quantify(unit_registry=UNITS)["magnetic_moment"].pint.to("J/T").pint.magnitude
    pauli_m = ds["cell_moment"].sel(component=["Mx", "My", "Mz"]).values
    assert np.allclose(moment, -2 * physical_constants["Bohr magneton"][0] * pauli_m, rtol=1e-6, atol=0)
    ds.close()


def test_phonopy_reads_the_exported_phonons(finished_run):
    """phonopy_params.yaml loaded by phonopy gives the frequencies of the run's engine at Γ, M, K."""
    from phonomag.cli.overviews import load_phonons
    from phonomag.crystal.materials import load_material

    _, out = finished_run
    q = np.array([[0, 0, 0], [0.5, 0, 0], [1 / 3, 1 / 3, 0], [0.1, 0.27, 0]])
    expected = load_phonons(load_material("WSe2")).modes(q).frequencies
    assert np.abs(phonopy_frequencies(out / "phonopy_params.yaml", q) - expected).max() <= 1e-6 * expected.max()
