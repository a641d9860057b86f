"""On-site form factors: normalisation, an analytic case, rotations and time reversal."""

import numpy as np
import pytest
from ase.units import Bohr
from scipy.spatial.transform import Rotation

from phonomag.crystal.orbitals import D_TENSORS
from phonomag.engines.tightbinding.form_factors import onsite_form_factors

D_NAMES = ("dxy", "dyz", "dxz", "dx2-y2", "dz2")
P_NAMES = ("px", "py", "pz")


def test_zero_q_is_identity():
    f = onsite_form_factors(D_NAMES + P_NAMES + ("s",), {"d": (5, 2.6), "p": (4, 2.1), "s": (5, 2.2)}, np.zeros((1, 3)))
    assert np.allclose(f[0], np.eye(9), atol=1e-12)


@pytest.mark.parametrize("q", [0.3, 1.0, 2.5])
def test_hydrogen_like_1s_form_factor(q):
    """For R = 2ζ^{3/2} e^{−ζr}: F(q) = (1 + (q/2ζ)²)^{−2} (Fourier transform of a 1s density)."""
    zeta = 1.7
    f = onsite_form_factors(("s",), {"s": (1, zeta)}, np.array([[0.0, q, 0.0]]))
    z = zeta / Bohr
    assert f[0, 0, 0].real == pytest.approx((1 + (q / (2 * z)) ** 2) ** -2, rel=1e-9)
    assert abs(f[0, 0, 0].imag) < 1e-12


def rotation_representation(q):
    norms = np.einsum("mij,mij->m", D_TENSORS, D_TENSORS)
    return np.einsum("nij,jk,mkl,il->nm", D_TENSORS, q, D_TENSORS, q) / norms[:, None]


def test_rotational_covariance():
    radial = {"d": (5, 2.6)}
    q = np.array([0.7, -0.4, 0.9])
    rot = Rotation.random(random_state=5).as_matrix()
    f = onsite_form_factors(D_NAMES, radial, q[None])[0]
    f_rot = onsite_form_factors(D_NAMES, radial, (rot @ q)[None])[0]
    d = rotation_representation(rot)
    assert np.allclose(f_rot, d @ f @ d.T, atol=1e-10)


def test_time_reversal_and_symmetry():
    radial = {"p": (4, 2.1)}
    q = np.array([[1.1, 0.4, 0.2]])
    f_plus = onsite_form_factors(P_NAMES, radial, q)[0]
    f_minus = onsite_form_factors(P_NAMES, radial, -q)[0]
    assert np.allclose(f_minus, f_plus.conj(), atol=1e-12)
    assert np.allclose(f_plus, f_plus.T, atol=1e-12)
    # p orbitals have even products: the form factor is real
    assert np.abs(f_plus.imag).max() < 1e-12


def test_quadrature_is_converged():
    radial = {"d": (5, 2.6)}
    q = np.array([[1.3, 0.2, 0.0]])
    coarse = onsite_form_factors(D_NAMES, radial, q, n_radial=60)
    fine = onsite_form_factors(D_NAMES, radial, q, n_radial=120)
    assert np.allclose(coarse, fine, atol=1e-10)
