"""Run ABINIT as a subprocess, with progress, and resume finished runs from disk.

A run lives in its own directory: ``<name>.abi`` (input), ``<name>.log`` (stdout),
``<name>.abo`` (main output), outputs prefixed ``<name>o_``. A run whose ``.abo``
ends with ABINIT's completion line and whose input is unchanged is not repeated;
an interrupted run is started again from scratch (ABINIT datasets are minutes).
A lock file ``<name>.lock`` keeps two drivers (e.g. the workers of a killed driver and of
its restart) from running the same input at once: the second waits and then reuses the run.
The ABINIT process holds the lock too (it inherits the locked descriptor): when its driver is killed
(SIGKILL, or SIGTERM), ABINIT goes on until it ends or its next line to the driver's closed pipe stops
it, and a new driver waits for that before it reuses or redoes the run — never two at once.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from phonomag.errors import PhonomagError
from phonomag.workflow.launcher import RUN_AS_ROOT, launch_command

_DATASET = re.compile(r"^\s*==\s*DATASET\s+(\d+)")
_DONE = "Calculation completed."


class AbinitRunError(PhonomagError):
    """ABINIT is missing or a run failed."""


def abinit_executable() -> str:
    """Path of ``abinit``; a clear error if it is not installed."""
    path = shutil.which("abinit")
    if path is None:
        raise AbinitRunError(
            "abinit is not installed: run scripts/install_abinit.sh (Debian: apt install abinit abinit-data)"
        )
    return path


def abinit_version() -> str:
    """The version ABINIT prints (``abinit --version``)."""
    result = subprocess.run([abinit_executable(), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "unknown"


def is_complete(workdir: Path, name: str, text: str) -> bool:
    """True if the run ``name`` in ``workdir`` finished with exactly this input."""
    abi, abo = workdir / f"{name}.abi", workdir / f"{name}.abo"
    def read(path: Path) -> str:
        return path.read_text(encoding="utf-8", errors="replace")

    return abi.is_file() and read(abi) == text and abo.is_file() and _DONE in read(abo)[-4000:]


def run_abinit(text: str, workdir: Path, name: str, nproc: int = 1, datasets: int = 1,
               progress: bool = True, launcher: str = "auto") -> Path:
    """Run the input ``text`` as ``workdir/name.abi``; return the directory. Skips a complete run.

    ``launcher`` starts the ``nproc`` MPI processes (:mod:`phonomag.workflow.launcher`).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with _inherited_lock(workdir / f"{name}.lock") as lock_fd:
        return _run_locked(text, workdir, name, nproc, datasets, progress, launcher, lock_fd)


@contextmanager
def _inherited_lock(path: Path):
    """An exclusive lock on ``path`` (waits for it), as an open descriptor the ABINIT process inherits.

    A flock lock belongs to the open file, shared by every process holding a descriptor of it: so it is
    released when the driver and the ABINIT process it started have both ended (filelock's FileLock
    keeps its descriptor from child processes, hence this).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _run_locked(text: str, workdir: Path, name: str, nproc: int, datasets: int, progress: bool,
                launcher: str, lock_fd: int) -> Path:
    if is_complete(workdir, name, text):
        return workdir
    for stale in workdir.glob(f"{name}.abo*"):  # ABINIT renames rather than overwrites
        stale.unlink()
    (workdir / f"{name}.abi").write_text(text, encoding="utf-8")
    command = launch_command([abinit_executable(), f"{name}.abi"], nproc, launcher)
    env = dict(os.environ, OMP_NUM_THREADS="1", **RUN_AS_ROOT)
    with open(workdir / f"{name}.log", "w", encoding="utf-8") as log, tqdm(total=datasets, desc=f"abinit {name}",
                                                        unit="dataset", disable=not progress) as bar:
        process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, env=env, pass_fds=(lock_fd,))
        for line in process.stdout:
            log.write(line)
            match = _DATASET.match(line)
            if match:
                bar.n = int(match.group(1)) - 1
                bar.refresh()
        code = process.wait()
        bar.n = datasets
        bar.refresh()
    if code != 0 or not is_complete(workdir, name, text):
        tail = (workdir / f"{name}.log").read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise AbinitRunError(f"abinit {name} failed (exit {code}) in {workdir}; last lines of the log:\n"
                             + "\n".join(tail))
    return workdir
