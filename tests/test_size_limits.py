"""Sizes are refused before anything is allocated (issue 26): the command-line probes of the issue end at once, as
the installed command runs them, in one line `phonomag: error: …` naming the value and the valid range, exit
status 2, no traceback and no output folder.

The run-configuration probes of the issue (`[maps] frames = 100000`, `points_per_cell`, `cells`, `[path] npoints`,
`[response] kgrid`) are tests/test_checks_first.py::test_the_configuration_is_checked_first; the bounds themselves
(lower ones such as `--width 0`, `--kgrid 0`) are tests/test_cli_errors.py. Here each probe runs in a process of
its own, so that a guard that is missing shows as time or memory (measured) rather than as a hung test run.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: A hang guard, not a timing: a probe still running after this long (s) was not refused up front (starting
#: Python and importing phonomag take ~1.5 s on an idle machine; the computation the probe asks for, hours).
TIME_LIMIT = 120.0
#: Peak resident memory of one probe; a refused probe stays at the import's ~180 MB.
MEMORY_LIMIT_MB = 600


def _high_water_kb(pid: int) -> int:
    """VmHWM (kB) of a running process, 0 once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@pytest.fixture
def work(tmp_path):
    """The probe's working directory, empty (its output captured beside it, in ``tmp_path``)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def run_probe(work, *args):
    """`python -m phonomag.cli *args` in ``work``: (exit status, stdout, stderr, seconds, peak RSS in MB).

    Killed (and the test failed) after TIME_LIMIT seconds. The peak memory is the child's own high-water mark
    (VmHWM of /proc/<pid>/status, which exec resets), read every 20 ms while it runs: not the rusage of wait4,
    which counts the pages of the forked test process before exec.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    logs = work.parent
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        start = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "phonomag.cli", *args], cwd=work, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > TIME_LIMIT:
                process.send_signal(signal.SIGKILL)
                os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL  # reaped here: keep Popen from waiting for it again
                pytest.fail(f"phonomag {' '.join(args)} still running after {TIME_LIMIT:.0f} s: not refused up front")
            time.sleep(0.02)
        seconds = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = peak_kb / 1024
    return (process.returncode, (logs / "stdout").read_text(encoding="utf-8"),
            (logs / "stderr").read_text(encoding="utf-8"), seconds, peak_mb)


@pytest.mark.parametrize("args,needles", [
    (["sqw", "--width", "1e-7"], ["--width", "1e-07", "≥ 0.01"]),
    (["sqw", "--kgrid", "100000"], ["--kgrid", "100000", "from 1 to 120"]),
    (["bands", "--npoints", "100000000"], ["--npoints", "100000000", "from 2 to 20000"]),
])
def test_an_oversized_option_is_refused_up_front(work, args, needles):
    out = work / "out"
    code, stdout, stderr, seconds, peak_mb = run_probe(work, *args, "-o", str(out))
    assert code == 2, (code, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("phonomag: error:"), stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not out.exists(), "a refused command made its output folder"
    assert list(work.iterdir()) == [], "nothing may be written in the working directory"
    assert peak_mb < MEMORY_LIMIT_MB, (seconds, peak_mb)


@pytest.mark.parametrize("supercell", ["300x300x1", "300x300"])
def test_an_oversized_vertex_supercell_is_refused_up_front(work, supercell):
    """check-vertex writes no files (it has no -o): nothing may appear in the working directory."""
    code, stdout, stderr, seconds, peak_mb = run_probe(work, "check-vertex", "--supercell", supercell)
    assert code == 2, (code, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("phonomag: error:"), stderr
    for needle in (f"supercell {supercell!r}", "90000 cells", "at most 144"):
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert list(work.iterdir()) == [], "a refused check-vertex wrote into the working directory"
    assert peak_mb < MEMORY_LIMIT_MB, (seconds, peak_mb)
