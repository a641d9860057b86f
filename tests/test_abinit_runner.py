"""The ABINIT runner's resume and locking, with a stand-in ``abinit`` executable (no ABINIT needed)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from phonomag.io.abinit.runner import run_abinit

SRC = Path(__file__).resolve().parents[1] / "src"
#: A stand-in for abinit: records its start, prints a dataset line, works for a while, writes the
#: completed output file and exits (printing nothing more, so the killed driver's pipe does not stop it).
FAKE_ABINIT = """#!/bin/sh
echo "start $$ $(date +%s.%N)" >> ../starts.txt
echo " == DATASET  1 =="
sleep {seconds}
echo "Calculation completed." > "${{1%.abi}}.abo"
echo "end $$ $(date +%s.%N)" >> ../starts.txt
"""


def test_a_run_outlives_a_killed_driver_and_its_restart_waits_then_reuses_it(tmp_path, monkeypatch):
    """The driver is killed (SIGKILL) while ABINIT runs; ABINIT goes on. A new driver started meanwhile
    must not start the same run a second time beside it: it waits for the lock, which the running
    ABINIT still holds, and then reuses the finished run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "abinit").write_text(FAKE_ABINIT.format(seconds=4))
    (bin_dir / "abinit").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    workdir, starts = tmp_path / "run", tmp_path / "starts.txt"
    driver = subprocess.Popen(
        [sys.executable, "-c", "import sys; from phonomag.io.abinit.runner import run_abinit; "
         "run_abinit('ecut 8\\n', sys.argv[1], 'gs', progress=False)", str(workdir)],
        env={**os.environ, "PYTHONPATH": str(SRC)})
    deadline = time.monotonic() + 60
    while not (starts.is_file() and starts.read_text()):
        assert time.monotonic() < deadline and driver.poll() is None, "the stand-in abinit did not start"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert run_abinit("ecut 8\n", workdir, "gs", progress=False) == workdir
    events = starts.read_text().split()
    assert events[0::3] == ["start", "end"], f"the run was started again beside the first one: {events}"
    assert "Calculation completed." in (workdir / "gs.abo").read_text()
