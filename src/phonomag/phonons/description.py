"""Describing and selecting modes: the character of a displacement pattern, a mode chosen by index or parity.

The character names the paper's modes by what the atoms do (docs/physics.md §10, "name the
paper's modes by their character").
"""

from __future__ import annotations

import numpy as np

from phonomag.errors import PhonomagError

PARITY_NAMES = {1: "even", -1: "odd", 0: "-"}
#: A site moves out of plane (z) or in plane (xy) when that part holds at least this fraction of its |u|².
PURE_FRACTION = 0.8
#: In-plane motion counts as rotating when its circularity 2|Im(u_x* u_y)|/(|u_x|² + |u_y|²) reaches this.
ROTATING = 0.8
#: A site is at rest when its |u|² is below this fraction of the largest site's |u|².
AT_REST = 0.05

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
    for label, word in zip(site_labels, site_characters(u), strict=True):
        groups.setdefault(word, []).append(label)
    return ", ".join(f"{'+'.join(labels)} {word}" for word, labels in groups.items())


def select_mode(selector: int | str, frequencies: np.ndarray, parity: np.ndarray, what: str) -> int:
    """Mode index ν at one q: an index, or "even:n"/"odd:n" = the n-th mode of that σ_h parity (from 0).

    ``what`` names the request in error messages (e.g. "map 'K_x' at q = K").
    """
    if isinstance(selector, int):
        if not 0 <= selector < len(frequencies):
            raise PhonomagError(f"{what}: mode {selector} does not exist (0…{len(frequencies) - 1})")
        return selector
    kind, _, number = selector.partition(":")
    wanted = {"even": 1, "odd": -1}[kind]
    candidates = np.flatnonzero(parity == wanted)
    if int(number) >= len(candidates):
        raise PhonomagError(f"{what}: there are only {len(candidates)} {kind} modes")
    return int(candidates[int(number)])
