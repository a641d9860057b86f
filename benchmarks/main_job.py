"""Benchmark: ``phonomag run`` on the default (the main job), stage by stage, and its movies against ffmpeg alone.

Runs the default main job (monolayer WSe₂, the first-principles kernel) into a temporary folder, in this process
as ``phonomag run -o <folder>`` runs it (its own output goes to ``<folder>/run.log``), and prints the wall time
of every stage (stages made side by side overlap: the wall time of each run of them is printed too), the
start-up and checks before the first stage, the total wall time and its ratio to ``--target``. Then, for the
movies of the same maps (the same frames: fields and frames computed again, not timed), it prints the time to
render and encode them as the run does (``write_movie``) and the time ffmpeg alone takes to encode the same
frames (the limit: the movies cannot be written faster than they are encoded), as time, frames per second and
their ratio. The load average is printed first: timings on a busy machine are not those of an idle one.

    python benchmarks/main_job.py [--output DIR] [--target 15] [--no-movies]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import tempfile
import time
from pathlib import Path


class StageTimes(logging.Handler):
    """Collects the wall times the stage runner logs (:data:`phonomag.cli.stages.LOG`): (message, arguments)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[tuple[str, tuple]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.msg, record.args))


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (workers, ffmpeg), s."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_main_job(folder: Path) -> tuple[float, float, StageTimes]:
    """``phonomag run -o folder`` (phonomag imported here, so that its start-up counts); (wall s, CPU s, times)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    times = StageTimes()
    from phonomag.cli import stages
    from phonomag.cli.main import main

    stages.LOG.addHandler(times)
    stages.LOG.setLevel(logging.INFO)
    with open(folder / "run.log", "a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        main(["run", "-o", str(folder / "out")])
    return time.perf_counter() - start, cpu_seconds() - cpu, times


def print_stages(wall: float, cpu: float, times: StageTimes, target: float) -> None:
    """The time of every stage, the runs side by side, start-up, total and its ratio to ``target``."""
    stage_times = [args for message, args in times.records if message == "%s: %.2f s"]
    batches = [args for message, args in times.records if "side by side" in message]
    runner = next(args[1] for message, args in times.records if "all stages" in message)
    print(f"{'start-up and checks':44s} {wall - runner:7.2f} s")
    for name, seconds in stage_times:
        print(f"  {name:42s} {seconds:7.2f} s")
    for _, count, workers, seconds in batches:
        print(f"{f'{count} stages side by side ({workers} processes)':44s} {seconds:7.2f} s wall")
    print(f"{'all stages':44s} {runner:7.2f} s wall (the stages' times add up to "
          f"{sum(seconds for _, seconds in stage_times):.2f} s)")
    print(f"{'total wall time':44s} {wall:7.2f} s   CPU {cpu:7.2f} s ({cpu / wall:.2f} cores busy)")
    print(f"{'ratio to the target':44s} {wall / target:7.2f}   (target {target:g} s on 2 idle cores)")


def movie_limit(folder: Path) -> None:
    """The movies of the default maps written as the run writes them, against ffmpeg alone on the same frames."""
    from phonomag.cli.config import RunConfig
    from phonomag.cli.run import check_run
    from phonomag.engines.base import compute_mode_fields
    from phonomag.outputs.plotting.movies import encode_with_ffmpeg, ffmpeg_executable, movie_frames, write_movie
    from phonomag.response.fields import atom_wave

    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        print("movies: no ffmpeg here (pip install imageio-ffmpeg): no limit to compare with")
        return
    config, _, system, plans = check_run(RunConfig(), folder / "movies")
    options = config.map_options(False)
    written = alone = 0.0
    count = 0
    for plan in plans:
        fields = compute_mode_fields(system.engine, plan.q, plan.frequency, plan.displacements, plan.nu,
                                     options.height, options.points_per_cell, options.kind, None)
        wave = fields.plane.wave(options.cells)
        atoms = atom_wave(fields.atoms, fields.atom_labels, fields.q_reduced, fields.displacements, options.cells)
        style, name = plan.entry.style, plan.entry.name
        start = time.perf_counter()
        write_movie(wave, atoms, folder / "movies" / name, style, options.frames, title=name)
        middle = time.perf_counter()
        frames = list(movie_frames(wave, atoms, style, options.frames, title=name))
        rest = time.perf_counter()
        encode_with_ffmpeg(ffmpeg, iter(frames), 12, str(folder / "movies" / "alone.mp4"),
                           str(folder / "movies" / "alone.gif"))
        end = time.perf_counter()
        written, alone, count = written + middle - start, alone + end - rest, count + len(frames)
        print(f"  movie {name:32s} written {middle - start:6.2f} s, ffmpeg alone {end - rest:6.2f} s, "
              f"ratio {(middle - start) / (end - rest):5.2f}")
    print(f"movies ({len(plans)} × {options.frames} frames, one after the other): written {written:.2f} s "
          f"({count / written:.1f} frames/s), ffmpeg alone {alone:.2f} s ({count / alone:.1f} frames/s); "
          f"ratio to the limit {written / alone:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="folder (default: a temporary one, removed)")
    parser.add_argument("--target", type=float, default=15.0, help="wall time (s) to compare the total with")
    parser.add_argument("--no-movies", action="store_true", help="skip the comparison of the movies with ffmpeg")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{len(os.sched_getaffinity(0))} usable cores; load average before the run {load} "
          "(a busy machine gives longer times than an idle one)")
    with tempfile.TemporaryDirectory(prefix="phonomag-main-job-") as temporary:
        folder = args.output or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        wall, cpu, times = run_main_job(folder)
        print_stages(wall, cpu, times, args.target)
        if not args.no_movies:
            movie_limit(folder)


if __name__ == "__main__":
    main()
