"""Stages made side by side in worker processes write what the same stages made one after the other write,
and an error in a worker ends the run in one line with the finished stages recorded."""

import logging

import numpy as np
import pytest
from PIL import Image, ImageSequence
from test_run_state import QUICK, run, write_config

import phonomag.cli.run as run_module
import phonomag.cli.stages as stages
from phonomag.errors import PhonomagError

#: Figures, two maps with movies: the overview, Fig. 3 and the two maps are parallel stages.
CONFIG = QUICK.format(material="WSe2").replace("figures = false", "figures = true").replace(
    "movies = false", "movies = true") + """
[maps]
cells = [1, 1]
points_per_cell = 8
frames = 3
[[maps.modes]]
name = "odd"
q = "K"
mode = "odd:0"
style = "in-plane"
[[maps.modes]]
name = "even"
q = "M"
mode = "even:1"
style = "out-of-plane"
"""


def files_of(out):
    """{path below ``out``: file} of every output (not the run's record and lock)."""
    return {str(p.relative_to(out)): p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".phonomag")}


def summary(printed: str) -> list[str]:
    """The summary lines of a run's output: without the announcements of the stages as they start (a worker's go
    to its own copy of the captured output)."""
    return [line for line in printed.splitlines() if not line.startswith("phonomag: ")]


def pixels(path):
    """The frames of a picture (PNG or GIF) as RGB arrays."""
    with Image.open(path) as image:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]


def test_side_by_side_writes_what_one_after_the_other_writes(tmp_path, capsys, monkeypatch, caplog):
    config = write_config(tmp_path, CONFIG)
    monkeypatch.setattr(stages, "usable_cores", lambda: 1)
    serial = run(capsys, config, tmp_path / "serial")
    monkeypatch.setattr(stages, "usable_cores", lambda: 2)
    with caplog.at_level(logging.INFO, logger=stages.LOG.name):
        parallel = run(capsys, config, tmp_path / "parallel")
    assert any("side by side in 2 processes" in record.getMessage() for record in caplog.records)
    one, two = files_of(tmp_path / "serial"), files_of(tmp_path / "parallel")
    assert sorted(one) == sorted(two) and "maps/even_movie.gif" in one and "bands.png" in one
    assert summary(serial.replace("serial", "parallel")) == summary(parallel)  # the same, line by line
    for name in one:
        if name.endswith((".png", ".gif")):
            first, second = pixels(one[name]), pixels(two[name])
            assert len(first) == len(second), name
            assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True)), name
    text = (tmp_path / "serial" / "summary.txt").read_text().replace("serial", "parallel")
    assert text == (tmp_path / "parallel" / "summary.txt").read_text()


def test_an_error_in_a_worker_is_one_line_and_the_finished_stages_are_kept(tmp_path, capsys, monkeypatch):
    """A map that fails in its worker process: "phonomag: error: …" and status 2; the stages that finished
    beside it are recorded, so the next run reuses them."""
    config = write_config(tmp_path, CONFIG)
    out = tmp_path / "out"
    monkeypatch.setattr(stages, "usable_cores", lambda: 2)
    render = run_module.render_mode

    def failing(fields, name, style, options, folder):
        if name == "even":
            raise PhonomagError("the even map cannot be drawn")
        return render(fields, name, style, options, folder)

    monkeypatch.setattr(run_module, "render_mode", failing)
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, config, out)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.splitlines()[-1] == "phonomag: error: the even map cannot be drawn" and "Traceback" not in err, err
    assert (out / "fig3_magnetization_dispersion.png").exists() and (out / "maps" / "odd.png").exists()
    monkeypatch.setattr(run_module, "render_mode", render)
    printed = run(capsys, config, out)
    assert f"reused {out / 'maps' / 'odd.png'}" in printed and f"reused {out / 'bands.png'}" in printed
    assert f"wrote  {out / 'maps' / 'even.png'}" in printed
