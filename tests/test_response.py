"""Physics of the charge–spin response (docs/physics.md §6), each against an independent fact.

Exact identities are checked to ≤ 1e-8 (relative): gauge invariance, time reversal,
the cancellation of the full static magnetization, λ = 0, the σ_h selection rule,
and the equality of the sum over states with a supercell finite-difference projector.
"""

from dataclasses import replace

import numpy as np
import pytest

from phonomag.crystal.materials import load_material
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.engines.tightbinding.response import displacement_response, response_matrices
from phonomag.engines.tightbinding.vertex_check import CommensurateSupercell

K = np.array([1 / 3, 1 / 3, 0.0])
# A low-symmetry q on the k grid: the N⁻/N⁺ cancellation pairs k with −k−q, so it is exact
# on a finite grid only when the grid maps onto itself under k → −k − q.
GENERIC_Q = np.array([3 / 12, 1 / 12, 0.0])
OFF_GRID_Q = np.array([0.213, 0.071, 0.0])
GRID = (12, 12, 1)  # contains Γ, M and K
EXACT = 1e-8


@pytest.fixture(scope="module")
def model():
    return TightBindingModel.from_material(load_material("WSe2"))


def cell_total(response):
    """Cell-integrated (n⁰, Mx, My, Mz) per unit pattern, (natoms, 3, 4)."""
    return response.tensor.sum(axis=2)


def relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_gauge_invariance(model):
    """Random phases and random unitary mixing inside degenerate groups leave N unchanged."""
    rng = np.random.default_rng(3)
    mixed = []

    def scrambled(kpoints):
        energies, vectors = model.eigh(kpoints)
        vectors = vectors * np.exp(2j * np.pi * rng.random(vectors.shape[::2]))[:, None, :]
        for ik in range(len(kpoints)):
            start = 0
            while start < model.n_basis:
                stop = start + 1
                while stop < model.n_basis and energies[ik, stop] - energies[ik, stop - 1] < 1e-9:
                    stop += 1
                if stop - start > 1:
                    z = rng.normal(size=(stop - start,) * 2) + 1j * rng.normal(size=(stop - start,) * 2)
                    unitary, _ = np.linalg.qr(z)
                    vectors[ik, :, start:stop] = vectors[ik, :, start:stop] @ unitary
                    mixed.append(stop - start)
                start = stop
        return energies, vectors

    for q in (K, GENERIC_Q):
        reference = displacement_response(model, q, GRID)
        scrambled_response = displacement_response(model, q, GRID, eigensolver=scrambled)
        assert relative(scrambled_response.tensor, reference.tensor) < EXACT
    assert mixed, "the grid must contain degenerate (Kramers) pairs to mix"


@pytest.mark.parametrize("q", [K, GENERIC_Q, OFF_GRID_Q], ids=["K", "on-grid", "off-grid"])
def test_k_plus_q_states_by_time_reversal_equal_the_diagonalised_ones(model, q):
    """The default path takes the k+q states from the k states by time reversal; an explicit
    eigensolver diagonalises H(k+q). Both give the same energies, projectors and response."""
    from phonomag.engines.tightbinding.response import _grid_bands, sampling_grid

    e_k, v_k, e_kq, v_kq = _grid_bands(model, q, (6, 4, 1), None)
    e_ref, v_ref = model.eigh(sampling_grid((6, 4, 1), q) + q)
    assert np.abs(e_kq - e_ref).max() < 1e-12
    occ = slice(0, model.occupied_bands)
    projector = v_kq[:, :, occ] @ np.swapaxes(v_kq[:, :, occ].conj(), -1, -2)
    projector_ref = v_ref[:, :, occ] @ np.swapaxes(v_ref[:, :, occ].conj(), -1, -2)
    assert np.abs(projector - projector_ref).max() < 1e-12
    for kind in ("one-sided", "full"):
        default = displacement_response(model, q, GRID, kind)
        solved = displacement_response(model, q, GRID, kind, eigensolver=model.eigh)
        assert relative(default.tensor, solved.tensor) < EXACT


def test_time_reversal(model):
    """n⁰_{−q} = (n⁰_q)*, M_{−q} = −(M_q)* for real unit patterns (e_{−q} = e_q*)."""
    plus = cell_total(displacement_response(model, GENERIC_Q, GRID))
    minus = cell_total(displacement_response(model, -GENERIC_Q, GRID))
    assert relative(minus[..., 0], plus[..., 0].conj()) < EXACT
    assert relative(minus[..., 1:], -plus[..., 1:].conj()) < EXACT
    assert np.abs(plus[..., 1:]).max() > 1e-4, "the magnetization must not vanish trivially"


@pytest.mark.parametrize("q", [K, GENERIC_Q, OFF_GRID_Q], ids=["K", "on-grid", "off-grid"])
def test_full_response_has_no_magnetization_and_twice_the_charge(model, q):
    """The full grid is shifted by −q/2; for q on the Γ-centred grid both grids are the same
    set of points, so the charge identity is exact there; the cancellation of M is exact for all q."""
    one = cell_total(displacement_response(model, q, GRID))
    full = cell_total(displacement_response(model, q, GRID, kind="full"))
    assert np.abs(full[..., 1:]).max() < EXACT * np.abs(one[..., 1:]).max()
    # site by site, not only in total
    one_sites = displacement_response(model, q, GRID).tensor
    full_sites = displacement_response(model, q, GRID, kind="full").tensor
    assert np.abs(full_sites[..., 1:]).max() < EXACT * np.abs(one_sites[..., 1:]).max()
    if q is not OFF_GRID_Q:
        assert relative(full[..., 0], 2 * one[..., 0]) < EXACT


def test_no_magnetization_without_spin_orbit_coupling():
    spec = load_material("WSe2")
    species = {s: replace(sp, soc=0.0) for s, sp in spec.species.items()}
    plain = TightBindingModel(spec.atoms, spec.labels, species, spec.hoppings, spec.occupied_bands)
    tensor = displacement_response(plain, K, GRID).tensor
    assert np.abs(tensor[..., 1:]).max() < 1e-12 * np.abs(tensor[..., 0]).max()
    assert np.abs(tensor[..., 0]).max() > 0.05


def sigma_h_patterns():
    """Unit displacement patterns of W, Se_t, Se_b that are even / odd under σ_h: z → −z.

    σ_h swaps Se_t and Se_b and flips z components; a pattern is even if it is mapped to itself.
    """
    even, odd = [], []
    for axis in (0, 1):
        w = np.zeros((3, 3))
        w[0, axis] = 1
        even.append(w)
        sym = np.zeros((3, 3))
        sym[1, axis] = sym[2, axis] = 1
        even.append(sym)
        anti = np.zeros((3, 3))
        anti[1, axis], anti[2, axis] = 1, -1
        odd.append(anti)
    w = np.zeros((3, 3))
    w[0, 2] = 1
    odd.append(w)
    sym = np.zeros((3, 3))
    sym[1, 2] = sym[2, 2] = 1
    odd.append(sym)
    anti = np.zeros((3, 3))
    anti[1, 2], anti[2, 2] = 1, -1
    even.append(anti)
    return np.array(even), np.array(odd)


@pytest.mark.parametrize("q", [K, np.array([0.5, 0, 0]), np.array([0.25, 0, 0]), np.array([0.4, 0.1, 0])],
                         ids=["K", "M", "G-M", "generic"])
def test_sigma_h_selection_rule(model, q):
    """Even patterns give cell-integrated M along z only, odd ones in-plane M only."""
    response = displacement_response(model, q, GRID)
    even, odd = sigma_h_patterns()
    m_even = response.for_displacements(even).sum(axis=-2)
    m_odd = response.for_displacements(odd).sum(axis=-2)
    scale = max(np.abs(m_even[..., 1:]).max(), np.abs(m_odd[..., 1:]).max())
    assert np.abs(m_even[..., 1:3]).max() < EXACT * scale
    assert np.abs(m_odd[..., 3]).max() < EXACT * scale
    assert np.abs(m_even[..., 3]).max() > 1e-3 * scale
    assert np.abs(m_odd[..., 1:3]).max() > 1e-3 * scale


def test_sum_over_states_equals_supercell_projector_derivative(model):
    """N⁺ = Q δP[W] P from finite differences of the occupied projector of a 3×3 supercell at q = K."""
    k = np.array([0.1, 0.05, 0.0])
    cell = CommensurateSupercell(model, k, K, (3, 3, 1))
    n_occ = cell.supercell.occupied_bands

    def projector(u):
        _, vectors = np.linalg.eigh(cell.supercell.hamiltonian(cell.k_super, displacements=u)[0])
        return vectors[:, :n_occ] @ vectors[:, :n_occ].conj().T

    p = projector(np.zeros((len(cell.supercell.atoms), 3)))
    q_proj = np.eye(len(p)) - p
    analytic = response_matrices(model, K, k[None])[0]
    for kappa in range(len(model.atoms)):
        for alpha in range(3):
            numeric = cell.project(q_proj @ cell.derivative(projector, kappa, alpha, 1e-3) @ p)
            assert relative(numeric, analytic[kappa, alpha]) < EXACT


def test_k_grid_convergence_at_k(model):
    """The cell-integrated response at K converges with the k grid."""
    values = [cell_total(displacement_response(model, K, (n, n, 1))) for n in (12, 24, 36)]
    change_coarse = relative(values[1], values[2])
    change_fine = relative(values[0], values[2])
    assert change_coarse < 0.01
    assert change_coarse < change_fine
