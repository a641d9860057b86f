"""A material is a crystal plus optional parts: structure files are materials, a model file without [electrons]
or [phonons] is valid, and each missing part is named where it would be needed."""

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from phonomag.cli.systems import load_phonons
from phonomag.crystal.materials import load_material
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.errors import ModelFileError, PhononSourceError


@pytest.fixture
def wse2_cif(tmp_path):
    """The built-in WSe₂ layer written as a CIF with the layer off-centre (z shifted by 5 Å), pbc in 3D."""
    atoms = load_material("WSe2").atoms.copy()
    atoms.pbc = True
    atoms.positions[:, 2] += 5.0
    path = tmp_path / "WSe2_layer.cif"
    ase.io.write(path, atoms)
    return path


def test_a_layer_cif_is_a_material(wse2_cif):
    spec, builtin = load_material(wse2_cif), load_material("WSe2")
    assert spec.crystal.kind == "layer" and spec.name == "WSe2_layer" and not spec.has_model and not spec.phonons
    assert np.allclose(spec.atoms.positions, builtin.atoms.positions, atol=1e-5)  # centred at z = 0 again
    assert spec.crystal.space_group == builtin.crystal.space_group
    assert spec.labels == ("W", "Se_1", "Se_2")
    assert np.allclose(spec.atoms.get_masses(), builtin.atoms.get_masses(), rtol=1e-3)


def test_a_bulk_cif_stays_bulk(tmp_path):
    path = tmp_path / "GaAs.cif"
    ase.io.write(path, bulk("GaAs", "zincblende", a=5.65))
    spec = load_material(path)
    assert spec.crystal.kind == "bulk" and spec.crystal.space_group == ("F-43m", 216)
    # a₃ untouched (a CIF keeps lengths and angles, not the orientation)
    assert np.allclose(spec.atoms.cell.cellpar(), bulk("GaAs", "zincblende", a=5.65).cell.cellpar())
    assert spec.crystal.standard_path[:3] == ("G", "X", "W")


def test_missing_parts_are_named_where_needed(wse2_cif):
    spec = load_material(wse2_cif)
    with pytest.raises(ModelFileError, match="has no tight-binding model"):
        TightBindingModel.from_material(spec)
    with pytest.raises(PhononSourceError, match="has no \\[phonons\\]"):
        load_phonons(spec)


#: A zincblende GaAs model file with its structure only; SPECIES is appended.
GAAS = """
[material]
name = "GaAs"
[structure]
cell = [[0.0, 2.825, 2.825], [2.825, 0.0, 2.825], [2.825, 2.825, 0.0]]
[[structure.sites]]
species = "Ga"
fractional = [0, 0, 0]
[[structure.sites]]
species = "As"
fractional = [0.25, 0.25, 0.25]
"""


def test_a_model_file_without_electrons_or_phonons(tmp_path):
    (tmp_path / "m.toml").write_text(GAAS + "[species.As]\nmass = 75.0\n", encoding="utf-8")
    spec = load_material(tmp_path / "m.toml")
    assert not spec.has_model and spec.crystal.kind == "bulk"
    assert spec.atoms.get_masses().tolist() == pytest.approx([69.723, 75.0])


def test_model_keys_without_electrons_are_refused(tmp_path):
    (tmp_path / "m.toml").write_text(GAAS + '[species.As]\norbitals = ["s"]\n', encoding="utf-8")
    with pytest.raises(ModelFileError, match="only a tight-binding model"):
        load_material(tmp_path / "m.toml")


def test_a_built_in_name_wins_over_a_folder_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "WSe2").mkdir()
    assert load_material("WSe2").source == "built-in:WSe2"


def test_a_missing_structure_file_is_one_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_material(tmp_path / "nothing.cif")


def test_maps_by_the_numbers_for_a_material_without_maps(wse2_cif):
    """A structure file has no [[maps]]: the run picks, at K and M, the mode with the largest RMS M∥ and the one
    with the largest RMS M_z, without assuming σ_h. Independent check: σ_h (docs/physics.md §6.4) makes the
    largest in-plane M a σ_h-odd mode and the largest M_z a σ_h-even one; the built-in keeps its six maps."""
    from pathlib import Path

    from phonomag.cli.config import RunConfig
    from phonomag.cli.run import check_run

    config = RunConfig().updated({"run.material": str(wse2_cif), "run.engine": "kernel",
                                  "kernel.data": str(Path(load_material("WSe2").base_dir).parent / "response"
                                                     / "WSe2_soc_dfpt")})
    config, _, system, plans = check_run(config, wse2_cif.parent / "out")
    names = [m.name for m in config.maps.modes]
    assert names == ["K_largest_M_in_plane", "K_largest_M_z", "M_largest_M_in_plane", "M_largest_M_z"]
    for plan in plans:
        parity = system.phonons.modes(plan.q[None]).parity[0, plan.nu]
        assert parity == (-1 if plan.entry.style == "in-plane" else 1), plan.entry.name
    assert not (wse2_cif.parent / "out").exists()
    builtin = check_run(RunConfig(), wse2_cif.parent / "out2")[0]
    assert [m.name for m in builtin.maps.modes][:2] == ["K_acoustic_W_out_of_plane", "K_highest_acoustic"]


@pytest.mark.parametrize("command", ["dynamics", "sqw", "bands"])
def test_a_material_without_a_model_fails_before_any_file(wse2_cif, capsys, command):
    """The commands that need the tight-binding model say so in one line, and no output folder is made."""
    from phonomag.cli.main import main

    out = wse2_cif.parent / f"{command}_out"
    with pytest.raises(SystemExit) as done:
        main([command, "-m", str(wse2_cif), "-o", str(out)])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith("phonomag: error:") and "has no tight-binding model" in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
