"""`phonomag run` with the kernel engine ([run] engine = "kernel"), on synthetic reduced DFPT files.

The files are written by the DFPT reduction itself (random N on a small FFT grid), so the
whole path — files → symmetry → kernel → pipeline → results.nc, Fig. 3, maps — runs
without ABINIT. The physics of the kernel is tested in test_kernel_symmetry/interpolation.
"""

import numpy as np
import pytest
import xarray as xr
from ase import units

from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.engines.abinit.pattern_response import reduce_patterns
from phonomag.engines.base import EngineCapabilityError
from phonomag.io.netcdf import write_dataset
from phonomag.response.modes import results_variables

IRREDUCIBLE_3X3 = [(0, 0), (1, 0), (1, 1)]


def write_reduced_files(folder, steps_list):
    spec = load_material("WSe2")
    atoms = spec.atoms.copy()
    atoms.set_cell([*atoms.cell.array[:2], [0, 0, 12.0]], scale_atoms=False)
    rng = np.random.default_rng(11)
    for steps in steps_list:
        q = np.array([steps[0] / 3, steps[1] / 3, 0.0])
        responses = {(k, i): 1e-3 * (rng.normal(size=(2, 2, 6, 6, 16)) + 1j * rng.normal(size=(2, 2, 6, 6, 16)))
                     for k in range(3) for i in range(3)}
        data = reduce_patterns(responses, atoms, q, atoms.get_volume() / units.Bohr**3, 0.5,
                               {"qgrid": [3, 3, 1], "kgrid": [3, 3, 1], "engine": "synthetic test data"})
        write_dataset(data, folder / f"q_{steps[0]}_{steps[1]}_0.nc")


CONFIG = """
[run]
engine = "kernel"
[kernel]
data = "data"
[path]
npoints = 13
[maps]
cells = [2, 2]
points_per_cell = 12
frames = 2
[[maps.modes]]
name = "K_odd"
q = "K"
mode = "odd:0"
style = "in-plane"
"""


def test_run_with_the_kernel_engine(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    write_reduced_files(tmp_path / "data", IRREDUCIBLE_3X3)
    (tmp_path / "run.toml").write_text(CONFIG)
    main(["run", "-c", str(tmp_path / "run.toml"), "-o", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    with xr.open_dataset(tmp_path / "out" / "results.nc") as data:
        assert data.attrs["engine"] == "dfpt-kernel" and set(data.data_vars) == results_variables("layer")
        assert data.sizes["q"] == 13 and list(data["site"].values) == ["cell"]
        assert np.all(np.isfinite(data["rms"].values))
    out = tmp_path / "out"
    assert (out / "fig3_magnetization_dispersion.png").stat().st_size > 0
    assert (out / "maps" / "K_odd.png").stat().st_size > 0
    # reduced files of format 2 hold the whole cell: the kernel gives volume fields, so field files are written
    assert {p.name for p in out.glob("maps/*.cube")} == {f"K_odd_{c}.cube" for c in ("n0", "mx", "my")}
    assert "field files: none" not in printed
    # the tight-binding model beside it, on the same path and phonons
    with xr.open_dataset(out / "results.nc") as data, xr.open_dataset(out / "model_results.nc") as model:
        assert model.attrs["engine"] == "tight-binding" and set(model.data_vars) == results_variables("layer")
        assert np.array_equal(model["qpoint"].values, data["qpoint"].values)
        assert np.array_equal(model["frequency"].values, data["frequency"].values)
        assert np.all(model["rms"].values >= 0) and model["rms"].values.max() > 0
    table = (out / "model_vs_dfpt.txt").read_text().splitlines()
    assert [row.split()[0] for row in table[1:]] == ["K"] * 9 + ["M"] * 9  # the default summary q
    assert (out / "fig3_model_vs_dfpt.png").stat().st_size > 0 and "model (tight-binding" in printed


def test_incomplete_kernel_data_is_one_line(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    write_reduced_files(tmp_path / "data", IRREDUCIBLE_3X3[:2])  # K missing
    (tmp_path / "run.toml").write_text(CONFIG)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(tmp_path / "run.toml"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "do not reach" in err and "(1, 1, 0)" in err and "wse2_response_kernel.py" in err
    assert not (tmp_path / "out" / "results.nc").exists()


@pytest.mark.parametrize("text,needle", [
    ("[response]\nkgrid = [2000, 2000, 1]", "GB of memory"),
    ("[response]\nkgrid = [200, 200, 1]\n[path]\nnpoints = 30000", "--force"),
])
def test_the_model_beside_the_kernel_is_sized_before_anything_is_written(tmp_path, capsys, text, needle):
    """A kernel run also computes the tight-binding model on its path ([response] kgrid): a model too big
    for the machine, or too slow, stops the run before anything is written, as in a model run."""
    (tmp_path / "data").mkdir()
    write_reduced_files(tmp_path / "data", IRREDUCIBLE_3X3)
    (tmp_path / "run.toml").write_text("[run]\nengine = \"kernel\"\n[kernel]\ndata = \"data\"\n" + text)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(tmp_path / "run.toml"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("phonomag: error:") and needle in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_engine_auto_takes_a_complete_kernel_and_says_why_otherwise(tmp_path, monkeypatch):
    """engine = "auto" (the default): the shipped kernel of a built-in material when it is complete and
    the run asks for the static one-sided response; else the model, with the reason in the summary; an
    incomplete shipped kernel stops the run unless [run] fallback = "model"."""

    from phonomag.cli import run as run_module
    from phonomag.cli import systems
    from phonomag.cli.config import RunConfig

    spec = load_material("WSe2")
    assert RunConfig().run.engine == "auto"
    complete, partial = tmp_path / "complete", tmp_path / "partial"
    complete.mkdir(), partial.mkdir()
    write_reduced_files(complete, IRREDUCIBLE_3X3)
    write_reduced_files(partial, IRREDUCIBLE_3X3[:2])
    monkeypatch.setitem(systems.SHIPPED_KERNELS, "WSe2", complete)
    config, why, engine = run_module.resolve_engine(RunConfig(), spec)
    assert config.run.engine == "kernel" and engine.name == "dfpt-kernel" and str(complete) in why
    config, why, engine = run_module.resolve_engine(RunConfig().updated({"response.kind": "full"}), spec)
    assert config.run.engine == "model" and engine is None and "not the full response" in why
    monkeypatch.setitem(systems.SHIPPED_KERNELS, "WSe2", partial)
    with pytest.raises(EngineCapabilityError, match=r"not usable.*\(1, 1, 0\).*--engine model"):
        run_module.resolve_engine(RunConfig(), spec)  # never the model silently
    config, why, engine = run_module.resolve_engine(RunConfig().updated({"run.fallback": "model"}), spec)
    assert config.run.engine == "model" and "not usable" in why and "(1, 1, 0)" in why and "fallback" in why
    explicit = RunConfig().updated({"run.engine": "model"})
    assert run_module.resolve_engine(explicit, spec) == (explicit, None, None)
    monkeypatch.delitem(systems.SHIPPED_KERNELS, "WSe2")
    config, why, engine = run_module.resolve_engine(RunConfig(), spec)
    assert config.run.engine == "model" and "no first-principles kernel for WSe2" in why


def test_sqw_takes_the_kernel_where_it_can(tmp_path, monkeypatch):
    """phonomag sqw with engine auto: the complete shipped kernel for in-plane G (its amplitudes at G = 0
    are the kernel's cell moments of the modes); for an out-of-plane G the kernel of format 2 (the whole cell),
    the model where the data is of format 1 (the shipped WSe₂); "kernel" there is one line."""
    from phonomag.cli import systems
    from phonomag.cli.sqw import sqw_overview
    from phonomag.cli.systems import load_phonons
    from phonomag.engines.base import compute_mode_response
    from phonomag.engines.kernel.engine import KernelEngine

    (tmp_path / "data").mkdir()
    write_reduced_files(tmp_path / "data", IRREDUCIBLE_3X3)
    monkeypatch.setitem(systems.SHIPPED_KERNELS, "WSe2", tmp_path / "data")
    lines = sqw_overview("WSe2", tmp_path / "a", npoints=7, kgrid=(3, 3, 1))
    assert "engine dfpt-kernel" in lines[0] and "first-principles response kernel" in lines[1]
    with xr.open_dataset(tmp_path / "a" / "sqw.nc") as data:
        assert data.attrs["engine"] == "dfpt-kernel"
        amplitudes = data["amplitude"].values[..., 0] + 1j * data["amplitude"].values[..., 1]
        at_zero_g = np.all(data["G_reduced"].values == 0, axis=1)  # Q = q (not folded): the cell moments
        q = data["q_reduced"].values[at_zero_g]
    spec = load_material("WSe2")
    kernel = KernelEngine.from_reduced_files(tmp_path / "data", spec.labels)
    moments = compute_mode_response(kernel, load_phonons(spec).modes(q), progress=False)
    assert at_zero_g.sum() >= 5
    assert np.allclose(np.abs(amplitudes[at_zero_g]), np.sqrt(2) * moments.rms, rtol=1e-10, atol=1e-14)
    # format 2 holds the whole cell: G₃ ≠ 0 from the kernel too, by "auto" and by name
    lines = sqw_overview("WSe2", tmp_path / "b", npoints=7, kgrid=(3, 3, 1), g_shift=(0, 0, 1))
    assert "engine dfpt-kernel" in lines[0]
    sqw_overview("WSe2", tmp_path / "c", npoints=7, kgrid=(3, 3, 1), g_shift=(0, 0, 1), engine_choice="kernel")
    # the shipped WSe₂ data (format 1: planes and the z integral) has in-plane G only: auto takes the model
    monkeypatch.undo()
    lines = sqw_overview("WSe2", tmp_path / "d", npoints=7, kgrid=(3, 3, 1), g_shift=(0, 0, 1))
    assert "engine tight-binding" in lines[0] and "out-of-plane" in lines[1]
    with pytest.raises(Exception, match="in-plane G only"):
        sqw_overview("WSe2", tmp_path / "e", npoints=7, kgrid=(3, 3, 1), g_shift=(0, 0, 1), engine_choice="kernel")


def test_the_kernels_own_phonons_need_its_ddb_files(tmp_path, capsys):
    """[kernel] phonons = "kernel" reads the DDB files beside the reduced files (none in synthetic data:
    one line, nothing written); with an engine that is not the kernel (chosen, or what "auto" took
    for the full response) it is a configuration error."""
    (tmp_path / "data").mkdir()
    write_reduced_files(tmp_path / "data", IRREDUCIBLE_3X3)
    (tmp_path / "run.toml").write_text(CONFIG.replace('data = "data"', 'data = "data"\nphonons = "kernel"'))
    (tmp_path / "full.toml").write_text('[response]\nkind = "full"\n[kernel]\ndata = "data"\nphonons = "kernel"')
    for name, options, needle in (("run", [], "no DDB files q_*_DDB"),
                                  ("run", ["--engine", "model"], "needs the kernel engine"),
                                  ("full", [], "not the full response)): kernel.phonons")):
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "-c", str(tmp_path / f"{name}.toml"), "-o", str(tmp_path / "out"), *options])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.startswith("phonomag: error:") and needle in err, err
        assert len(err.strip().splitlines()) == 1
        assert not (tmp_path / "out" / "results.nc").exists()
