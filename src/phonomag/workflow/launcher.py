"""How an MPI run of an engine's code (ABINIT, ...) is started: ``[abinit] launcher``, ``[cluster] launcher``.

Values:

* ``"auto"`` (default): inside a Slurm allocation (``SLURM_JOB_ID`` set) with ``srun`` on
  the PATH, ``srun -n N``; otherwise ``mpirun -np N`` if ``mpirun`` is on the PATH; one
  process needs no launcher;
* ``"mpirun"``: ``mpirun -np N``; ``"srun"``: ``srun -n N``;
* ``"none"``: the program alone (one process, whatever ``nproc`` says);
* a command template with ``{nproc}`` and ``{command}``, e.g. ``"mpiexec -n {nproc} {command}"``.

Open MPI refuses to start as root unless told; instead of its own ``--allow-run-as-root``
flag (which other MPI libraries reject) the two environment variables that Open MPI reads
are set, and other launchers ignore them.
"""

from __future__ import annotations

import os
import shlex
import shutil

from phonomag.errors import PhonomagError

LAUNCHERS = ("auto", "mpirun", "srun", "none")
#: Environment that lets Open MPI's mpirun run as root (ignored by other launchers).
RUN_AS_ROOT = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


class LauncherError(PhonomagError):
    """A launcher setting that cannot start an MPI program."""


def check_launcher(launcher: str) -> str:
    """The setting itself, or LauncherError naming the valid values."""
    if launcher in LAUNCHERS:
        return launcher
    if "{command}" in launcher and "{nproc}" in launcher:
        return launcher
    raise LauncherError(f"launcher = {launcher!r} must be one of {', '.join(LAUNCHERS)} or a command template "
                        "containing {nproc} and {command}, e.g. 'mpiexec -n {nproc} {command}'")


def launch_command(command: list[str], nproc: int, launcher: str = "auto",
                   environ: dict[str, str] | None = None) -> list[str]:
    """The argument list that starts ``command`` on ``nproc`` MPI processes with ``launcher``."""
    environ = os.environ if environ is None else environ
    launcher = check_launcher(launcher)
    if launcher == "none" or (nproc <= 1 and launcher in LAUNCHERS):
        return list(command)
    if launcher == "auto":
        launcher = "srun" if "SLURM_JOB_ID" in environ and shutil.which("srun") else "mpirun"
    if launcher in ("mpirun", "srun"):
        path = shutil.which(launcher)
        if path is None:
            raise LauncherError(f"nproc = {nproc} needs {launcher}, which is not on the PATH (Debian: openmpi-bin); "
                                "set launcher = 'none' to run one process")
        return [path, "-np" if launcher == "mpirun" else "-n", str(nproc), *command]
    return shlex.split(launcher.format(nproc=nproc, command=shlex.join(command)))
