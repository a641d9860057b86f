"""One stage runner for the commands that fill an output folder (``run``, ``sqw``, ``dynamics``).

A :class:`Stage` is a name, the digest of everything it reads, the files it may write and the function that
writes them. :func:`output_folder` opens a folder for one command: it refuses a folder that another output
folder writes into (or that writes into one), takes the folder's lock, removes the temporary files killed runs
left in the folders this folder's runs write to (never below them, so a run into ``P/inner`` is left alone),
and gives a :class:`Runner`. :meth:`Runner.run` first removes the outputs of this command's stages that the
given stages do not reproduce (another configuration's), so the folder never holds two configurations' files;
then each stage is reused when :class:`~phonomag.cli.run_state.RunState` says it is done (same digest, every
file with its recorded SHA-256), else announced, recorded as started, made and recorded as finished.

Stages marked ``parallel`` that follow each other are made side by side, in worker processes, one per usable
core (:func:`usable_cores`; matplotlib holds the GIL, so threads would not do). The workers are forked when
such a run of stages starts, so they hold everything the stages before made in memory; each announces its
stage when it starts it and returns the files and lines, and the runner records every stage as it finishes
(the record and the summary lines are kept by the runner alone, in the order of the stages, the same as
when the stages are made one after the other). Each worker has an equal share of the cores for its BLAS
threads. The first error of a stage is raised by the runner, after the stages that were already running have
ended (and been recorded); the queued ones are dropped. Ctrl-C (SIGINT to the process group) stops the
running stages as it stops a stage in the runner's process (temporary files removed); an idle worker ignores
it. Where one core is usable, or one stage is to be made, the runner makes it itself.

Stage names are kept per command (``run:results``, ``sqw:sqw``), so one folder can hold the outputs of
``run`` and of ``sqw`` and neither removes the other's. Every file is written atomically
(:mod:`phonomag.io.atomic`).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import click
from threadpoolctl import threadpool_limits

from phonomag.cli.run_state import RunState, folder_lock, is_output_folder
from phonomag.errors import PhonomagError
from phonomag.io.atomic import remove_temporaries

#: The subfolder of an output folder that stages write into (maps, movies, field files).
MAPS_FOLDER = "maps"

#: Where the runner logs the wall time of every stage it makes and of the whole run (INFO; nothing is shown
#: unless a handler is installed, as ``benchmarks/main_job.py`` does).
LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Made:
    """What a stage's function returns: the files it wrote and the summary lines it prints (besides the
    "wrote" lines of its files); the lines are recorded and printed again when the stage is reused."""

    files: Sequence[Path]
    lines: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of a command: ``name``, ``inputs`` (the digest of everything it reads; None: never reused),
    ``outputs`` (the files it may write; none: a step that writes nothing, made every time and not
    recorded), ``make`` (writes them, returns :class:`Made`), what :meth:`Runner.run` says when it starts
    (``announce``; nothing when empty) and whether it may be made in a worker process beside the parallel
    stages next to it (``parallel``: it reads only what earlier stages made, and changes nothing in memory that
    another stage reads)."""

    name: str
    inputs: str | None
    outputs: Sequence[Path]
    make: Callable[[], Made]
    announce: str = ""
    parallel: bool = False


def announce(text: str) -> None:
    """Say on the terminal which stage starts (the summary lines come at the end)."""
    click.echo(f"phonomag: {text} …")


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def _timed(stage: Stage) -> tuple[Made, float]:
    """Announce ``stage``, make it; (what it made, the wall time in s)."""
    if stage.announce:
        announce(stage.announce)
    start = time.perf_counter()
    return stage.make(), time.perf_counter() - start


class _Worker:
    """What a worker process was given (:func:`_adopt`): the stages, by index, and the runner's stop event."""

    stages: Sequence[Stage] = ()
    stop = None


def _adopt(stages: Sequence[Stage], stop, blas_threads: int) -> None:
    """Start a worker process: take ``stages`` and ``stop`` (inherited by the fork, never pickled), limit its
    BLAS threads, and leave Ctrl-C to the runner while no stage runs."""
    _Worker.stages, _Worker.stop = stages, stop
    threadpool_limits(limits=blas_threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _made_apart(index: int) -> tuple[Made, float] | None:
    """:func:`_timed` of adopted stage ``index`` in a worker, stopped by Ctrl-C as the runner's own stages are;
    None, without starting it, once the runner has stopped (an error, Ctrl-C: the stages already handed to the
    workers are not made). A PhonomagError comes back as a plain one with its message (what the command line
    prints), which any subclass's own arguments could keep from being rebuilt in the runner."""
    if _Worker.stop.is_set():
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _timed(_Worker.stages[index])
    except PhonomagError as exc:
        raise PhonomagError(str(exc)) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class Runner:
    """The stages of one ``command`` in one output folder (see the module docstring)."""

    def __init__(self, folder: Path, command: str, state: RunState, removed: Sequence[Path]):
        self.folder, self.command, self.state = Path(folder), command, state
        self.removed = list(removed)

    def key(self, stage: Stage) -> str:
        return f"{self.command}:{stage.name}"

    def run(self, stages: Sequence[Stage], lines: list[str]) -> list[str]:
        """Run ``stages`` in order (runs of parallel ones side by side), appending the summary lines to ``lines``
        in the order of the stages as each run of them ends (a stage's function may read the lines so far);
        returns ``lines``."""
        start = time.perf_counter()
        recorded = [stage for stage in stages if stage.outputs]
        removed = self.state.keep({self.key(stage): stage.inputs for stage in recorded},
                                  [path for stage in recorded for path in stage.outputs], f"{self.command}:")
        lines += [f"removed {path} (temporary file of an interrupted run)" for path in self.removed]
        lines += [f"removed {path} (not an output of this configuration)" for path in removed]
        self.removed = []
        for batch in _batches(stages):
            to_make = [stage for stage in batch if not self._done(stage)]
            made = self._make_apart(to_make) if len(to_make) > 1 and usable_cores() > 1 else {}
            for stage in batch:
                if stage in to_make and stage.name not in made:
                    made[stage.name] = self._made_here(stage)
                lines += self._lines(stage, made.get(stage.name))
        LOG.info("%s: all stages %.2f s", self.command, time.perf_counter() - start)
        return lines

    def _done(self, stage: Stage) -> bool:
        return bool(stage.outputs) and self.state.done(self.key(stage), stage.inputs)

    def _lines(self, stage: Stage, made: Made | None) -> list[str]:
        """The summary lines of ``stage``: those it ``made``, or (None) those recorded when it was made."""
        if made is None:
            key = self.key(stage)
            return self.state.lines(key) + [f"reused {path}" for path in self.state.files(key)]
        return list(made.lines) + [f"wrote  {path}" for path in made.files]

    def _start(self, stage: Stage) -> None:
        if stage.outputs:
            self.state.start(self.key(stage), stage.outputs)

    def _finish(self, stage: Stage, made: Made, seconds: float) -> Made:
        """Record ``stage`` as finished with what it ``made`` (and log its wall time); returns ``made``."""
        LOG.info("%s: %.2f s", self.key(stage), seconds)
        if stage.outputs:
            self.state.finish(self.key(stage), stage.inputs, made.files, made.lines)
        return made

    def _made_here(self, stage: Stage) -> Made:
        """Make ``stage`` in this process, recorded as started and finished."""
        self._start(stage)
        return self._finish(stage, *_timed(stage))

    def _make_apart(self, stages: Sequence[Stage]) -> dict[str, Made]:
        """Make ``stages`` side by side in worker processes (see the module docstring); {name: what it made}."""
        start, workers = time.perf_counter(), min(len(stages), usable_cores())
        for stage in stages:
            self._start(stage)
        sys.stdout.flush()  # a forked worker must not write out again what the runner had buffered
        sys.stderr.flush()
        made: dict[str, Made] = {}
        context = multiprocessing.get_context("fork")
        stop = context.Event()
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_adopt,
                                 initargs=(stages, stop, max(1, usable_cores() // workers))) as pool:
            futures = {pool.submit(_made_apart, index): stage for index, stage in enumerate(stages)}
            try:
                for future in as_completed(futures):
                    made[futures[future].name] = self._finish(futures[future], *_result(future, futures[future]))
            except BaseException:
                stop.set()  # the stages not started are dropped, the running ones end
                pool.shutdown(wait=True, cancel_futures=True)
                for future, stage in futures.items():
                    if stage.name not in made and _succeeded(future):
                        made[stage.name] = self._finish(stage, *future.result())
                raise
        LOG.info("%s: %d stages side by side in %d processes: %.2f s", self.command, len(stages), workers,
                 time.perf_counter() - start)
        return made


def _batches(stages: Sequence[Stage]) -> list[list[Stage]]:
    """``stages`` in order, as runs of parallel stages next to each other and single other stages."""
    batches: list[list[Stage]] = []
    for stage in stages:
        if stage.parallel and batches and batches[-1][-1].parallel:
            batches[-1].append(stage)
        else:
            batches.append([stage])
    return batches


def _result(future: Future, stage: Stage) -> tuple[Made, float]:
    """What the worker making ``stage`` returned; its error raised, a worker that died as a PhonomagError."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise PhonomagError(f"the worker process making stage {stage.name!r} ended without finishing it (killed, "
                            f"or out of memory?): {exc}") from None


def _succeeded(future: Future) -> bool:
    """True when ``future`` made its stage to the end without an error."""
    return future.done() and not future.cancelled() and future.exception() is None and future.result() is not None


@contextmanager
def output_folder(folder: Path, command: str) -> Iterator[Runner]:
    """The :class:`Runner` of ``command`` in ``folder`` (created), which it locks for the block."""
    folder = Path(folder)
    _check_apart(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder):
        state = RunState(folder)
        removed = remove_temporaries(sorted(state.folders() | {state.folder / MAPS_FOLDER}))
        yield Runner(folder, command, state, [folder / path.relative_to(state.folder) for path in removed])


def _check_apart(folder: Path) -> None:
    """Refuse ``folder`` when another output folder writes into it (it is that folder's ``maps``) or it
    would write into another output folder (its ``maps`` is one): two runs would remove each other's files."""
    absolute = folder.absolute()
    if absolute.name == MAPS_FOLDER and is_output_folder(absolute.parent):
        raise PhonomagError(f"{folder} is the {MAPS_FOLDER} folder of the output folder {folder.parent}: choose "
                            "an output folder that no other run writes into")
    if is_output_folder(absolute / MAPS_FOLDER):
        raise PhonomagError(f"{folder / MAPS_FOLDER} is itself an output folder, but runs into {folder} write "
                            f"their maps there: choose another output folder")
