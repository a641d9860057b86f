"""Kernel data is checked as a whole before use: each damaged copy of the shipped folder is refused with
one line naming the file and the reason (docs/kernel.md, "What is checked"); the intact copy passes."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from phonomag.cli.config import RunConfig
from phonomag.cli.main import main
from phonomag.cli.run import resolve_engine
from phonomag.cli.systems import BUILTIN_KERNEL_DATA, SHIPPED_KERNELS
from phonomag.crystal.materials import load_material
from phonomag.engines.kernel.data import MANIFEST, KernelDataError, write_manifest
from phonomag.engines.kernel.engine import KernelEngine, ReducedGrid
from phonomag.engines.kernel.symmetry import fill_grid, space_group
from phonomag.io.netcdf import split_complex

LABELS = load_material("WSe2").labels


def copy_data(tmp_path, manifest=False) -> Path:
    """The shipped reduced files (and, with ``manifest``, the DDB files and the manifest) in tmp_path/data."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in BUILTIN_KERNEL_DATA.iterdir():
        if path.suffix == ".nc" or manifest:
            shutil.copy(path, folder / path.name)
    return folder


def edit(path: Path, change, target: Path | None = None) -> Path:
    """Rewrite the reduced file ``path`` (to ``target``) after ``change(dataset)`` (returns the new dataset)."""
    with xr.open_dataset(path) as data:
        data = data.load()
    target = target or path
    new = change(data)
    target.unlink(missing_ok=True)
    new.to_netcdf(target)
    return target


def refused(folder: Path, *needles: str) -> str:
    with pytest.raises(KernelDataError) as info:
        KernelEngine.from_reduced_files(folder, LABELS)
    text = str(info.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text, text
    return text


def scaled(data, factor=1.5):
    data["zint"] = data["zint"] * factor
    data["plane"] = data["plane"] * factor
    return data


def test_intact_copy_passes_with_and_without_manifest(tmp_path):
    """The control: the shipped folder as shipped (manifest verified) and without its manifest."""
    folder = copy_data(tmp_path, manifest=True)
    with_manifest = KernelEngine.from_reduced_files(folder, LABELS)
    (folder / MANIFEST).unlink()
    without = KernelEngine.from_reduced_files(folder, LABELS)
    q = np.array([[0.25, 0.0, 0.0]])
    assert np.array_equal(with_manifest.kernel.cell_integrals(q, 0), without.kernel.cell_integrals(q, 0))
    # the shipped manifest is the one write_manifest gives for the shipped files
    assert write_manifest(folder).read_text() == (BUILTIN_KERNEL_DATA / MANIFEST).read_text()


def test_manifest_refuses_changed_extra_and_missing_files(tmp_path):
    folder = copy_data(tmp_path, manifest=True)
    edit(folder / "q_1_0_0.nc", scaled)
    refused(folder, "q_1_0_0.nc", "has changed")
    write_manifest(folder)  # the deliberate change, recorded
    KernelEngine.from_reduced_files(folder, LABELS)
    shutil.copy(folder / "q_2_0_0.nc", folder / "q_2_0_0_old.nc")
    refused(folder, "q_2_0_0_old.nc", "not in")
    (folder / "q_2_0_0_old.nc").unlink()
    (folder / "q_3_0_0_part1_DDB").unlink()
    refused(folder, "q_3_0_0_part1_DDB", "missing")


def test_second_file_for_a_grid_point(tmp_path):
    """q_1_0_0_old.nc, the fields of q_1_0_0.nc × 1.5: refused naming both files (it no longer wins)."""
    folder = copy_data(tmp_path)
    edit(folder / "q_1_0_0.nc", scaled, folder / "q_1_0_0_old.nc")
    refused(folder, "q_1_0_0.nc", "q_1_0_0_old.nc", "(1, 0, 0)")


def test_second_file_for_a_grid_point_through_a_reciprocal_vector(tmp_path):
    """q = (7/6, 0) is the grid point (1/6, 0) again."""
    folder = copy_data(tmp_path)

    def shifted(data):
        data["qpoint"] = data["qpoint"] + np.array([1.0, 0.0, 0.0])
        return data
    edit(folder / "q_1_0_0.nc", shifted, folder / "q_7_0_0.nc")
    refused(folder, "q_1_0_0.nc", "q_7_0_0.nc")


def test_qpoint_off_the_grid_is_refused_not_rounded(tmp_path):
    folder = copy_data(tmp_path)

    def off(data):
        data["qpoint"] = xr.DataArray([0.25, 0.0, 0.0], dims="reduced")
        return data
    edit(folder / "q_2_0_0.nc", off)
    refused(folder, "q_2_0_0.nc", "not on its 6×6×1 grid", "not rounded")
    # 1e-9 off the grid point is on it (file precision)
    edit(folder / "q_2_0_0.nc", lambda d: d.assign(qpoint=xr.DataArray([1 / 3 + 1e-9, 0.0, 0.0], dims="reduced")))
    ReducedGrid.read(sorted(folder.glob("q_*.nc")))


@pytest.mark.parametrize("name, value", [("ecut_hartree", 25.0), ("pseudopotentials", "74w.6.hgh, 34se.6.hgh"),
                                         ("engine", "ABINIT 9.8.0 DFPT with SOC + eq. 1 (phonomag)"),
                                         ("kgrid", np.array([12, 12, 1])), ("qgrid", np.array([3, 3, 1]))])
def test_file_of_another_calculation(tmp_path, name, value):
    """Every file's metadata is compared, not only the first file's: the last file is the changed one."""
    folder = copy_data(tmp_path)
    edit(folder / "q_3_0_0.nc", lambda data: data.assign_attrs({name: value}))
    refused(folder, "q_3_0_0.nc", "another calculation", name)


def test_atoms_in_another_order(tmp_path):
    folder = copy_data(tmp_path)

    def swapped(data):
        order = [0, 2, 1]
        return data.assign(positions=data["positions"][order].drop_vars("atom").assign_coords(atom=data.atom),
                           species=("atom", data["species"].values[[1, 0, 2]]))
    edit(folder / "q_2_2_0.nc", swapped)
    refused(folder, "q_2_2_0.nc", "atoms")


def test_one_nan(tmp_path):
    folder = copy_data(tmp_path)

    def nan(data):
        values = data["plane"].values.copy()
        values[1, 2, 0, 3, 5, 7, 0] = np.nan
        data["plane"] = (data["plane"].dims, values)
        return data
    edit(folder / "q_2_1_0.nc", nan)
    refused(folder, "q_2_1_0.nc", "'plane'", "not finite")


@pytest.mark.parametrize("damage", ["empty", "text", "truncated"])
def test_file_that_is_not_netcdf(tmp_path, damage):
    folder = copy_data(tmp_path)
    path = folder / "q_1_1_0.nc"
    content = path.read_bytes()
    path.write_bytes({"empty": b"", "text": b"not a netCDF file\n", "truncated": content[:len(content) // 2]}[damage])
    refused(folder, "q_1_1_0.nc")


@pytest.mark.parametrize("drop", ["plane", "positions", "height"])
def test_file_without_a_variable(tmp_path, drop):
    folder = copy_data(tmp_path)
    edit(folder / "q_0_0_0.nc", lambda data: data.drop_vars(drop))
    refused(folder, "q_0_0_0.nc", f"no variable {drop!r}")


@pytest.mark.parametrize("drop", ["kgrid", "ecut_hartree"])
def test_file_without_an_attribute(tmp_path, drop):
    folder = copy_data(tmp_path)

    def without(data):
        del data.attrs[drop]
        return data
    edit(folder / "q_3_0_0.nc", without)
    refused(folder, "q_3_0_0.nc", f"no attribute {drop!r}")


def test_symmetry_images_of_two_files_must_agree(tmp_path):
    """A file at (5/6, 0), the time-reversal image of (1/6, 0): its exact image passes (control), × 1.5 it is
    refused naming both files."""
    folder = copy_data(tmp_path)
    grid = ReducedGrid.read(sorted(folder.glob("q_*.nc")))
    image = fill_grid(grid.fields, grid.qgrid, space_group(grid.atoms), grid.atoms, grid.representation)[(5, 0, 0)]

    def at_five(factor):
        def change(data):
            data["qpoint"] = xr.DataArray([5 / 6, 0.0, 0.0], dims="reduced")
            data["zint"] = (data["zint"].dims, split_complex(factor * image[:, :, 0]))
            data["plane"] = (data["plane"].dims, split_complex(factor * image[:, :, 1:]))
            return data
        return change
    edit(folder / "q_1_0_0.nc", at_five(1.0), folder / "q_5_0_0.nc")
    KernelEngine.from_reduced_files(folder, LABELS)
    edit(folder / "q_1_0_0.nc", at_five(1.5), folder / "q_5_0_0.nc")
    refused(folder, "q_1_0_0.nc", "q_5_0_0.nc", "disagree", "(5, 0, 0)")


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return info.value.code, capsys.readouterr().err


def assert_refused(code, err, output: Path, *needles):
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("phonomag: error:"), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    # nothing but the run's lock in the output folder: no results, no summary, no figures
    assert not output.exists() or {p.name for p in output.iterdir()} <= {".phonomag.lock"}


def test_run_with_a_damaged_kernel_folder(tmp_path, capsys):
    folder = copy_data(tmp_path)
    edit(folder / "q_1_0_0.nc", scaled, folder / "q_1_0_0_old.nc")
    config = tmp_path / "run.toml"
    config.write_text('[run]\nengine = "kernel"\n[kernel]\ndata = "data"\n')
    output = tmp_path / "out"
    assert_refused(*run_cli(capsys, "run", "-c", str(config), "-o", str(output)), output,
                   "q_1_0_0.nc", "q_1_0_0_old.nc")


def test_auto_stops_on_an_unusable_shipped_kernel(tmp_path, capsys, monkeypatch):
    """An empty shipped file with engine = "auto": one line naming it, for run and sqw; the model only
    when asked ([run] fallback = "model", or --engine model)."""
    folder = copy_data(tmp_path, manifest=True)
    (folder / "q_2_2_0.nc").write_bytes(b"")
    monkeypatch.setitem(SHIPPED_KERNELS, "WSe2", folder)
    output = tmp_path / "out"
    assert_refused(*run_cli(capsys, "run", "-o", str(output)), output, "q_2_2_0.nc", "--engine model")
    assert_refused(*run_cli(capsys, "sqw", "-o", str(output)), output, "q_2_2_0.nc")
    (folder / MANIFEST).unlink()
    assert_refused(*run_cli(capsys, "run", "-o", str(output)), output, "q_2_2_0.nc", "empty")
    spec = load_material("WSe2")
    config, why, kernel = resolve_engine(RunConfig().updated({"run.fallback": "model"}), spec)
    assert config.run.engine == "model" and kernel is None
    assert "fallback" in why and "q_2_2_0.nc" in why
    # a decision the kernel cannot serve stays with the model, as before, with the reason
    config, why, kernel = resolve_engine(RunConfig().updated({"response.kind": "full"}), spec)
    assert config.run.engine == "model" and "full" in why


def test_files_of_two_formats_or_an_unknown_one(tmp_path):
    """A format-2 file beside the format-1 data is of another calculation; a format this phonomag does not know
    is named."""
    folder = copy_data(tmp_path)
    edit(folder / "q_3_0_0.nc", lambda data: data.assign_attrs(format_version=7))
    refused(folder, "q_3_0_0.nc", "format_version 7")
    edit(folder / "q_3_0_0.nc", lambda data: data.assign_attrs(format_version=1))
    refused(folder, "no attribute 'format_version'", "which other files of the folder have")
