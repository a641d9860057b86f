"""Slater–Koster two-centre integrals for s, p, d orbitals, with exact gradients.

E_{μν}(d) = ⟨μ at 0 | H | ν at d⟩ for bond vector d (Å), from the table of
Slater & Koster, Phys. Rev. 94, 1498 (1954), Table I, with direction cosines
(l, m, n) = d/|d| and bond integrals V_c(|d|) for channels c = ssσ, spσ, …, ddδ.
Orbital shapes and order are those of :mod:`phonomag.crystal.orbitals`.

Distance dependence (Harrison type): V_c(d) = V_c⁰ (d₀/d)^η_c.

Gradients ∂E/∂d are analytic: the table is evaluated on first-order jets that
carry value and gradient together through sums and products (forward-mode
differentiation), seeded with ∂l_a/∂d_b = (δ_ab − l_a l_b)/|d| and
∂V/∂d_b = −η V l_b/|d|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SQ3 = np.sqrt(3.0)

#: Harrison's distance exponents, Electronic Structure and the Properties of
#: Solids (1980): s/p–s/p integrals ∝ d⁻², s/p–d ∝ d⁻⁷ᐟ², d–d ∝ d⁻⁵.
HARRISON_EXPONENTS: dict[tuple[int, int], float] = {
    (0, 0): 2.0,
    (0, 1): 2.0,
    (1, 1): 2.0,
    (0, 2): 3.5,
    (1, 2): 3.5,
    (2, 2): 5.0,
}


@dataclass(frozen=True)
class Jet:
    """A batch of scalars with their gradients: value (nb,), grad (nb, 3)."""

    value: np.ndarray
    grad: np.ndarray

    def __add__(self, other):
        if isinstance(other, Jet):
            return Jet(self.value + other.value, self.grad + other.grad)
        return Jet(self.value + other, self.grad)

    __radd__ = __add__

    def __neg__(self):
        return Jet(-self.value, -self.grad)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if isinstance(other, Jet):
            return Jet(
                self.value * other.value,
                self.grad * other.value[:, None] + other.grad * self.value[:, None],
            )
        return Jet(self.value * other, self.grad * other)

    __rmul__ = __mul__


def _table(l1: int, l2: int, c: tuple[Jet, Jet, Jet], v: tuple[Jet, ...]) -> list[list[Jet]]:
    """Slater–Koster block (2l1+1)×(2l2+1) for l1 ≤ l2 as nested lists of jets."""
    x, y, z = c
    if (l1, l2) == (0, 0):
        return [[v[0]]]
    if (l1, l2) == (0, 1):
        s = v[0]
        return [[x * s, y * s, z * s]]
    xx, yy, zz = x * x, y * y, z * z
    if (l1, l2) == (0, 2):
        s = v[0]
        return [[
            _SQ3 * x * y * s,
            _SQ3 * y * z * s,
            _SQ3 * z * x * s,
            (_SQ3 / 2) * (xx - yy) * s,
            (zz - 0.5 * (xx + yy)) * s,
        ]]
    if (l1, l2) == (1, 1):
        s, p = v
        sp = s - p
        return [
            [xx * s + (1 - xx) * p, x * y * sp, x * z * sp],
            [x * y * sp, yy * s + (1 - yy) * p, y * z * sp],
            [x * z * sp, y * z * sp, zz * s + (1 - zz) * p],
        ]
    if (l1, l2) == (1, 2):
        s, p = v
        xyz = x * y * z
        e_xyz = _SQ3 * xyz * s - 2 * xyz * p
        dxy2 = xx - yy
        dz2 = zz - 0.5 * (xx + yy)
        return [
            [  # px
                _SQ3 * xx * y * s + y * (1 - 2 * xx) * p,
                e_xyz,
                _SQ3 * xx * z * s + z * (1 - 2 * xx) * p,
                (_SQ3 / 2) * x * dxy2 * s + x * (1 - dxy2) * p,
                x * dz2 * s - _SQ3 * x * zz * p,
            ],
            [  # py
                _SQ3 * yy * x * s + x * (1 - 2 * yy) * p,
                _SQ3 * yy * z * s + z * (1 - 2 * yy) * p,
                e_xyz,
                (_SQ3 / 2) * y * dxy2 * s - y * (1 + dxy2) * p,
                y * dz2 * s - _SQ3 * y * zz * p,
            ],
            [  # pz
                e_xyz,
                _SQ3 * zz * y * s + y * (1 - 2 * zz) * p,
                _SQ3 * zz * x * s + x * (1 - 2 * zz) * p,
                (_SQ3 / 2) * z * dxy2 * s - z * dxy2 * p,
                z * dz2 * s + _SQ3 * z * (xx + yy) * p,
            ],
        ]
    if (l1, l2) == (2, 2):
        s, p, d = v
        xy, yz, zx = x * y, y * z, z * x
        dxy2 = xx - yy
        dz2 = zz - 0.5 * (xx + yy)
        rho2 = xx + yy
        e = [[None] * 5 for _ in range(5)]
        e[0][0] = 3 * xx * yy * s + (rho2 - 4 * xx * yy) * p + (zz + xx * yy) * d
        e[0][1] = 3 * x * yy * z * s + zx * (1 - 4 * yy) * p + zx * (yy - 1) * d
        e[0][2] = 3 * xx * yz * s + yz * (1 - 4 * xx) * p + yz * (xx - 1) * d
        e[0][3] = 1.5 * xy * dxy2 * s - 2 * xy * dxy2 * p + 0.5 * xy * dxy2 * d
        e[0][4] = _SQ3 * xy * dz2 * s - 2 * _SQ3 * xy * zz * p + (_SQ3 / 2) * xy * (1 + zz) * d
        e[1][1] = 3 * yy * zz * s + (yy + zz - 4 * yy * zz) * p + (xx + yy * zz) * d
        e[1][2] = 3 * y * zz * x * s + xy * (1 - 4 * zz) * p + xy * (zz - 1) * d
        e[1][3] = 1.5 * yz * dxy2 * s - yz * (1 + 2 * dxy2) * p + yz * (1 + 0.5 * dxy2) * d
        e[1][4] = _SQ3 * yz * dz2 * s + _SQ3 * yz * (rho2 - zz) * p - (_SQ3 / 2) * yz * rho2 * d
        e[2][2] = 3 * zz * xx * s + (zz + xx - 4 * zz * xx) * p + (yy + zz * xx) * d
        e[2][3] = 1.5 * zx * dxy2 * s + zx * (1 - 2 * dxy2) * p - zx * (1 - 0.5 * dxy2) * d
        e[2][4] = _SQ3 * zx * dz2 * s + _SQ3 * zx * (rho2 - zz) * p - (_SQ3 / 2) * zx * rho2 * d
        e[3][3] = 0.75 * dxy2 * dxy2 * s + (rho2 - dxy2 * dxy2) * p + (zz + 0.25 * dxy2 * dxy2) * d
        e[3][4] = (_SQ3 / 2) * dxy2 * dz2 * s - _SQ3 * zz * dxy2 * p + (_SQ3 / 4) * (1 + zz) * dxy2 * d
        e[4][4] = dz2 * dz2 * s + 3 * zz * rho2 * p + 0.75 * rho2 * rho2 * d
        for i in range(5):
            for j in range(i):
                e[i][j] = e[j][i]
        return e
    raise ValueError(f"no Slater–Koster table for l1={l1}, l2={l2}")


def two_centre_block(
    l1: int,
    l2: int,
    vectors: np.ndarray,
    integrals: np.ndarray,
    reference_length: np.ndarray,
    exponents: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Blocks E_{μν}(d) for orbitals of angular momenta l1 (at 0) and l2 (at d).

    Parameters
    ----------
    l1, l2 : angular momenta (0, 1, 2), any order.
    vectors : (nb, 3) bond vectors d in Å.
    integrals : (nb, nc) bond integrals V⁰ (eV) at the reference length, channels
        in the order of ``phonomag.crystal.orbitals.CHANNELS[(min, max)]`` and oriented as the bond: the
        value for the l1 orbital at the origin and the l2 orbital at d.
    reference_length : (nb,) d₀ in Å.
    exponents : (nb, nc) distance exponents η.

    Returns
    -------
    block : (nb, 2l1+1, 2l2+1) in eV.
    gradient : (nb, 2l1+1, 2l2+1, 3), ∂block/∂d in eV/Å.
    """
    vectors = np.asarray(vectors, dtype=float)
    dist = np.linalg.norm(vectors, axis=1)
    cosines = vectors / dist[:, None]
    eye = np.eye(3)
    c = tuple(
        Jet(cosines[:, a], (eye[a][None, :] - cosines[:, a, None] * cosines) / dist[:, None])
        for a in range(3)
    )
    scale = (reference_length[:, None] / dist[:, None]) ** exponents  # (nb, nc)
    values = integrals * scale
    v = tuple(
        Jet(values[:, k], -(exponents[:, k] * values[:, k] / dist)[:, None] * cosines)
        for k in range(values.shape[1])
    )
    lo, hi = min(l1, l2), max(l1, l2)
    table = _table(lo, hi, c, v)
    block = np.stack([np.stack([e.value for e in row], axis=-1) for row in table], axis=-2)
    grad = np.stack([np.stack([e.grad for e in row], axis=-2) for row in table], axis=-3)
    if l1 > l2:
        # E_{νμ}(d) = E_{μν}(−d) = (−1)^{l1+l2} E_{μν}(d)
        sign = (-1) ** (l1 + l2)
        block = sign * np.swapaxes(block, 1, 2)
        grad = sign * np.swapaxes(grad, 1, 2)
    return block, grad
