"""ABINIT inputs, mode → perturbation coefficients and mode pairing (no abinit needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from phonomag.crystal.materials import load_material
from phonomag.engines.abinit.perturbations import perturbation_coefficients
from phonomag.io.abinit.inputs import (
    HGH_DIR,
    AbinitInputError,
    AbinitSettings,
    default_pseudopotential,
    phonon_input,
    pseudopotential_names,
    response_ground_state_input,
    response_perturbation_input,
    split_perturbations,
)
from phonomag.response.comparison import pair_modes

HGH = AbinitSettings().pseudo_dir


@pytest.fixture(scope="module")
def atoms():
    return load_material("WSe2").atoms.copy()


def _variables(text):
    """name → list of words, for the one-line variables of an input."""
    out = {}
    for line in text.splitlines():
        words = line.split()
        i = 0
        while i < len(words):
            if words[i][0].isalpha():
                j = i + 1
                while j < len(words) and not words[j][0].isalpha():
                    j += 1
                out[words[i]] = words[i + 1:j]
                i = j
            else:
                i += 1
    return out


@pytest.mark.skipif(not HGH.is_dir(), reason="HGH pseudopotentials of abinit-data not installed")
def test_structure_and_bands_of_a_phonon_input(atoms):
    text = phonon_input(atoms, AbinitSettings(), [[0, 0, 0], [1 / 3, 1 / 3, 0]])
    variables = _variables(text)
    assert variables["ndtset"] == ["3"] and variables["natom"] == ["3"]
    assert variables["typat"] == ["1", "2", "2"] and variables["znucl"] == ["74", "34"]
    assert variables["nband"] == ["13"]  # 14 + 2 × 6 valence electrons, two per band
    assert variables["kptopt2"] == ["2"] and variables["kptopt3"] == ["3"]
    lines = text.splitlines()
    start = lines.index("rprim")
    cell = np.array([[float(x) for x in lines[start + 1 + n].split()] for n in range(3)])
    assert np.allclose(cell, atoms.cell.array, atol=1e-9)
    start = lines.index("xred")
    frac = np.array([[float(x) for x in lines[start + 1 + n].split()] for n in range(3)])
    assert np.allclose(frac @ atoms.cell.array, atoms.positions, atol=1e-9)


@pytest.mark.skipif(not HGH.is_dir(), reason="HGH pseudopotentials of abinit-data not installed")
def test_response_inputs_use_spinors_and_all_occupied_bands(atoms, tmp_path):
    settings = AbinitSettings(spin_orbit=True)
    ground = _variables(response_ground_state_input(atoms, settings))
    assert ground["nspinor"] == ["2"] and ground["nsym"] == ["1"] and ground["iomode"] == ["3"]
    assert ground["nband"] == ["30"] and ground["nbdbuf"] == ["4"]
    groups = split_perturbations(len(atoms), 2)
    texts = [_variables(response_perturbation_input(atoms, settings, [1 / 3, 1 / 3, 0], g, tmp_path / "w"))
             for g in groups]
    assert all(t["nband"] == ["26"] and t["nspinor"] == ["2"] for t in texts)
    assert texts[0]["rfatpol1"] == ["1", "1"] and texts[0]["rfdir1"] == ["1", "1", "1"]
    assert texts[0]["rfdir2"] == ["1", "1", "0"] and texts[1]["rfdir1"] == ["0", "0", "1"]


def test_perturbations_are_split_without_gaps_or_overlaps():
    for natoms in (1, 3, 4):
        for workers in (1, 2, 3, 5):
            groups = split_perturbations(natoms, workers)
            perts = [(a, d) for g in groups for a, mask in g for d in range(3) if mask[d]]
            assert sorted(perts) == [(a, d) for a in range(1, natoms + 1) for d in range(3)]
            sizes = [sum(sum(m) for _, m in g) for g in groups]
            assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("kwargs, q, message", [
    ({"spin_orbit": True}, [0.25, 0, 0], "not on the k grid"),
    ({"spin_orbit": False}, [1 / 3, 1 / 3, 0], "needs spin_orbit"),
    ({"spin_orbit": True, "pseudo_dir": Path("/nonexistent")}, [0, 0, 0], "no pseudopotential for W, Se"),
])
def test_bad_response_inputs_are_named(atoms, kwargs, q, message, tmp_path):
    with pytest.raises(AbinitInputError, match=message):
        response_perturbation_input(atoms, AbinitSettings(**kwargs), q, [(1, (1, 1, 1))], tmp_path / "w")


@pytest.mark.parametrize("kwargs", [{"ecut": 0.1}, {"kgrid": (6, 6)}, {"kgrid": (6, 0, 1)}])
def test_bad_settings_are_named(kwargs):
    with pytest.raises(AbinitInputError):
        AbinitSettings(**kwargs)


def test_perturbation_coefficients_rebuild_the_displacement(atoms):
    # Σ_i x_κi a_i e^{iq·R} must be the mode's U_κ e^{iq·(R + τ_κ)} for every cell R
    rng = np.random.default_rng(3)
    q = np.array([1 / 3, 1 / 3, 0])
    u = rng.normal(size=(2, 3, 3)) + 1j * rng.normal(size=(2, 3, 3))
    x = perturbation_coefficients(u, atoms, q)
    cell = atoms.cell.array
    for r in ([0, 0, 0], [1, 0, 0], [2, -1, 0]):
        phase_r = np.exp(2j * np.pi * q @ np.array(r))
        abinit = np.einsum("mki,ia->mka", x, cell) * phase_r
        tau_phase = np.exp(1j * (np.array(r) @ cell + atoms.positions) @ (2 * np.pi * q @ atoms.cell.reciprocal()))
        assert np.allclose(abinit, u * tau_phase[None, :, None])


def test_modes_pair_by_parity_and_rank():
    a = np.array([1, -1, 1, -1, 1])
    b = np.array([-1, 1, 1, -1, 1])
    assert pair_modes(a, b).tolist() == [1, 0, 2, 3, 4]
    with pytest.raises(ValueError, match="parity"):
        pair_modes(a, np.array([1, 1, 1, -1, 1]))


def test_off_grid_q_reads_the_k_plus_q_states(atoms, tmp_path):
    """Off the k grid the DFPT input reads the k + q wavefunctions of a non-self-consistent run on the
    grid shifted by q (ABINIT adds qpt to every k of a ground-state dataset with nqpt 1)."""
    from phonomag.io.abinit.inputs import response_wfq_input

    settings = AbinitSettings(spin_orbit=True, kgrid=(6, 6, 1))
    q = [0.25, 0.1, 0.0]
    nscf = response_wfq_input(atoms, settings, q, tmp_path / "gso_DEN.nc")
    assert "iscf -2" in nscf and "nqpt 1 qpt 0.250000000000000 0.100000000000000 0.000000000000000" in nscf
    assert f'getden_filepath "{tmp_path / "gso_DEN.nc"}"' in nscf
    dfpt = response_perturbation_input(atoms, settings, q, [(1, (1, 1, 1))], tmp_path / "w", tmp_path / "q")
    assert f'getwfq_filepath "{tmp_path / "q"}"' in dfpt and "qpt 0.250000000000000 0.100000000000000" in dfpt
    on_grid = response_perturbation_input(atoms, settings, [1 / 3, 1 / 3, 0], [(1, (1, 1, 1))], tmp_path / "w")
    assert "getwfq" not in on_grid  # the production inputs on the grid are unchanged


def test_default_pseudopotentials_follow_one_rule(tmp_path):
    """Semicore valence for the d block, the smallest valence otherwise; overrides win; the set's actual files."""
    for name in ("74w.14.hgh", "74w.6.hgh", "34se.6.hgh", "31ga.13.hgh", "31ga.3.hgh", "78pt.10.hgh", "78pt.18.hgh",
                 "78pt.18.khgh"):
        (tmp_path / name).write_text("x\n0 0 0\n", encoding="utf-8")
    assert [default_pseudopotential(s, tmp_path) for s in ("W", "Se", "Ga", "Pt", "As")] == [
        "74w.14.hgh", "34se.6.hgh", "31ga.3.hgh", "78pt.18.hgh", None]
    settings = AbinitSettings(pseudo_dir=tmp_path, pseudos={"W": "74w.6.hgh"})
    assert pseudopotential_names(Atoms("WSe2"), settings) == {"W": "74w.6.hgh", "Se": "34se.6.hgh"}
    with pytest.raises(AbinitInputError, match="no pseudopotential for As in"):
        pseudopotential_names(Atoms("GaAs"), settings)


@pytest.mark.skipif(not HGH_DIR.is_dir(), reason="Debian's abinit-data is not installed (scripts/install_abinit.sh)")
def test_every_element_of_the_shipped_set_has_a_default():
    """The HGH set of abinit-data: the old hand-written defaults of WSe2 and MoS2 come out of the rule."""
    from ase.data import chemical_symbols

    names = {s: default_pseudopotential(s) for s in ("W", "Se", "Mo", "S", "Ga", "As", "Pt", "Sb", "Te", "Pb")}
    assert (names["W"], names["Se"], names["Mo"], names["S"]) == ("74w.14.hgh", "34se.6.hgh", "42mo.14.hgh",
                                                                    "16s.6.hgh")
    assert all((HGH_DIR / name).is_file() for name in names.values())
    assert sum(default_pseudopotential(s) is not None for s in chemical_symbols[1:87]) >= 80


def test_the_spin_orbit_switch_keeps_the_spinors():
    """spin_orbit_terms = False: the same spinor input with so_psp 0 for every species (the control of
    tests/test_spin_orbit_switch.py)."""
    from ase.build import bulk

    from phonomag.io.abinit.inputs import AbinitSettings, electron_block

    atoms = bulk("AlSb", "zincblende", a=6.1355)
    on = electron_block(atoms, AbinitSettings(ecut=5.0, kgrid=(2, 2, 2), spin_orbit=True))
    off = electron_block(atoms, AbinitSettings(ecut=5.0, kgrid=(2, 2, 2), spin_orbit=True, spin_orbit_terms=False))
    assert "so_psp" not in on and off.splitlines()[:-1] == on.splitlines()
    assert off.splitlines()[-1] == "so_psp 0 0"
