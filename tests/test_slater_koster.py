"""Slater–Koster table, its gradients and the angular-momentum matrices.

Independent references: rotational covariance of two-centre integrals with
rotation matrices built directly from the orbital polynomials, the bond-frame
form along z, central finite differences, and the algebra of angular momentum.
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from phonomag.crystal.orbitals import CHANNELS, D_TENSORS, angular_momentum, onsite_l_matrices, spin_orbit_matrix
from phonomag.engines.tightbinding.slater_koster import two_centre_block

PAIRS = [(a, b) for (l1, l2) in CHANNELS for (a, b) in {(l1, l2), (l2, l1)}]


def rotation_representation(ell, q):
    """D_νμ(Q) defined by f_μ(Qᵀr) = Σ_ν f_ν(r) D_νμ, from the orbital polynomials."""
    if ell == 0:
        return np.ones((1, 1))
    if ell == 1:
        return q
    norms = np.einsum("mij,mij->m", D_TENSORS, D_TENSORS)
    return np.einsum("nij,jk,mkl,il->nm", D_TENSORS, q, D_TENSORS, q) / norms[:, None]


def block(l1, l2, d, v, d0=1.0, eta=None):
    nc = v.shape[1]
    eta = np.zeros((len(d), nc)) if eta is None else eta
    return two_centre_block(l1, l2, d, v, np.full(len(d), d0), eta)


@pytest.mark.parametrize("l1,l2", PAIRS)
def test_rotational_covariance(l1, l2):
    rng = np.random.default_rng(7 + 3 * l1 + l2)
    nc = len(CHANNELS[(min(l1, l2), max(l1, l2))])
    v = rng.normal(size=(1, nc))
    d = rng.normal(size=(1, 3))
    for seed in range(3):
        q = Rotation.random(random_state=seed).as_matrix()
        e, _ = block(l1, l2, d, v)
        e_rot, _ = block(l1, l2, (q @ d[0])[None], v)
        expected = rotation_representation(l1, q) @ e[0] @ rotation_representation(l2, q).T
        assert np.allclose(e_rot[0], expected, atol=1e-13)


# Bond along z: only orbitals of equal m couple, through the channel |m| = 0 (σ), 1 (π), 2 (δ).
# Canonical orbitals: s; p (x, y, z); d (xy, yz, xz, x2-y2, z2). Real harmonics pair up as
# (px, dxz) and (py, dyz) with |m| = 1, (dxy, dxy) and (dx2-y2, dx2-y2) with |m| = 2.
Z_COUPLINGS = {
    (0, 0): {(0, 0): 0},
    (0, 1): {(0, 2): 0},
    (0, 2): {(0, 4): 0},
    (1, 1): {(2, 2): 0, (0, 0): 1, (1, 1): 1},
    (1, 2): {(2, 4): 0, (0, 2): 1, (1, 1): 1},
    (2, 2): {(4, 4): 0, (1, 1): 1, (2, 2): 1, (0, 0): 2, (3, 3): 2},
}


@pytest.mark.parametrize("l1,l2", PAIRS)
def test_bond_along_z_is_diagonal_in_m(l1, l2):
    lo, hi = min(l1, l2), max(l1, l2)
    v = np.array([[1.3, -0.7, 0.4][: len(CHANNELS[(lo, hi)])]])
    e, _ = block(l1, l2, np.array([[0.0, 0.0, 2.0]]), v)
    expected = np.zeros((2 * lo + 1, 2 * hi + 1))
    for (i, j), channel in Z_COUPLINGS[(lo, hi)].items():
        expected[i, j] = v[0, channel]
    if l1 > l2:  # orbital l1 at the origin: E_{νμ}(d) = (−1)^{l1+l2} E_{μν}(d)
        expected = (-1) ** (l1 + l2) * expected.T
    assert np.allclose(e[0], expected, atol=1e-14)


@pytest.mark.parametrize("l1,l2", PAIRS)
def test_gradient_matches_finite_differences(l1, l2):
    rng = np.random.default_rng(11 + l1 + 5 * l2)
    nc = len(CHANNELS[(min(l1, l2), max(l1, l2))])
    v = rng.normal(size=(4, nc))
    eta = rng.uniform(1.0, 6.0, size=(4, nc))
    d = rng.normal(size=(4, 3)) + 2.0
    _, grad = block(l1, l2, d, v, d0=2.5, eta=eta)
    h = 1e-5
    for a in range(3):
        step = np.zeros(3)
        step[a] = h
        plus, _ = block(l1, l2, d + step, v, d0=2.5, eta=eta)
        minus, _ = block(l1, l2, d - step, v, d0=2.5, eta=eta)
        assert np.allclose(grad[..., a], (plus - minus) / (2 * h), atol=1e-8, rtol=1e-7)


def test_distance_scaling():
    v = np.array([[2.0, -1.0]])
    d = np.array([[0.0, 0.0, 3.0]])
    e, _ = block(1, 1, d, v, d0=2.0, eta=np.array([[2.0, 3.0]]))
    assert e[0, 2, 2] == pytest.approx(2.0 * (2 / 3) ** 2)
    assert e[0, 0, 0] == pytest.approx(-1.0 * (2 / 3) ** 3)


@pytest.mark.parametrize("ell", [1, 2])
def test_angular_momentum_algebra(ell):
    lx, ly, lz = angular_momentum(ell)
    assert np.allclose(lx @ ly - ly @ lx, 1j * lz, atol=1e-14)
    assert np.allclose(ly @ lz - lz @ ly, 1j * lx, atol=1e-14)
    assert np.allclose(lx @ lx + ly @ ly + lz @ lz, ell * (ell + 1) * np.eye(2 * ell + 1), atol=1e-14)
    for mat in (lx, ly, lz):
        assert np.allclose(mat, mat.conj().T)


def test_lz_rotates_px_into_py():
    # L_z = -i(x∂_y − y∂_x): L_z x = i y, so <py|L_z|px> = i
    lz = angular_momentum(1)[2]
    assert lz[1, 0] == pytest.approx(1j)
    # on d: (x∂_y − y∂_x)(√3/2)(x²−y²) = −2√3 xy, so L_z dx2-y2 = 2i dxy
    lz2 = angular_momentum(2)[2]
    assert lz2[0, 3] == pytest.approx(2j)


@pytest.mark.parametrize("orbitals,levels", [
    (["px", "py", "pz"], {0.5: 4, -1.0: 2}),
    (["dxy", "dyz", "dxz", "dx2-y2", "dz2"], {1.0: 6, -1.5: 4}),
])
def test_spin_orbit_multiplets(orbitals, levels):
    """λ L·S has j = l ± 1/2 levels λl/2 and −λ(l+1)/2 with 2j+1 states."""
    soc = spin_orbit_matrix(onsite_l_matrices(orbitals), np.ones(len(orbitals)))
    values = np.round(np.linalg.eigvalsh(soc), 10)
    found = {float(v): int(np.sum(values == v)) for v in np.unique(values)}
    assert found == levels
