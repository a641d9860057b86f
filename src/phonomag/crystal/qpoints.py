"""Parsing and checking of wavevectors given by users.

Wavevectors are reduced coordinates in the reciprocal basis (q = Σ q_i b_i).
Users may write them as three numbers or fractions ("1/3,1/3,0", "0.5 0 0") or
as a high-symmetry label of the hexagonal Brillouin zone (docs/physics.md):
G (Γ), M, K, K' = −K. Given the cell, labels are the points of its actual reciprocal
lattice (:mod:`phonomag.crystal.special_points`; K is the zone corner for a₁, a₂ at 60° or 120°);
without it, the paper's 120° setting: M = (1/2, 0, 0), K = (1/3, 1/3, 0).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import spglib
from ase import Atoms

from phonomag.crystal.special_points import STANDARD_POINTS, hexagonal_angle, hexagonal_points
from phonomag.errors import QPointError

#: High-symmetry points of the hexagonal zone in the 120° setting, reduced coordinates.
HEXAGONAL_POINTS = STANDARD_POINTS
#: Largest |q_i| accepted (reduced coordinates; q and q + G are the same phonon, so larger is a typo).
MAX_COMPONENT = 1000.0
_ALIASES = {"GAMMA": "G", "Γ": "G", "KP": "K'", "K′": "K'", "-K": "K'"}


def parse_qpoint(text: str, cell=None) -> np.ndarray:
    """Turn a label or three (fractional) numbers into a reduced wavevector (3,).

    cell : (3, 3) lattice vectors (rows, Å) the reduced coordinates refer to; labels are then
    that cell's points (QPointError if it is not hexagonal). Without it, the 120° setting.
    """
    raw = str(text).strip()
    label = _ALIASES.get(raw.upper(), raw.upper())
    if label in HEXAGONAL_POINTS:
        return np.array((HEXAGONAL_POINTS if cell is None else hexagonal_points(cell))[label])
    parts = [p for p in re.split(r"[,\s]+", raw.strip("()[] ")) if p]
    if len(parts) != 3:
        raise QPointError(
            f"malformed q {raw!r}: expected three reduced coordinates such as '1/3,1/3,0' "
            f"or a label ({', '.join(HEXAGONAL_POINTS)})"
        )
    try:
        values = [float(Fraction(p)) for p in parts]
    except (ValueError, ZeroDivisionError, OverflowError):
        values = [np.inf]
    if not all(abs(v) <= MAX_COMPONENT for v in values):
        raise QPointError(
            f"malformed q {raw!r}: {', '.join(parts)} are not all numbers or fractions like 1/3 "
            f"of size at most {MAX_COMPONENT:g} (reduced coordinates)"
        )
    return np.array(values)


def qpoint_label(q: np.ndarray, tol: float = 1e-8, cell=None) -> str:
    """Label of a high-symmetry point (of ``cell``, see :func:`parse_qpoint`), or the coordinates as text."""
    points = HEXAGONAL_POINTS if cell is None or hexagonal_angle(cell) is None else hexagonal_points(cell)
    for name, point in points.items():
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


def grid_classes(atoms: Atoms, qgrid) -> dict[tuple[int, ...], tuple[int, ...]]:
    """{grid step (n₁, n₂, n₃), 0 ≤ nᵢ < Nᵢ: the first step of its class} for the Γ-centred ``qgrid``,
    classes of q equivalent under the structure's space group and time reversal (spglib)."""
    qgrid = tuple(int(n) for n in qgrid)
    mapping, grid = spglib.get_ir_reciprocal_mesh(qgrid, (atoms.cell.array, atoms.get_scaled_positions(wrap=False),
                                                          atoms.numbers), is_shift=[0, 0, 0])
    steps = [tuple(int(n) % g for n, g in zip(point, qgrid, strict=True)) for point in grid]
    return {step: steps[int(m)] for step, m in zip(steps, mapping, strict=True)}


def irreducible_steps(atoms: Atoms, qgrid) -> list[tuple[int, ...]]:
    """One grid step per class of :func:`grid_classes`, the first of each class in spglib's order."""
    return list(dict.fromkeys(grid_classes(atoms, qgrid).values()))
