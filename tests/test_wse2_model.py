"""The built-in WSe2 spinor model: band facts and the analytic electron–phonon vertex.

References: the DFT/ARPES facts of monolayer WSe2 quoted in the issue (direct gap at K,
top-valence spin splitting ≈ 0.46 eV), time-reversal symmetry, and finite differences
of the supercell Hamiltonian (an independent computation of the vertex).
"""

import numpy as np
import pytest

from phonomag.crystal.materials import load_material
from phonomag.engines.tightbinding.bands import valence_splitting
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.engines.tightbinding.vertex_check import finite_difference_vertex

K = np.array([1 / 3, 1 / 3, 0.0])
M = np.array([0.5, 0.0, 0.0])


@pytest.fixture(scope="module")
def model():
    return TightBindingModel.from_material(load_material("WSe2"))


def test_hamiltonian_is_hermitian_and_time_reversal_symmetric(model):
    rng = np.random.default_rng(1)
    k = rng.uniform(-0.5, 0.5, size=(6, 3)) * [1, 1, 0]
    h = model.hamiltonian(k)
    assert np.allclose(h, np.swapaxes(h.conj(), 1, 2), atol=1e-13)
    # Θ = iσ_y K: H(−k) = σ_y H(k)* σ_y, so the spectra at k and −k coincide
    assert np.allclose(np.linalg.eigvalsh(h), np.linalg.eigvalsh(model.hamiltonian(-k)), atol=1e-12)


def test_direct_gap_at_k(model):
    vbm, cbm = model.band_edges((24, 24, 1))
    energies = np.linalg.eigvalsh(model.hamiltonian(K[None]))[0]
    n = model.occupied_bands
    assert energies[n - 1] == pytest.approx(vbm, abs=1e-9)
    assert energies[n] == pytest.approx(cbm, abs=1e-9)
    assert 1.0 < cbm - vbm < 2.2


def test_spin_splittings_at_k(model):
    valence, conduction = valence_splitting(model, K)
    assert valence == pytest.approx(0.46, rel=0.15)
    # conduction splitting is small, an order of magnitude below the valence one (DFT ≈ 36 meV,
    # Kormányos et al., 2D Mater. 2, 022001 (2015); these SK parameters give ≈ 60 meV)
    assert conduction < 0.15 * valence


def test_spin_z_opposite_at_k_and_k_prime(model):
    _, vectors = model.eigh(np.array([K, -K]))
    spin = model.spin_expectation(vectors)
    top = model.occupied_bands - 1
    assert spin[0, top, 2] > 0.95
    assert spin[1, top, 2] == pytest.approx(-spin[0, top, 2], abs=1e-10)
    # σ_h pins the spin of every non-degenerate band to z
    assert np.abs(spin[:, top, :2]).max() < 1e-10


def test_no_soc_means_spin_degenerate_bands():
    from dataclasses import replace

    spec = load_material("WSe2")
    species = {s: replace(sp, soc=0.0) for s, sp in spec.species.items()}
    plain = TightBindingModel(spec.atoms, spec.labels, species, spec.hoppings, spec.occupied_bands)
    e = np.linalg.eigvalsh(plain.hamiltonian(K[None]))[0]
    assert np.allclose(e[0::2], e[1::2], atol=1e-12)


@pytest.mark.parametrize("q,repeats", [(K, (3, 3, 1)), (M, (2, 1, 1))], ids=["K", "M"])
def test_vertex_equals_supercell_finite_differences(model, q, repeats):
    k = np.array([0.13, 0.27, 0.0])
    analytic = model.vertex(k, q)[0]
    numeric = finite_difference_vertex(model, k, q, repeats, step=1e-3)
    for kappa in range(len(model.atoms)):
        for alpha in range(3):
            scale = np.abs(analytic[kappa, alpha]).max()
            assert scale > 0.1, "every displacement changes some hopping"
            error = np.abs(analytic[kappa, alpha] - numeric[kappa, alpha]).max() / scale
            assert error < 1e-6, (kappa, alpha, error)


def test_vertex_at_zero_q_is_derivative_of_primitive_hamiltonian(model):
    """At q = 0 the pattern is a uniform displacement of one sublattice: ∂H(k)/∂u directly."""
    k = np.array([[0.21, -0.08, 0.0]])
    g = model.vertex(k, np.zeros(3))[0]
    h = 1e-4
    for kappa in range(len(model.atoms)):
        for alpha in range(3):
            u = np.zeros((len(model.atoms), 3))
            u[kappa, alpha] = h
            fd = (model.orbital_hamiltonian(k, u) - model.orbital_hamiltonian(k, -u))[0] / (2 * h)
            assert np.allclose(g[kappa, alpha], fd, atol=1e-7)


def test_rigid_translation_does_not_change_hamiltonian(model):
    """Acoustic sum rule of the vertex: moving all atoms together at q = 0 gives zero."""
    g = model.vertex(np.array([[0.3, 0.1, 0.0]]), np.zeros(3))[0]
    assert np.abs(g.sum(axis=0)).max() < 1e-12


def test_mirror_blocks_give_the_full_diagonalisation():
    """At in-plane k, H(k) splits into the σ_h = ±i blocks: same energies as the full eigh, eigenvectors of
    definite parity; off the plane (k_z ≠ 0) the full matrix is diagonalised."""
    from phonomag.cli.systems import load_model

    _, model = load_model("WSe2")
    k = np.random.default_rng(2).random((40, 3))
    k[:, 2] = 0
    energies, vectors = model.eigh(k)
    full = np.linalg.eigvalsh(model.hamiltonian(k))
    assert np.abs(energies - full).max() < 1e-12
    basis = model.mirror_basis
    projected = np.swapaxes(basis.conj(), -1, -2) @ vectors  # components in the σ_h eigenbasis
    weight_minus = np.sum(np.abs(projected[:, : model.n_orbitals]) ** 2, axis=1)
    assert np.all((weight_minus < 1e-12) | (weight_minus > 1 - 1e-12))  # each state is parity-pure
    k[:, 2] = 0.1
    assert np.abs(model.eigh(k)[0] - np.linalg.eigvalsh(model.hamiltonian(k))).max() < 1e-12
