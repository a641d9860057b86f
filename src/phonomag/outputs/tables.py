"""Text reports of mode-resolved results: the per-mode table, the model-vs-reference comparison.

Reporting only reads :class:`~phonomag.response.modes.ModeResponse` objects and the
comparisons of :mod:`phonomag.response.comparison`.
"""

from __future__ import annotations

from phonomag.phonons.description import AT_REST, PARITY_NAMES, PURE_FRACTION, characterise_mode
from phonomag.response.modes import ModeResponse
from phonomag.response.observables import MagnetizationParts


def _amplitude_text(amplitude: str | float) -> str:
    if isinstance(amplitude, str):
        return f"{amplitude} (u_κ = √(ħ/2M_κω) e_κ)"
    return f"maximal displacement {amplitude:g} Å"


def mode_table(data: ModeResponse, q_labels: dict[int, str]) -> list[str]:
    """Fixed-width table, one row per mode ν at each q index in ``q_labels`` (index → label).

    Columns: q label, ν, ħω (meV), σ_h parity, the two RMS parts of M (a layer's in-plane M∥ = √(RMS_x² + RMS_y²)
    and out-of-plane M_z; a bulk crystal's M_L along and M_T across q), charge RMS n⁰ (all cell-integrated Pauli
    components, electrons per cell, RMS = |n̄|/√2), the site-resolved ratio |M|/|n⁰|
    (:attr:`~phonomag.response.modes.ModeResponse.magnetization_to_charge`) and the
    mode's character (:func:`~phonomag.phonons.description.characterise_mode`). Header lines state units and
    conventions.
    """
    nq = len(data.qpoints)
    bad = [i for i in q_labels if not -nq <= i < nq]
    if bad:
        raise ValueError(f"q indices {bad} out of range for {nq} q-points")
    grid = "×".join(str(n) for n in data.kgrid)
    width = max([len("q"), *(len(label) for label in q_labels.values())])
    one, two = data.m_parts
    header = (f"{'q':<{width}} {'ν':>3} {'ħω (meV)':>9} {'σ_h':>4} {'RMS ' + data.parts.labels[0]:>10} "
              f"{'RMS ' + data.parts.labels[1]:>10} "
              f"{'RMS n⁰':>10} {'|M|/|n⁰|':>10}  character")
    lines = [
        f"Mode-resolved response ({data.kind}, {data.engine} engine), amplitude {_amplitude_text(data.amplitude)}, "
        f"k grid {grid}",
        "RMS = |n̄^α|/√2 of cell-integrated Pauli components, electrons per cell "
        "(⟨σ⟩ = 2M, m ≈ −2 μ_B M, induced electrons 2n⁰); " + _parts_text(data),
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
                f"{PARITY_NAMES[int(data.parity[iq, nu])]:>4} {one[iq, nu]:>10.3e} "
                f"{two[iq, nu]:>10.3e} {data.rms[iq, nu, 0]:>10.3e} "
                f"{_ratio_text(data.magnetization_to_charge[iq, nu]):>10}  "
                f"{characterise_mode(data.displacements[iq, nu], data.atom_labels)}"
            )
    return lines


def _parts_text(data: ModeResponse) -> str:
    """What the two M columns hold."""
    if data.q_directions is None:
        return "M∥ = √(RMS_x² + RMS_y²), M_z = RMS_z"
    return "M_L = |q̂·M̄|/√2 along q, M_T = √(|M̄|² − |q̂·M̄|²)/√2 across q (at Γ q̂ follows the path)"


def _ratio_text(ratio: float) -> str:
    """The site-resolved |M|/|n⁰|, or "n/a" where it is undefined (stored as 0: no site charge)."""
    return "n/a" if ratio == 0 else f"{ratio:.3e}"


def comparison_table(rows, parts: MagnetizationParts) -> list[str]:
    """Text table of :class:`~phonomag.response.comparison.ModeComparison` rows: model | reference per mode;
    ``parts`` names the two parts of M (the responses' ``parts``)."""
    one, two = (f"RMS {label} model/DFPT" for label in parts.labels)
    lines = [f"{'q':3s} {'ν':>2s} {'σh':>3s} {'ħω model/DFPT (meV)':>22s} "
             f"{'RMS n⁰ model/DFPT':>22s} {one:>22s} {two:>22s}  character"]
    for r in rows:
        lines.append(
            f"{r.label:3s} {r.index:2d} {r.parity:+3d} {r.frequency[0]:10.2f}/{r.frequency[1]:<11.2f} "
            f"{r.charge[0]:10.3e}/{r.charge[1]:<11.3e} {r.part_one[0]:10.3e}/{r.part_one[1]:<11.3e} "
            f"{r.part_two[0]:10.3e}/{r.part_two[1]:<11.3e}  {r.character}")
    return lines


def time_reversal_lines(deviations) -> list[str]:
    """One line per q, −q pair of :func:`~phonomag.response.comparison.time_reversal_deviations`."""
    return [f"time reversal {a} ↔ {b}: max |Δħω| {dw:.2e} meV; max |ΔRMS|/max RMS: "
            + ", ".join(f"{name} {value:.1e}" for name, value in parts.items())
            for a, b, dw, parts in deviations]
