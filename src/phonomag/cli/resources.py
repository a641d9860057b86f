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


#: Seconds to draw one movie frame: a fixed part and a part per point of the drawn grid ((cells × points per
#: cell edge)² points), fitted to ``benchmarks/maps_benchmark.py --frames 6`` on a 2-core machine (0.24 s per
#: frame at the default 4×4 cells of 48² points, 0.56 s at 8×8 cells of 96²; GIF and MP4 writing included).
FRAME_SECONDS = (0.22, 5.8e-7)


def movie_seconds(config: RunConfig) -> float:
    """Estimated time (s) of the movies of the maps the run draws: ``[maps] frames`` frames each."""
    if not config.outputs.movies:
        return 0.0
    maps = config.maps
    points = maps.cells[0] * maps.cells[1] * maps.points_per_cell ** 2
    return len(config.drawn_maps) * maps.frames * (FRAME_SECONDS[0] + FRAME_SECONDS[1] * points)


def check_resources(config: RunConfig, engine, model=None, force: bool = False, n_qpoints: int | None = None) -> None:
    """Estimate the memory and time of the run — its engine and ``model``, the tight-binding engine
    computed beside a first-principles one (engines with ``cost_estimate``), and the movies
    (:func:`movie_seconds`) —; raise a PhonomagError above this machine's memory, or above
    :data:`TIME_LIMIT` unless ``force``. ``n_qpoints``: the q-points of an engine that computes at fixed
    q (None: the path and the summary q-points)."""
    drawn = config.outputs.figures or config.outputs.movies
    n_fields = len(config.drawn_maps) * (int(drawn) + int(config.outputs.field_files))
    n_q = config.path.npoints + len(config.outputs.summary_q) if n_qpoints is None else n_qpoints
    # (engine, q-points, mode fields): the engine draws the maps; the model beside a first-principles
    # engine covers the same q-points, without fields
    parts = [(engine, n_q, n_fields)] + ([(model, n_q, 0)] if model is not None else [])
    parts = [part for part in parts if hasattr(part[0], "cost_estimate")]
    estimates = [part.cost_estimate(n_q, fields) for part, n_q, fields in parts]
    memory, seconds = max((m for m, _ in estimates), default=0), sum(t for _, t in estimates)
    movies = movie_seconds(config)
    grid = "×".join(map(str, config.response.kgrid))
    available = physical_memory()
    if memory > available:
        raise PhonomagError(
            f"[response] kgrid = {list(config.response.kgrid)} needs about {memory / 1e9:.1f} GB of memory, more than "
            f"the {available / 1e9:.1f} GB of this machine; use a smaller k grid")
    if seconds + movies > TIME_LIMIT and not force:
        raise PhonomagError(
            f"the run would take about {(seconds + movies) / 3600:.1f} h ({sum(n for _, n, _ in parts)} q-points and "
            f"{n_fields} mode fields on the {grid} k grid: {seconds / 3600:.1f} h; {len(config.drawn_maps)} movies "
            f"of {config.maps.frames} frames: {movies / 3600:.1f} h), more than the limit of {TIME_LIMIT / 3600:g} h; "
            "use a smaller [response] kgrid, fewer [path] npoints or [maps] frames, or pass --force to run anyway")
