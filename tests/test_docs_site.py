"""The documentation site: mkdocs builds it in strict mode without a warning, its API reference covers
``phonomag.__all__`` with docstrings, and the tutorial's own-material part runs as written (on smaller settings)."""

import inspect
import os
import re
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import phonomag
from phonomag.cli.config import load_run_config
from phonomag.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_mkdocs_strict_build(tmp_path):
    pytest.importorskip(
        "mkdocstrings_handlers.python", reason="pip install -e '.[docs]' (mkdocs-material, mkdocstrings)"
    )
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")]
    result = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    reference = (tmp_path / "site" / "reference" / "index.html").read_text()
    for name in phonomag._EXPORTS:  # every public object has its rendered entry
        assert f'id="{phonomag._EXPORTS[name]}.{name}"' in reference, name


def test_reference_page_lists_all_public_objects():
    text = (DOCS / "reference.md").read_text()
    listed = re.findall(r"^::: (\S+)$", text, re.MULTILINE)
    assert listed == [f"{module}.{name}" for name, module in phonomag._EXPORTS.items()]
    assert set(phonomag._EXPORTS) == set(phonomag.__all__) - {"__version__"}


def _own_docstring(member) -> str:
    function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
    return (getattr(function, "__doc__", None) or "").strip()


def test_public_api_has_docstrings():
    """What mkdocstrings shows: each object's own docstring, and those of its public methods and properties."""
    missing = []
    for name in phonomag._EXPORTS:
        obj = getattr(phonomag, name)
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            missing += [f"{name}.{attr}" for attr, member in vars(obj).items()
                        if not attr.startswith("_") and (callable(member) or isinstance(member, (property, classmethod,
                                                                                                   staticmethod)))
                        and not _own_docstring(member)]
    assert missing == []


def test_tutorial_own_material_runs(tmp_path, monkeypatch):
    """Part 3 of the tutorial: its configuration with the MoS₂ example beside it (path and k grid made
    smaller), then part 1's Python snippet on the run's results.nc."""
    text = (DOCS / "tutorial.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    own = next(b for b in blocks if "MoS2.toml" in b)
    config = tomllib.loads(own)
    assert config["run"]["material"] == "MoS2.toml"
    shutil.copy(DOCS / "examples" / "MoS2.toml", tmp_path)
    small = own.replace("npoints = 61", "npoints = 7").replace("kgrid = [18, 18, 1]", "kgrid = [6, 6, 1]")
    assert "npoints = 7" in small and "kgrid = [6, 6, 1]" in small
    (tmp_path / "mos2.toml").write_text(small)
    for number, block in enumerate(blocks):  # every configuration of the tutorial is valid as written
        (tmp_path / f"block{number}.toml").write_text(block)
        load_run_config(tmp_path / f"block{number}.toml")
    main(["run", "-c", str(tmp_path / "mos2.toml"), "-o", str(tmp_path / "wse2")])  # the snippet's folder name
    assert "MoS2" in (tmp_path / "wse2" / "report.html").read_text(encoding="utf-8")[:2000]
    summary = (tmp_path / "wse2" / "summary.txt").read_text()  # no radial functions: the report says why
    assert "report.html: no mode fields (species Mo has no Slater radial function" in summary
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "results.nc" in b)
    (tmp_path / "snippet.py").write_text(snippet)
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(tmp_path / "snippet.py"))
    assert np.shape(namespace["at_k"].frequency.values) == (1, 9)
