"""The insulator check of an ABINIT ground state (GSR file layout of ABINIT 9: eigenvalues in Ha, occupations)."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from ase.units import Hartree

from phonomag.io.abinit.ground_state import MIN_GAP_EV, MetallicGroundStateError, band_gap, check_insulating


def _gsr(path: Path, energies_ev: np.ndarray, occupations: np.ndarray) -> Path:
    dims = ("number_of_spins", "number_of_kpoints", "max_number_of_states")
    xr.Dataset({"eigenvalues": (dims, energies_ev[None] / Hartree, {"units": "atomic units"}),
                "occupations": (dims, occupations[None])}).to_netcdf(path)
    return path


def _bands(rng, nk=9, occupied=4, empty=3, gap=1.0):
    valence = -1.0 - rng.random((nk, occupied)) * 3
    conduction = gap + rng.random((nk, empty)) * 2
    valence[3, -1] = 0.0                 # valence maximum at k-point 3
    conduction[5, 0] = gap               # conduction minimum at another k-point: an indirect gap
    return np.sort(np.hstack([valence, conduction]), axis=1)


def test_the_indirect_gap_of_an_insulator_with_spinors(tmp_path):
    energies = _bands(np.random.default_rng(0), gap=1.3)
    occupations = np.hstack([np.ones((9, 4)), np.zeros((9, 3))])       # nspinor 2: one electron per band
    gsr = _gsr(tmp_path / "gso_GSR.nc", energies, occupations)
    assert band_gap(gsr) == pytest.approx(1.3, abs=1e-9)
    assert check_insulating(gsr, "WSe2") == pytest.approx(1.3, abs=1e-9)


def test_overlapping_bands_are_a_metal_and_are_named(tmp_path):
    energies = _bands(np.random.default_rng(1), gap=1.0)
    energies[5, 4] = -0.2                # the lowest empty band at k 5 dips below the valence top at k 3
    occupations = np.hstack([2 * np.ones((9, 4)), np.zeros((9, 3))])   # no spinors: two electrons per band
    gsr = _gsr(tmp_path / "gso_GSR.nc", np.sort(energies, axis=1), occupations)
    assert band_gap(gsr) < 0
    with pytest.raises(MetallicGroundStateError, match=r"ground state of PbTe is metallic .*gap is -0\.2"):
        check_insulating(gsr, "PbTe")


def test_a_band_count_that_changes_with_k_is_a_metal(tmp_path):
    energies = _bands(np.random.default_rng(2))
    occupations = np.hstack([np.ones((9, 4)), np.zeros((9, 3))])
    occupations[2, 4] = 1.0              # an extra filled band at one k-point: the Fermi level crosses it
    gsr = _gsr(tmp_path / "gso_GSR.nc", energies, occupations)
    assert band_gap(gsr) == float("-inf")
    with pytest.raises(MetallicGroundStateError, match="cross the Fermi level"):
        check_insulating(gsr, "Pb")


def test_a_gap_below_the_threshold_is_refused(tmp_path):
    energies = _bands(np.random.default_rng(3), gap=MIN_GAP_EV / 2)
    gsr = _gsr(tmp_path / "gso_GSR.nc", energies, np.hstack([np.ones((9, 4)), np.zeros((9, 3))]))
    with pytest.raises(MetallicGroundStateError):
        check_insulating(gsr, "X")


def test_a_file_without_empty_bands_is_not_called_a_metal(tmp_path):
    """Every band filled (nband = the occupied bands, as a relaxation used to run): no gap can be read, and the error
    says so instead of calling the crystal a metal."""
    energies = np.sort(-1.0 - np.random.default_rng(4).random((9, 4)) * 3, axis=1)
    gsr = _gsr(tmp_path / "relaxo_GSR.nc", energies, np.ones((9, 4)))
    with pytest.raises(ValueError, match="no empty bands"):
        band_gap(gsr)
