"""Straight-line paths through the Brillouin zone of any crystal, e.g. Γ–M–K–Γ of a hexagonal layer.

Points are reduced coordinates of the reciprocal basis b_i (q = Σ q_i b_i, with
a_i·b_j = 2π δ_ij). Labels are the crystal's high-symmetry points
(:attr:`phonomag.crystal.crystal.Crystal.special_points`) or explicit coordinates; the default
path is the crystal's standard path (:attr:`~phonomag.crystal.crystal.Crystal.standard_path`).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.errors import QPointError

#: How labels are printed on axes.
TICK_TEXT = {"G": "Γ"}


def tick_text(label: str) -> str:
    """How a path label is printed: Γ for G, primes as ′."""
    return TICK_TEXT.get(label, label.replace("'", "′"))


def path_from_labels(
    crystal: Crystal,
    labels=None,
    npoints: int | None = None,
    density: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[float], list[str]]:
    """Sample the path through ``labels``; give either ``npoints`` (total) or ``density`` (points per 1/Å).

    labels : the crystal's labels or reduced coordinates as text (:func:`~phonomag.crystal.qpoints.parse_qpoint`);
    default the crystal's standard path. Returns (qpoints (n, 3) reduced, distances (n,) cumulative |Δq| in 1/Å
    (including the 2π), tick positions (1/Å) and tick texts ("Γ", "M", …)).
    Corners are sampled once; each segment gets points in proportion to its length.
    """
    labels = tuple(crystal.standard_path if labels is None else labels)
    if len(labels) < 2:
        raise QPointError(f"path labels {list(labels)}: need at least two points "
                          f"(labels among {', '.join(crystal.special_points)} or reduced coordinates)")
    corners = np.array([parse_qpoint(label, crystal) for label in labels], dtype=float)
    for n, (a, b) in enumerate(pairwise(corners)):
        if np.allclose(a, b):
            raise QPointError(f"has a segment of zero length, {labels[n]!r} to {labels[n + 1]!r}; consecutive points "
                              "must differ")
    if (npoints is None) == (density is None):
        raise QPointError("give exactly one of npoints and density for the q path")
    reciprocal = crystal.reciprocal
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
    names = [crystal.label_of(corner) for corner in corners]
    texts = [tick_text(name) if name is not None else qpoint_label(corner) for name, corner in zip(names, corners,
                                                                                                   strict=True)]
    return qpoints, distances, ticks, texts


def farthest_corner_index(crystal: Crystal, qpoints: np.ndarray, labels=None) -> int:
    """Index into ``qpoints`` (reduced, (nq, 3)) of the path corner among ``labels`` (default the standard path)
    farthest from Γ (Cartesian): the zone corner K of a hexagonal layer's Γ–M–K–Γ, W of fcc's path; the point
    whose modes Fig. 3 (d) draws."""
    labels = crystal.standard_path if labels is None else labels
    corners = np.array([parse_qpoint(label, crystal) for label in labels], dtype=float)
    corner = corners[np.argmax(np.linalg.norm(corners @ crystal.reciprocal, axis=1))]
    return int(np.argmin(np.linalg.norm((np.asarray(qpoints) - corner) @ crystal.reciprocal, axis=1)))
