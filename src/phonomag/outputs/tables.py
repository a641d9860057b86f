"""Text reports of mode-resolved results: a fixed-width table per mode and a mode's character.

Reporting only reads a :class:`~phonomag.response.modes.ModeMagnetization`; the one
thing it derives is the verbal character of a mode from its displacement vectors
(DESIGN.md §3, "name the paper's modes by their character").
"""

from __future__ import annotations

import numpy as np

from phonomag.response.modes import ModeMagnetization

#: A site moves out of plane (z) or in plane (xy) when that part holds at least this fraction of its |u|².
PURE_FRACTION = 0.8
#: In-plane motion counts as rotating when its circularity 2|Im(u_x* u_y)|/(|u_x|² + |u_y|²) reaches this.
ROTATING = 0.8
#: A site is at rest when its |u|² is below this fraction of the largest site's |u|².
AT_REST = 0.05

_PARITY = {1: "even", -1: "odd", 0: "-"}


def site_characters(displacements: np.ndarray) -> list[str]:
    """One word per site for complex displacements (natoms, 3) Å: "z", "xy", "xy rot", "xyz" or "rest".

    Uses the fraction of |u_κ|² out of plane, the circularity of the in-plane motion and
    the share of the largest site's |u|² (thresholds :data:`PURE_FRACTION`, :data:`ROTATING`,
    :data:`AT_REST`); all are invariant under the mode's global phase.
    """
    u = np.asarray(displacements)
    weight = np.sum(np.abs(u) ** 2, axis=-1)
    planar = np.abs(u[:, 0]) ** 2 + np.abs(u[:, 1]) ** 2
    safe = np.where(weight > 0, weight, 1.0)
    out_of_plane = np.abs(u[:, 2]) ** 2 / safe
    circularity = 2 * np.abs(np.imag(np.conj(u[:, 0]) * u[:, 1])) / np.where(planar > 0, planar, 1.0)
    words = np.select(
        [weight <= AT_REST * weight.max(), out_of_plane >= PURE_FRACTION, out_of_plane > 1 - PURE_FRACTION],
        ["rest", "z", "xyz"],
        np.where(circularity >= ROTATING, "xy rot", "xy"),
    )
    return [str(w) for w in words]


def characterise_mode(displacements: np.ndarray, site_labels) -> str:
    """Short character of a mode, e.g. "W z, Se_t+Se_b xy rot", from displacements (natoms, 3) Å.

    Sites with the same word (see :func:`site_characters`) are joined with "+", in
    order of first appearance. A mode without displacement (rigid translation at Γ,
    given zero amplitude) is "no motion".
    """
    u = np.asarray(displacements)
    if u.shape != (len(site_labels), 3):
        raise ValueError(f"displacements of shape {u.shape} do not match {len(site_labels)} site labels × 3")
    if not np.any(u):
        return "no motion"
    groups: dict[str, list[str]] = {}
    for label, word in zip(site_labels, site_characters(u)):
        groups.setdefault(word, []).append(label)
    return ", ".join(f"{'+'.join(labels)} {word}" for word, labels in groups.items())


def _amplitude_text(amplitude: str | float) -> str:
    if isinstance(amplitude, str):
        return f"{amplitude} (u_κ = √(ħ/2M_κω) e_κ)"
    return f"maximal displacement {amplitude:g} Å"


def mode_table(data: ModeMagnetization, q_labels: dict[int, str], site_labels) -> list[str]:
    """Fixed-width table, one row per mode ν at each q index in ``q_labels`` (index → label).

    Columns: q label, ν, ħω (meV), σ_h parity, in-plane RMS M_∥ = √(RMS_x² + RMS_y²),
    out-of-plane RMS M_z, charge RMS n⁰ (all cell-integrated Pauli components, electrons
    per cell, RMS = |n̄|/√2), the site-resolved ratio |M|/|n⁰|
    (:attr:`~phonomag.response.modes.ModeMagnetization.magnetization_to_charge`) and the
    mode's character (:func:`characterise_mode`). Header lines state units and conventions.
    """
    nq = len(data.qpoints)
    bad = [i for i in q_labels if not -nq <= i < nq]
    if bad:
        raise ValueError(f"q indices {bad} out of range for {nq} q-points")
    grid = "×".join(str(n) for n in data.kgrid)
    width = max([len("q"), *(len(label) for label in q_labels.values())])
    header = (f"{'q':<{width}} {'ν':>3} {'ħω (meV)':>9} {'σ_h':>4} {'RMS M_∥':>10} {'RMS M_z':>10} "
              f"{'RMS n⁰':>10} {'|M|/|n⁰|':>10}  character")
    lines = [
        f"Mode-resolved response ({data.kind}), amplitude {_amplitude_text(data.amplitude)}, k grid {grid}",
        "RMS = |n̄^α|/√2 of cell-integrated Pauli components, electrons per cell "
        "(⟨σ⟩ = 2M, m ≈ −2 μ_B M, induced electrons 2n⁰); M_∥ = √(RMS_x² + RMS_y²)",
        "|M|/|n⁰| = (Σ_κ|M̄_κ|²)^½ / (Σ_κ|n̄⁰_κ|²)^½ over sites; character per site: "
        f"z / xy = ≥{PURE_FRACTION:.0%} of |u|² out of / in plane, rot = circular in-plane motion, "
        f"rest = <{AT_REST:.0%} of the largest site's |u|²",
        header,
        "-" * len(header),
    ]
    for iq, label in q_labels.items():
        for nu in range(data.frequencies.shape[1]):
            lines.append(
                f"{label:<{width}} {nu:>3d} {data.frequencies[iq, nu]:>9.3f} "
                f"{_PARITY[int(data.parity[iq, nu])]:>4} {data.in_plane[iq, nu]:>10.3e} "
                f"{data.out_of_plane[iq, nu]:>10.3e} {data.rms[iq, nu, 0]:>10.3e} "
                f"{_ratio_text(data.magnetization_to_charge[iq, nu]):>10}  "
                f"{characterise_mode(data.displacements[iq, nu], site_labels)}"
            )
    return lines


def _ratio_text(ratio: float) -> str:
    """The site-resolved |M|/|n⁰|, or "n/a" where it is undefined (stored as 0: no site charge)."""
    return "n/a" if ratio == 0 else f"{ratio:.3e}"
