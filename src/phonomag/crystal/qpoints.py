"""Parsing and checking of wavevectors given by users.

Wavevectors are reduced coordinates in the reciprocal basis (q = Σ q_i b_i).
Users may write them as three numbers or fractions ("1/3,1/3,0", "0.5 0 0") or
as a high-symmetry label of the hexagonal Brillouin zone (DESIGN.md §3):
G (Γ), M = (1/2, 0, 0), K = (1/3, 1/3, 0), K' = −K.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from phonomag.errors import QPointError

#: High-symmetry points of the hexagonal zone, reduced coordinates.
HEXAGONAL_POINTS: dict[str, tuple[float, float, float]] = {
    "G": (0.0, 0.0, 0.0),
    "M": (0.5, 0.0, 0.0),
    "K": (1 / 3, 1 / 3, 0.0),
    "K'": (-1 / 3, -1 / 3, 0.0),
}
_ALIASES = {"GAMMA": "G", "Γ": "G", "KP": "K'", "K′": "K'", "-K": "K'"}


def parse_qpoint(text: str) -> np.ndarray:
    """Turn a label or three (fractional) numbers into a reduced wavevector (3,)."""
    raw = str(text).strip()
    label = _ALIASES.get(raw.upper(), raw.upper())
    if label in HEXAGONAL_POINTS:
        return np.array(HEXAGONAL_POINTS[label])
    parts = [p for p in re.split(r"[,\s]+", raw.strip("()[] ")) if p]
    if len(parts) != 3:
        raise QPointError(
            f"malformed q {raw!r}: expected three reduced coordinates such as '1/3,1/3,0' "
            f"or a label ({', '.join(HEXAGONAL_POINTS)})"
        )
    try:
        values = [float(Fraction(p)) for p in parts]
    except (ValueError, ZeroDivisionError):
        raise QPointError(
            f"malformed q {raw!r}: {', '.join(parts)} are not all numbers or fractions like 1/3"
        ) from None
    return np.array(values)


def qpoint_label(q: np.ndarray, tol: float = 1e-8) -> str:
    """Label of a high-symmetry point, or the coordinates as text."""
    for name, point in HEXAGONAL_POINTS.items():
        if np.allclose(q, point, atol=tol):
            return name
    return "(" + ", ".join(f"{x:.4g}" for x in q) + ")"


def check_commensurate(q: np.ndarray, repeats: tuple[int, int, int], tol: float = 1e-8) -> None:
    """Raise QPointError unless q is a reciprocal vector of the n1×n2×n3 supercell."""
    scaled = np.asarray(q, dtype=float) * np.asarray(repeats)
    if not np.allclose(scaled, np.round(scaled), atol=tol):
        size = "×".join(str(n) for n in repeats)
        raise QPointError(
            f"q = {qpoint_label(q)} is not commensurate with the {size} supercell: "
            f"q·n = {np.round(scaled, 6).tolist()} must be integers (choose n_i with q_i·n_i integer, "
            "e.g. 3×3×1 for K, 2×2×1 for M)"
        )


def smallest_supercell(q: np.ndarray, max_repeat: int = 12) -> tuple[int, int, int]:
    """Smallest diagonal supercell n_i ≤ max_repeat with q_i n_i integer."""
    repeats = []
    for value in q:
        n = next((n for n in range(1, max_repeat + 1) if abs(value * n - round(value * n)) < 1e-8), None)
        repeats.append(n if n is not None else max_repeat + 1)
    result = tuple(repeats)
    check_commensurate(q, result)
    return result
