"""Every check of `phonomag run` comes before the first file: the output folder (and its lock) exists only
once the configuration, the material, the engine's capabilities, the q labels against the lattice, the
maps and the resource estimates have passed (issue 26 point 5). And the configuration classes of bad
input that once gave tracebacks: deep nesting, extreme values, a POSIX locale, a folder named like a
built-in material."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from phonomag.cli.config import RunConfig, load_run_config
from phonomag.cli.main import main
from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.materials import load_material

SRC = Path(__file__).resolve().parents[1] / "src" / "phonomag"
WSE2 = (SRC / "data" / "materials" / "WSe2.toml").read_text(encoding="utf-8")
#: WSe₂ with a rectangular cell: no hexagonal labels (G, M, K) exist for it.
RECTANGULAR = WSE2.replace("cell = [[3.251866, 0.0, 0.0], [-1.625933, 2.816199, 0.0], [0.0, 0.0, 20.0]]",
                           "cell = [[3.251866, 0.0, 0.0], [0.0, 5.632398, 0.0], [0.0, 0.0, 20.0]]")


def fails_before_any_file(tmp_path, capsys, text, needle, files=None):
    """`phonomag run -c` of ``text`` (with ``files`` {name: text} beside it) ends in one error line holding
    ``needle``, and the output folder was never made."""
    for name, content in (files or {}).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    (tmp_path / "run.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(tmp_path / "run.toml"), "-o", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("phonomag: error:") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert not out.exists()


@pytest.mark.parametrize("text,needle", [
    ("[maps]\nframes = 100000", "maps.frames must be an integer from 2 to 600"),
    ("[maps]\npoints_per_cell = 100000", "maps.points_per_cell"),
    ("[maps]\ncells = [1000, 1000]", "maps.cells"),
    ("[path]\nnpoints = 100000000", "path.npoints"),
    ("[response]\nkgrid = [100000, 100000, 1]", "response.kgrid"),
    ("[path]\nlabels = [\"G\", \"X9\"]", "path.labels unknown q label 'X9' for this layer's lattice (HEX2D)"),
    ("[maps]\nstyle = \"inplane\"", "unknown key(s) style"),
    ("[[maps.modes]]\nq = \"K\"\nmode = 0\nstyle = \"inplane\"", "maps.modes[0].style must be one of"),
])
def test_the_configuration_is_checked_first(tmp_path, capsys, text, needle):
    fails_before_any_file(tmp_path, capsys, text, needle)


@pytest.mark.parametrize("material,needle", [
    ("soc = 0.251\n", "species.W.soc must be a number"),  # the W soc line of the file is replaced below
    ("", "unknown material"),
])
def test_the_material_is_checked_first(tmp_path, capsys, material, needle):
    if material:
        fails_before_any_file(tmp_path, capsys, '[run]\nmaterial = "bad.toml"\nengine = "model"\n', needle,
                              {"bad.toml": WSE2.replace("soc = 0.251\n", "soc = \"strong\"\n", 1)})
    else:
        fails_before_any_file(tmp_path, capsys, '[run]\nmaterial = "WSe9"\n', needle)


@pytest.mark.parametrize("text,needle", [
    ('[run]\nengine = "kernel"\n[response]\nkind = "full"', "the kernel engine cannot do this"),
    ('[run]\nengine = "abinit"\n[response]\nkind = "full"', "the abinit engine cannot do this"),
    ('[run]\nengine = "kernel"\n[maps]\nheight = 0.5', "[maps] height must be one of them"),
    ('[run]\nengine = "kernel"\n[maps]\nheight = 1.6667', "1.6657"),
])
def test_the_engine_capabilities_are_checked_first(tmp_path, capsys, text, needle):
    """An engine that lacks the response kind, or a kernel map height that is not one of its stored planes."""
    fails_before_any_file(tmp_path, capsys, text, needle)


@pytest.mark.parametrize("text,needle", [
    ('[run]\nengine = "abinit"\n[abinit]\npseudo_dir = "no-pseudos"', "no-pseudos"),
    ('[run]\nengine = "abinit"\n[abinit]\nq = ["1/7,0,0"]\nkgrid = [7, 7, 1]\nvacuum = 5.0', "vacuum"),
    ('[run]\nengine = "kernel"\n[kernel]\ndata = "damaged"', "q_0_0_0.nc"),
])
def test_the_engine_is_built_first(tmp_path, capsys, text, needle):
    """What building the engine checks (pseudopotentials, the slab's vacuum, the kernel data as a whole)
    also comes before the folder."""
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "q_0_0_0.nc").write_bytes(b"")
    fails_before_any_file(tmp_path, capsys, text, needle)


@pytest.mark.parametrize("text,needle", [
    ('[run]\nmaterial = "rect.toml"\nengine = "model"\n[path]\nlabels = ["G", "K", "G"]',
     "path.labels unknown q label 'K' for this layer's lattice (RECT); labels: G, X, S, Y"),
    ('[run]\nmaterial = "rect.toml"\nengine = "model"\n[outputs]\nsummary_q = ["M"]',
     "outputs.summary_q unknown q label 'M' for this layer's lattice (RECT)"),
    ('[run]\nmaterial = "rect.toml"\nengine = "model"\n[outputs]\nsummary_q = ["0,1/2,0"]',
     "maps.modes[0].q unknown q label 'K' for this layer's lattice (RECT)"),
    ('[path]\nlabels = ["G", "1/3,1/3,0", "K", "G"]', "path.labels has a segment of zero length, '1/3,1/3,0' to 'K'"),
    ('[[maps.modes]]\nq = "K"\nmode = 99', "mode 99 does not exist"),
])
def test_labels_are_checked_against_the_lattice_first(tmp_path, capsys, text, needle):
    """Path corners, summary and map q-points as the run reads them, in the material's own lattice."""
    fails_before_any_file(tmp_path, capsys, "[response]\nkgrid = [6, 6, 1]\n" + text, needle,
                          {"rect.toml": RECTANGULAR})


@pytest.mark.parametrize("text,needle", [
    ("[run]\nengine = \"model\"\n[response]\nkgrid = [2000, 2000, 1]", "GB of memory"),
    ("[run]\nengine = \"model\"\n[response]\nkgrid = [200, 200, 1]\n[path]\nnpoints = 30000", "--force"),
    ("[run]\nengine = \"model\"\n[response]\nkgrid = [6, 6, 1]\n[maps]\nframes = 600\ncells = [12, 12]\n"
     "points_per_cell = 128\n" + "".join(f"[[maps.modes]]\nq = \"K\"\nmode = {nu}\n" for nu in range(9)),
     "9 movies of 600 frames"),
])
def test_the_resources_are_estimated_first(tmp_path, capsys, text, needle):
    """Memory and time, movie frames included, before the folder is made."""
    fails_before_any_file(tmp_path, capsys, text, needle)


def test_documented_path_forms_are_what_the_run_computes():
    """"1/3,1/3,0", "g", "Γ" (docs/run-config.md) pass the check and give the path of the labels G, K."""
    cell = load_material("WSe2").crystal
    named = load_run_config(None).updated({"path.labels": ("G", "K", "M"), "path.npoints": 31}).path.sample(cell)
    for labels in (("g", "1/3,1/3,0", "1/2,0,0"), ("Γ", "K", "0.5 0 0")):
        other = RunConfig().updated({"path.labels": labels, "path.npoints": 31}).path.sample(cell)
        assert np.allclose(other[0], named[0], rtol=0, atol=1e-15) and other[3] == named[3] == ["Γ", "K", "M"]
    off = RunConfig().updated({"path.labels": ("G", "1/4,0,0"), "path.npoints": 5}).path.sample(cell)
    assert np.allclose(off[0][-1], [0.25, 0, 0]) and off[3] == ["Γ", "(0.25, 0, 0)"]
    with pytest.raises(Exception, match="zero length"):  # the control: the same corner twice
        RunConfig().updated({"path.labels": ("K", "1/3,1/3,0")}).path.sample(cell)


def test_a_stored_kernel_plane_written_to_four_decimals_is_that_plane():
    """docs/kernel.md quotes the Se planes as ±1.6657 Å; they are ±1.665697 Å in the files."""
    from phonomag.cli.engines import entry

    engine = entry("kernel").build(RunConfig(), load_material("WSe2"), None)
    stored = [h for h in engine.kernel.layers if h is not None]
    assert engine.plane_index(1.6657) == engine.kernel.layers.index(max(stored))
    assert engine.plane_index(-1.6657) == engine.kernel.layers.index(min(stored))
    with pytest.raises(Exception, match="stores the planes"):
        engine.check_plane(LatticePlane.through(engine.atoms, (0, 0, 1), 0, 1.6660))
    engine.check_plane(LatticePlane.through(engine.atoms, (0, 0, 1), 1, 0.0))  # through the upper Se: stored
    with pytest.raises(Exception, match="parallel to the layer only"):
        engine.check_plane(LatticePlane.through(engine.atoms, (1, 0, 0), 0, 0.0))


# --- the configuration classes of issue 26 point 6 -------------------------------------------------------

@pytest.mark.parametrize("where", ["config", "material"])
def test_deeply_nested_toml_is_one_line(tmp_path, capsys, where):
    nested = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    if where == "config":
        fails_before_any_file(tmp_path, capsys, nested, "nested hundreds of levels deep")
    else:
        fails_before_any_file(tmp_path, capsys, '[run]\nmaterial = "deep.toml"\n', "nested hundreds of levels deep",
                              {"deep.toml": nested})


@pytest.mark.parametrize("old,new,needle", [
    ("soc = 0.251\n", "soc = 1e308\n", "species.W.soc must be a number of size at most 10000"),
    ("soc = 0.251\n", "soc = -1e308\n", "species.W.soc"),
    ("pp_sigma = 1.530\n", "pp_sigma = 1e300\n", "pp_sigma must be a number of size at most"),
    ("distance = 3.260\n", "distance = 1e308\n", "distance must be a number of size at most"),
    ("[species.W]\n", "[species.W]\nmass = 1e308\n", "mass must be a number"),
    ("cell = [[3.251866,", "cell = [[1e300,", "structure.cell"),
])
def test_extreme_values_in_a_model_file_are_one_line(tmp_path, capsys, old, new, needle):
    assert old in WSE2
    fails_before_any_file(tmp_path, capsys, '[run]\nmaterial = "extreme.toml"\nengine = "model"\n', needle,
                          {"extreme.toml": WSE2.replace(old, new, 1)})


def test_the_largest_accepted_value_is_no_traceback(tmp_path, capsys):
    """At the bound (soc = 1e4 eV) the model is built: the error, if any, is the physics' own (no gap)."""
    (tmp_path / "big.toml").write_text(WSE2.replace("soc = 0.251\n", "soc = 1e4\n", 1), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["bands", "-m", str(tmp_path / "big.toml"), "-o", str(tmp_path / "out"), "--npoints", "10"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("phonomag: error: the model has no gap"), err


def test_a_posix_locale_reads_every_file_as_utf8(tmp_path):
    """With LC_ALL=C and no UTF-8 coercion Python's default encoding is ASCII: the built-in material (Γ, Å
    in its comments) and a configuration with non-ASCII text are still read."""
    (tmp_path / "run.toml").write_text('[run]\nmaterial = "WSe2"  # WSe₂, a ≈ 3.25 Å\n[path]\nlabels = ["Γ", "K"]\n',
                                       encoding="utf-8")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0",
           "PYTHONPATH": str(SRC.parent)}
    probe = subprocess.run([sys.executable, "-c", "import locale; print(locale.getpreferredencoding(False))"],
                           env=env, capture_output=True, text=True)
    assert probe.stdout.strip().upper() in ("ANSI_X3.4-1968", "ASCII", "US-ASCII"), probe.stdout  # the control
    code = ("from phonomag.cli.config import load_run_config; from phonomag.crystal.materials import load_material; "
            f"c = load_run_config({str(tmp_path / 'run.toml')!r}); s = load_material(c.run.material); "
            "print(s.name, ascii(c.path.sample(s.crystal)[3]))")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, encoding="utf-8")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "WSe2 " + ascii(["Γ", "K"])
    listed = subprocess.run([sys.executable, "-m", "phonomag.cli", "materials"], env=env, capture_output=True,
                            encoding="utf-8")
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert listed.returncode == 0 and names == ["AlSb", "WSe2"], listed.stderr  # ε∞ and ħ in the texts: UTF-8


def _calls_without_encoding(path: Path) -> list[str]:
    """open(), .open(), .read_text() and .write_text() calls of a source file without an encoding (binary modes
    excepted), as "file:line"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        func = node.func if isinstance(node, ast.Call) else None
        if not (isinstance(func, ast.Name) and func.id == "open"
                or isinstance(func, ast.Attribute) and func.attr in ("open", "read_text", "write_text")
                and not (isinstance(func.value, ast.Name) and func.value.id == "os")):  # os.open: bytes
            continue
        is_open = isinstance(func, ast.Name) or func.attr == "open"
        modes = [a.value for a in node.args[1 if isinstance(func, ast.Name) else 0:][:1] if isinstance(a, ast.Constant)]
        modes += [k.value.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
        if any(k.arg == "encoding" for k in node.keywords) or is_open and any("b" in str(m) for m in modes):
            continue
        found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_every_text_file_is_opened_with_an_explicit_encoding():
    found = [hit for path in sorted(SRC.rglob("*.py")) for hit in _calls_without_encoding(path)]
    assert found == []
    assert _calls_without_encoding(Path(__file__)) == []  # this file too; the control is below


def test_the_encoding_check_finds_a_call_without_one(tmp_path):
    sample = SRC / "_encoding_probe.py"
    try:
        sample.write_text("open('x').read()\nopen('y', 'rb')\nopen('z', encoding='utf-8')\n", encoding="utf-8")
        assert _calls_without_encoding(sample) == ["_encoding_probe.py:1"]
    finally:
        sample.unlink()


def test_a_folder_named_like_a_built_in_material_does_not_hide_it(tmp_path, monkeypatch, capsys):
    """A folder WSe2 in the working directory: "WSe2" is still the built-in material; "./WSe2" names the folder
    and says how to pick the built-in one."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "WSe2").mkdir()
    assert load_material("WSe2").source == "built-in:WSe2"
    assert load_run_config(None).run.material == "WSe2"
    (tmp_path / "run.toml").write_text('[run]\nmaterial = "WSe2"\n', encoding="utf-8")
    assert load_run_config(tmp_path / "run.toml").run.material == "WSe2"
    with pytest.raises(SystemExit):
        main(["bands", "-m", "./WSe2", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "is a folder" in err and "its bare name" in err and "Traceback" not in err
