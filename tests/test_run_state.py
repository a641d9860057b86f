"""The run state of an output folder: reuse keyed by content, no mixed outputs, moved folders, one writer."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from phonomag.cli.main import main
from phonomag.cli.run_state import LOCK_NAME, folder_lock
from phonomag.crystal.materials import load_material
from phonomag.io.atomic import TEMP_PREFIX
from phonomag.phonons.model import PhononModel
from phonomag.response.modes import read_results

WSE2 = Path(load_material("WSe2").base_dir) / "WSe2.toml"
DDB_DIR = WSE2.parent.parent / "phonons" / "WSe2_lda_dfpt"
SRC = Path(__file__).resolve().parents[1] / "src"

#: A quick run: the tight-binding engine (whose k grid the tests change), a short path, a coarse k grid,
#: no figures or maps.
QUICK = """
[run]
material = "{material}"
engine = "model"
[path]
npoints = 4
[response]
kgrid = [3, 3, 1]
[outputs]
figures = false
movies = false
field_files = false
summary_q = ["K"]
"""
#: One map drawn as a figure only.
MAP = """
[maps]
cells = [1, 1]
points_per_cell = 6
[[maps.modes]]
name = "{name}"
q = "K"
mode = 0
"""


def own_model(folder: Path) -> Path:
    """A copy of the WSe2 model file whose DDB files are copies in ``folder`` (so they can be edited)."""
    shutil.copytree(DDB_DIR, folder / "ddb")
    path = folder / "model.toml"
    path.write_text(WSE2.read_text().replace("../phonons/WSe2_lda_dfpt/", "ddb/"))
    return path


def run(capsys, config: Path, output: Path, *extra) -> str:
    capsys.readouterr()
    main(["run", "-c", str(config), "-o", str(output), *extra])
    return capsys.readouterr().out


def write_config(folder: Path, text: str, name: str = "run.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_an_edited_ddb_file_is_recomputed(tmp_path, capsys):
    """Scaling every force constant by 1.21 must be seen: all frequencies × 1.1 in the new results.nc."""
    model = own_model(tmp_path)
    config = write_config(tmp_path, QUICK.format(material=model))
    out = tmp_path / "out"
    run(capsys, config, out)
    before, _ = read_results(out / "results.nc")
    assert f"reused {out / 'results.nc'}" in run(capsys, config, out)

    number = re.compile(r"(-?\d\.\d+D[+-]\d\d)")
    for ddb in (tmp_path / "ddb").iterdir():
        lines = ddb.read_text().splitlines()
        block = False
        for n, line in enumerate(lines):
            block = block or "2nd derivatives" in line
            if block and re.match(r"\s+\d+\s+\d+\s+\d+\s+\d+\s", line):
                lines[n] = number.sub(lambda m: f"{float(m.group(1).replace('D', 'E')) * 1.21:.14E}", line)
        ddb.write_text("\n".join(lines) + "\n")
    printed = run(capsys, config, out)
    assert f"wrote  {out / 'results.nc'}" in printed
    after, _ = read_results(out / "results.nc")
    expected = PhononModel.from_material(load_material(model)).modes(after.qpoints).frequencies
    assert np.allclose(after.frequencies, expected, rtol=1e-10, atol=0)
    assert np.allclose(after.frequencies, 1.1 * before.frequencies, rtol=1e-6, atol=1e-6)


def test_an_edited_potential_file_is_recomputed(tmp_path, capsys):
    """A Stillinger–Weber potential named by the model file is part of what results.nc is keyed on."""
    potential = tmp_path / "sw.toml"
    shutil.copy(SRC / "phonomag" / "data" / "potentials" / "sw_WSe2.toml", potential)
    text = WSE2.read_text()
    phonons = text.index("[phonons]")
    model = tmp_path / "model.toml"
    model.write_text(text[:phonons] + '[phonons]\nsource = "stillinger-weber"\npotential = "sw.toml"\n'
                     'supercell = [4, 4, 1]\n')
    config = write_config(tmp_path, QUICK.format(material=model))
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="not at the minimum"):
        run(capsys, config, out)
        assert f"reused {out / 'results.nc'}" in run(capsys, config, out)
        potential.write_text(potential.read_text() + "\n# an edit that changes nothing but the bytes\n")
        assert f"wrote  {out / 'results.nc'}" in run(capsys, config, out)


def test_interrupted_then_changed_configuration_leaves_no_mixed_outputs(tmp_path, capsys, monkeypatch):
    """Config B (6×6, map "B_map") is interrupted while it draws its map; config A (3×3, map "A_map")
    then runs to the end: the folder holds A's outputs only."""
    import phonomag.cli.run as run_module

    out = tmp_path / "out"
    with_figures = QUICK.format(material="WSe2").replace("figures = false", "figures = true")
    config_a = write_config(tmp_path, with_figures + MAP.format(name="A_map"), "a.toml")
    config_b = write_config(tmp_path, with_figures.replace("[3, 3, 1]", "[6, 6, 1]") + MAP.format(name="B_map"),
                            "b.toml")
    render = run_module.render_mode

    def killed_half_way(fields, name, style, options, folder):
        render(fields, name, style, options, folder)  # the PNG and PDF are written …
        raise KeyboardInterrupt  # … and the run is stopped before the stage is recorded

    monkeypatch.setattr(run_module, "render_mode", killed_half_way)
    with pytest.raises(SystemExit):
        main(["run", "-c", str(config_b), "-o", str(out)])
    assert (out / "maps" / "B_map.png").exists() and (out / "fig3_magnetization_dispersion.png").exists()
    monkeypatch.setattr(run_module, "render_mode", render)
    printed = run(capsys, config_a, out)
    assert f"wrote  {out / 'results.nc'}" in printed
    assert f"wrote  {out / 'fig3_magnetization_dispersion.png'}" in printed
    data, _ = read_results(out / "results.nc")
    assert list(data.kgrid) == [3, 3, 1]
    assert sorted(p.name for p in (out / "maps").iterdir()) == ["A_map.pdf", "A_map.png"]
    assert "k grid 6×6" not in (out / "summary.txt").read_text() and "k grid 3×3×1" in (out / "summary.txt").read_text()


def test_a_run_with_fewer_outputs_removes_the_others(tmp_path, capsys):
    """Figures on, then off: the overview and Fig. 3 files of the first run are removed and listed."""
    out = tmp_path / "out"
    run(capsys, write_config(tmp_path, QUICK.format(material="WSe2").replace("figures = false", "figures = true"),
                             "a.toml"), out)
    assert (out / "bands.png").exists()
    printed = run(capsys, write_config(tmp_path, QUICK.format(material="WSe2"), "b.toml"), out)
    assert f"reused {out / 'results.nc'}" in printed
    assert f"removed {out / 'bands.png'} (not an output of this configuration)" in printed
    assert not list(out.glob("*.png")) and not list(out.glob("*.pdf"))


def test_a_stage_record_is_cleared_before_its_files_are_rewritten(tmp_path, capsys, monkeypatch):
    """A results stage that fails half way leaves neither its old record nor its old results.nc."""
    import phonomag.cli.run as run_module

    out = tmp_path / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    run(capsys, config, out)
    changed = write_config(tmp_path, QUICK.format(material="WSe2").replace("[3, 3, 1]", "[4, 4, 1]"), "b.toml")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "compute_mode_response", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(changed), "-o", str(out)])
    assert exit_info.value.code == 130
    assert not (out / "results.nc").exists()
    record = json.loads((out / ".phonomag-stamps.json").read_text())
    assert record["run:results"] == {"digest": None, "files": {"results.nc": None}, "lines": []}  # unfinished
    assert not (out / "summary.txt").exists()


def test_a_moved_folder_still_knows_its_files(tmp_path, capsys, monkeypatch):
    """Records are relative to the output folder: after a move, run from another working directory,
    the finished stages are reused and a deleted file is made again."""
    out = tmp_path / "w sp ü" / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2").replace("figures = false", "figures = true"))
    run(capsys, config, out)
    moved = tmp_path / "elsewhere dir"
    shutil.move(tmp_path / "w sp ü", moved)
    (moved / "out" / "fig3_magnetization_dispersion.png").unlink()
    monkeypatch.chdir(moved)
    printed = run(capsys, config, Path("out"))
    assert "reused out/results.nc" in printed
    assert "reused out/bands.png" in printed
    assert "wrote  out/fig3_magnetization_dispersion.png" in printed
    assert (moved / "out" / "fig3_magnetization_dispersion.png").stat().st_size > 0


def test_temporary_files_of_a_killed_run_are_removed(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    left = [out / f"{TEMP_PREFIX}abc.nc", out / "maps" / f"{TEMP_PREFIX}x.png"]
    for path in left:
        path.write_bytes(b"")
    (out / "tmp_mine.txt").write_text("a user's file")
    printed = run(capsys, write_config(tmp_path, QUICK.format(material="WSe2")), out)
    assert not any(path.exists() for path in left)
    assert (out / "tmp_mine.txt").exists()
    assert f"removed {left[0]}" in printed


def test_a_second_run_into_a_locked_folder_stops_with_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    with folder_lock(out):
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "-c", str(config), "-o", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("phonomag: error: another phonomag run is writing to") and len(err.splitlines()) == 1
    assert LOCK_NAME in err
    assert not (out / "results.nc").exists()


def test_two_concurrent_runs(tmp_path):
    """Two processes, two configurations, one folder: one finishes, the other is refused at once;
    results.nc and summary.txt then belong to the same configuration."""
    out = tmp_path / "out"
    configs = [write_config(tmp_path, QUICK.format(material="WSe2").replace("[3, 3, 1]", f"[{n}, {n}, 1]")
                            .replace("npoints = 4", "npoints = 60"), f"{n}.toml") for n in (24, 9)]
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen([sys.executable, "-m", "phonomag.cli", "run", "-c", str(configs[0]), "-o", str(out)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in first.stdout:  # the first run is computing results.nc (it holds the lock) …
        if "response of every mode" in line:
            break
    second = subprocess.run([sys.executable, "-m", "phonomag.cli", "run", "-c", str(configs[1]), "-o", str(out)],
                            env=env, capture_output=True, text=True)
    assert first.poll() is None, "the first run ended before the second one started: the test proves nothing"
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert second.returncode == 2 and second.stderr.startswith("phonomag: error: another phonomag run"), second.stderr
    data, _ = read_results(out / "results.nc")
    assert list(data.kgrid) == [24, 24, 1]
    assert "k grid 24×24×1" in (out / "summary.txt").read_text()


def test_interrupt_while_writing_a_movie_gives_no_traceback(tmp_path):
    """SIGINT during the movie stage: "phonomag: aborted", status 130, no traceback, no temporaries."""
    out = tmp_path / "out"
    config = write_config(tmp_path, (QUICK.format(material="WSe2") + MAP.format(name="M").replace(
        "points_per_cell = 6", "points_per_cell = 24\nframes = 400")).replace("movies = false", "movies = true"))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    # SIGINT at its default for phonomag, as in a terminal, even where pytest itself ignores it (started
    # in the background by a non-interactive shell), which the child would inherit
    process = subprocess.Popen([sys.executable, "-m", "phonomag.cli", "run", "-c", str(config), "-o", str(out)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not list((out / "maps").glob(f"{TEMP_PREFIX}*.gif")) and time.time() < deadline:
        time.sleep(0.02)
    assert list((out / "maps").glob(f"{TEMP_PREFIX}*.gif")), "the movie stage was not reached"
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the whole foreground group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "phonomag: aborted", err
    assert not list(out.rglob(f"{TEMP_PREFIX}*"))


def _record(out: Path) -> dict:
    return json.loads((out / ".phonomag-stamps.json").read_text(encoding="utf-8"))


def _write_record(out: Path, record) -> None:
    (out / ".phonomag-stamps.json").write_text(json.dumps(record), encoding="utf-8")


@pytest.mark.parametrize("name", ["../victim.txt", "maps/../../victim.txt", "{victim}", "linked/victim.txt",
                                  "./../victim.txt"])
def test_a_recorded_path_outside_the_folder_never_deletes_anything(tmp_path, capsys, name):
    """A stamps entry naming a file outside the output folder (.., absolute, through a linked folder): the
    record is unreadable, the file stays, the run recomputes and ends normally."""
    out = tmp_path / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    run(capsys, config, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file")
    (out / "linked").symlink_to(tmp_path, target_is_directory=True)
    record = _record(out)
    record["run:stale"] = {"digest": "0", "files": {name.format(victim=victim): "0" * 64}, "lines": []}
    _write_record(out, record)
    printed = run(capsys, config, out)
    assert victim.read_text() == "someone else's file"
    assert f"wrote  {out / 'results.nc'}" in printed  # nothing known to be finished
    assert "run:stale" not in _record(out)


def test_a_recorded_path_inside_the_folder_is_removed(tmp_path, capsys):
    """The control of the test above: the same entry naming a file of the folder removes it."""
    out = tmp_path / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    run(capsys, config, out)
    (out / "old.txt").write_text("a stale output")
    record = _record(out)
    record["run:stale"] = {"digest": "0", "files": {"old.txt": "0" * 64}, "lines": []}
    _write_record(out, record)
    printed = run(capsys, config, out)
    assert not (out / "old.txt").exists() and f"removed {out / 'old.txt'}" in printed
    assert f"reused {out / 'results.nc'}" in printed


@pytest.mark.parametrize("record", [[], None, "text", {"run:results": 3}, {"run:results": {"digest": "x"}},
                                    {"run:results": {"digest": "x", "files": ["results.nc"]}},
                                    {"run:results": {"digest": 1, "files": {}, "lines": []}},
                                    {"run:results": {"digest": "x", "files": {"results.nc": 5}, "lines": []}}])
def test_a_record_of_the_wrong_shape_is_no_record(tmp_path, capsys, record):
    out = tmp_path / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    run(capsys, config, out)
    _write_record(out, record)
    printed = run(capsys, config, out)
    assert f"wrote  {out / 'results.nc'}" in printed and (out / "summary.txt").exists()
    assert f"reused {out / 'results.nc'}" in run(capsys, config, out)  # the new record is readable


@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_a_damaged_or_edited_output_is_recomputed(tmp_path, capsys, damage):
    """results.nc cut to half its size, or a valid file with its frequencies doubled: made again, equal
    to the first run's."""
    import xarray as xr

    out = tmp_path / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    run(capsys, config, out)
    path = out / "results.nc"
    first = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(first[:len(first) // 2])
    else:
        with xr.open_dataset(path) as data:
            edited = data.load()
        edited["frequency"] = edited["frequency"] * 2
        path.unlink()
        edited.to_netcdf(path)
    printed = run(capsys, config, out)
    assert f"wrote  {path}" in printed
    again, _ = read_results(path)
    assert np.array_equal(again.frequencies, read_results_bytes(first, tmp_path).frequencies)


def read_results_bytes(content: bytes, folder: Path):
    copy = folder / "copy.nc"
    copy.write_bytes(content)
    return read_results(copy)[0]


def test_a_failed_run_with_another_configuration_leaves_one_configuration(tmp_path, capsys, monkeypatch):
    """A (3×3, map A_map, figures) finished; B (6×6, map B_map) fails in its results stage: the folder then
    holds none of A's results, Fig. 3, maps or summary, only what B's stages share with A (the overview)."""
    import phonomag.cli.run as run_module
    from phonomag.errors import PhonomagError

    out = tmp_path / "out"
    with_figures = QUICK.format(material="WSe2").replace("figures = false", "figures = true")
    config_a = write_config(tmp_path, with_figures + MAP.format(name="A_map"), "a.toml")
    config_b = write_config(tmp_path, with_figures.replace("[3, 3, 1]", "[6, 6, 1]") + MAP.format(name="B_map"),
                            "b.toml")
    run(capsys, config_a, out)
    assert (out / "maps" / "A_map.png").exists()

    def failing(*args, **kwargs):
        raise PhonomagError("the disk went away")

    monkeypatch.setattr(run_module, "compute_mode_response", failing)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(config_b), "-o", str(out)])
    assert exit_info.value.code == 2
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.startswith(".phonomag"))
    assert left == sorted([f"{name}.{ext}" for name in ("bands", "phonons", "spin_texture") for ext in ("pdf", "png")]
                          + ["phonopy_params.yaml"]), left


def test_a_run_into_a_parent_folder_leaves_a_nested_run_alone(tmp_path, capsys):
    """A run writing into P/inner (its lock held, a temporary file being written) is untouched by a run
    into P; a run into P/maps (where runs into P write) is refused before anything is written."""
    parent, inner = tmp_path / "P", tmp_path / "P" / "inner"
    inner.mkdir(parents=True)
    temporary = inner / f"{TEMP_PREFIX}results.nc"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    with folder_lock(inner):
        temporary.write_bytes(b"being written")
        printed = run(capsys, config, parent)
        assert temporary.read_bytes() == b"being written" and str(temporary) not in printed
    own = parent / f"{TEMP_PREFIX}x.nc"
    own.write_bytes(b"")
    assert f"removed {own}" in run(capsys, config, parent)  # the control: the run's own folder is cleaned
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(config), "-o", str(parent / "maps")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and "maps folder of the output folder" in err
    assert not (parent / "maps").exists()


def test_sqw_and_dynamics_are_stages_that_share_the_folder_with_run(tmp_path, capsys):
    """sqw and dynamics go through the same runner: a second call reuses its files and prints the same
    summary; run and sqw in one folder keep each other's files."""
    from phonomag.cli.overviews import dynamics_overview
    from phonomag.cli.sqw import sqw_overview

    out = tmp_path / "out"
    config = write_config(tmp_path, QUICK.format(material="WSe2"))
    run(capsys, config, out)
    first = sqw_overview("WSe2", out, npoints=7, kgrid=(3, 3, 1), engine_choice="model")
    again = sqw_overview("WSe2", out, npoints=7, kgrid=(3, 3, 1), engine_choice="model")
    assert f"wrote  {out / 'sqw.nc'}" in first and f"reused {out / 'sqw.nc'}" in again
    assert [x for x in first if not x.startswith("wrote")] == [x for x in again if not x.startswith("reused")]
    assert f"wrote  {out / 'sqw.nc'}" in sqw_overview("WSe2", out, npoints=7, kgrid=(3, 3, 1), width=0.7,
                                                     engine_choice="model")
    lines = dynamics_overview("WSe2", out, npoints=7, kgrid=(3, 3, 1))
    assert f"wrote  {out / 'dynamics.png'}" in lines
    assert f"reused {out / 'dynamics.png'}" in dynamics_overview("WSe2", out, npoints=7, kgrid=(3, 3, 1))
    assert f"reused {out / 'results.nc'}" in run(capsys, config, out)
    assert (out / "sqw.nc").exists() and (out / "dynamics.png").exists()
