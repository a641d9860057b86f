"""The first-principles response kernel as a task graph: ground state → DFPT per q → reduction per q.

For every irreducible q of a Γ-centred grid (the k grid of the settings; space group and
time reversal, spglib) the reduced pattern response of
:mod:`~phonomag.engines.abinit.pattern_response` is written to ``output/q_<n1>_<n2>_<n3>.nc``
(with the DDB files of its runs, ``q_…_part<i>_DDB``), the files
:meth:`phonomag.engines.kernel.engine.KernelEngine.from_reduced_files` reads. The tasks
(:mod:`~phonomag.workflow.parsl_tasks`):

* ``ground-state``: :func:`~phonomag.engines.abinit.engine.run_ground_state`, ``nproc`` MPI processes;
* ``dfpt-q_…``: one q's perturbations as ``nproc`` serial runs side by side, after the ground state;
* ``reduce-q_…``: eq. 1 and the reduced file, after that q's DFPT;
* for a bulk crystal (``field_response``), ``dfpt-field`` and ``reduce-field``: the response to a uniform
  electric field at q = 0 with the Born charges and ε∞ (:func:`~phonomag.engines.abinit.engine.run_field_dfpt`,
  one serial run), reduced to ``output/dielectric.nc`` (:data:`FIELD_FILE`) with its DDB file
  ``q_0_0_0_field_DDB``: the long-range part of the kernel of a polar crystal (docs/physics.md §12).

Resume: a q whose reduced file exists gets no task; ABINIT runs finished in ``workdir``
with the same input are reused (:func:`~phonomag.io.abinit.runner.run_abinit`). A reduced
file is written atomically, after its DDB copies, so it exists only complete.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from phonomag.engines.abinit.engine import (
    qpoint_folder,
    reduce_field_dfpt,
    reduce_qpoint_dfpt,
    run_field_dfpt,
    run_ground_state,
    run_qpoint_dfpt,
)
from phonomag.engines.abinit.pattern_response import reduce_field_response, reduce_patterns
from phonomag.io.abinit.inputs import AbinitSettings, pseudopotential_names
from phonomag.io.abinit.runner import abinit_version
from phonomag.io.netcdf import write_dataset
from phonomag.workflow.parsl_tasks import ClusterSpec, Task, run_tasks

#: The default cutoff of the kept Fourier coefficients, in units of the wavefunctions' ecut (docs/kernel.md:
#: the size per q and the truncation error it gives).
FIELD_ECUT_FACTOR = 2.0
#: The reduced electric-field response of a kernel folder (:func:`reduce_field_task`), and its DDB file.
FIELD_FILE = "dielectric.nc"
FIELD_DDB = "q_0_0_0_field_DDB"


@dataclass(frozen=True)
class KernelJob:
    """What to compute and where.

    atoms: the structure (a layer or a bulk crystal, any cell);
    settings: ABINIT settings (SOC), whose k grid is also the q grid; steps: the q-points
    as grid steps (n₁, n₂, n₃), q = n/kgrid; output: folder of the reduced files; workdir:
    folder of the ABINIT runs; nproc: cores of a task (MPI processes of the ground state,
    serial DFPT runs side by side); launcher: how MPI runs start
    (:mod:`phonomag.workflow.launcher`); field_ecut: the sphere of the Fourier coefficients kept (Ha;
    None: :data:`FIELD_ECUT_FACTOR` × the settings' ecut, docs/kernel.md); attrs: provenance added to every file;
    field_response: also the response to a uniform electric field (:data:`FIELD_FILE`; a bulk crystal).
    """

    atoms: Atoms
    settings: AbinitSettings
    steps: tuple[tuple[int, int, int], ...]
    output: Path
    workdir: Path
    nproc: int = 1
    launcher: str = "auto"
    keep_wavefunctions: bool = False
    field_ecut: float | None = None
    attrs: dict = field(default_factory=dict)
    field_response: bool = False

    @property
    def field_ecut_hartree(self) -> float:
        """The cutoff of the kept Fourier coefficients (Ha)."""
        return self.field_ecut if self.field_ecut is not None else FIELD_ECUT_FACTOR * self.settings.ecut

    def qpoint(self, step) -> np.ndarray:
        """Reduced q of the grid step ``step``."""
        return np.array(step, float) / np.array(self.settings.kgrid)

    def target(self, step) -> Path:
        """The reduced file of the q at ``step``."""
        return Path(self.output) / f"{qpoint_folder(self.qpoint(step), self.settings)}.nc"


def ground_state_task(job: KernelJob) -> Path:
    """The ground state's wavefunction file (run or reused)."""
    return run_ground_state(job.atoms, job.settings, job.workdir, job.nproc, progress=False, launcher=job.launcher)


def dfpt_task(job: KernelJob, step, wfk: Path) -> list[Path]:
    """The DFPT runs of the q at ``step`` (run or reused)."""
    return run_qpoint_dfpt(job.atoms, job.settings, job.qpoint(step), job.workdir, wfk, job.nproc, progress=False)


def file_attrs(job: KernelJob, charge_check: float, digest: str) -> dict:
    """The provenance every reduced file of ``job`` carries."""
    settings = job.settings
    return {"engine": f"ABINIT {abinit_version()} DFPT with SOC + eq. 1 (phonomag)",
            "ecut_hartree": settings.ecut, "kgrid": list(settings.kgrid), "qgrid": list(settings.kgrid),
            "pseudopotentials": ", ".join(pseudopotential_names(job.atoms, settings).values()),
            "tolvrs_ground_state": settings.tolvrs_gs, "tolvrs_dfpt": settings.tolvrs_dfpt,
            "charge_check": charge_check, "inputs_digest": digest, **job.attrs}


def reduce_task(job: KernelJob, step, wfk: Path, folders: list[Path]) -> Path:
    """Eq. 1 and the reduced file of the q at ``step``, with its DDB files beside it; the file's path."""
    q = job.qpoint(step)
    run = reduce_qpoint_dfpt(job.atoms, job.settings, q, job.workdir, wfk, job.nproc, job.keep_wavefunctions)
    data = reduce_patterns(run.responses, job.atoms, q, run.volume_bohr3, job.field_ecut_hartree,
                           file_attrs(job, run.charge_check, run.digest))
    target = job.target(step)
    target.parent.mkdir(parents=True, exist_ok=True)
    for n, ddb in enumerate(run.ddb_files, start=1):
        shutil.copyfile(ddb, target.with_name(f"{target.stem}_part{n}_DDB"))
    return write_dataset(data, target)


def field_task(job: KernelJob, wfk: Path) -> Path:
    """The electric-field DFPT at q = 0 (run or reused)."""
    return run_field_dfpt(job.atoms, job.settings, job.workdir, wfk, progress=False)


def reduce_field_task(job: KernelJob, wfk: Path, _run: Path) -> Path:
    """Eq. 1 for the field and ``output/dielectric.nc`` with the Born charges and ε∞, its DDB beside it."""
    run = reduce_field_dfpt(job.atoms, job.settings, job.workdir, wfk, job.keep_wavefunctions)
    data = reduce_field_response(run.responses, job.atoms, run.volume_bohr3, job.field_ecut_hartree, run.dielectric,
                                 file_attrs(job, run.charge_check, run.digest))
    target = Path(job.output) / FIELD_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.ddb_file, target.with_name(FIELD_DDB))
    return write_dataset(data, target)


def kernel_tasks(job: KernelJob, one_at_a_time: bool = False) -> list[Task]:
    """The tasks still to run: none for a q whose reduced file exists, no ground state when all exist.

    ``one_at_a_time`` (one task slot, e.g. this machine): each q's DFPT also waits for the reduction of
    the q before it, so that every q's file is written as soon as its DFPT is done, not after all of them.
    """
    missing = [tuple(step) for step in job.steps if not job.target(step).is_file()]
    field_missing = job.field_response and not (Path(job.output) / FIELD_FILE).is_file()
    if not missing and not field_missing:
        return []
    tasks = [Task("ground-state", ground_state_task, (job,))]
    previous = ()
    for step in missing:
        name = job.target(step).stem
        tasks += [Task(f"dfpt-{name}", dfpt_task, (job, step), ("ground-state",), name,
                       waits_for=previous if one_at_a_time else ()),
                  Task(f"reduce-{name}", reduce_task, (job, step), ("ground-state", f"dfpt-{name}"), name)]
        previous = (f"reduce-{name}",)
    if field_missing:
        tasks += [Task("dfpt-field", field_task, (job,), ("ground-state",),
                       waits_for=previous if one_at_a_time else ()),
                  Task("reduce-field", reduce_field_task, (job,), ("ground-state", "dfpt-field"))]
    return tasks


def compute_kernel_files(job: KernelJob, cluster: ClusterSpec | None = None, progress=print) -> list[Path]:
    """Run (or resume) the graph of ``job`` where ``cluster`` says (default: this machine); the reduced files of
    all its q-points.

    Parsl's logs, the Slurm scripts and the running-task markers go to ``workdir/parsl``.
    """
    cluster = cluster if cluster is not None else ClusterSpec()
    tasks = kernel_tasks(job, one_at_a_time=cluster.executor == "local" and not cluster.parsl_config)
    if progress is not None:
        done = sum(job.target(step).is_file() for step in job.steps)
        progress(f"{done} of {len(job.steps)} q-points already reduced in {job.output}; {len(tasks)} task(s) to run "
                 f"({'Parsl configuration ' + cluster.parsl_config if cluster.parsl_config else cluster.executor})")
    if tasks:
        run_tasks(tasks, cluster, job.nproc, Path(job.workdir) / "parsl", progress)
    return [job.target(step) for step in job.steps]
