"""Real atomic orbitals (s, p, d), their angular-momentum matrices and on-site SOC.

Every orbital is defined by the polynomial shape of its angular part on the unit
sphere, f(r̂) = c + a·r̂ + r̂ᵀ A r̂ (one term only, by angular momentum l):

    s      : 1
    px, py, pz : x, y, z
    dxy, dyz, dxz : √3 xy, √3 yz, √3 xz
    dx2-y2 : (√3/2)(x² − y²)
    dz2    : z² − (x² + y²)/2

These are the real (tesseral) harmonics with the phases of Slater & Koster,
Phys. Rev. 94, 1498 (1954); the two-centre table in :mod:`slater_koster` uses
the same shapes. The angular-momentum matrices L_a = −i (r × ∇)_a are derived
from these shapes (not typed in), so the SOC term and the hopping table cannot
disagree on a phase.

Spinor basis convention used everywhere in phonomag: index = s · n_orb + μ with
spin s = 0 (↑, σ_z = +1), 1 (↓) outer and orbital μ inner.
"""

from __future__ import annotations

import numpy as np

from phonomag.errors import ModelFileError

#: Orbitals of each angular momentum, in phonomag's canonical order.
ORBITALS_BY_L: dict[int, tuple[str, ...]] = {
    0: ("s",),
    1: ("px", "py", "pz"),
    2: ("dxy", "dyz", "dxz", "dx2-y2", "dz2"),
}

#: Angular momentum and index within its l-shell for every orbital name.
ORBITAL_INDEX: dict[str, tuple[int, int]] = {
    name: (ell, m) for ell, names in ORBITALS_BY_L.items() for m, name in enumerate(names)
}

_SQ3 = np.sqrt(3.0)


def _d_tensors() -> np.ndarray:
    """Symmetric traceless 3×3 tensors A_μ with f_μ(r) = rᵀ A_μ r (canonical d order)."""
    tensors = np.zeros((5, 3, 3))
    tensors[0][0, 1] = tensors[0][1, 0] = _SQ3 / 2  # dxy
    tensors[1][1, 2] = tensors[1][2, 1] = _SQ3 / 2  # dyz
    tensors[2][0, 2] = tensors[2][2, 0] = _SQ3 / 2  # dxz
    tensors[3][0, 0], tensors[3][1, 1] = _SQ3 / 2, -_SQ3 / 2  # dx2-y2
    tensors[4] = np.diag([-0.5, -0.5, 1.0])  # dz2
    return tensors


D_TENSORS = _d_tensors()


def mirror_parity(name: str) -> int:
    """±1: the orbital's shape under σ_h (z → −z), from its polynomial (s: +; p_z: −; d_xz, d_yz: −)."""
    ell, m = ORBITAL_INDEX[name]
    if ell == 0:
        return 1
    mirror = np.diag([1.0, 1.0, -1.0])
    if ell == 1:
        return int(round(mirror[m, m]))
    image = mirror @ D_TENSORS[m] @ mirror
    return 1 if np.allclose(image, D_TENSORS[m]) else -1
_LEVI_CIVITA = np.zeros((3, 3, 3))
for _a, _b, _c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
    _LEVI_CIVITA[_a, _b, _c], _LEVI_CIVITA[_a, _c, _b] = 1.0, -1.0


def angular_momentum(ell: int) -> np.ndarray:
    """Matrices (L_x, L_y, L_z) in units of ħ, shape (3, 2l+1, 2l+1), canonical order.

    (L_a)_{μν} = ⟨μ|L_a|ν⟩ with L_a = −i ε_abc r_b ∂_c acting on the shapes above.
    """
    if ell == 0:
        return np.zeros((3, 1, 1), dtype=complex)
    if ell == 1:
        # ∂_c (e_ν · r) = δ_cν, so L_a e_ν = −i ε_abν r_b: ⟨μ|L_a|ν⟩ = −i ε_aμν.
        return -1j * _LEVI_CIVITA.astype(complex)
    if ell == 2:
        norms = np.einsum("mij,mij->m", D_TENSORS, D_TENSORS)
        result = np.zeros((3, 5, 5), dtype=complex)
        for a in range(3):
            # (r × ∇)_a rᵀAr = 2 ε_abc r_b (A r)_c = rᵀ B r with B_bd = 2 ε_abc A_cd.
            b = 2.0 * np.einsum("bc,ncd->nbd", _LEVI_CIVITA[a], D_TENSORS)
            b = 0.5 * (b + np.swapaxes(b, 1, 2))
            result[a] = -1j * np.einsum("mij,nij->mn", D_TENSORS, b) / norms[:, None]
        return result
    raise ValueError(f"angular momentum l={ell} is not supported (s, p, d only)")


def orbital_l(name: str) -> int:
    """Angular momentum of an orbital name; clear error for unknown names."""
    try:
        return ORBITAL_INDEX[name][0]
    except KeyError:
        valid = ", ".join(ORBITAL_INDEX)
        raise ModelFileError(f"unknown orbital {name!r}; valid orbitals are {valid}") from None


def onsite_l_matrices(orbitals: list[str]) -> np.ndarray:
    """(L_x, L_y, L_z) restricted to one atom's orbital list, shape (3, n, n).

    Matrix elements between orbitals of different l are zero; the list may hold
    any subset of s, p, d orbitals in any order.
    """
    n = len(orbitals)
    result = np.zeros((3, n, n), dtype=complex)
    full = {ell: angular_momentum(ell) for ell in ORBITALS_BY_L}
    for i, oi in enumerate(orbitals):
        li, mi = ORBITAL_INDEX[oi]
        for j, oj in enumerate(orbitals):
            lj, mj = ORBITAL_INDEX[oj]
            if li == lj:
                result[:, i, j] = full[li][:, mi, mj]
    return result


#: Bond-integral channels for each (l1, l2) with l1 ≤ l2, in table order.
CHANNELS: dict[tuple[int, int], tuple[str, ...]] = {
    (0, 0): ("sigma",),
    (0, 1): ("sigma",),
    (0, 2): ("sigma",),
    (1, 1): ("sigma", "pi"),
    (1, 2): ("sigma", "pi"),
    (2, 2): ("sigma", "pi", "delta"),
}

PAULI = np.array(
    [[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex
)
"""Pauli matrices σ_x, σ_y, σ_z, shape (3, 2, 2)."""


def spin_orbit_matrix(l_matrices: np.ndarray, soc_constants: np.ndarray) -> np.ndarray:
    """On-site SOC  Σ_atoms λ_atom L·S  with S = σ/2, in the spinor basis (spin outer).

    Parameters
    ----------
    l_matrices : (3, n, n) complex
        Angular-momentum matrices of all orbitals of the cell (block diagonal per atom).
    soc_constants : (n,) float
        λ (eV) of the atom that owns each orbital.

    Returns
    -------
    (2n, 2n) complex Hermitian matrix in eV.
    """
    # L is block diagonal per atom, so scaling its rows by the owner's λ is exact.
    scaled = np.asarray(soc_constants, dtype=float)[None, :, None] * l_matrices
    n = l_matrices.shape[1]
    soc = np.zeros((2 * n, 2 * n), dtype=complex)
    for a in range(3):
        soc += 0.5 * np.kron(PAULI[a], scaled[a])
    return soc
