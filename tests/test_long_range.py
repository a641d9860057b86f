"""The long-range part of a polar crystal's pattern responses (phonomag.engines.kernel.long_range, docs/physics.md §12)
on a synthetic field response X: the kernel's periodicity, the cell integral against the fields, the
direction-dependent limit at Γ against the closed form, and the kernel that subtracts and adds it back."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.build import bulk

from phonomag.engines.kernel.interpolation import ResponseKernel, plane_spacing
from phonomag.engines.kernel.long_range import LongRange

SHAPE = (9, 9, 9)
ZSTAR = 2.1
EPSILON = 11.0


@pytest.fixture(scope="module")
def long_range() -> LongRange:
    atoms = bulk("AlSb", "zincblende", a=6.1355)
    rng = np.random.default_rng(7)
    g = np.stack(np.meshgrid(*[np.arange(-2, 3)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    coefficients = (rng.normal(size=(3, 4, len(g))) + 1j * rng.normal(size=(3, 4, len(g)))) * 1e-2
    born = np.array([ZSTAR * np.eye(3), -ZSTAR * np.eye(3)])
    born[0, 0, 1] = 0.3  # an anisotropic part, so that the direction of q matters beyond q̂_α
    born[1, 0, 1] = -0.3
    epsilon = EPSILON * np.eye(3) + np.diag([0.5, -0.2, 0.0])
    return LongRange.from_coefficients(atoms, born, epsilon, coefficients, g, SHAPE)


def _fractional_grid() -> np.ndarray:
    """Fractional points (n3, n1, n2, 3) of the kernel layout (the planes x₃ = j₃/n₃)."""
    n1, n2, n3 = SHAPE
    f3, f1, f2 = np.meshgrid(np.arange(n3) / n3, np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
    return np.stack([f1, f2, f3], axis=-1)


def test_periodic_in_q_with_the_kernel_phase(long_range):
    """ñ^L_{q+G₀}(r) = e^{−iG₀·(r−τ_κ)} ñ^L_q(r), the relation of the patterns' responses."""
    q, g0 = np.array([0.1, 0.2, -0.05]), np.array([1, 0, -1])
    x = _fractional_grid()
    tau = long_range.atoms.get_scaled_positions(wrap=False)
    phase = np.exp(-2j * np.pi * np.einsum("klxyi,i->klxy", x[None] - tau[:, None, None, None], g0))  # (κ, n3, n1, n2)
    here, there = long_range.fields(q[None])[0], long_range.fields((q + g0)[None])[0]
    expected = phase[:, None, :, None] * here
    assert np.abs(here).max() > 1e-4
    assert np.abs(there - expected).max() < 1e-10 * np.abs(here).max()


def test_cell_integral_is_the_mean_of_the_fields(long_range):
    q = np.array([[0.13, -0.07, 0.21], [0.5, 0.5, 0.0]])
    volume = abs(np.linalg.det(long_range.atoms.cell.array))
    from_fields = long_range.fields(q).mean(axis=(3, 5, 6)) * volume  # (nq, κ, α, 4)
    integrals = long_range.cell_integrals(q)
    assert np.abs(integrals).max() > 1e-4
    assert np.abs(integrals - from_fields).max() < 1e-10 * np.abs(integrals).max()


def test_limit_at_gamma_depends_on_the_direction_as_the_macroscopic_field(long_range):
    """As q → 0 along q̂₁ and q̂₂ the difference is that of −(4π/Ω) q̂ (q̂·Z*)_α / (q̂·ε∞·q̂) times X(G = 0), per Å;
    at Γ itself there is no macroscopic field."""
    atoms = long_range.atoms
    reciprocal = 2 * np.pi * np.linalg.inv(atoms.cell.array).T
    directions = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # reduced
    small = 1e-7
    integrals = long_range.cell_integrals(small * directions)
    volume_bohr3 = abs(np.linalg.det(atoms.cell.array)) / units.Bohr**3
    x0 = long_range.spectrum[:, :, 0, 0, 0]  # X_β(G = 0), (β, 4)
    expected = []
    for d in directions:
        qhat = d @ reciprocal / np.linalg.norm(d @ reciprocal)
        field = -(4 * np.pi / volume_bohr3) * np.einsum("b,ka->kab", qhat, qhat @ long_range.born) / (
            qhat @ long_range.epsilon @ qhat) / units.Bohr  # (κ, α, β) per Å
        expected.append(abs(np.linalg.det(atoms.cell.array)) * np.einsum("kab,bc->kac", field, x0))
    difference = integrals[0] - integrals[1]
    assert np.abs(expected[0] - expected[1]).max() > 1e-3
    assert np.abs(difference - (expected[0] - expected[1])).max() < 1e-5 * np.abs(difference).max()
    at_gamma = long_range.cell_integrals(np.zeros((1, 3)))[0]
    assert np.abs(integrals[0] - at_gamma - expected[0]).max() < 1e-5 * np.abs(expected[0]).max()


def _kernel(long_range: LongRange, with_long_range: bool) -> ResponseKernel:
    qgrid = (3, 3, 3)
    steps = list(np.ndindex(*qgrid))
    fields = {m: long_range.fields(np.array(m, float)[None] / 3)[0] for m in steps}
    layers = tuple(j / SHAPE[2] * plane_spacing(long_range.atoms.cell.array) for j in range(SHAPE[2]))
    return ResponseKernel.from_grid(fields, long_range.atoms, qgrid, layers, long_range if with_long_range else None)


def test_kernel_adds_back_what_it_subtracted(long_range):
    """Grid data that is all long-range: the kernel with the part returns it at any q, into Γ along two directions;
    without it (the control) the interpolation cannot follow the direction dependence."""
    q = np.array([[0.02, 0.0, 0.0], [0.0, 0.02, 0.02], [0.37, -0.11, 0.25]])
    exact = long_range.cell_integrals(q)
    polar, plain = _kernel(long_range, True), _kernel(long_range, False)
    scale = np.abs(exact).max()
    assert np.abs(polar.cell_integrals(q, None) - exact).max() < 1e-10 * scale
    assert np.abs(polar.fields(q[:1]) - long_range.fields(q[:1])).max() < 1e-10 * np.abs(long_range.fields(q[:1])).max()
    control = np.abs(plain.cell_integrals(q[:2], None) - exact[:2]).max()
    assert control > 0.1 * scale


def test_the_field_response_keeps_its_time_reversal_part():
    """X at q = 0 answers a time-reversal-even perturbation: n⁰ real, M imaginary in real space. A random X is
    projected onto that, a real/imaginary X is kept as it is, and the violation removed is stated."""
    from phonomag.engines.kernel.long_range import time_reversal_part, time_reversal_violation

    rng = np.random.default_rng(7)
    shape = (3, 4, 5, 4, 6)
    allowed = np.fft.fftn(rng.normal(size=shape) * np.array([1, 1j, 1j, 1j])[None, :, None, None, None],
                          axes=(-3, -2, -1))  # n⁰ real, M imaginary on the grid
    assert np.allclose(time_reversal_part(allowed), allowed)
    assert np.allclose(time_reversal_violation(allowed), 0.0, atol=1e-14)
    noisy = allowed + 0.1 * (rng.normal(size=shape) + 1j * rng.normal(size=shape))
    kept = time_reversal_part(noisy)
    values = np.fft.ifftn(kept, axes=(-3, -2, -1))
    assert np.abs(values[:, 0].imag).max() < 1e-14 and np.abs(values[:, 1:].real).max() < 1e-14
    charge, magnetization = time_reversal_violation(noisy)
    assert 1e-3 < charge < 0.2 and 1e-3 < magnetization < 0.2
