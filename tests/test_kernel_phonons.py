"""The shipped kernel's own phonons ([kernel] phonons = "kernel"): force constants of the 6×6
supercell from the SOC DFPT dynamical matrices (the DDB files beside the reduced responses).

Reference: the DDB blocks of each irreducible q diagonalised directly (no interpolation, no acoustic
sum rule, the masses the phonon model uses), at that q and at the q the layer's threefold rotation
maps it to. Off Γ the interpolation must reproduce them up to what phonopy's symmetrisation of the
force constants leaves (measured 5e-6 meV; a wrong symmetry mapping moves frequencies by meV). At Γ
the model imposes the acoustic sum rule, which removes the drift of the acoustic ω² (≈ 1.3–1.6 meV
in the DDB) and shifts the optical ω² by about as much: that drift is the tolerance there.
"""

from __future__ import annotations

import numpy as np
import pytest

from phonomag.cli.systems import BUILTIN_KERNEL_DATA, kernel_phonons
from phonomag.crystal.materials import load_material
from phonomag.engines.abinit.perturbations import SQRT_EV_A2_AMU_TO_MEV
from phonomag.io.abinit.ddb import read_phonon_blocks

STEPS = [(0, 0), (1, 0), (2, 0), (3, 0), (1, 1), (2, 1), (2, 2)]
#: meV: what phonopy's symmetrisation of the force constants leaves off Γ (measured 5e-6 meV).
OFF_GAMMA_TOL = 1e-4


@pytest.fixture(scope="module")
def spec():
    return load_material("WSe2")


@pytest.fixture(scope="module")
def model(spec):
    return kernel_phonons(spec, BUILTIN_KERNEL_DATA, (6, 6, 1))


def direct(spec, steps):
    """(reduced q, ħω in meV, negative for imaginary) of the DDB blocks of the q at grid ``steps``."""
    data = read_phonon_blocks(sorted(BUILTIN_KERNEL_DATA.glob(f"q_{steps[0]}_{steps[1]}_0_part*_DDB")))
    masses = np.repeat(spec.atoms.get_masses(), 3)
    dynamical = data.matrices[0] / np.sqrt(np.outer(masses, masses))
    squared = np.linalg.eigvalsh((dynamical + dynamical.conj().T) / 2)
    return data.qpoints[0], np.sign(squared) * np.sqrt(np.abs(squared)) * SQRT_EV_A2_AMU_TO_MEV


def rotated(spec, q_reduced):
    """q rotated by 120° about z (a symmetry of the layer), in reduced coordinates."""
    reciprocal = spec.atoms.cell.reciprocal()[:2, :2]
    c, s = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)
    q_cart = q_reduced[:2] @ reciprocal @ np.array([[c, s], [-s, c]])
    return np.array([*np.linalg.solve(reciprocal.T, q_cart), 0.0])


def test_the_kernels_phonons_come_from_its_ddb_files(model):
    assert model.description.startswith("ABINIT DFPT, 7 irreducible q of the 6×6×1 grid (q_0_0_0_part1_DDB")


@pytest.mark.parametrize("steps", STEPS[1:])
def test_grid_frequencies_are_the_ddb_ones_at_q_and_its_rotation(spec, model, steps):
    q, reference = direct(spec, steps)
    for point in (q, rotated(spec, q)):
        ours = model.modes(point[None]).frequencies[0]
        assert np.abs(ours - reference).max() < OFF_GAMMA_TOL, (point, ours, reference)


def test_gamma_obeys_the_acoustic_sum_rule(spec, model):
    q, reference = direct(spec, (0, 0))
    drift = np.abs(reference[:3]).max() ** 2  # meV², what the acoustic sum rule removes
    ours = model.modes(q[None]).frequencies[0]
    assert np.abs(ours[:3]).max() < 0.01 < np.abs(reference[:3]).min()
    assert np.abs(ours[3:] ** 2 - reference[3:] ** 2).max() < 2 * drift


def test_sqw_with_the_kernels_phonons(spec, model, tmp_path, capsys):
    """phonomag sqw --phonons kernel: the modes of S(Q, ω) are the kernel's phonons (its sqw.nc says so);
    with the model engine the choice is one error line."""
    import xarray as xr

    from phonomag.cli.main import main
    from phonomag.cli.sqw import sqw_overview

    lines = sqw_overview("WSe2", tmp_path / "a", npoints=7, phonon_choice="kernel")
    assert f"phonons         {model.description}" in lines
    with xr.open_dataset(tmp_path / "a" / "sqw.nc") as data:
        assert data.attrs["engine"] == "dfpt-kernel" and data.attrs["phonon_source"] == model.description
        expected = model.modes(data["q_reduced"].values).frequencies
        assert np.abs(data["frequency"].values - expected).max() < 1e-9
    with pytest.raises(SystemExit) as exit_info:
        main(["sqw", "--engine", "model", "--phonons", "kernel", "-o", str(tmp_path / "b"), "--npoints", "3"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("phonomag: error: --phonons kernel needs the kernel engine")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "b" / "sqw.nc").exists()
