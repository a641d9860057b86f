"""The task graph without ABINIT: dependencies, live progress, failures, resume, [cluster] settings.

Trivial tasks on Parsl's local executor; the real ABINIT graph on a real Slurm is
tests/test_cluster.py (marker ``cluster``).
"""

import time

import pytest

from phonomag.cli.config import load_run_config
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.abinit.tasks import KernelJob, kernel_tasks
from phonomag.io.abinit.inputs import AbinitSettings
from phonomag.workflow.parsl_tasks import ClusterSpec, Task, TaskGraphError, parsl_config, run_tasks


def add(a, *upstream):
    """a plus the results of the tasks waited for."""
    time.sleep(0.3)
    return a + sum(upstream)


def fail(*_):
    raise ValueError("broken input")


def test_tasks_get_their_dependencies_results_and_progress_is_reported(tmp_path):
    lines = []
    tasks = [Task("ground-state", add, (1,)),
             Task("dfpt-a", add, (10,), ("ground-state",), "a"), Task("reduce-a", add, (100,), ("dfpt-a",), "a"),
             Task("dfpt-b", add, (20,), ("ground-state",), "b")]
    results = run_tasks(tasks, ClusterSpec(), 1, tmp_path, lines.append, poll_seconds=0.05)
    assert results == {"ground-state": 1, "dfpt-a": 11, "reduce-a": 111, "dfpt-b": 21}
    assert lines[0] in ("q-points: 0/2 finished, 0 running, 2 queued; ground-state: queued",
                        "q-points: 0/2 finished, 0 running, 2 queued; ground-state: running")
    assert lines[-1] == "q-points: 2/2 finished, 0 running, 0 queued; ground-state: finished"
    assert "q-points: 0/2 finished, 1 running, 1 queued; ground-state: finished" in lines
    assert not list((tmp_path / "running").iterdir())  # no task left marked as running


def test_a_failed_task_is_named_and_the_tasks_after_it_do_not_run(tmp_path):
    lines = []
    tasks = [Task("ground-state", add, (1,)), Task("dfpt-a", fail, (), ("ground-state",), "a"),
             Task("reduce-a", add, (1,), ("dfpt-a",), "a"), Task("dfpt-b", add, (2,), ("ground-state",), "b")]
    with pytest.raises(TaskGraphError, match=r"^task dfpt-a failed: broken input \(1 task\(s\) after them not run\)$"):
        run_tasks(tasks, ClusterSpec(), 1, tmp_path, lines.append, poll_seconds=0.05)
    assert lines[-1] == "q-points: 1/2 finished, 0 running, 0 queued, 1 failed; ground-state: finished"


def _job(tmp_path, steps):
    atoms = load_material("WSe2").atoms
    return KernelJob(atoms, AbinitSettings(ecut=8, kgrid=(3, 3, 1), spin_orbit=True), tuple(steps), tmp_path / "out",
                     tmp_path / "work", nproc=2)


def test_kernel_tasks_skip_the_q_points_already_reduced(tmp_path):
    job = _job(tmp_path, [(0, 0, 0), (1, 0, 0), (1, 1, 0)])
    assert [t.name for t in kernel_tasks(job)] == [
        "ground-state", "dfpt-q_0_0_0", "reduce-q_0_0_0", "dfpt-q_1_0_0", "reduce-q_1_0_0", "dfpt-q_1_1_0",
        "reduce-q_1_1_0"]
    job.output.mkdir()
    job.target((1, 0, 0)).write_bytes(b"")
    tasks = kernel_tasks(job)
    assert [t.name for t in tasks] == ["ground-state", "dfpt-q_0_0_0", "reduce-q_0_0_0", "dfpt-q_1_1_0",
                                       "reduce-q_1_1_0"]
    assert [t.after for t in tasks][1:3] == [("ground-state",), ("ground-state", "dfpt-q_0_0_0")]
    for step in job.steps:
        job.target(step).write_bytes(b"")
    assert kernel_tasks(job) == []


def test_a_bulk_crystal_also_gets_the_field_run_once(tmp_path):
    """field_response (a bulk crystal, cli.abinit_setup.kernel_job): d/dk + field after the last q's reduction on one
    task slot, then its reduction; none once dielectric.nc exists, and the ground state only when something runs."""
    import dataclasses

    from phonomag.engines.abinit.tasks import FIELD_FILE

    job = dataclasses.replace(_job(tmp_path, [(0, 0, 0), (1, 0, 0)]), field_response=True)
    tasks = kernel_tasks(job, one_at_a_time=True)
    assert [t.name for t in tasks][-2:] == ["dfpt-field", "reduce-field"]
    assert tasks[-2].waits_for == ("reduce-q_1_0_0",) and tasks[-1].after == ("ground-state", "dfpt-field")
    job.output.mkdir()
    for step in job.steps:
        job.target(step).write_bytes(b"")
    assert [t.name for t in kernel_tasks(job)] == ["ground-state", "dfpt-field", "reduce-field"]
    (job.output / FIELD_FILE).write_bytes(b"")
    assert kernel_tasks(job) == []
    assert "dfpt-field" not in [t.name for t in kernel_tasks(dataclasses.replace(job, field_response=False,
                                                                                 output=tmp_path / "other"))]


def test_one_task_slot_reduces_each_q_before_the_next_dfpt(tmp_path):
    """With one task slot (this machine) the order is DFPT q₁, reduce q₁, DFPT q₂, … so that each
    reduced file exists as soon as its DFPT is done; on a cluster the DFPT runs do not wait."""
    order = []

    def step(name, *_):
        order.append(name)
        return name

    job = _job(tmp_path, [(0, 0, 0), (1, 0, 0), (1, 1, 0)])
    graph = kernel_tasks(job, one_at_a_time=True)
    assert [t.waits_for for t in graph if t.name.startswith("dfpt")] == [(), ("reduce-q_0_0_0",), ("reduce-q_1_0_0",)]
    assert all(not t.waits_for for t in kernel_tasks(job))
    stand_ins = [Task(t.name, step, (t.name,), t.after, t.qpoint, t.waits_for) for t in graph]
    run_tasks(stand_ins, ClusterSpec(), 1, tmp_path / "parsl", None, poll_seconds=0.05)
    assert order == ["ground-state", "dfpt-q_0_0_0", "reduce-q_0_0_0", "dfpt-q_1_0_0", "reduce-q_1_0_0",
                     "dfpt-q_1_1_0", "reduce-q_1_1_0"]


def test_irreducible_q_of_wse2():
    atoms = load_material("WSe2").atoms
    assert irreducible_steps(atoms, (3, 3, 1)) == [(0, 0, 0), (1, 0, 0), (1, 1, 0)]
    six = irreducible_steps(atoms, (6, 6, 1))
    assert len(six) == 7 and (2, 2, 0) in six and (3, 0, 0) in six


def test_slurm_settings_become_a_parsl_slurm_provider(tmp_path):
    config = load_run_config(_write(tmp_path, '[cluster]\nexecutor = "slurm"\npartition = "short"\nnodes = 4\n'
                                    'cores_per_node = 8\ncores_per_task = 2\nwalltime = "02:00:00"\nretries = 1\n'
                                    'worker_init = "module load abinit"\n'))
    parsl = parsl_config(config.cluster, config.cluster.cores_per_task, tmp_path)
    executor = parsl.executors[0]
    provider = executor.provider
    assert (provider.max_blocks, provider.nodes_per_block, provider.walltime) == (4, 1, "02:00:00")
    assert "--partition=short" in provider.scheduler_options
    assert "#SBATCH --ntasks-per-node=8" in provider.scheduler_options
    assert executor.max_workers_per_node == 4 and executor.cores_per_worker == 2
    assert provider.worker_init.strip() == "module load abinit" and parsl.retries == 1


def test_a_parsl_config_file_replaces_the_other_keys(tmp_path):
    (tmp_path / "mine.py").write_text("from parsl.config import Config\nfrom parsl.executors import "
                                      "ThreadPoolExecutor\nconfig = Config(executors=[ThreadPoolExecutor("
                                      "label='mine', max_threads=3)])\n")
    (tmp_path / "bad.py").write_text("config = 3\n")
    cluster = load_run_config(_write(tmp_path, '[cluster]\nparsl_config = "mine.py"\n')).cluster
    assert parsl_config(cluster, 2, tmp_path).executors[0].label == "mine"
    bad = load_run_config(_write(tmp_path, '[cluster]\nparsl_config = "bad.py"\n')).cluster
    with pytest.raises(TaskGraphError, match="must define config = parsl.config.Config"):
        parsl_config(bad, 2, tmp_path)


def _write(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("line, message", [
    ('executor = "pbs"', "cluster.executor must be one of \"local\", \"slurm\", got 'pbs'"),
    ('walltime = "30 min"', "cluster.walltime must be \"HH:MM:SS\" or \"D-HH:MM:SS\", got '30 min'"),
    ("nodes = 0", "cluster.nodes must be an integer from 1 to 100000, got 0"),
    ("cores_per_task = 1.5", "cluster.cores_per_task must be an integer from 1 to 100000, got 1.5"),
    ('launcher = "qrsh"', "cluster.launcher launcher = 'qrsh' must be one of auto, mpirun, srun, none"),
    ('parsl_config = "absent.py"', "cluster.parsl_config '"),
    ("partition = 3", "cluster.partition must be a string, got 3"),
])
def test_bad_cluster_settings_are_one_error_line(tmp_path, capsys, line, message):
    config = _write(tmp_path, f"[cluster]\n{line}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["dfpt-kernel", "-c", str(config), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"phonomag: error: {config}: {message}"), err
    assert not (tmp_path / "out").exists()
