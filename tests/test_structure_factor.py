"""Dynamic charge–spin structure factor S^{αβ}(Q, ω) of WSe2 (paper eq. 5)."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import trapezoid

from phonomag.cli.systems import load_model, load_phonons
from phonomag.engines.base import compute_mode_response, compute_scattering_amplitudes
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.response.structure_factor import (
    KB_MEV,
    QPlane,
    bose_factor,
    bose_parts,
    detailed_balance_residual,
    dynamic_structure_factor,
    fold_to_zone,
    plane_sectors,
    sectors,
)

GRID = (9, 9, 1)
K = np.array([1 / 3, 1 / 3, 0.0])
M = np.array([0.5, 0.0, 0.0])
#: K, M, a generic point, and K, M shifted by reciprocal lattice vectors.
QS = np.array([K, M, [0.2, 0.1, 0.0], K + [1, 0, 0], M + [-1, 1, 0]])
OMEGA = np.linspace(-45.0, 45.0, 1801)


@pytest.fixture(scope="module")
def system():
    spec, model = load_model("WSe2")
    return spec, model, load_phonons(spec)


@pytest.fixture(scope="module")
def amplitudes(system):
    _, model, engine = system
    return compute_scattering_amplitudes(TightBindingEngine(model, GRID), engine, QS, progress=False)


def test_fold_to_zone_splits_q_plus_integer_g():
    Q = np.array([[1.5, -0.5, 0.0], [4 / 3, 1 / 3, 0.0], [0.49, 2.51, 0.0]])
    q, G = fold_to_zone(Q)
    assert np.allclose(q + G, Q)
    assert np.all((q >= -0.5 - 1e-9) & (q < 0.5))
    assert np.allclose(q[0], [-0.5, -0.5, 0.0]) and G.dtype.kind == "i"


@pytest.mark.parametrize("temperature", [300.0, 50.0])
@pytest.mark.parametrize("shape, resolution", [("gaussian", 0.0), ("gaussian", 0.4), ("lorentzian", 0.0),
                                               ("lorentzian", 0.4)])
def test_detailed_balance_of_the_bose_parts(amplitudes, temperature, shape, resolution):
    """S_as,ν^{αβ}(−ω) = e^{−ħω_ν/kT} S_s,ν^{βα}(ω) for every mode, component and ω."""
    stokes, anti = bose_parts(amplitudes.amplitudes, amplitudes.frequencies, OMEGA, temperature, 0.6,
                              shape, resolution)
    assert np.abs(anti).max() > 1e-3 * np.abs(stokes).max()  # a real test, not 0 = 0
    assert detailed_balance_residual(stokes, anti, OMEGA, amplitudes.frequencies, temperature) < 1e-10
    total = dynamic_structure_factor(amplitudes.amplitudes, amplitudes.frequencies, OMEGA, temperature, 0.6,
                                     shape, resolution)
    assert np.allclose(total, stokes.sum(axis=1) + anti.sum(axis=1), rtol=0, atol=1e-12 * np.abs(total).max())
    # the checker fails for the wrong temperature and for a non-transposed anti-Stokes part
    assert detailed_balance_residual(stokes, anti, OMEGA, amplitudes.frequencies, 1.2 * temperature) > 1e-6
    assert detailed_balance_residual(stokes, np.swapaxes(anti, -1, -2), OMEGA, amplitudes.frequencies,
                                     temperature) > 1e-6


def test_detailed_balance_of_the_sectors_for_narrow_lines(amplitudes):
    """Zero-width limit of the summed S: S^{αβ}(−ω) = e^{−ħω/kT} S^{αβ}(ω)* at every line centre."""
    freqs = amplitudes.frequencies
    # narrow enough that every line stands 60 widths from its neighbours (near-degenerate pairs included)
    temperature, width = 120.0, np.min(np.abs(np.diff(np.sort(freqs, axis=1), axis=1))) / 60
    centre = freqs[..., None] * np.array([1.0, -1.0])  # (nQ, nmodes, ±)
    s = np.stack([dynamic_structure_factor(amplitudes.amplitudes[i:i + 1], freqs[i:i + 1], centre[i].ravel(),
                                           temperature, width)[0] for i in range(len(QS))])
    s = s.reshape(*centre.shape, 4, 4)
    assert width > 1e-6
    boltzmann = np.exp(-freqs / (KB_MEV * temperature))[..., None, None]
    diagonal = np.einsum("...aa->...a", s).real
    assert np.allclose(diagonal[..., 1, :], boltzmann[..., 0] * diagonal[..., 0, :], rtol=1e-10, atol=0)
    cross = s[..., 0, 1:]
    assert np.allclose(cross[..., 1, :], boltzmann[..., 0] * cross[..., 0, :].conj(), rtol=0,
                       atol=1e-10 * np.abs(cross).max())


def test_without_spin_orbit_the_spin_sectors_vanish(system):
    spec, _, engine = system
    species = {s: replace(sp, soc=0.0) for s, sp in spec.species.items()}
    no_soc = TightBindingModel(spec.atoms, spec.labels, species, spec.hoppings, spec.occupied_bands)
    data = compute_scattering_amplitudes(TightBindingEngine(no_soc, GRID), engine, QS[[0, 3, 4]],
                                         progress=False)
    sec = sectors(dynamic_structure_factor(data.amplitudes, data.frequencies, OMEGA, 300.0, 0.5))
    scale = sec.charge.max()
    assert scale > 0
    assert np.abs(sec.spin).max() <= 1e-12 * scale
    assert np.abs(sec.charge_spin).max() <= 1e-12 * scale


@pytest.mark.parametrize("shape", ["gaussian", "lorentzian"])
@pytest.mark.parametrize("temperature", [0.0, 300.0])
def test_sum_rule_of_the_diagonal_sectors(amplitudes, shape, temperature):
    """∫ S^{αα} dω = Σ_ν (1 + 2 f_B) |δñ^α|² (Lorentzian: minus the tails outside the window)."""
    width = 0.8
    omega = np.linspace(-400.0, 400.0, 16001) if shape == "lorentzian" else OMEGA
    s = dynamic_structure_factor(amplitudes.amplitudes, amplitudes.frequencies, omega, temperature, width, shape)
    integral = trapezoid(np.einsum("qwaa->qwa", s).real, omega, axis=1)
    f = bose_factor(amplitudes.frequencies, temperature)
    power = np.abs(amplitudes.amplitudes) ** 2
    if shape == "lorentzian":  # weight of a Lorentzian centred at ±ω_ν inside [−L, L]
        half, edge = width / 2, omega[-1]

        def inside(centre):
            return (np.arctan((edge - centre) / half) + np.arctan((edge + centre) / half)) / np.pi

        w = amplitudes.frequencies
        expected = np.einsum("qn,qna->qa", (1 + f) * inside(w) + f * inside(-w), power)
    else:
        expected = np.einsum("qn,qna->qa", 1 + 2 * f, power)
    assert np.allclose(integral, expected, rtol=1e-6, atol=1e-9 * expected.max())


def test_q_plus_g_same_frequencies_different_intensity(system, amplitudes):
    _, model, engine = system
    k_index, kg_index = 0, 3  # K and K + (1, 0, 0)
    assert np.array_equal(amplitudes.G[kg_index], [1, 0, 0])
    assert np.allclose(amplitudes.frequencies[k_index], amplitudes.frequencies[kg_index], atol=1e-12)
    a, b = amplitudes.amplitudes[k_index], amplitudes.amplitudes[kg_index]
    assert np.abs(np.abs(a) - np.abs(b)).max() > 0.1 * np.abs(a).max()
    # grouping by q does not change a Q's amplitudes
    alone = compute_scattering_amplitudes(TightBindingEngine(model, GRID), engine, QS[[kg_index]],
                                          progress=False)
    assert np.allclose(alone.amplitudes[0], b, rtol=0, atol=1e-12 * np.abs(b).max())


def test_g_zero_gives_the_cell_moments(system, amplitudes):
    """|δñ^α(0)|² = 2 RMS_α², and at T = 0 the ω-integral of S^{αα} is their sum over modes."""
    _, model, engine = system
    at_g0 = np.flatnonzero(np.all(amplitudes.G == 0, axis=1))
    reference = compute_mode_response(TightBindingEngine(model, GRID), engine.modes(QS[at_g0]), progress=False)
    power = np.abs(amplitudes.amplitudes[at_g0]) ** 2
    assert np.allclose(power, 2 * reference.rms ** 2, rtol=1e-10, atol=1e-14 * power.max())
    s = dynamic_structure_factor(amplitudes.amplitudes[at_g0], amplitudes.frequencies[at_g0], OMEGA, 0.0, 0.5)
    integral = trapezoid(np.einsum("qwaa->qwa", s).real, OMEGA, axis=1)
    assert np.allclose(integral, 2 * (reference.rms ** 2).sum(axis=1), rtol=1e-6)


def test_anti_stokes_side_vanishes_as_t_goes_to_zero(amplitudes):
    negative = OMEGA < 0
    cold = dynamic_structure_factor(amplitudes.amplitudes, amplitudes.frequencies, OMEGA, 0.0, 0.5)
    warm = dynamic_structure_factor(amplitudes.amplitudes, amplitudes.frequencies, OMEGA, 300.0, 0.5)
    scale = np.abs(cold).max()
    assert np.abs(warm[:, negative]).max() > 0.05 * scale
    assert np.abs(cold[:, negative]).max() < 1e-12 * scale  # only Gaussian tails of Stokes lines ≥ 14 meV
    _, anti = bose_parts(amplitudes.amplitudes, amplitudes.frequencies, OMEGA, 0.0, 0.5, "lorentzian")
    assert not np.any(anti)
    stokes_1k, anti_1k = bose_parts(amplitudes.amplitudes, amplitudes.frequencies, OMEGA, 1.0, 0.5)
    # at 1 K each anti-Stokes line is f_B = e^{−ħω/kT} ≤ e^{−ħω_min/kT} of its Stokes partner
    lowest = amplitudes.frequencies[amplitudes.frequencies > 1e-3].min()
    suppression = np.exp(-lowest / KB_MEV)
    assert suppression < 1e-30
    assert np.abs(anti_1k).max() <= 1.01 * suppression * np.abs(stokes_1k).max()


def test_zone_centre_rigid_translations_contribute_nothing(system):
    _, model, engine = system
    data = compute_scattering_amplitudes(TightBindingEngine(model, GRID), engine,
                                         np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), progress=False)
    s = dynamic_structure_factor(data.amplitudes, data.frequencies, OMEGA, 300.0, 0.5)
    assert np.all(np.isfinite(s))
    assert np.abs(s[:, np.abs(OMEGA) < 3]).max() < 1e-12 * np.abs(s).max()


def test_plane_repeats_with_the_reciprocal_lattice_in_frequency_not_in_intensity(system):
    _, model, engine = system
    plane = QPlane(omega=25.0, h=(0.0, 1.0), k=(0.0, 0.0), divisions=3)
    amplitudes = compute_scattering_amplitudes(TightBindingEngine(model, GRID), engine, plane.points(), progress=False)
    sec = plane_sectors(amplitudes, plane, 300.0, 2.0)
    assert sec.charge.shape == (4, 1)
    # h = 0 and h = 1 share q = 0, but intensities differ (G = 0 carries no optical charge)
    assert sec.charge[3, 0] > 1e3 * sec.charge[0, 0]


def test_q_points_side_by_side_in_threads_give_the_serial_numbers(system):
    """Fig. 3's and S(Q, ω)'s q loops in two threads: the same numbers, in the same order; one BLAS
    thread while they run, and the process's BLAS limit back to what it was (here 2) afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    spec, model, phonons = system
    qs = np.array([[0.1 * n, 0.05 * n, 0.0] for n in range(5)])
    serial, threaded = TightBindingEngine(model, GRID, q_threads=1), TightBindingEngine(model, GRID, q_threads=2)
    a = serial.pattern_responses(qs, progress=False)
    with threadpool_limits(limits=2, user_api="blas"):
        b = threaded.pattern_responses(qs, progress=False)
        s_threaded = compute_scattering_amplitudes(threaded, phonons, QS, progress=False)
        after = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    assert after == {2}
    assert [np.array_equal(x.tensor, y.tensor) for x, y in zip(a, b, strict=True)] == [True] * len(qs)
    assert np.array_equal([x.q for x in b], qs)
    s_serial = compute_scattering_amplitudes(serial, phonons, QS, progress=False)
    assert np.array_equal(s_serial.amplitudes, s_threaded.amplitudes) and np.abs(s_serial.amplitudes).max() > 0


def test_an_error_in_one_q_stops_the_threads_without_running_the_rest(system):
    """A failing q-point (here the third) raises from the threaded loop; the q-points still queued are dropped."""
    _, model, _ = system
    calls = []

    class Failing(TightBindingEngine):
        def pattern_response(self, q, kind="one-sided", energy_ev=0.0):
            calls.append(tuple(q))
            if len(calls) == 3:
                raise RuntimeError("q-point 3 failed")
            return super().pattern_response(q, kind, energy_ev)

    engine = Failing(model, GRID, q_threads=2)
    with pytest.raises(RuntimeError, match="q-point 3 failed"):
        engine.pattern_responses(np.array([[0.01 * n, 0.0, 0.0] for n in range(40)]), progress=False)
    assert len(calls) < 40
