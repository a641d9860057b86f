"""Run configurations: defaults, valid files, and one clear error per bad value."""

from pathlib import Path

import pytest

from phonomag.cli.config import RunConfig, load_run_config, with_material_defaults
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material


def write(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_default_configuration():
    config = load_run_config(None)
    assert config == RunConfig()
    assert config.run.material == "WSe2"
    assert config.maps.modes is None  # the material's [[maps]]: WSe₂'s six, filled in with the material
    filled = with_material_defaults(config, load_material("WSe2"))
    assert len(filled.maps.modes) == 6 and filled.outputs.summary_q == ("K", "M")


def test_valid_file(tmp_path):
    config = load_run_config(write(tmp_path, """
[response]
kgrid = [12, 12, 1]
kind = "full"
amplitude = 0.05
[[maps.modes]]
q = "1/2,0,0"
mode = "even:1"
style = "out-of-plane"
"""))
    assert config.response.kgrid == (12, 12, 1)
    assert config.response.kind == "full"
    assert config.response.amplitude == 0.05
    assert config.maps.modes[0].mode == "even:1"


def test_model_file_path_is_relative_to_the_configuration(tmp_path):
    config = load_run_config(write(tmp_path, '[run]\nmaterial = "model.toml"\n'))
    assert config.run.material == str(tmp_path / "model.toml")


def test_abinit_engine_keys(tmp_path):
    config = load_run_config(write(tmp_path, """
[run]
engine = "abinit"
[abinit]
ecut = 15
kgrid = [12, 12, 1]
vacuum = 20.0
q = ["K", "M", "1/6,1/6,0"]
pseudos = { W = "74w.6.hgh" }
nproc = 1
workdir = "runs"
"""))
    assert config.run.engine == "abinit"
    spec = config.abinit
    assert (spec.ecut, spec.kgrid, spec.vacuum, spec.nproc) == (15.0, (12, 12, 1), 20.0, 1)
    assert spec.q == ("K", "M", "1/6,1/6,0")
    assert spec.workdir == str(tmp_path / "runs")
    settings = spec.settings()
    assert settings.spin_orbit and settings.pseudos == {"W": "74w.6.hgh"}
    assert load_run_config(None).run.engine == "auto"


def test_abinit_q_off_the_k_grid_is_accepted(tmp_path):
    """K on a 4×4 k grid: k + q is off the grid, so the engine adds a non-self-consistent k + q run."""
    path = tmp_path / "run.toml"
    path.write_text('[abinit]\nq = ["K"]\nkgrid = [4, 4, 1]\n')
    assert load_run_config(path).abinit.q == ("K",)


@pytest.mark.parametrize("text,needle", [
    ("[run]\nengine = \"vasp\"", "run.engine"),
    ("[abinit]\necut = 0.5", "abinit.ecut"),
    ("[abinit]\nkgrid = [6, 6]", "abinit.kgrid"),
    ("[abinit]\nvacuum = -3", "abinit.vacuum"),
    ("[abinit]\npseudos = [\"W.hgh\"]", "abinit.pseudos"),
    ("[abinit]\nnproc = 0", "abinit.nproc"),
    ("[abinit]\nsmearing = 0.01", "smearing"),
    ("[respons]\nkgrid = [1,1,1]", "unknown section"),
    ("[response]\nkgird = [1,1,1]", "kgird"),
    ("[response]\nkgrid = [12, 0, 1]", "response.kgrid"),
    ("[response]\nkind = \"two-sided\"", "response.kind"),
    ("[response]\namplitude = -0.1", "response.amplitude"),
    ("[path]\nlabels = [\"G\", \"1/0,0,0\"]", "malformed q"),
    ("[[maps.modes]]\nq = \"K\"\nmode = \"sideways:1\"", "maps.modes[0].mode"),
    ("[outputs]\nmovies = \"yes\"", "outputs.movies"),
    ("[path\n", "not valid TOML"),
    ("[response]\namplitude = inf", "response.amplitude"),
    ("[response]\namplitude = nan", "response.amplitude"),
    ("[response]\namplitude = 1e6", "response.amplitude"),
    ("[response]\namplitude = \"big\"", "response.amplitude"),
    ("[maps]\nheight = nan", "maps.height"),
    ("[maps]\nheight = 1e300", "maps.height"),
    ("[path]\nlabels = [\"K\", \"K\"]", "zero length"),
    ("[path]\nlabels = [\"G\", \"M\", \"M\", \"G\"]", "'M' to 'M'"),
    ("[path]\nlabels = [\"G\", \"1e400,0,0\"]", "malformed q"),
    ("[[maps.modes]]\nq = \"1e400,0,0\"\nmode = 0", "malformed q"),
    ("[[maps.modes]]\nq = \"nan,0,0\"\nmode = 0", "malformed q"),
    ("[outputs]\nsummary_q = []", "outputs.summary_q"),
    ("[[maps.modes]]\nname = \"../../x\"\nq = \"K\"\nmode = 0", "not a safe file name"),
    ("[[maps.modes]]\nname = \"/tmp/x\"\nq = \"K\"\nmode = 0", "not a safe file name"),
    ("[[maps.modes]]\nname = \"a\"\nq = \"K\"\nmode = 0\n[[maps.modes]]\nname = \"a\"\nq = \"M\"\nmode = 1",
     "used by another map"),
    ("[abinit]\necut = nan", "abinit.ecut"),
    ("[abinit]\nvacuum = inf", "abinit.vacuum"),
    ("[kernel]\nphonons = \"soc\"", "kernel.phonons"),
    ("[run]\nengine = \"model\"\n[kernel]\nphonons = \"kernel\"", "needs the kernel engine"),
])
def test_bad_configuration_fails_cleanly(tmp_path, capsys, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(path), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "Traceback" not in err
    assert err.startswith("phonomag: error:") and needle in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text,needle", [
    ("[[maps.modes]]\nq = \"K\"\nmode = 99", "mode 99 does not exist"),
    ("[[maps.modes]]\nq = \"K\"\nmode = \"odd:40\"", "there are only"),
    ("[response]\nkgrid = [2000, 2000, 1]", "GB of memory"),
    ("[response]\nkgrid = [200, 200, 1]\n[path]\nnpoints = 30000", "--force"),  # hours, also with q in threads
])
def test_run_problems_are_found_before_anything_is_written(tmp_path, capsys, text, needle):
    """Map modes and the size of the run are checked before results.nc (or anything else) is written."""
    path = write(tmp_path, text)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-c", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("phonomag: error:") and needle in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_generated_map_names_are_file_names(tmp_path):
    config = load_run_config(write(tmp_path, "[[maps.modes]]\nq = \"1/2,0,0\"\nmode = \"even:1\"\n"
                                             "[[maps.modes]]\nq = \"K'\"\nmode = 2\n"))
    assert [m.name for m in config.maps.modes] == ["1_2_0_0_modeeven_1", "Kp_mode2"]


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml")),
                         ids=lambda p: p.name)
def test_the_example_configurations_are_valid(path):
    """Every run configuration under examples/ passes the validation (they run first-principles engines)."""
    config = load_run_config(path)
    assert config.run.engine == "abinit" and config.abinit.q


def test_the_key_table_of_the_docs_is_the_schema():
    """docs/run-config.md holds the table generated from the schema, byte for byte (regenerate it with
    scripts/run_config_table.py); the control: a page with one default changed differs."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "run_config_table.py"
    spec = importlib.util.spec_from_file_location("run_config_table", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.PAGE.read_text(encoding="utf-8")
    assert module.with_table(page) == page
    assert "| `frames` | an integer from 2 to 600 | `30` |" in page
    assert module.with_table(page.replace("| `30` | movie frames", "| `31` | movie frames")) != page.replace(
        "| `30` | movie frames", "| `31` | movie frames")


def test_every_key_is_declared_once_with_its_toml_name():
    """Each section's keys are its dataclass fields (TOML name = Python name), with a kind and a doc; the
    renamed keys of before keep their TOML names."""
    from phonomag.cli.schema import keys_of, sections_of

    sections = sections_of(RunConfig)
    assert list(sections) == ["run", "path", "response", "maps", "outputs", "kernel", "abinit", "cluster"]
    for name, (field, _) in sections.items():
        keys = keys_of(field.default_factory)
        assert keys and all(spec.doc and spec.kind.text for _, spec in keys.values()), name
    config = RunConfig()
    assert (config.maps.points_per_cell, config.maps.frames, config.path.labels, config.abinit.q) == (
        48, 30, None, ("K", "K'", "M"))  # the path: the crystal's standard path


def test_the_renamed_fields_read_the_same_toml(tmp_path):
    """A file written for the old names (points_per_cell, frames, labels, [abinit] q) reads as before."""
    config = load_run_config(write(tmp_path, '[path]\nlabels = ["G", "K"]\nnpoints = 20\n[maps]\npoints_per_cell = 8\n'
                                             'frames = 3\ncells = [2, 3]\nheight = 0.5\n[abinit]\nq = ["M"]\n'))
    assert (config.path.labels, config.path.npoints, config.maps.points_per_cell, config.maps.frames,
            config.maps.cells, config.maps.height, config.abinit.q) == (("G", "K"), 20, 8, 3, (2, 3), 0.5, ("M",))
    options = config.map_options(volume_fields=False, atoms=load_material("WSe2").atoms)
    assert (options.points_per_cell, options.frames, options.cells, options.offset, options.field_files) == (
        8, 3, (2, 3), 0.5, False)
