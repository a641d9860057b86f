"""How ABINIT's MPI runs are started: auto-detection, explicit launchers, templates (no abinit run)."""

import os
import shutil
import subprocess

import pytest

from phonomag.cli.config import load_run_config
from phonomag.workflow.launcher import RUN_AS_ROOT, LauncherError, launch_command


@pytest.fixture()
def fake_path(tmp_path, monkeypatch):
    """A PATH with executables named mpirun and srun only."""
    for name in ("mpirun", "srun"):
        tool = tmp_path / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    return tmp_path


def test_auto_picks_srun_inside_slurm_and_mpirun_outside(fake_path):
    command = ["abinit", "gs.abi"]
    assert launch_command(command, 4, "auto", {"SLURM_JOB_ID": "17"}) == [str(fake_path / "srun"), "-n", "4", *command]
    assert launch_command(command, 4, "auto", {}) == [str(fake_path / "mpirun"), "-np", "4", *command]
    assert launch_command(command, 1, "auto", {"SLURM_JOB_ID": "17"}) == command
    assert launch_command(command, 4, "none", {}) == command


def test_template_and_bad_settings(fake_path, tmp_path, monkeypatch):
    command = ["abinit", "in file.abi"]
    assert launch_command(command, 3, "mpiexec -n {nproc} --bind-to core {command}", {}) == [
        "mpiexec", "-n", "3", "--bind-to", "core", "abinit", "in file.abi"]
    with pytest.raises(LauncherError, match="template"):
        launch_command(command, 2, "mpiexec -n 2", {})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LauncherError, match="srun"):
        launch_command(command, 2, "srun", {})
    config = tmp_path / "run.toml"
    config.write_text('[abinit]\nlauncher = "poe"\n')
    with pytest.raises(Exception, match="abinit.launcher"):
        load_run_config(config)
    config.write_text('[abinit]\nlauncher = "srun"\n')
    assert load_run_config(config).abinit.launcher == "srun"


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="mpirun not installed")
def test_mpirun_starts_with_the_run_as_root_environment():
    """The real mpirun accepts the command without --allow-run-as-root (Open MPI reads the environment)."""
    command = launch_command(["true"], 2, "mpirun")
    assert "--allow-run-as-root" not in command
    done = subprocess.run(command, env=dict(os.environ, **RUN_AS_ROOT), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
