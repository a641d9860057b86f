"""High-symmetry points of a hexagonal layer, computed from its actual reciprocal lattice.

A 2D hexagonal lattice can be given with a₁, a₂ of equal length at 120° (the paper's
setting) or at 60°. The labels mean the same points of the Brillouin zone in both:
they are defined in the 120° setting that shares a₁, a′₂ = the lattice vector of length
|a₁| at +120° from a₁ (counter-clockwise about a₁ × a₂), with reciprocal basis b′ᵢ:

    Γ = 0,   M = b′₁/2 (a zone-edge centre),   K = (b′₁ + b′₂)/3 (a zone corner),   K′ = −K,

and are returned in reduced coordinates of the cell actually given (q = Σ qᵢ bᵢ). For the
120° cell these are (1/2, 0, 0), (1/3, 1/3, 0), (−1/3, −1/3, 0); for a₂ at 60° (a₂ = a₁ + a′₂)
M = (1/2, 1/2, 0) and K = (1/3, 2/3, 0), while (1/3, 1/3, 0) lies on Γ–M.
"""

from __future__ import annotations

import numpy as np

from phonomag.errors import QPointError

#: Points in the reduced coordinates of the 120° setting.
STANDARD_POINTS: dict[str, tuple[float, float, float]] = {
    "G": (0.0, 0.0, 0.0),
    "M": (0.5, 0.0, 0.0),
    "K": (1 / 3, 1 / 3, 0.0),
    "K'": (-1 / 3, -1 / 3, 0.0),
}


def hexagonal_angle(cell, tol: float = 1e-6) -> float | None:
    """120.0 or 60.0 if |a₁| = |a₂| at that angle (degrees), else None."""
    a1, a2 = np.asarray(cell, float)[:2]
    n1, n2 = np.linalg.norm(a1), np.linalg.norm(a2)
    if abs(n1 - n2) >= tol * n1:
        return None
    cosine = a1 @ a2 / (n1 * n2)
    for angle, value in ((120.0, -0.5), (60.0, 0.5)):
        if abs(cosine - value) < tol:
            return angle
    return None


def hexagonal_points(cell) -> dict[str, tuple[float, float, float]]:
    """Γ, M, K, K′ (keys "G", "M", "K", "K'") in reduced coordinates of ``cell`` (rows a₁, a₂, a₃, Å).

    Raises QPointError unless a₁, a₂ are a hexagonal pair (equal lengths at 60° or 120°).
    """
    cell = np.asarray(cell, float)
    angle = hexagonal_angle(cell)
    if angle is None:
        a1, a2 = cell[:2]
        measured = np.degrees(np.arccos(np.clip(a1 @ a2 / (np.linalg.norm(a1) * np.linalg.norm(a2)), -1, 1)))
        raise QPointError(
            f"the labels G, M, K, K' need a hexagonal cell (|a1| = |a2| at 60° or 120°); this cell has "
            f"|a1| = {np.linalg.norm(a1):.4f} Å, |a2| = {np.linalg.norm(a2):.4f} Å at {measured:.2f}°: "
            "give q as three reduced coordinates instead")
    standard = cell.copy()
    if angle == 60.0:
        standard[1] = cell[1] - cell[0]
    # q = Σ s_j b′_j  →  reduced in the given cell: q_i = q · a_i / 2π = Σ_j (a_i · b′_j / 2π) s_j
    transform = cell @ np.linalg.inv(standard)  # (a_i · b′_j)/2π, an integer matrix
    return {label: tuple(float(x) + 0.0 for x in transform @ np.array(point))
            for label, point in STANDARD_POINTS.items()}


def zone_corners(cell) -> np.ndarray:
    """The six corners of the hexagonal zone, Cartesian (6, 2) in 1/Å, ordered by angle.

    K and K′ of :func:`hexagonal_points` and their images under rotations by ±120° about z.
    """
    cell = np.asarray(cell, float)
    reciprocal = 2 * np.pi * np.linalg.inv(cell).T
    k = (np.array(hexagonal_points(cell)["K"]) @ reciprocal)[:2]
    turns = [np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) for t in 2 * np.pi * np.arange(3) / 3]
    corners = np.array([sign * turn @ k for turn in turns for sign in (1, -1)])
    return corners[np.argsort(np.arctan2(corners[:, 1], corners[:, 0]))]
