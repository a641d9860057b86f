"""Real-space force constants from force-constant matrices on a commensurate q-grid.

DFPT codes give, at a few irreducible wavevectors q, the Fourier transform of the
force constants (not mass-weighted), here always in the *position* convention

    C_{κα,κ'β}(q) = Σ_l Φ_{κα,κ'β}(0, l) exp(i q·(R_l + τ_κ' − τ_κ))     (eV/Å²),

the convention of phonopy's dynamical matrix (docs/physics.md §5). This module fills
the whole q-grid from the irreducible points with the crystal's space group
(spglib) and time reversal, and Fourier transforms it to the force constants of
the commensurate supercell, which phonopy then interpolates at any q.

Symmetry: an operation {S|t} maps the atom at r_κ to r_{gκ} + R and the pair
vector r_κ' − r_κ to S(r_κ' − r_κ), so C(Sq)_{gκ,gκ'} = S C(q)_{κκ'} Sᵀ with no
phase in this convention. Folding back into the grid uses
C(q + G)_{κκ'} = C(q)_{κκ'} exp(i G·(τ_κ' − τ_κ)). Matrices that two operations
map to the same grid point must agree: that is checked, so inconsistent input
(a wrong convention, a wrong atom order) fails loudly instead of giving wrong
force constants.
"""

from __future__ import annotations

import numpy as np
import spglib
from ase import Atoms
from phonopy import Phonopy

from phonomag.errors import PhononSourceError

#: Largest relative disagreement tolerated between symmetry-equivalent matrices.
SYMMETRY_TOL = 1e-4


def grid_points(mesh) -> np.ndarray:
    """All reduced q of the Γ-centred (n1, n2, n3) grid, (N, 3), components in [0, 1)."""
    axes = [np.arange(n) / n for n in mesh]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def _grid_index(q, mesh) -> tuple[int, np.ndarray]:
    """Index of reduced q in :func:`grid_points` and the reduced G with q = q_grid + G."""
    mesh = np.asarray(mesh)
    scaled = np.asarray(q) * mesh
    nearest = np.rint(scaled)
    if np.abs(scaled - nearest).max() > 1e-6:
        raise PhononSourceError(f"q = {np.round(q, 6).tolist()} is not on the {mesh.tolist()} grid")
    folded = np.mod(nearest, mesh).astype(int)
    index = (folded[0] * mesh[1] + folded[1]) * mesh[2] + folded[2]
    return int(index), (nearest - folded) / mesh


def expand_to_grid(atoms: Atoms, mesh, qpoints, matrices, symprec: float = 1e-4) -> np.ndarray:
    """C(q) (N, 3n, 3n) at every point of the grid from C at irreducible ``qpoints``.

    qpoints (m, 3) reduced; matrices (m, 3n, 3n) in the position convention, atom
    order of ``atoms``. Raises :class:`PhononSourceError` if a grid point is not
    reached or if symmetry-equivalent matrices disagree.
    """
    cell = np.asarray(atoms.cell)
    natoms = len(atoms)
    frac = atoms.get_scaled_positions(wrap=False)
    dataset = spglib.get_symmetry((cell, frac, atoms.numbers), symprec=symprec)
    if dataset is None:
        raise PhononSourceError("spglib could not find the symmetry of the structure")
    inverse_cell = np.linalg.inv(cell)
    full = np.full((np.prod(mesh), 3 * natoms, 3 * natoms), np.nan, dtype=complex)
    for q, matrix in zip(np.asarray(qpoints, float), np.asarray(matrices, complex), strict=True):
        for rotation, translation in zip(dataset["rotations"], dataset["translations"], strict=True):
            s_cart = cell.T @ rotation @ inverse_cell.T
            image = frac @ rotation.T + translation
            perm = _atom_map(image, frac, symprec)
            rotated = np.zeros_like(matrix)
            blocks = matrix.reshape(natoms, 3, natoms, 3)
            new = rotated.reshape(natoms, 3, natoms, 3)
            for k in range(natoms):
                for kp in range(natoms):
                    new[perm[k], :, perm[kp], :] = s_cart @ blocks[k, :, kp, :] @ s_cart.T
            q_new = np.linalg.inv(rotation).T @ q
            for sign, value in ((1, rotated), (-1, rotated.conj())):
                index, g = _grid_index(sign * q_new, mesh)
                phase = np.exp(-2j * np.pi * (frac @ g))  # exp(-i G·τ_κ) per atom
                folded = value * np.repeat(phase.conj(), 3)[:, None] * np.repeat(phase, 3)[None, :]
                # C(q_grid) = C(q_grid + G) exp(-i G·(τ_κ' − τ_κ))
                if np.isnan(full[index]).any():
                    full[index] = folded
                else:
                    scale = max(np.abs(full[index]).max(), 1e-12)
                    if np.abs(full[index] - folded).max() > SYMMETRY_TOL * scale:
                        raise PhononSourceError(
                            f"force-constant matrices at q = {np.round(q, 6).tolist()} are not "
                            "invariant under the crystal symmetry (wrong phase convention or atom order?)")
    missing = np.isnan(full).any(axis=(1, 2))
    if missing.any():
        points = grid_points(mesh)[missing]
        raise PhononSourceError(
            f"{missing.sum()} point(s) of the {list(mesh)} grid are not symmetry images of the given "
            f"q-points, e.g. {np.round(points[0], 6).tolist()}")
    return full


def _atom_map(image, frac, symprec) -> np.ndarray:
    """perm[κ] = index of the atom at (image of κ) modulo lattice vectors."""
    diff = image[:, None, :] - frac[None, :, :]
    diff -= np.rint(diff)
    match = np.linalg.norm(diff, axis=-1) < symprec * 10
    if not np.all(match.sum(axis=1) == 1):
        raise PhononSourceError("could not map atoms onto each other under a symmetry operation")
    return np.argmax(match, axis=1)


def supercell_force_constants(phonon: Phonopy, mesh, grid_matrices) -> np.ndarray:
    """Compact force constants Φ (n, n_super, 3, 3) of ``phonon``'s supercell, eV/Å².

    ``grid_matrices`` (N, 3n, 3n) from :func:`expand_to_grid`, atoms in the order of
    the phonopy primitive cell; the supercell must be the grid's (Φ is the inverse
    Fourier transform Φ(0κ; s) = (1/N) Σ_q C_κ,κ_s(q) exp(−i q·(r_s − r_κ))). The
    imaginary part must vanish.
    """
    if not np.array_equal(np.diag(phonon.supercell_matrix), np.asarray(mesh)):
        raise PhononSourceError(
            f"the supercell {np.diag(phonon.supercell_matrix).tolist()} must equal the q-grid {list(mesh)}")
    primitive = phonon.primitive
    natoms = len(primitive)
    positions = phonon.supercell.positions
    partner = np.array([primitive.p2p_map[s] for s in primitive.s2p_map])
    q_cart = grid_points(mesh) @ np.linalg.inv(primitive.cell).T * 2 * np.pi
    blocks = np.asarray(grid_matrices).reshape(len(q_cart), natoms, 3, natoms, 3)
    fc = np.zeros((natoms, len(positions), 3, 3), dtype=complex)
    for k, home in enumerate(primitive.p2s_map):
        phase = np.exp(-1j * (positions - positions[home]) @ q_cart.T)  # (nsuper, nq)
        fc[k] = np.einsum("sq,qasb->sab", phase, blocks[:, k][:, :, partner, :]) / len(q_cart)
    scale = np.abs(fc).max()
    if np.abs(fc.imag).max() > 1e-6 * scale:
        raise PhononSourceError(
            f"force constants from the q-grid have an imaginary part {np.abs(fc.imag).max():.3g} "
            f"(largest real {scale:.3g}): the grid matrices do not satisfy C(−q) = C(q)*")
    return fc.real
