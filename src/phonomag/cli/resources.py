"""Size of a run before it starts: refuse what cannot fit in memory, and what would take hours unless forced."""

from __future__ import annotations

import os

from phonomag.cli.config import RunConfig
from phonomag.errors import PhonomagError

#: Runs estimated to take longer than this (s) need ``phonomag run --force``.
TIME_LIMIT = 2 * 3600.0


def physical_memory() -> int:
    """Bytes of memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_resources(config: RunConfig, engine, model=None, force: bool = False, n_qpoints: int | None = None) -> None:
    """Estimate the memory and time of the run — its engine and ``model``, the tight-binding engine
    computed beside a first-principles one (engines with ``cost_estimate``) —; raise a PhonomagError
    above this machine's memory, or above :data:`TIME_LIMIT` unless ``force``. ``n_qpoints``: the
    q-points of an engine that computes at fixed q (None: the path and the summary q-points)."""
    drawn = config.figures or config.movies
    n_fields = len(config.maps) * (int(drawn) + int(config.field_files))
    n_q = config.path_points + len(config.summary_q) if n_qpoints is None else n_qpoints
    # (engine, q-points, mode fields): the engine draws the maps; the model beside a first-principles
    # engine covers the same q-points, without fields
    parts = [(engine, n_q, n_fields)] + ([(model, n_q, 0)] if model is not None else [])
    parts = [part for part in parts if hasattr(part[0], "cost_estimate")]
    estimates = [part.cost_estimate(n_q, fields) for part, n_q, fields in parts]
    if not estimates:
        return
    memory, seconds = max(m for m, _ in estimates), sum(t for _, t in estimates)
    grid = "×".join(map(str, config.kgrid))
    available = physical_memory()
    if memory > available:
        raise PhonomagError(
            f"[response] kgrid = {list(config.kgrid)} needs about {memory / 1e9:.1f} GB of memory, more than the "
            f"{available / 1e9:.1f} GB of this machine; use a smaller k grid")
    if seconds > TIME_LIMIT and not force:
        raise PhonomagError(
            f"the run would take about {seconds / 3600:.1f} h ({sum(n for _, n, _ in parts)} q-points and {n_fields} "
            f"mode fields on the {grid} k grid), more than the limit of {TIME_LIMIT / 3600:g} h; use a smaller "
            "[response] kgrid or fewer [path] npoints, or pass --force to run anyway")
