"""The horizontal mirror σ_h (z → 2 z₀ − z) of a layer, acting on displacement patterns.

In the τ-including Bloch convention, u_κ(R) ∝ e_κ exp(i q·(R + τ_κ)), the mirror
maps a mode at an in-plane q (q_z = 0) onto a mode at the same q by permuting
the atoms (κ → P(κ), the atom at the mirror image) and flipping z components:

    (σ_h e)_{P(κ)} = diag(1, 1, −1) e_κ,

with no extra phase, because the phase depends only on the in-plane position,
which σ_h keeps. This operator commutes with the dynamical matrix D(q) for
every in-plane q, so modes can be chosen even (+1) or odd (−1).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

#: Positions (fractional, in-plane) and heights (Å) agree within these tolerances.
_FRACTION_TOL = 1e-5
_LENGTH_TOL = 1e-4


def sigma_h_permutation(atoms: Atoms) -> np.ndarray | None:
    """Atom permutation P of σ_h (array, P[κ] = image of κ), or None if there is no mirror.

    The layer must have a₁, a₂ in the xy plane and a₃ along z; the mirror plane
    z₀ is found among the midpoints of equal species.
    """
    cell = atoms.cell.array
    if np.abs(cell[:2, 2]).max() > _LENGTH_TOL or np.abs(cell[2, :2]).max() > _LENGTH_TOL:
        return None
    frac = atoms.get_scaled_positions(wrap=False)
    numbers = atoms.numbers
    for k in np.flatnonzero(numbers == numbers[0]):
        for shift in (0.0, 0.5):
            f0 = (frac[0, 2] + frac[k, 2]) / 2 + shift  # mirror plane, fraction of a₃
            image = frac.copy()
            image[:, 2] = 2 * f0 - frac[:, 2]
            perm = _match(frac, image, numbers, periodic_z=bool(atoms.pbc[2]), c=cell[2, 2])
            if perm is not None:
                return perm
    return None


def _match(frac, image, numbers, periodic_z, c):
    diff = image[:, None, :] - frac[None, :, :]  # (image of κ, candidate κ', 3)
    inplane = diff[..., :2] - np.round(diff[..., :2])
    dz = diff[..., 2] - np.round(diff[..., 2]) if periodic_z else diff[..., 2]
    ok = (np.abs(inplane).max(axis=-1) < _FRACTION_TOL) & (np.abs(dz * c) < _LENGTH_TOL)
    ok &= numbers[:, None] == numbers[None, :]
    if not np.all(ok.sum(axis=1) == 1):
        return None
    perm = np.argmax(ok, axis=1)
    return perm if len(set(perm)) == len(perm) else None


def sigma_h_operator(permutation: np.ndarray) -> np.ndarray:
    """Real symmetric involution S (3N, 3N) with (S e)_{P(κ)α} = m_α e_{κα}, m = (1, 1, −1)."""
    natoms = len(permutation)
    op = np.zeros((natoms, 3, natoms, 3))
    flip = np.array([1.0, 1.0, -1.0])
    op[permutation, :, np.arange(natoms), :] = np.diag(flip)
    return op.reshape(3 * natoms, 3 * natoms)


def parity_subspaces(permutation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal real bases (3N, n_even) and (3N, n_odd) of the σ_h = +1 and −1 subspaces."""
    values, vectors = np.linalg.eigh(sigma_h_operator(permutation))
    return vectors[:, values > 0], vectors[:, values < 0]
