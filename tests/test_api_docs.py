"""The script of docs/api.md runs as written, and what it prints follows the σ_h selection rule."""

import re
import runpy
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_api_example_runs(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(code)
    monkeypatch.chdir(tmp_path)
    namespace = runpy.run_path(str(script))
    out = capsys.readouterr().out
    assert len(re.findall(r"^K  ν=\d", out, re.M)) == 9
    assert (tmp_path / "api-maps" / "K_mode2.png").stat().st_size > 0
    response = namespace["response"]
    odd = response.parity[0] == -1
    scale = max(response.m_parts[0].max(), response.m_parts[1].max())
    # σ_h (docs/physics.md §6.4): odd modes carry in-plane M only, even modes M_z only
    assert np.all(response.m_parts[1][0, odd] < 1e-8 * scale)
    assert np.all(response.m_parts[0][0, ~odd] < 1e-8 * scale)
    assert response.m_parts[0][0, 1] > 1e-3 * scale and response.engine == "tight-binding"
