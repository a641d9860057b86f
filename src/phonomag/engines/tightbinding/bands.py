"""Derived electronic quantities of a model: spin-resolved bands and spin texture.

Energies in eV, wavevectors as reduced coordinates (k·a_i = 2π k_i) unless
stated as Cartesian (1/Å).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phonomag.engines.tightbinding.model import TightBindingModel


@dataclass(frozen=True)
class SpinBands:
    """Bands with their spin expectation values.

    kpoints (nk, 3) reduced; energies (nk, nbands) eV; spin (nk, nbands, 3) = ⟨σ_x,y,z⟩;
    fermi_level: mid-gap energy (eV) between the highest occupied and lowest empty band.
    """

    kpoints: np.ndarray
    energies: np.ndarray
    spin: np.ndarray
    fermi_level: float


def spin_bands(model: TightBindingModel, kpoints: np.ndarray) -> SpinBands:
    """Diagonalise the model at ``kpoints`` and collect ⟨σ⟩ for every band."""
    energies, vectors = model.eigh(kpoints)
    vbm, cbm = model.band_edges()
    return SpinBands(kpoints, energies, model.spin_expectation(vectors), 0.5 * (vbm + cbm))


def valence_splitting(model: TightBindingModel, k_reduced: np.ndarray) -> tuple[float, float]:
    """(top-valence, bottom-conduction) spin splittings at one k, in eV."""
    energies = np.linalg.eigvalsh(model.hamiltonian(np.atleast_2d(k_reduced)))[0]
    n = model.occupied_bands
    return float(energies[n - 1] - energies[n - 2]), float(energies[n + 1] - energies[n])


def zone_grid(reciprocal_cell: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n×n grid of in-plane k folded into the first (Wigner–Seitz) zone.

    Returns reduced (n², 3) and Cartesian (n², 3) coordinates. The plane is
    spanned by the first two reciprocal vectors.
    """
    axis = (np.arange(n) + 0.5) / n - 0.5
    reduced = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    shifts = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)])
    b2 = reciprocal_cell[:2, :2]
    candidates = (reduced[:, None, :] + shifts[None]) @ b2  # (nk, 9, 2)
    best = np.argmin(np.linalg.norm(candidates, axis=-1), axis=1)
    folded = reduced + shifts[best]
    reduced3 = np.column_stack([folded, np.zeros(len(folded))])
    return reduced3, reduced3 @ reciprocal_cell
