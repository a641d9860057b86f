"""Straight-line paths through the Brillouin zone, e.g. Γ–M–K–Γ of a hexagonal layer.

Points are reduced coordinates of the reciprocal basis b_i (q = Σ q_i b_i, with
a_i·b_j = 2π δ_ij). For hexagonal cells with |a₁| = |a₂| at 120° or 60° the default
points are computed from the reciprocal lattice (:mod:`phonomag.crystal.special_points`):
in the 120° setting G = (0, 0, 0), M = (1/2, 0, 0), K = (1/3, 1/3, 0), K' = −K.
Other cells need their points given explicitly.
"""

from __future__ import annotations

import numpy as np

from phonomag.crystal.special_points import hexagonal_angle, hexagonal_points
from phonomag.errors import QPointError

#: How labels are printed on axes.
TICK_TEXT = {"G": "Γ", "K'": "K′"}


def path_from_labels(
    cell,
    labels=("G", "M", "K", "G"),
    points: dict[str, tuple[float, float, float]] | None = None,
    npoints: int | None = None,
    density: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[float], list[str]]:
    """Sample the path through ``labels``; give either ``npoints`` (total) or ``density`` (points per 1/Å).

    cell : (3, 3) lattice vectors as rows, Å. points : label → reduced coordinates;
    defaults to the cell's hexagonal points when the cell is hexagonal.
    Returns (qpoints (n, 3) reduced, distances (n,) cumulative |Δq| in 1/Å
    (including the 2π), tick positions (1/Å) and tick texts ("Γ", "M", …)).
    Corners are sampled once; each segment gets points in proportion to its length.
    """
    cell = np.asarray(cell, float)
    if points is None:
        if hexagonal_angle(cell) is None:
            raise QPointError(
                "the cell is not hexagonal (|a1| = |a2| at 60° or 120°): give the path's points explicitly")
        points = hexagonal_points(cell)
    missing = [label for label in labels if label not in points]
    if missing or len(labels) < 2:
        raise QPointError(
            f"path labels {list(labels)}: need at least two labels among {', '.join(points)}"
            + (f"; unknown: {', '.join(missing)}" if missing else ""))
    if (npoints is None) == (density is None):
        raise QPointError("give exactly one of npoints and density for the q path")
    corners = np.array([points[label] for label in labels], dtype=float)
    reciprocal = 2 * np.pi * np.linalg.inv(cell).T
    lengths = np.linalg.norm(np.diff(corners, axis=0) @ reciprocal, axis=1)
    if density is not None:
        counts = np.maximum(np.ceil(lengths * density).astype(int), 1)
    else:
        if npoints < len(labels):
            raise QPointError(f"npoints = {npoints} is too few for {len(labels)} path corners")
        share = lengths / lengths.sum() * (npoints - 1)
        counts = np.maximum(np.round(share).astype(int), 1)
        counts[np.argmax(counts)] += npoints - 1 - counts.sum()
    fractions = [np.arange(n) / n for n in counts]
    qpoints = np.concatenate(
        [start + f[:, None] * (end - start) for start, end, f in zip(corners[:-1], corners[1:], fractions, strict=True)]
        + [corners[-1:]])
    steps = np.linalg.norm(np.diff(qpoints, axis=0) @ reciprocal, axis=1)
    distances = np.concatenate([[0.0], np.cumsum(steps)])
    ticks = np.concatenate([[0.0], np.cumsum(lengths)]).tolist()
    return qpoints, distances, ticks, [TICK_TEXT.get(label, label) for label in labels]
