"""The DFPT kernel through Parsl's SlurmProvider on a real single-node Slurm, against the same run done locally.

Needs ABINIT (scripts/install_abinit.sh) and a running Slurm with partition ``debug``
(scripts/start_test_slurm.sh; .ci/run starts it and runs ``pytest -m cluster`` when it
comes up). Tiny settings: ecut 8 Ha, 3×3 k and q grid, 12 Å cell, 2 cores per task; the
grid's irreducible q are Γ, (1/3, 0) and K. The Slurm driver is killed (with its Slurm
jobs, as at a walltime kill) while a DFPT run is under way after another has finished, and
started again: finished work must not be redone and the result must equal the local one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(shutil.which("abinit") is None, reason="abinit not installed"),
              pytest.mark.skipif(shutil.which("sbatch") is None, reason="no Slurm (scripts/start_test_slurm.sh)")]

SRC = Path(__file__).resolve().parents[1] / "src"
ABINIT = """[abinit]
ecut = 8
kgrid = [3, 3, 1]
vacuum = 12.0
nproc = 2
launcher = "mpirun"
q = ["K"]
workdir = "{workdir}"
"""
SLURM = """[cluster]
executor = "slurm"
partition = "debug"
cores_per_node = 2
cores_per_task = 2
walltime = "00:40:00"
address = "127.0.0.1"
worker_init = "export PATH={bin}:$PATH PYTHONPATH={src}"
"""
STEPS = ("q_0_0_0", "q_1_0_0", "q_1_1_0")


def _driver(config: Path, output: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    return subprocess.Popen([sys.executable, "-m", "phonomag.cli", "dfpt-kernel", "-c", str(config), "-o",
                             str(output)], env=env, stdout=log.open("a"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _parsl_jobs() -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.split()[1].startswith("parsl.")]


def _fingerprints(paths) -> dict:
    return {str(p): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths}


def _finished_runs(workdir: Path) -> list[Path]:
    return [p for p in workdir.rglob("*.abo") if "Calculation completed." in p.read_text()[-4000:]]


def _interrupting(workdir: Path) -> bool:
    """True once a DFPT run has finished and another one is under way: the moment to kill the driver."""
    logs = list(workdir.glob("q_*/dfpt*/dfpt.log"))
    finished = {p.parent for p in _finished_runs(workdir)}  # the folders of finished runs
    return any(folder.name.startswith("dfpt") for folder in finished) and any(p.parent not in finished for p in logs)


def _arrays(path: Path) -> np.ndarray:
    with xr.open_dataset(path) as data:
        return np.concatenate([data["moment"].values.ravel(), data["coefficient"].values.ravel()])


def test_kernel_on_slurm_survives_a_killed_driver_and_equals_the_local_run(tmp_path):
    if subprocess.run(["sinfo", "-h", "-p", "debug"], capture_output=True).returncode != 0:
        pytest.skip("Slurm is not running (scripts/start_test_slurm.sh)")
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    (tmp_path / "local.toml").write_text(ABINIT.format(workdir=tmp_path / "local-work"))
    (tmp_path / "slurm.toml").write_text(ABINIT.format(workdir=tmp_path / "slurm-work")
                                         + SLURM.format(bin=Path(sys.executable).parent, src=SRC))
    start = time.time()
    assert _driver(tmp_path / "local.toml", local, tmp_path / "local.log").wait(timeout=3600) == 0, \
        (tmp_path / "local.log").read_text()
    print(f"local run: {time.time() - start:.0f} s")

    log = tmp_path / "slurm.log"
    start = time.time()
    driver = _driver(tmp_path / "slurm.toml", slurm, log)
    while not _interrupting(tmp_path / "slurm-work"):
        assert driver.poll() is None, log.read_text()
        assert time.time() - start < 3600, log.read_text()
        time.sleep(1)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    jobs = _parsl_jobs()
    if jobs:  # a walltime kill ends the workers' jobs as well
        subprocess.run(["scancel", *jobs], check=True)
    while _parsl_jobs():
        time.sleep(1)
    print(f"slurm run killed after {time.time() - start:.0f} s")
    done = sorted(slurm.glob("q_*"))
    finished_runs = _finished_runs(tmp_path / "slurm-work")
    assert len(finished_runs) >= 2 and len([p for p in done if p.suffix == ".nc"]) < len(STEPS)
    before = _fingerprints(done + finished_runs)

    restart = time.time()
    assert _driver(tmp_path / "slurm.toml", slurm, log).wait(timeout=3600) == 0, log.read_text()
    print(f"slurm restart: {time.time() - restart:.0f} s")
    text = log.read_text()
    print(text)
    reduced = len([p for p in done if p.suffix == ".nc"])
    assert f"{reduced} of {len(STEPS)} q-points already reduced" in text
    assert f"q-points: {len(STEPS) - reduced}/{len(STEPS) - reduced} finished, 0 running, 0 queued" in text
    assert _fingerprints(map(Path, before)) == before  # nothing redone
    for name in STEPS:
        ours, reference = _arrays(slurm / f"{name}.nc"), _arrays(local / f"{name}.nc")
        deviation = np.abs(ours - reference).max() / np.abs(reference).max()
        print(f"{name}: Slurm vs local, max deviation / max value = {deviation:.1e}")
        assert deviation <= 1e-10
