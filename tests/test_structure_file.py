"""Structures for the ABINIT engine from files ASE reads: a CIF-started input on tiny settings (not run).

The CIF and POSCAR files are written by ASE from the built-in layer and read back
independently by ASE; the ABINIT input's rprim and xred are parsed from its text.
"""

import ase.io
import numpy as np
import pytest

from phonomag.cli.abinit_setup import abinit_structure
from phonomag.cli.config import load_run_config
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.crystal.structure_file import StructureFileError, read_layer
from phonomag.io.abinit.inputs import AbinitSettings, phonon_input

SPEC = load_material("WSe2")


@pytest.fixture()
def cif(tmp_path):
    """The WSe2 layer as a CIF, as a user would bring it (Se_b wrapped to the top of the cell)."""
    layer = SPEC.atoms.copy()
    layer.pbc = True
    path = tmp_path / "WSe2.cif"
    ase.io.write(path, layer, format="cif")
    return path


def tiny_settings(folder):
    """ecut 5 Ha, 3×3×1 k, stand-in pseudopotential files (only their valence line is read)."""
    (folder / "74w.14.hgh").write_text("W stand-in\n74 14 0\n")
    (folder / "34se.6.hgh").write_text("Se stand-in\n34 6 0\n")
    return AbinitSettings(ecut=5.0, kgrid=(3, 3, 1), spin_orbit=True, pseudo_dir=folder)


def block(text, name, rows):
    lines = text.splitlines()
    start = lines.index(name) + 1
    return np.array([[float(x) for x in line.split()] for line in lines[start:start + rows]])


def test_cif_started_abinit_input(cif, tmp_path):
    atoms = abinit_structure(SPEC, 18.0, str(cif))
    text = phonon_input(atoms, tiny_settings(tmp_path), [[1 / 3, 1 / 3, 0]])
    (tmp_path / "phonons.abi").write_text(text)
    read = ase.io.read(cif)  # the CIF as ASE alone reads it
    rprim = block(text, "rprim", 3)
    xred = block(text, "xred", len(read))
    assert np.allclose(rprim[:2], read.cell.array[:2], atol=1e-6)
    assert np.allclose(rprim[2], [0, 0, 18.0])
    in_plane = xred[:, :2] - read.get_scaled_positions()[:, :2]
    assert np.allclose(in_plane, np.round(in_plane), atol=1e-8)
    z = xred[:, 2] * 18.0
    assert np.ptp(z) == pytest.approx(2 * 1.665697, abs=1e-5)  # one slab, not split by the boundary
    assert abs(z.mean()) < 1.0
    assert "ecut 5" in text and "ngkpt 3 3 1" in text and "nspinor 2" in text
    assert "typat 1 2 2" in text and "znucl 74 34" in text


def test_other_formats_and_the_run_configuration(cif, tmp_path):
    poscar = tmp_path / "POSCAR"
    ase.io.write(poscar, ase.io.read(cif), format="vasp")
    assert np.allclose(read_layer(poscar, 8.0).positions, read_layer(cif, 8.0).positions, atol=1e-6)
    config = tmp_path / "run.toml"
    config.write_text('[run]\nengine = "abinit"\n[abinit]\nkgrid = [3, 3, 1]\nq = ["K"]\nstructure = "WSe2.cif"\n')
    assert load_run_config(config).abinit.structure == str(cif)


def test_files_that_are_not_one_layer_with_vacuum_are_refused(cif, tmp_path, capsys):
    layer = ase.io.read(cif)
    squeezed = layer.copy()
    squeezed.set_cell([layer.cell[0], layer.cell[1], [0, 0, 7.0]], scale_atoms=False)
    squeezed.wrap()
    ase.io.write(tmp_path / "squeezed.cif", squeezed)
    with pytest.raises(StructureFileError, match="vacuum"):
        read_layer(tmp_path / "squeezed.cif", 8.0)
    bilayer = layer.copy()
    bilayer.set_cell([layer.cell[0], layer.cell[1], [0, 0, 30.0]], scale_atoms=False)
    upper = bilayer.copy()
    upper.positions += [0, 0, 6.5]
    ase.io.write(tmp_path / "bilayer.cif", bilayer + upper)
    with pytest.raises(StructureFileError, match="2 × 2D"):
        read_layer(tmp_path / "bilayer.cif", 8.0)
    (tmp_path / "junk.cif").write_text("this is not a crystal\n")
    with pytest.raises(StructureFileError, match="ASE cannot read"):
        read_layer(tmp_path / "junk.cif", 8.0)
    ase.io.write(tmp_path / "reordered.cif", layer[[1, 0, 2]])
    with pytest.raises(Exception, match="same atoms in the same order"):
        abinit_structure(SPEC, 18.0, str(tmp_path / "reordered.cif"))
    config = tmp_path / "run.toml"
    config.write_text('[run]\nengine = "abinit"\n[abinit]\nstructure = "bilayer.cif"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(config), "-o", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("phonomag: error:") and "abinit.structure" in err and len(err.strip().splitlines()) == 1


def test_a_model_file_can_take_its_structure_from_a_cif(cif):
    """[structure] file = "WSe2.cif" with the built-in labels gives the built-in model's bands."""
    from phonomag.engines.tightbinding.model import TightBindingModel

    text = (SPEC.base_dir / "WSe2.toml").read_text()
    start, end = text.index("[structure]"), text.index("[species.W]")
    variant = text[:start] + '[structure]\nfile = "WSe2.cif"\nlabels = ["W", "Se_t", "Se_b"]\n\n' + text[end:]
    variant = variant.replace('"../phonons/', f'"{SPEC.base_dir.parent}/phonons/')
    (cif.parent / "WSe2_from_cif.toml").write_text(variant)
    spec = load_material(cif.parent / "WSe2_from_cif.toml")
    assert spec.labels == SPEC.labels
    assert np.allclose(spec.atoms.positions, SPEC.atoms.positions, atol=1e-6)
    k = np.array([[1 / 3, 1 / 3, 0], [0.5, 0, 0], [0.1, 0.2, 0]])
    bands = np.linalg.eigvalsh(TightBindingModel.from_material(spec).hamiltonian(k))
    reference = np.linalg.eigvalsh(TightBindingModel.from_material(SPEC).hamiltonian(k))
    assert np.allclose(bands, reference, atol=1e-8)
