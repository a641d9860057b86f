"""Which cell-integrated Pauli components a phonon may carry, from the symmetry of its q (docs/physics.md §12).

The cell moments n̄^α_qν (α = 0, x, y, z) are linear in the mode's displacements u. An operation
{S|t} of the space group with S q = q exactly maps the pattern u onto the pattern (Γu)_{κ'} = S u_κ
(κ' the image of atom κ; in the τ-including gauge of docs/physics.md §10 the only phase is a global
e^{−iq·t}, common to both sides below), and the response onto its image: n̄⁰ is a scalar and
M̄ = (n̄ˣ, n̄ʸ, n̄ᶻ) an axial vector, so

    n̄⁰[Γu] = n̄⁰[u],        M̄[Γu] = det(S) S M̄[u].

For the modes of one frequency (a multiplet V, on which Γ acts as D(g)), the response restricted
to V is an intertwiner X (X D(g) = R(g) X for every g of the little co-group, R = 1 for n⁰ and
det(S) S for M̄). A component of a mode is zero by symmetry when it vanishes for every such X.
Operations with S q = q + G, G ≠ 0, constrain the q + 0 Fourier component only together with
another, and time reversal fixes phases, not zeros: neither gives a zero here.

For a layer with the mirror σ_h and an in-plane q this reproduces the σ_h rule (even modes: n⁰ and
M_z; odd: M_x, M_y); at a point with more symmetry (Γ of D3h) it forbids more.
"""

from __future__ import annotations

import numpy as np

from phonomag.crystal.crystal import Crystal, SymmetryOperation

#: Modes whose frequencies differ by less than this (meV) form one multiplet.
DEGENERACY_MEV = 1e-3
#: Relative size below which a singular value (intertwiner equations) or an entry (X) counts as zero.
NULL_TOL = 1e-6


def _pattern_operation(op: SymmetryOperation, natoms: int) -> np.ndarray:
    """Γ (3N, 3N): (Γu)_{perm[κ]} = S u_κ on the flattened displacements (atom-major, then Cartesian)."""
    matrix = np.zeros((natoms, 3, natoms, 3))
    for kappa, image in enumerate(op.permutation):
        matrix[image, :, kappa, :] = op.cartesian
    return matrix.reshape(3 * natoms, 3 * natoms)


def _intertwiners(representation: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """A basis (m, k, d) of the X (k, d) with X D = R X for every pair (D (d, d), R (k, k)) given."""
    d, k = representation[0].shape[0], targets[0].shape[0]
    # vec(X D) = (Dᵀ ⊗ 1) vec(X), vec(R X) = (1 ⊗ R) vec(X), vec column-major
    equations = np.vstack([np.kron(D.T, np.eye(k)) - np.kron(np.eye(d), R)
                           for D, R in zip(representation, targets, strict=True)])
    _, singular, vh = np.linalg.svd(equations)
    rank = int(np.sum(singular > NULL_TOL * max(singular.max(initial=0.0), 1.0)))
    return np.array([v.reshape(d, k).T for v in vh[rank:].conj()])


def _multiplets(frequencies: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(frequencies)
    groups, current = [], [order[0]]
    for previous, nu in zip(order[:-1], order[1:], strict=True):
        if frequencies[nu] - frequencies[previous] < DEGENERACY_MEV:
            current.append(nu)
        else:
            groups.append(np.array(current))
            current = [nu]
    return groups + [np.array(current)]


def allowed_at(crystal: Crystal, q_reduced, frequencies: np.ndarray, displacements: np.ndarray,
               axial: bool = True) -> np.ndarray:
    """(nmodes, 4) bool: may mode ν carry n̄⁰, n̄ˣ, n̄ʸ, n̄ᶻ at q (module docstring)? frequencies (nmodes,) meV,
    displacements (nmodes, natoms, 3) complex, Cartesian. ``axial=False`` treats M̄ as a polar vector (the wrong
    rule, kept for the tests' control). A multiplet that the operations do not keep (numerically split) is
    allowed everything."""
    ops = [op for op in crystal.little_cogroup(q_reduced) if not np.allclose(op.cartesian, np.eye(3))]
    nmodes, natoms = displacements.shape[:2]
    allowed = np.ones((nmodes, 4), dtype=bool)
    if not ops:
        return allowed
    patterns = [_pattern_operation(op, natoms) for op in ops]
    vectors = displacements.reshape(nmodes, -1).T  # (3N, nmodes)
    for group in _multiplets(np.asarray(frequencies, float)):
        basis = vectors[:, group]
        inverse = np.linalg.pinv(basis)
        representation = [inverse @ gamma @ basis for gamma in patterns]
        kept = all(np.linalg.norm(gamma @ basis - basis @ D) < 1e-6 * np.linalg.norm(basis)
                   for gamma, D in zip(patterns, representation, strict=True))
        if not kept:
            continue
        scalar = _intertwiners(representation, [np.eye(1)] * len(ops))
        vector = _intertwiners(representation, [(op.on_axial_vector() if axial else op.cartesian) for op in ops])
        for parts, columns in ((scalar, [0]), (vector, [1, 2, 3])):
            if len(parts) == 0:
                allowed[np.ix_(group, columns)] = False
                continue
            size = np.abs(parts).max(axis=0)  # (k, d): the largest each entry can be
            allowed[np.ix_(group, columns)] = (size > NULL_TOL * max(size.max(), 1e-300)).T
    return allowed


def allowed_components(crystal: Crystal, qpoints, frequencies, displacements, axial: bool = True) -> np.ndarray:
    """(nq, nmodes, 4) bool of :func:`allowed_at` at every q: qpoints (nq, 3) reduced, frequencies (nq, nmodes)
    meV, displacements (nq, nmodes, natoms, 3) complex Å."""
    return np.array([allowed_at(crystal, q, w, u, axial)
                     for q, w, u in zip(qpoints, frequencies, displacements, strict=True)])
