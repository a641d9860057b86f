"""The gap of an ABINIT ground state, read from its GSR file: the one-sided response needs an insulator.

Eq. 1 (docs/physics.md §2) divides by ε_v − ε_c; with fixed occupations (occopt 1) ABINIT also
converges a metal, so the gap is checked after every ground state, before any DFPT.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
from ase.units import Hartree

from phonomag.errors import PhonomagError

#: Smallest gap (eV) accepted between the highest occupied and the lowest empty band of the k grid.
MIN_GAP_EV = 0.05


class MetallicGroundStateError(PhonomagError):
    """The ground state has no gap: the one-sided charge–spin response is not defined."""


def band_gap(gsr: Path) -> float:
    """Gap (eV) between the highest occupied band anywhere on the k grid and the lowest empty one
    (indirect; negative when they overlap, i.e. a metal) of an ABINIT ``*_GSR.nc`` file.

    Occupied bands are those with the largest occupation of the file (2 without spinors, 1 with).
    """
    with netCDF4.Dataset(gsr) as ds:  # netCDF4, not xarray: the GSR file repeats dimension names
        energies = np.asarray(ds["eigenvalues"][:], float) * Hartree      # (spin, k, band), Ha → eV
        occupations = np.asarray(ds["occupations"][:], float)
    full = occupations.max()
    occupied = np.rint(occupations.sum(axis=-1) / full).astype(int)
    if occupied.min() == occupied.max() == energies.shape[-1]:
        raise ValueError(f"{gsr} has no empty bands (nband = the occupied bands): it cannot show a gap")
    if occupied.min() != occupied.max() or occupied.min() < 1 or occupied.max() >= energies.shape[-1]:
        return float("-inf")  # a different number of filled bands at some k: the Fermi level crosses bands
    n = int(occupied.flat[0])
    return float(energies[..., n].min() - energies[..., n - 1].max())


def check_insulating(gsr: Path, what: str) -> float:
    """The gap (eV) of ``gsr``; a :class:`MetallicGroundStateError` naming ``what`` when it is below MIN_GAP_EV."""
    gap = band_gap(gsr)
    if gap < MIN_GAP_EV:
        shown = "the bands cross the Fermi level" if not np.isfinite(gap) else f"its gap is {gap:.3f} eV"
        raise MetallicGroundStateError(
            f"the ground state of {what} is metallic ({shown} on the k grid, {gsr}); the one-sided charge-spin "
            f"response needs an insulator with a gap of at least {MIN_GAP_EV} eV: check the structure, or a "
            "denser k grid if the gap closes between its points")
    return gap
