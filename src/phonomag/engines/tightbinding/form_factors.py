"""On-site form factors F_μν(q) = ∫ χ_μ(r) χ_ν(r) e^{−iq·r} d³r of one atom's orbitals.

The cell integral of the periodic response, ∫_cell δñ d³r = ∫ e^{−iq·r} N(r) d³r / N_cells,
receives from each atom the on-site products of its orbitals weighted by these form
factors: n̄_κ = Σ_{μ,ν ∈ κ} P_{μν}(L=0) F_μν(q). At q = 0, F = 1 (orthonormal orbitals)
and n̄_κ is the site-diagonal (Mulliken) sum; at the zone boundary q·⟨r⟩ ~ 1 and the
orbital shape matters: the off-diagonal F_μν couple orbitals of different m. Two-centre
products are neglected (orthonormal tight-binding basis).

Orbitals are Slater-type, χ = R_n(r) Y_μ(r̂): R_n = (2ζ)^{n+½}/√((2n)!) r^{n−1} e^{−ζr}
(normalised), Y_μ the real harmonics of :mod:`phonomag.crystal.orbitals` normalised on
the sphere, √((2l+1)/4π) × shape. F is evaluated by quadrature: Gauss–Laguerre in r
(exact for the Slater radial part times polynomials, converged for the Bessel factors),
Lebedev-free product Gauss–Legendre × uniform φ on the sphere.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np
from ase.units import Bohr

from phonomag.crystal.orbitals import D_TENSORS, ORBITAL_INDEX


def angular_values(names: tuple[str, ...], directions: np.ndarray) -> np.ndarray:
    """Real harmonics Y_μ(r̂), normalised on the unit sphere, (n_orb, npoints)."""
    x, y, z = directions.T
    shapes = {
        0: lambda: [np.ones_like(x)],
        1: lambda: [x, y, z],
        2: lambda: list(np.einsum("mij,pi,pj->mp", D_TENSORS, directions, directions)),
    }
    cache: dict[int, list[np.ndarray]] = {}
    values = []
    for name in names:
        ell, m = ORBITAL_INDEX[name]
        if ell not in cache:
            cache[ell] = shapes[ell]()
        values.append(np.sqrt((2 * ell + 1) / (4 * np.pi)) * cache[ell][m])
    return np.array(values)


def slater_radial(n: int, zeta_per_bohr: float, r: np.ndarray) -> np.ndarray:
    """Normalised Slater radial function R_n(r) (Å^{-3/2}) at r in Å, ∫ R² r² dr = 1."""
    zeta = zeta_per_bohr / Bohr
    return (2 * zeta) ** (n + 0.5) / np.sqrt(factorial(2 * n)) * r ** (n - 1) * np.exp(-zeta * r)


@lru_cache(maxsize=4)
def _sphere(n_theta: int = 24, n_phi: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors and weights of a product rule exact for polynomials of degree < 2 n_theta."""
    t, wt = np.polynomial.legendre.leggauss(n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    ct, ph = np.meshgrid(t, phi, indexing="ij")
    st = np.sqrt(1 - ct**2)
    directions = np.stack([st * np.cos(ph), st * np.sin(ph), ct], axis=-1).reshape(-1, 3)
    weights = (wt[:, None] * np.full(n_phi, 2 * np.pi / n_phi)[None, :]).ravel()
    return directions, weights


@lru_cache(maxsize=16)
def _quadrature(letters: tuple[str, ...], names: tuple[str, ...], radial: tuple[tuple[str, tuple[int, float]], ...],
                n_radial: int) -> tuple[np.ndarray, np.ndarray]:
    """The q-independent part of F: quadrature points r r̂ (n_r·n_dir, 3) Å and the weighted
    orbital products w R_μ Y_μ R_ν Y_ν (n_orb², n_r·n_dir), real."""
    radial = dict(radial)
    directions, w_angle = _sphere()
    # Gauss–Laguerre in s = 2 ζ_min r: ∫ f(r) r² dr with the slowest decaying exponential
    zeta_min = min(radial[letter][1] for letter in set(letters)) / Bohr
    s, w_s = np.polynomial.laguerre.laggauss(n_radial)
    r = s / (2 * zeta_min)
    w_r = w_s * np.exp(s) * r**2 / (2 * zeta_min)
    shells = {letter: slater_radial(*radial[letter], r) for letter in set(letters)}
    radial_values = np.array([shells[letter] for letter in letters])  # (n_orb, n_r)
    angular = angular_values(names, directions)  # (n_orb, n_dir)
    weight = w_r[:, None] * w_angle[None, :]
    product = np.einsum("mr,md,nr,nd,rd->mnrd", radial_values, angular, radial_values, angular, weight)
    points = r[:, None, None] * directions[None]
    return points.reshape(-1, 3), product.reshape(len(names) ** 2, -1)


def onsite_form_factors(
    names: tuple[str, ...],
    radial: dict[str, tuple[int, float]],
    q_cartesian: np.ndarray,
    n_radial: int = 60,
) -> np.ndarray:
    """F_μν(q) for one atom's orbitals at wavevectors q (nq, 3) in 1/Å → (nq, n_orb, n_orb) complex.

    radial : shell letter → (n, ζ in 1/bohr), as in the model file's ``slater`` table.
    The q-independent quadrature is cached; per q it is e^{−iq·r} summed with real weights.
    """
    letters = tuple("spd"[ORBITAL_INDEX[name][0]] for name in names)
    missing = sorted(set(letters) - set(radial))
    if missing:
        raise ValueError(f"no Slater radial function for shell(s) {', '.join(missing)}")
    frozen = tuple(sorted((letter, (int(n), float(zeta))) for letter, (n, zeta) in radial.items()))
    points, products = _quadrature(letters, tuple(names), frozen, n_radial)
    angle = np.atleast_2d(np.asarray(q_cartesian, dtype=float)) @ points.T  # (nq, n_r·n_dir)
    values = np.cos(angle) @ products.T - 1j * (np.sin(angle) @ products.T)
    return values.reshape(len(angle), len(names), len(names))
