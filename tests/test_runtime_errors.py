"""Runtime failures end in one line and a proper status, never a traceback: a reader that leaves the pipe,
a full disk, Ctrl-C while Parsl runs the DFPT kernel's tasks."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_run_state import QUICK as QUICK_RUN

from phonomag.cli.main import main
from phonomag.io.atomic import TEMP_PREFIX

SRC = Path(__file__).resolve().parents[1] / "src"
QUICK = QUICK_RUN.format(material="WSe2")


def _cli(*args, **kwargs) -> subprocess.Popen:
    """phonomag in a process of its own, SIGINT at its default (as in a terminal)."""
    return subprocess.Popen([sys.executable, "-m", "phonomag.cli", *args], env={**os.environ, "PYTHONPATH": str(SRC)},
                            start_new_session=True, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def test_a_reader_that_leaves_the_pipe_ends_the_run_quietly(tmp_path):
    """`phonomag run | head -1`: status 141 (a command ended by SIGPIPE), nothing on stderr; the folder is
    then as after an interrupt, and the next run finishes."""
    config = tmp_path / "run.toml"
    config.write_text(QUICK, encoding="utf-8")
    out = tmp_path / "out"
    process = _cli("run", "-c", str(config), "-o", str(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()  # what head -1 does after its line
    err = process.stderr.read()
    assert process.wait(timeout=300) == 128 + signal.SIGPIPE, err
    assert first.startswith("phonomag: checking the configuration") and err == ""
    again = subprocess.run([sys.executable, "-m", "phonomag.cli", "run", "-c", str(config), "-o", str(out)],
                           env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True)
    assert again.returncode == 0 and f"wrote  {out / 'summary.txt'}" in again.stdout, again.stderr


def test_a_full_disk_names_the_file_being_written(tmp_path, capsys, monkeypatch):
    """ENOSPC from inside a writer (as write() raises it: no file name): one line naming results.nc, no
    temporary file left."""
    import xarray as xr

    def disk_full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"CDF\x01" + bytes(100))  # part of the file reached the disk …
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # … then the disk is full

    monkeypatch.setattr(xr.Dataset, "to_netcdf", disk_full)
    config = tmp_path / "run.toml"
    config.write_text(QUICK, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(config), "-o", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err == f"phonomag: error: {out / 'results.nc'}: No space left on device\n"
    assert not list(out.rglob(f"{TEMP_PREFIX}*")) and not (out / "results.nc").exists()


@pytest.mark.skipif(shutil.which("abinit") is None, reason="abinit not installed")
def test_ctrl_c_while_parsl_runs_the_kernel_tasks_is_one_line(tmp_path):
    """SIGINT to the whole process group (Ctrl-C) while the ground-state task runs under Parsl: after the
    status lines only "phonomag: aborted", status 130, no process of the run left."""
    config = tmp_path / "run.toml"
    config.write_text('[abinit]\necut = 6.0\nkgrid = [3, 3, 1]\nnproc = 1\nlauncher = "none"\nworkdir = "w"\n',
                      encoding="utf-8")
    process = _cli("dfpt-kernel", "-c", str(config), "-o", str(tmp_path / "out"), cwd=tmp_path,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in process.stderr:
        if "ground-state: running" in line:
            break
    else:
        pytest.fail(f"the ground state never ran: {process.communicate()}")
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    assert "Traceback" not in rest and rest.strip().splitlines()[-1] == "phonomag: aborted", rest
    assert all(line.split(" ", 1)[-1].startswith("q-points:") for line in rest.strip().splitlines()[:-1]), rest
    time.sleep(1.0)
    with pytest.raises(ProcessLookupError):  # abinit and every thread's child ended with the run
        os.killpg(process.pid, 0)
