"""What an output folder of ``phonomag run`` holds, keyed by content, and who is writing to it.

``<output>/.phonomag-stamps.json`` maps each finished stage to the digest of everything it
read and the files it wrote, as paths relative to the output folder (so a moved folder keeps
its record). A stage is reused only when its digest is unchanged and all its files exist.
Before a stage rewrites its files its old record and files are removed and the files it may
write are recorded as unfinished, so an interrupted stage never passes for a finished one and
leaves nothing unaccounted for; after a run, the files of stages that the run did not produce
(another configuration's maps, say) are removed (:meth:`RunState.prune`).

``<output>/.phonomag.lock`` (a :mod:`filelock` lock) keeps a second run out of a folder while
one is writing to it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from phonomag.errors import PhonomagError
from phonomag.io.atomic import write_atomically

STAMPS_NAME = ".phonomag-stamps.json"
LOCK_NAME = ".phonomag.lock"


def digest(*parts) -> str:
    """A short SHA-256 of JSON-serialisable ``parts`` (numpy arrays and paths through ``str``)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_digests(paths: Iterable[Path]) -> dict[str, str]:
    """{path: SHA-256 of its bytes} ("missing" for an absent file): the content a stage read."""
    result = {}
    for path in paths:
        sha = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(chunk)
            result[str(path)] = sha.hexdigest()
        except FileNotFoundError:
            result[str(path)] = "missing"
    return result


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``/.phonomag.lock for the block; an error at once if another run holds it."""
    path = Path(folder) / LOCK_NAME
    lock = filelock.FileLock(path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise PhonomagError(f"another phonomag run is writing to {folder} (it holds {path}); wait for it to "
                            "finish or choose another output folder with -o") from None
    try:
        yield
    finally:
        lock.release()


class RunState:
    """The finished stages of an output folder (see the module docstring)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).absolute()
        self.path = self.folder / STAMPS_NAME
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.data = {}  # an unreadable record means nothing is known to be finished
        self.used: set[str] = set()

    def _files(self, stage: str) -> list[Path]:
        return [self.folder / name for name in self.data.get(stage, {}).get("files", [])]

    def done(self, stage: str, stage_digest: str) -> bool:
        """True (and the stage kept) when ``stage`` finished with this digest and all its files exist."""
        entry = self.data.get(stage)
        finished = bool(entry) and entry["digest"] == stage_digest and all(p.exists() for p in self._files(stage))
        if finished:
            self.used.add(stage)
        return finished

    def start(self, stage: str, planned: Iterable[Path] = ()) -> None:
        """Forget ``stage`` and delete its files before it writes new ones; record the files it may
        write (``planned``) as unfinished, so that an interruption leaves nothing unaccounted for."""
        self._remove(stage)
        self.data[stage] = {"digest": None, "files": self._relative(planned)}
        self._save()

    def finish(self, stage: str, stage_digest: str, files: Iterable[Path]) -> None:
        """Record ``stage`` as finished with ``stage_digest``, having written ``files``."""
        self.data[stage] = {"digest": stage_digest, "files": self._relative(files)}
        self.used.add(stage)
        self._save()

    def _relative(self, files: Iterable[Path]) -> list[str]:
        return [os.path.relpath(Path(f).absolute(), self.folder) for f in files]

    def prune(self) -> list[Path]:
        """Delete the files of recorded stages this run neither reused nor produced; return them."""
        removed = []
        for stage in [s for s in self.data if s not in self.used]:
            removed += self._remove(stage)
        self._save()
        return removed

    def _remove(self, stage: str) -> list[Path]:
        files = [p for p in self._files(stage) if p.is_file()]
        for path in files:
            path.unlink()
        self.data.pop(stage, None)
        return files

    def _save(self) -> None:
        text = json.dumps(self.data, indent=1, ensure_ascii=False)
        write_atomically(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), ".json")
