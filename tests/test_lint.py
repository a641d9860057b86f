"""The code style is a contract too (ruff: E, F, W, I, B, UP at 120 columns, pyproject.toml): checked with every
test run, so a change that breaks it fails here rather than in review."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed" in result.stdout


def test_ruff_would_find_a_long_line(tmp_path):
    """Control: the same configuration flags a line over 120 columns, so the check above can fail."""
    bad = tmp_path / "long_line.py"
    bad.write_text("x = " + "1 + " * 40 + "1\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                             str(ROOT / "pyproject.toml"), str(bad)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1 and "E501" in result.stdout, result.stdout + result.stderr
