"""Parsing and checking of wavevectors given by users.

Wavevectors are reduced coordinates in the reciprocal basis (q = Σ q_i b_i). Users may write
them as three numbers or fractions ("1/3,1/3,0", "0.5 0 0") or as a high-symmetry label of the
crystal's lattice (:attr:`phonomag.crystal.crystal.Crystal.special_points`: G or Γ, and M, K, K′
of a hexagonal layer, X, L, W, … of an fcc crystal), in any case; K′ may be written K', KP or −K.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import spglib
from ase import Atoms

from phonomag.crystal.crystal import Crystal
from phonomag.errors import QPointError

#: Largest |q_i| accepted (reduced coordinates; q and q + G are the same phonon, so larger is a typo).
MAX_COMPONENT = 1000.0
_ALIASES = {"GAMMA": "G", "Γ": "G"}
#: A label as users write it: letters, digits and primes (K, K', KP, -K, M1, Γ).
_LABEL_TEXT = re.compile(r"[-−]?[A-Za-zΓ][A-Za-z0-9]*['′]?")


def _label_key(raw: str, crystal: Crystal) -> str | None:
    """The crystal's label that ``raw`` names (case-insensitive; primes as ', ′, P or a leading −), or None."""
    text = raw.strip().replace("′", "'").replace("−", "-")
    text = _ALIASES.get(text.upper(), text)
    if text.startswith("-") and len(text) > 1:
        text = text[1:] + "'"
    if len(text) > 1 and text.upper().endswith("P") and text[:-1].upper() + "'" in {k.upper() for k in
                                                                                   crystal.special_points}:
        text = text[:-1] + "'"
    by_upper = {label.upper(): label for label in crystal.special_points}
    return by_upper.get(text.upper())


def parse_qpoint(text: str, crystal: Crystal | None = None) -> np.ndarray:
    """Turn a label or three (fractional) numbers into a reduced wavevector (3,).

    crystal : the crystal whose reciprocal basis the coordinates refer to and whose labels are known;
    without it only coordinates and Γ (G) are understood.
    """
    raw = str(text).strip()
    if _ALIASES.get(raw.upper(), raw.upper()) == "G":
        return np.zeros(3)
    if crystal is not None:
        label = _label_key(raw, crystal)
        if label is not None:
            return crystal.point(label)
        if _LABEL_TEXT.fullmatch(raw):
            return crystal.point(raw)  # an error naming the lattice's labels
    parts = [p for p in re.split(r"[,\s]+", raw.strip("()[] ")) if p]
    labels = ", ".join(crystal.special_points) if crystal is not None else "G"
    if len(parts) != 3:
        raise QPointError(
            f"malformed q {raw!r}: expected three reduced coordinates such as '1/3,1/3,0' "
            f"or a label of the lattice ({labels})"
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


def check_qpoint_text(text) -> str:
    """``text`` if it is three reduced coordinates or shaped like a label; QPointError otherwise. Which labels a
    material has is known once its crystal is (:func:`parse_qpoint` with the crystal)."""
    if not isinstance(text, str):
        raise QPointError(f"malformed q {text!r}: expected a label or three reduced coordinates such as '1/3,1/3,0'")
    if _LABEL_TEXT.fullmatch(text.strip()) is None:
        parse_qpoint(text)
    return text


def qpoint_label(q: np.ndarray, tol: float = 1e-8, crystal: Crystal | None = None) -> str:
    """The label of the crystal's high-symmetry point at exactly q, or the coordinates as text."""
    label = crystal.label_of(q, tol) if crystal is not None else ("G" if np.allclose(q, 0, atol=tol) else None)
    return label if label is not None else "(" + ", ".join(f"{x:.4g}" for x in q) + ")"


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
