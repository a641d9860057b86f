"""Two mode responses side by side: per-mode comparison (e.g. model vs DFPT) and time-reversal partners.

Modes are paired by σ_h parity and by rank of frequency within that parity (both sets
are parity-pure and sorted), so two engines with different phonons compare mode by mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phonomag.phonons.description import characterise_mode
from phonomag.response.modes import ModeResponse


@dataclass
class ModeComparison:
    """One mode at one q: ħω (meV), RMS n⁰ and the two RMS parts of M (electrons per cell; M∥ and M_z of a layer,
    M_L and M_T of a bulk crystal: the responses' ``parts``), each (first, second) response."""

    label: str
    index: int
    parity: int
    character: str
    frequency: tuple[float, float]
    charge: tuple[float, float]
    part_one: tuple[float, float]
    part_two: tuple[float, float]


def pair_modes(parity_a: np.ndarray, parity_b: np.ndarray) -> np.ndarray:
    """index into b of the partner of each mode of a: same parity, same rank within it."""
    partner = np.empty(len(parity_a), dtype=int)
    for sign in np.unique(parity_a):
        a, b = np.flatnonzero(parity_a == sign), np.flatnonzero(parity_b == sign)
        if len(a) != len(b):
            raise ValueError(f"the two mode sets have {len(a)} and {len(b)} modes of parity {sign:+d}")
        partner[a] = b
    return partner


def compare_responses(first: ModeResponse, second: ModeResponse, q_labels: list[str]) -> list[ModeComparison]:
    """Rows for every q (same q-points in the same order in both; ``q_labels`` names them), modes paired."""
    if first.qpoints.shape != second.qpoints.shape or not np.allclose(first.qpoints, second.qpoints, atol=1e-8):
        raise ValueError("the two responses are not at the same q-points")
    rows = []
    ones, twos = first.m_parts, second.m_parts
    for iq, label in enumerate(q_labels):
        partner = pair_modes(first.parity[iq], second.parity[iq])
        for nu, mu in enumerate(partner):
            rows.append(ModeComparison(
                label, nu, int(first.parity[iq, nu]),
                characterise_mode(first.displacements[iq, nu], first.atom_labels),
                (float(first.frequencies[iq, nu]), float(second.frequencies[iq, mu])),
                (float(first.rms[iq, nu, 0]), float(second.rms[iq, mu, 0])),
                (float(ones[0][iq, nu]), float(twos[0][iq, mu])),
                (float(ones[1][iq, nu]), float(twos[1][iq, mu]))))
    return rows


def time_reversal_deviations(data: ModeResponse, q_labels: list[str]) -> list[tuple[str, str, float, dict]]:
    """For every computed pair q, −q (mod G): (label q, label −q, max |Δħω| meV, {n0 and the two parts of M:
    max |ΔRMS|/max RMS}).

    Time reversal maps mode (q, ν) onto (−q, ν) with the same frequency, n⁰ → n⁰* and
    M → −M* (docs/physics.md §6.1), so the RMS of each component must agree.
    """
    out = []
    parts = {"n0": data.rms[..., 0], **dict(zip(data.parts.labels, data.m_parts, strict=True))}
    for i in range(len(data.qpoints)):
        for j in range(i + 1, len(data.qpoints)):
            total = data.qpoints[i] + data.qpoints[j]
            if np.abs(total - np.rint(total)).max() > 1e-8:
                continue
            dw = float(np.abs(data.frequencies[i] - data.frequencies[j]).max())
            deviation = {name: float(np.abs(x[i] - x[j]).max() / max(np.abs(x[i]).max(), 1e-300))
                         for name, x in parts.items()}
            out.append((q_labels[i], q_labels[j], dw, deviation))
    return out
