"""The layering of the packages is a contract (import-linter, pyproject.toml): checked with every test run."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    command = shutil.which("lint-imports")
    assert command, "import-linter is part of the [test] extra"
    result = subprocess.run([command, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                            text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": str(Path(sys.executable).parent)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout
