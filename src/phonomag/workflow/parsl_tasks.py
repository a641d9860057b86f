"""A task graph on Parsl: where the tasks run (``[cluster]``, docs/cluster.md) and live progress.

The only module that imports Parsl. A :class:`Task` is a plain function with arguments,
the names of the tasks it waits for (their results are appended to its arguments) and
the q-point it counts for. :func:`run_tasks` hands them to Parsl's

* ``local`` executor (default): threads of this process, one task at a time, so the
  work runs as it always has on one machine;
* ``slurm`` executor: Parsl's HighThroughputExecutor with a SlurmProvider (one node per
  Slurm job, up to ``nodes`` jobs at once, ``cores_per_node // cores_per_task`` tasks per
  node); the workers need the same file system and Python environment as the driver;
* or a Parsl configuration of the user's (``parsl_config``: a Python file defining
  ``config``, a ``parsl.config.Config``) for any other provider (PBS, LSF, …).

Resume is not Parsl's: the tasks skip work finished on disk, so a restarted driver
recomputes nothing that is complete.

Parsl's own log records, and those of :mod:`concurrent.futures` whose callbacks Parsl runs, go to
``<run_dir>/parsl.log``, not to the terminal: after Ctrl-C the tasks cut short fail, their dependants
cannot be scheduled any more, and each of those would otherwise print a traceback beside
"phonomag: aborted" (:func:`_log_to`).
"""

from __future__ import annotations

import logging
import runpy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from phonomag.errors import PhonomagError

#: Executors of ``[cluster] executor`` (a ``parsl_config`` file replaces both).
EXECUTORS = ("local", "slurm")


@dataclass(frozen=True)
class ClusterSpec:
    """Where the tasks run (``[cluster]``).

    executor: "local" or "slurm"; partition: Slurm partition (None: the cluster's default);
    nodes: most Slurm jobs at once, one node each; cores_per_node: cores a job asks for
    (None: one task's cores); cores_per_task: cores of one task (None: ``[abinit] nproc``);
    walltime: limit of each Slurm job, "HH:MM:SS"; launcher: how an engine's MPI runs start
    inside a task (None: ``[abinit] launcher``); worker_init: shell lines each job runs
    first (modules, environment); scheduler_options: extra ``#SBATCH`` lines; address:
    the driver's address the workers connect to (None: Parsl probes the interfaces);
    retries: times a failed task is tried again; parsl_config: a Python file defining
    ``config`` (parsl.config.Config), used instead of the other keys.
    """

    executor: str = "local"
    partition: str | None = None
    nodes: int = 1
    cores_per_node: int | None = None
    cores_per_task: int | None = None
    walltime: str = "01:00:00"
    launcher: str | None = None
    worker_init: str = ""
    scheduler_options: str = ""
    address: str | None = None
    retries: int = 0
    parsl_config: str | None = None


@dataclass(frozen=True)
class Task:
    """One unit of work: ``function(*args, *results of after)``; ``qpoint``: the q label it counts for
    in the progress (None: not a q-point's task); ``waits_for``: tasks it starts after without taking
    their results (an order, not data). ``name`` must be unique and usable as a file name."""

    name: str
    function: Callable
    args: tuple
    after: tuple[str, ...] = ()
    qpoint: str | None = None
    waits_for: tuple[str, ...] = ()


class TaskGraphError(PhonomagError):
    """Tasks of the graph failed."""


def _marked(marker: str, function: Callable, *args, inputs=()):
    """Run ``function(*args)`` with the file ``marker`` present meanwhile: the task is running.
    ``inputs``: futures Parsl waits for before starting it (:attr:`Task.waits_for`)."""
    path = Path(marker)
    path.touch()
    try:
        return function(*args)
    finally:
        path.unlink(missing_ok=True)


def parsl_config(cluster: ClusterSpec, cores_per_task: int, run_dir: Path):
    """The Parsl Config of ``cluster``; Parsl's logs and Slurm scripts go to ``run_dir``."""
    from parsl.config import Config

    if cluster.parsl_config:
        config = runpy.run_path(cluster.parsl_config).get("config")
        if not isinstance(config, Config):
            raise TaskGraphError(f"cluster.parsl_config = {cluster.parsl_config!r} must define config = "
                                 "parsl.config.Config(...)")
        return config
    if cluster.executor == "local":
        from parsl.executors import ThreadPoolExecutor

        executor = ThreadPoolExecutor(label="local", max_threads=1)
    else:
        from parsl.executors import HighThroughputExecutor
        from parsl.launchers import SingleNodeLauncher
        from parsl.providers import SlurmProvider

        cores_per_node = cluster.cores_per_node or cores_per_task
        provider = SlurmProvider(
            partition=cluster.partition, nodes_per_block=1, init_blocks=0, min_blocks=0, max_blocks=cluster.nodes,
            walltime=cluster.walltime, worker_init=cluster.worker_init, launcher=SingleNodeLauncher(),
            # MPI inside a task (mpirun or srun) needs one Slurm task slot per core of the job
            scheduler_options=f"{cluster.scheduler_options}\n#SBATCH --ntasks-per-node={cores_per_node}".strip())
        executor = HighThroughputExecutor(
            label="slurm", provider=provider, cores_per_worker=cores_per_task,
            max_workers_per_node=max(1, cores_per_node // cores_per_task), address=cluster.address,
            worker_logdir_root=str(run_dir))
    return Config(executors=[executor], run_dir=str(run_dir), retries=cluster.retries, strategy="simple",
                  initialize_logging=False)


def _state(future, marker: Path) -> str:
    if future.done():
        return "failed" if future.exception() is not None else "finished"
    return "running" if marker.exists() else "queued"


def _status_line(tasks: list[Task], futures: dict, markers: dict) -> str:
    """"q-points: F/N finished, R running, Q queued" (and "X failed"), then the state of tasks of no q-point.

    A q-point has failed when one of its tasks failed, is running when one runs, finished when all
    finished, and queued otherwise."""
    states: dict[str, set] = {}
    for task in tasks:
        if task.qpoint is not None:
            states.setdefault(task.qpoint, set()).add(_state(futures[task.name], markers[task.name]))
    count = {state: 0 for state in ("finished", "running", "queued", "failed")}
    for seen in states.values():
        state = next((s for s in ("failed", "running") if s in seen), None) or (
            "finished" if seen == {"finished"} else "queued")
        count[state] += 1
    other = "".join(f"; {t.name}: {_state(futures[t.name], markers[t.name])}" for t in tasks if t.qpoint is None)
    return (f"q-points: {count['finished']}/{len(states)} finished, {count['running']} running, {count['queued']} "
            f"queued" + (f", {count['failed']} failed" if count["failed"] else "") + other)


#: The loggers :func:`_log_to` sends to the run folder's log.
TASK_LOGGERS = ("parsl", "concurrent.futures")


def _log_to(path: Path) -> None:
    """Send the records of :data:`TASK_LOGGERS` to the file ``path`` only (replacing an earlier such file); it
    stays so after the graph, for the callbacks Parsl runs while the process ends."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    handler.set_name("phonomag-task-log")
    for name in TASK_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "phonomag-task-log"]:
            logger.removeHandler(old)
            old.close()
        logger.addHandler(handler)
        logger.propagate = False


def run_tasks(tasks: list[Task], cluster: ClusterSpec, cores_per_task: int, run_dir: Path,
              progress: Callable[[str], None] | None = print, poll_seconds: float = 1.0) -> dict:
    """Run the graph; {task name: result}. ``progress`` receives the status line each time it changes.

    A failed task fails the tasks after it; the others still run, then TaskGraphError names
    the failed ones with their errors. Parsl's log: ``run_dir``/parsl.log.
    """
    import parsl
    from parsl.app.app import python_app

    run_dir = Path(run_dir).resolve()
    marker_dir = run_dir / "running"
    marker_dir.mkdir(parents=True, exist_ok=True)
    _log_to(run_dir / "parsl.log")
    for stale in marker_dir.iterdir():  # left by a driver that was killed
        stale.unlink()
    markers = {task.name: marker_dir / task.name for task in tasks}
    app = python_app(_marked, executors="all")
    futures: dict = {}
    with parsl.load(parsl_config(cluster, cores_per_task, run_dir)):
        for task in tasks:
            futures[task.name] = app(str(markers[task.name]), task.function, *task.args,
                                     *(futures[name] for name in task.after),
                                     inputs=[futures[name] for name in task.waits_for])
        last = None
        while True:
            finished = all(future.done() for future in futures.values())
            line = _status_line(tasks, futures, markers)
            if progress is not None and line != last:
                progress(line)
                last = line
            if finished:
                break
            time.sleep(poll_seconds)
    from parsl.dataflow.errors import DependencyError

    errors = {name: future.exception() for name, future in futures.items() if future.exception() is not None}
    if errors:
        failed = {name: error for name, error in errors.items() if not isinstance(error, DependencyError)}
        raise TaskGraphError("; ".join(f"task {name} failed: {(str(error) or repr(error)).splitlines()[0]}"
                                       for name, error in failed.items())
                             + (f" ({len(errors) - len(failed)} task(s) after them not run)"
                                if len(errors) > len(failed) else ""))
    return {name: future.result() for name, future in futures.items()}
