"""Dynamic charge–spin structure factor S^{αβ}(Q, ω) of one-phonon scattering (paper eq. 5, docs/physics.md §8).

What experiments see: inelastic neutron and X-ray scattering and spin-polarised EELS
probe S^{αβ}(ω, Q) with Q = q + G anywhere in reciprocal space. For a mode (q, ν) of
frequency ω_qν and Fourier amplitudes a^α = δñ^α_qν(G) (α = 0, x, y, z):

    S^{αβ}(Q, ω) = Σ_ν [1 + f_B(ω_qν)] a^α a^β* D(ω − ω_qν)          (Stokes, phonon created)
                     + f_B(ω_qν) a^α* a^β D(ω + ω_qν)                 (anti-Stokes, phonon absorbed)

Conventions
-----------
* Q, q, G in reduced coordinates of the reciprocal basis. Q is split as Q = q + G with
  q = Q − ⌊Q + ½⌋ componentwise, i.e. q in the parallelepiped [−½, ½)³ of the reciprocal
  basis (not the Wigner–Seitz cell: any representative of the zone is equivalent, and this
  one keeps Q's with equal q in one group). G integer.
* a^α = δñ^α_qν(G) := ∫_cell δñ^α(r) e^{−iG·r} d³r of the one-sided response
  (an engine's ``fourier_response``, :func:`phonomag.engines.base.compute_scattering_amplitudes`),
  **electrons per cell**, for zero-point
  amplitudes by default; G = 0 gives the cell moments n̄^α of the paper's eq. 3.
* ħω is the energy transferred to the sample, meV: ω > 0 creates a phonon.
* f_B(ω) = 1/(e^{ħω/k_B T} − 1), f_B = 0 at T = 0.
* D is a normalised line (∫D dω = 1, in 1/meV). ``width_mev`` is its **FWHM** for both
  shapes: Gaussian σ = FWHM/(2√(2 ln 2)), Lorentzian half width γ = FWHM/2. The optional
  instrumental resolution (FWHM, Gaussian) is convolved in: Gaussian FWHMs add in
  quadrature, a Lorentzian becomes a Voigt profile.
* S is in **(electrons per cell)² per meV**. Modes with ω_qν ≤ ``ACOUSTIC_CUTOFF_MEV``
  (rigid translations at Γ, unstable modes) contribute nothing.
* Sum rule (normalised lines): ∫ S^{αα} dω = Σ_ν (1 + 2 f_B(ω_qν)) |a^α|².

Detailed balance
----------------
S(Q, ω) is a Hermitian 4×4 matrix at every ω. For δ lines eq. 5 obeys exactly

    S^{αβ}(Q, −ω) = e^{−ħω/k_B T} S^{βα}(Q, ω) = e^{−ħω/k_B T} [S^{αβ}(Q, ω)]*,

so the diagonal sectors (charge–charge S^{00}, spin–spin S^{aa}) and the real (symmetric)
parts of the cross sectors follow S(−ω) = e^{−ħω/kT} S(ω), while Im S^{0a} and the
antisymmetric (chiral, i a × a*) part Im S^{ab} change sign: −e^{−ħω/kT}. With lines of
finite width the Bose factors are those of the mode (f_B(ω_qν), eq. 5), so the statement is
exact for the Bose parts of each mode, with the mode's own factor:

    S_as,ν^{αβ}(−ω) = e^{−ħω_qν/k_B T} S_s,ν^{βα}(ω)    (every ω, any symmetric line D),

and holds for the summed S up to the overlap of the broadened lines.
:func:`detailed_balance_residual` checks it on the output of :func:`bose_parts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from ase import units
from scipy.special import voigt_profile

from phonomag.phonons.amplitudes import ACOUSTIC_CUTOFF_MEV

LineShape = Literal["gaussian", "lorentzian"]
LINE_SHAPES: tuple[str, ...] = ("gaussian", "lorentzian")
#: k_B in meV/K.
KB_MEV = units.kB * 1e3
#: FWHM / σ of a Gaussian.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def fold_to_zone(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split reduced Q (n, 3) into q = Q − ⌊Q + ½⌋ in [−½, ½)³ and the integer G = Q − q."""
    Q = np.atleast_2d(np.asarray(Q, dtype=float))
    G = np.floor(Q + 0.5 + 1e-9)
    return Q - G, G.astype(int)


@dataclass(frozen=True)
class ScatteringAmplitudes:
    """Mode amplitudes at a list of Q = q + G (module docstring for the conventions).

    Q, q (nQ, 3) reduced; G (nQ, 3) int; frequencies (nQ, nmodes) meV; parity (nQ, nmodes)
    σ_h ±1 (0: none); amplitudes (nQ, nmodes, 4) complex δñ^α_qν(G), electrons per cell.
    """

    Q: np.ndarray
    q: np.ndarray
    G: np.ndarray
    frequencies: np.ndarray
    parity: np.ndarray
    amplitudes: np.ndarray


def bose_factor(frequencies_mev: np.ndarray, temperature_K: float) -> np.ndarray:
    """f_B = 1/(e^{ħω/k_B T} − 1) for ħω > 0 (meV); 0 at T = 0 and for ħω ≤ ACOUSTIC_CUTOFF_MEV."""
    if temperature_K < 0:
        raise ValueError(f"temperature must be ≥ 0 K, got {temperature_K}")
    omega = np.asarray(frequencies_mev, dtype=float)
    active = omega > ACOUSTIC_CUTOFF_MEV
    if temperature_K == 0:
        return np.zeros_like(omega)
    x = np.where(active, omega, 1.0) / (KB_MEV * temperature_K)
    return np.where(active, np.exp(-x) / -np.expm1(-x), 0.0)


def line_profile(x_mev: np.ndarray, width_mev: float, shape: LineShape = "gaussian",
                 resolution_mev: float = 0.0) -> np.ndarray:
    """Normalised line D(x) in 1/meV: FWHM ``width_mev``, convolved with a Gaussian resolution (FWHM)."""
    if shape not in LINE_SHAPES:
        raise ValueError(f"line shape must be one of {LINE_SHAPES}, got {shape!r}")
    if not width_mev > 0 or resolution_mev < 0:
        raise ValueError(f"need width > 0 and resolution ≥ 0 (meV FWHM), got {width_mev}, {resolution_mev}")
    if shape == "gaussian":
        sigma = np.hypot(width_mev, resolution_mev) / FWHM_PER_SIGMA
        return np.exp(-0.5 * (x_mev / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
    return voigt_profile(x_mev, resolution_mev / FWHM_PER_SIGMA, 0.5 * width_mev)


def _weights_and_lines(amplitudes, frequencies_mev, omega_mev, temperature_K, width_mev, shape, resolution_mev):
    """Stokes weights (1+f) a a†, anti-Stokes weights f (a a†)ᵀ, each (nQ, nmodes, 4, 4), and the
    lines D(ω − ω_ν), D(ω + ω_ν), each (nQ, nmodes, nω); inactive modes get zero weight."""
    frequencies = np.asarray(frequencies_mev, dtype=float)
    active = frequencies > ACOUSTIC_CUTOFF_MEV
    f = bose_factor(frequencies, temperature_K)
    outer = np.einsum("...a,...b->...ab", amplitudes, np.conj(amplitudes)) * active[..., None, None]
    x = np.asarray(omega_mev, dtype=float)
    stokes_line = line_profile(x - frequencies[..., None], width_mev, shape, resolution_mev)
    anti_line = line_profile(x + frequencies[..., None], width_mev, shape, resolution_mev)
    return ((1.0 + f)[..., None, None] * outer, f[..., None, None] * np.swapaxes(outer, -1, -2),
            stokes_line, anti_line)


def dynamic_structure_factor(
    amplitudes: np.ndarray,
    frequencies_mev: np.ndarray,
    omega_mev: np.ndarray,
    temperature_K: float,
    width_mev: float,
    shape: LineShape = "gaussian",
    resolution_mev: float = 0.0,
) -> np.ndarray:
    """S^{αβ}(Q, ω) (nQ, nω, 4, 4) complex, (electrons per cell)² per meV (module docstring).

    amplitudes (nQ, nmodes, 4) δñ^α_qν(G) in electrons per cell; frequencies_mev (nQ, nmodes);
    omega_mev (nω,) energy transfer; width_mev FWHM of the line; resolution_mev FWHM of a
    Gaussian instrumental resolution (0: none).
    """
    stokes, anti, stokes_line, anti_line = _weights_and_lines(
        amplitudes, frequencies_mev, omega_mev, temperature_K, width_mev, shape, resolution_mev)
    nq, nmodes = stokes.shape[:2]
    s = (np.swapaxes(stokes_line, 1, 2) @ stokes.reshape(nq, nmodes, 16)
         + np.swapaxes(anti_line, 1, 2) @ anti.reshape(nq, nmodes, 16))
    return s.reshape(nq, -1, 4, 4)


def bose_parts(
    amplitudes: np.ndarray,
    frequencies_mev: np.ndarray,
    omega_mev: np.ndarray,
    temperature_K: float,
    width_mev: float,
    shape: LineShape = "gaussian",
    resolution_mev: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mode-resolved Stokes and anti-Stokes parts of S, each (nQ, nmodes, nω, 4, 4).

    Their sum over modes and parts is :func:`dynamic_structure_factor` (same arguments);
    memory grows as nQ·nmodes·nω·16, so use it for a few Q.
    """
    stokes, anti, stokes_line, anti_line = _weights_and_lines(
        amplitudes, frequencies_mev, omega_mev, temperature_K, width_mev, shape, resolution_mev)
    return (stokes_line[..., None, None] * stokes[:, :, None],
            anti_line[..., None, None] * anti[:, :, None])


def detailed_balance_residual(
    stokes: np.ndarray,
    anti_stokes: np.ndarray,
    omega_mev: np.ndarray,
    frequencies_mev: np.ndarray,
    temperature_K: float,
) -> float:
    """max |S_as,ν^{αβ}(−ω) − e^{−ħω_qν/k_BT} S_s,ν^{βα}(ω)| / max |S_s| over Q, ν, ω, α, β.

    stokes, anti_stokes (nQ, nmodes, nω, 4, 4) from :func:`bose_parts`; omega_mev must be
    symmetric about 0 (ω_i = −ω_{n−1−i}). At T = 0 the anti-Stokes part must vanish.
    """
    omega = np.asarray(omega_mev, dtype=float)
    if not np.allclose(omega, -omega[::-1], rtol=0, atol=1e-12 * max(np.abs(omega).max(), 1.0)):
        raise ValueError("the detailed-balance check needs an ω grid symmetric about 0")
    frequencies = np.asarray(frequencies_mev, dtype=float)
    if temperature_K == 0:
        boltzmann = np.zeros_like(frequencies)
    else:
        boltzmann = np.exp(-np.maximum(frequencies, 0.0) / (KB_MEV * temperature_K))
    expected = boltzmann[:, :, None, None, None] * np.swapaxes(stokes, -1, -2)
    scale = max(np.abs(stokes).max(), 1e-300)
    return float(np.abs(anti_stokes[:, :, ::-1] - expected).max() / scale)


@dataclass(frozen=True)
class Sectors:
    """Sectors of S^{αβ} (…, 4, 4) → leading shape (…), (electrons per cell)² per meV.

    charge: S^{00} (real); spin: S^{ab} (…, 3, 3) complex Hermitian; charge_spin: S^{0a}
    (…, 3) complex (S^{a0} = its conjugate).
    """

    charge: np.ndarray
    spin: np.ndarray
    charge_spin: np.ndarray

    @property
    def spin_trace(self) -> np.ndarray:
        """Σ_a S^{aa} (real): unpolarised spin–spin intensity."""
        return np.einsum("...aa->...", self.spin).real


def sectors(structure_factor: np.ndarray) -> Sectors:
    """Charge–charge, spin–spin and charge–spin blocks of S (…, 4, 4)."""
    s = np.asarray(structure_factor)
    return Sectors(s[..., 0, 0].real, s[..., 1:, 1:], s[..., 0, 1:])


@dataclass(frozen=True)
class QPlane:
    """A plane Q = h b1 + k b2 at fixed energy transfer ``omega`` (meV).

    h, k run over [lo, hi] in steps 1/divisions, so every q of the plane lies on the
    divisions × divisions grid of the zone and is computed once however many zones it spans.
    """

    omega: float
    h: tuple[float, float] = (-1.0, 1.0)
    k: tuple[float, float] = (-1.0, 1.0)
    divisions: int = 18

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """h (nh,) and k (nk,) values."""
        def values(lo, hi):
            n = self.divisions
            return np.arange(np.ceil(lo * n - 1e-9), np.floor(hi * n + 1e-9) + 1) / n
        return values(*self.h), values(*self.k)

    def points(self) -> np.ndarray:
        """Reduced Q (nh·nk, 3), h-major."""
        h, k = self.axes()
        hh, kk = np.meshgrid(h, k, indexing="ij")
        return np.stack([hh.ravel(), kk.ravel(), np.zeros(hh.size)], axis=-1)


def plane_sectors(
    data: ScatteringAmplitudes,
    plane: QPlane,
    temperature_K: float,
    width_mev: float,
    shape: LineShape = "gaussian",
    resolution_mev: float = 0.0,
) -> Sectors:
    """S(Q, ω₀) on the plane, per sector, leading shape (nh, nk), from the amplitudes at ``plane.points()``."""
    h, k = plane.axes()
    s = dynamic_structure_factor(data.amplitudes, data.frequencies, np.array([plane.omega]), temperature_K,
                                 width_mev, shape, resolution_mev)
    return sectors(s[:, 0].reshape(len(h), len(k), 4, 4))
