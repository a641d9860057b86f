"""One stage runner for the commands that fill an output folder (``run``, ``sqw``, ``dynamics``).

A :class:`Stage` is a name, the digest of everything it reads, the files it may write and the function that
writes them. :func:`output_folder` opens a folder for one command: it refuses a folder that another output
folder writes into (or that writes into one), takes the folder's lock, removes the temporary files killed runs
left in the folders this folder's runs write to (never below them, so a run into ``P/inner`` is left alone),
and gives a :class:`Runner`. :meth:`Runner.run` first removes the outputs of this command's stages that the
given stages do not reproduce (another configuration's), so the folder never holds two configurations' files;
then each stage is reused when :class:`~phonomag.cli.run_state.RunState` says it is done (same digest, every
file with its recorded SHA-256), else announced, recorded as started, made and recorded as finished.

Stage names are kept per command (``run:results``, ``sqw:sqw``), so one folder can hold the outputs of
``run`` and of ``sqw`` and neither removes the other's. Every file is written atomically
(:mod:`phonomag.io.atomic`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from phonomag.cli.run_state import RunState, folder_lock, is_output_folder
from phonomag.errors import PhonomagError
from phonomag.io.atomic import remove_temporaries

#: The subfolder of an output folder that stages write into (maps, movies, field files).
MAPS_FOLDER = "maps"


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
    recorded), ``make`` (writes them, returns :class:`Made`) and what :meth:`Runner.run` says when it starts
    (``announce``; nothing when empty)."""

    name: str
    inputs: str | None
    outputs: Sequence[Path]
    make: Callable[[], Made]
    announce: str = ""


def announce(text: str) -> None:
    """Say on the terminal which stage starts (the summary lines come at the end)."""
    click.echo(f"phonomag: {text} …")


class Runner:
    """The stages of one ``command`` in one output folder (see the module docstring)."""

    def __init__(self, folder: Path, command: str, state: RunState, removed: Sequence[Path]):
        self.folder, self.command, self.state = Path(folder), command, state
        self.removed = list(removed)

    def key(self, stage: Stage) -> str:
        return f"{self.command}:{stage.name}"

    def run(self, stages: Sequence[Stage], lines: list[str]) -> list[str]:
        """Run ``stages`` in order, appending the summary lines to ``lines`` as each ends (a stage's function
        may read the lines so far); returns ``lines``."""
        recorded = [stage for stage in stages if stage.outputs]
        removed = self.state.keep({self.key(stage): stage.inputs for stage in recorded},
                                  [path for stage in recorded for path in stage.outputs], f"{self.command}:")
        lines += [f"removed {path} (temporary file of an interrupted run)" for path in self.removed]
        lines += [f"removed {path} (not an output of this configuration)" for path in removed]
        self.removed = []
        for stage in stages:
            key = self.key(stage)
            if stage.outputs and self.state.done(key, stage.inputs):
                lines += self.state.lines(key) + [f"reused {path}" for path in self.state.files(key)]
                continue
            if stage.announce:
                announce(stage.announce)
            if stage.outputs:
                self.state.start(key, stage.outputs)
            made = stage.make()
            if stage.outputs:
                self.state.finish(key, stage.inputs, made.files, made.lines)
            lines += list(made.lines) + [f"wrote  {path}" for path in made.files]
        return lines


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
