"""What an output folder holds, keyed by content, and who is writing to it.

``<output>/.phonomag-stamps.json`` maps each finished stage (:mod:`phonomag.cli.stages`) to the digest of
everything it read, the summary lines it printed and the files it wrote, each with the SHA-256 of its
bytes, as paths relative to the output folder (so a moved folder keeps its record). A stage is reused
only when its digest is unchanged and every file it wrote still has the recorded SHA-256: an edited, truncated
or deleted output is made again. Before a stage rewrites its files its old record and files are removed and
the files it may write are recorded as unfinished, so an interrupted stage never passes for a finished one
and leaves nothing unaccounted for.

The record can only name files inside its folder: a path that is absolute, leads out of the folder (``..``,
a symbolic link to elsewhere) or into another output folder makes the whole record unreadable, as does any
other shape than the one written here. An unreadable record means that nothing is known to be finished, and
nothing it names is ever deleted.

``<output>/.phonomag.lock`` (a :mod:`filelock` lock) keeps a second run out of a folder while one is
writing to it.
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


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file's bytes (hex), None when it is absent or not a regular file."""
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return sha.hexdigest()


def file_digests(paths: Iterable[Path]) -> dict[str, str]:
    """{path: SHA-256 of its bytes} ("missing" for an absent file): the content a stage read."""
    return {str(path): file_sha256(path) or "missing" for path in paths}


def is_output_folder(folder: Path) -> bool:
    """True when ``folder`` is (or was) the output folder of a phonomag run: it holds a record or a lock."""
    return (Path(folder) / STAMPS_NAME).exists() or (Path(folder) / LOCK_NAME).exists()


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


class _Unreadable(Exception):
    """The record is not one this module wrote (see the module docstring)."""


class RunState:
    """The finished stages of an output folder (see the module docstring).

    ``data``: {stage: {"digest": digest or None (unfinished), "files": {relative path: SHA-256 or None},
    "lines": [summary lines]}}."""

    def __init__(self, folder: Path):
        self.given = Path(folder)
        self.folder = self.given.absolute()
        self.path = self.folder / STAMPS_NAME
        try:
            self.data = self._checked(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            self.data = {}
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, _Unreadable):
            self.data = {}  # an unreadable record means nothing is known to be finished

    def _checked(self, raw) -> dict:
        """``raw`` if it has the shape :meth:`_save` writes and names only files inside the folder."""
        if not isinstance(raw, dict):
            raise _Unreadable
        for entry in raw.values():
            if not (isinstance(entry, dict) and set(entry) == {"digest", "files", "lines"}
                    and isinstance(entry["digest"], str | None) and isinstance(entry["files"], dict)
                    and isinstance(entry["lines"], list) and all(isinstance(x, str) for x in entry["lines"])
                    and all(isinstance(x, str | None) for x in entry["files"].values())
                    and all(self.inside(name) for name in entry["files"])):
                raise _Unreadable
        return raw

    def inside(self, name: str) -> bool:
        """True when ``name`` (as recorded) is a file of this folder: relative, normalised, not leading out of
        it (``..``, a linked folder) nor into another output folder, and not the record or the lock."""
        if not isinstance(name, str) or not name or os.path.isabs(name) or os.path.normpath(name) != name:
            return False
        if name.split(os.sep)[0] == os.pardir or os.path.basename(name) in (STAMPS_NAME, LOCK_NAME):
            return False
        root = self.folder.resolve()
        parent = (self.folder / name).parent.resolve()
        if parent != root and root not in parent.parents:
            return False
        return not any(is_output_folder(folder) for folder in [parent, *parent.parents] if root in folder.parents)

    def folders(self) -> set[Path]:
        """The folder and every folder its recorded files lie in."""
        return {self.folder} | {(self.folder / name).parent for entry in self.data.values() for name in entry["files"]}

    def done(self, stage: str, stage_digest: str | None) -> bool:
        """True when ``stage`` finished with this digest and every file it wrote has its recorded SHA-256."""
        entry = self.data.get(stage)
        return (stage_digest is not None and bool(entry) and entry["digest"] == stage_digest
                and all(sha is not None and file_sha256(self.folder / name) == sha
                        for name, sha in entry["files"].items()))

    def lines(self, stage: str) -> list[str]:
        """The summary lines ``stage`` printed when it was made."""
        return list(self.data[stage]["lines"])

    def files(self, stage: str) -> list[Path]:
        """The files ``stage`` wrote (or, unfinished, may have written), below the folder as given."""
        return [self.given / name for name in self.data.get(stage, {}).get("files", {})]

    def start(self, stage: str, planned: Iterable[Path] = ()) -> None:
        """Forget ``stage`` and delete its files before it writes new ones; record the files it may
        write (``planned``) as unfinished, so that an interruption leaves nothing unaccounted for."""
        self._remove(stage)
        self.data[stage] = {"digest": None, "files": dict.fromkeys(self._relative(planned)), "lines": []}
        self._save()

    def finish(self, stage: str, stage_digest: str | None, files: Iterable[Path], lines: Iterable[str] = ()) -> None:
        """Record ``stage`` as finished with ``stage_digest``, having written ``files`` and printed ``lines``."""
        names = self._relative(files)
        self.data[stage] = {"digest": stage_digest, "files": {name: file_sha256(self.folder / name) for name in names},
                            "lines": list(lines)}
        self._save()

    def _relative(self, files: Iterable[Path]) -> list[str]:
        names = [os.path.relpath(Path(f).absolute(), self.folder) for f in files]
        outside = [name for name in names if not self.inside(name)]
        if outside:
            raise ValueError(f"a stage may only write inside its output folder {self.folder}: {outside}")
        return names

    def keep(self, planned: dict[str, str | None], outputs: Iterable[Path], prefix: str) -> list[Path]:
        """Delete the records and files of the stages named ``prefix``… that are not in ``planned``
        ({stage: digest}) with the same digest, and of the planned stages that are never reused (digest
        None). Returns the files removed that are not among the planned stages' ``outputs``: another
        configuration's."""
        kept = {Path(path).absolute() for path in outputs}
        removed = []
        for stage in [s for s, entry in self.data.items()
                      if s.startswith(prefix) and (planned.get(s, "") != entry["digest"] or planned.get(s) is None)]:
            removed += [path for path in self._remove(stage) if path.absolute() not in kept]
        self._save()
        return removed

    def _remove(self, stage: str) -> list[Path]:
        files = [p for p in self.files(stage) if p.is_file() or p.is_symlink()]
        for path in files:
            path.unlink()
        self.data.pop(stage, None)
        return files

    def _save(self) -> None:
        text = json.dumps(self.data, indent=1, ensure_ascii=False)
        write_atomically(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), ".json")
