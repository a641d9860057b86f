"""Atomic file writes: a file appears complete under its name, or not at all.

Temporary files are named ``.phonomag-tmp-*`` beside their target, so that those a killed
run leaves behind can be recognised and removed (:func:`remove_temporaries`) without
touching anything else in the folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

#: Name prefix of every temporary file phonomag writes.
TEMP_PREFIX = ".phonomag-tmp-"


@contextmanager
def atomic_paths(paths: Sequence[Path], suffixes: Sequence[str]) -> Iterator[list[str]]:
    """Temporary names beside ``paths`` (one per path, ending in its suffix); when the block
    completes each is renamed to its path (mode 0644). Leftovers are removed in every case."""
    temporaries = []
    try:
        for path, suffix in zip(paths, suffixes, strict=True):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=TEMP_PREFIX, suffix=suffix)
            os.close(fd)
            temporaries.append(tmp)
        yield temporaries
        for path, tmp in zip(paths, temporaries, strict=True):
            os.chmod(tmp, 0o644)  # mkstemp creates 0600
            os.replace(tmp, path)
    except OSError as exc:
        # name the file being written, not its temporary; a failed write() itself (a full disk) names none
        where = os.fsdecode(exc.filename) if exc.filename is not None else None
        if where in temporaries:
            raise OSError(exc.errno, exc.strerror, str(paths[temporaries.index(where)])) from None
        if where is None and temporaries and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, ", ".join(map(str, paths[:len(temporaries)]))) from None
        raise
    finally:
        for tmp in temporaries:
            if os.path.exists(tmp):
                os.remove(tmp)


def write_atomically(path: Path, write: Callable[[str], object], suffix: str) -> Path:
    """Call ``write(temporary name)`` in the folder of ``path``, then rename to ``path`` (mode 0644)."""
    with atomic_paths([path], [suffix]) as (tmp,):
        write(tmp)
    return Path(path)


def remove_temporaries(folders: Iterable[Path]) -> list[Path]:
    """Delete the temporary files (``TEMP_PREFIX``) that killed runs left in ``folders`` (each folder itself,
    not its subfolders, which may be another run's); return them."""
    removed = []
    for folder in folders:
        for path in sorted(Path(folder).glob(f"{TEMP_PREFIX}*")):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed
