"""Phonon modes at a set of wavevectors: frequencies, eigenvectors, σ_h parities.

Conventions (docs/physics.md §5):

* q in reduced coordinates of the reciprocal basis of the primitive cell.
* Frequencies ħω in meV; an imaginary frequency is stored as −|ω|.
* e_qν: eigenvectors of the mass-weighted dynamical matrix
  D_{κα,κ'β}(q) = Σ_R Φ_{κα,κ'β}(0, R) / √(M_κ M_κ') exp(i q·(R + τ_κ' − τ_κ))
  (phonopy's convention), normalised Σ_κα |e_κα|² = 1, so that
  u_κ(R) = A e_κ/√M_κ exp(i q·(R + τ_κ)) (τ-including Bloch convention).
* Gauge: the largest component of each eigenvector (the first of equally large
  ones) is real and positive. Because D(−q) = D(q)*, this gives e(−q) = e(q)*
  for non-degenerate modes.
* Parity: +1 even, −1 odd under the horizontal mirror σ_h of a layer; 0 where
  the structure has no such mirror or q has an out-of-plane component. Modes
  are obtained separately in the even and odd subspaces, so they are parity-pure
  also where branches of opposite parity cross.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import units

from phonomag.phonons.mirror import parity_subspaces

#: 1 THz (ordinary frequency) as an energy hν in meV.
THZ_TO_MEV = units._hplanck / units._e * 1e12 * 1e3
#: Relative tolerance for equally large eigenvector components in the gauge choice.
_GAUGE_TOL = 1e-6


@dataclass
class PhononModes:
    """Modes at nq wavevectors of a crystal with natoms atoms (nmodes = 3 natoms).

    qpoints (nq, 3) reduced; frequencies (nq, nmodes) meV, ascending at each q;
    eigenvectors (nq, nmodes, natoms, 3) complex; masses (natoms,) amu;
    parity (nq, nmodes) int in {+1, −1, 0}. See the module docstring.
    """

    qpoints: np.ndarray
    frequencies: np.ndarray
    eigenvectors: np.ndarray
    masses: np.ndarray
    parity: np.ndarray


def concatenate_modes(sets: list[PhononModes]) -> PhononModes:
    """One PhononModes of several sets of the same crystal (q-points in order)."""
    return PhononModes(np.concatenate([m.qpoints for m in sets]), np.concatenate([m.frequencies for m in sets]),
                       np.concatenate([m.eigenvectors for m in sets]), sets[0].masses,
                       np.concatenate([m.parity for m in sets]))


def modes_from_dynamical_matrices(
    qpoints: np.ndarray,
    dynamical_matrices: np.ndarray,
    masses: np.ndarray,
    to_mev: float,
    mirror_permutation: np.ndarray | None,
    in_plane: np.ndarray,
) -> PhononModes:
    """Diagonalise D(q) (nq, 3N, 3N) into :class:`PhononModes`.

    to_mev converts √(eigenvalue of D) to meV. Where ``mirror_permutation`` is
    given and ``in_plane[q]`` is true, D is diagonalised in the even and odd
    σ_h subspaces separately; elsewhere as a whole, with parity 0.
    """
    nq, n, _ = dynamical_matrices.shape
    values = np.zeros((nq, n))
    vectors = np.zeros((nq, n, n), dtype=complex)
    parity = np.zeros((nq, n), dtype=int)
    split = in_plane if mirror_permutation is not None else np.zeros(nq, dtype=bool)
    if np.any(~split):
        values[~split], vectors[~split] = np.linalg.eigh(dynamical_matrices[~split])
    if np.any(split):
        dyn = dynamical_matrices[split]
        parts_values, parts_vectors, parts_parity = [], [], []
        for sign, basis in zip((1, -1), parity_subspaces(mirror_permutation), strict=True):
            w, v = np.linalg.eigh(basis.T @ dyn @ basis)
            parts_values.append(w)
            parts_vectors.append(basis @ v)
            parts_parity.append(np.full(w.shape, sign))
        w = np.concatenate(parts_values, axis=1)
        order = np.argsort(w, axis=1, kind="stable")
        values[split] = np.take_along_axis(w, order, axis=1)
        vectors[split] = np.take_along_axis(np.concatenate(parts_vectors, axis=2), order[:, None, :], axis=2)
        parity[split] = np.take_along_axis(np.concatenate(parts_parity, axis=1), order, axis=1)
    vectors = _fix_gauge(vectors)
    frequencies = np.sign(values) * np.sqrt(np.abs(values)) * to_mev
    eigenvectors = vectors.transpose(0, 2, 1).reshape(nq, n, n // 3, 3)
    return PhononModes(np.asarray(qpoints, float), frequencies, eigenvectors, np.asarray(masses, float), parity)


def _fix_gauge(vectors: np.ndarray) -> np.ndarray:
    """Make the largest component (first of equally large ones) of each column real positive."""
    magnitude = np.abs(vectors)
    largest = magnitude >= magnitude.max(axis=1, keepdims=True) * (1 - _GAUGE_TOL)
    index = np.argmax(largest, axis=1)  # first True
    pivot = np.take_along_axis(vectors, index[:, None, :], axis=1)
    return vectors * (np.conj(pivot) / np.abs(pivot))
