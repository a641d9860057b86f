"""Bad input fails with one clear message, exit status 2 and no traceback."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from file_checks import UNITS, check_cf_metadata, plot_against_path_distance
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material

WSE2 = Path(load_material("WSe2").base_dir) / "WSe2.toml"


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.err


def write_variant(tmp_path, edit):
    """A copy of the built-in WSe2 model file with one textual edit."""
    text = WSE2.read_text()
    new = edit(text)
    assert new != text, "the edit did not change the file"
    path = tmp_path / "model.toml"
    path.write_text(new)
    return path


def assert_clean_failure(code, err, *needles):
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("phonomag: error:")
    assert len(err.strip().splitlines()) == 1
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def test_unknown_material(capsys):
    code, err = run_cli(capsys, "bands", "--material", "Unobtainium2")
    assert_clean_failure(code, err, "Unobtainium2", "WSe2")


def test_malformed_toml(capsys, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[material\nname = 'x'\n")
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, "not valid TOML")


def test_missing_model_file(capsys, tmp_path):
    code, err = run_cli(capsys, "bands", "--material", str(tmp_path / "nothere.toml"))
    assert_clean_failure(code, err, "does not exist")


def test_unknown_orbital(capsys, tmp_path):
    path = write_variant(tmp_path, lambda t: t.replace('"px", "py", "pz"', '"px", "py", "pq"', 1))
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, "pq")


def test_bad_number(capsys, tmp_path):
    path = write_variant(tmp_path, lambda t: t.replace("pd_sigma =", "pd_sigma = 'strong' #", 1))
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, "pd_sigma", "must be a number")


def test_unknown_key(capsys, tmp_path):
    path = write_variant(tmp_path, lambda t: t.replace("[electrons]", "[electrons]\nfermi = 1.0", 1))
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, "fermi")


def test_hopping_matching_no_bond(capsys, tmp_path):
    raw = tomllib.loads(WSE2.read_text())
    distance = raw["electrons"]["hoppings"][0]["distance"]
    path = write_variant(tmp_path, lambda t: t.replace(f"distance = {distance}", "distance = 7.5", 1))
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, "matches no bond")


def test_model_without_gap(capsys, tmp_path):
    # at Γ and M (time-reversal invariant) bands come in Kramers pairs: 13 electrons leave no gap
    path = write_variant(tmp_path, lambda t: t.replace("occupied_bands = 14", "occupied_bands = 13"))
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, "no gap", "13")


@pytest.mark.parametrize("q", ["1/3,1/3", "a,b,c", "1/0,0,0", "K2"])
def test_malformed_q(capsys, q):
    code, err = run_cli(capsys, "check-vertex", "--q", q)
    assert_clean_failure(code, err, "malformed q")


def test_non_commensurate_q(capsys):
    code, err = run_cli(capsys, "check-vertex", "--q", "K", "--supercell", "2x2x1")
    assert_clean_failure(code, err, "not commensurate", "2×2×1")


def test_malformed_supercell(capsys):
    code, err = run_cli(capsys, "check-vertex", "--q", "K", "--supercell", "3xx")
    assert_clean_failure(code, err, "malformed supercell")


def test_sqw_rejects_a_non_lattice_g(capsys):
    code, err = run_cli(capsys, "sqw", "--g", "0.5,0,0")
    assert_clean_failure(code, err, "reciprocal lattice vector")


def test_sqw_command_writes_its_outputs(tmp_path):
    main(["sqw", "-o", str(tmp_path), "--npoints", "7", "--kgrid", "9"])
    for name in ("sqw.nc", "sqw_maps.png", "sqw_maps.pdf", "sqw_cuts.png"):
        assert (tmp_path / name).stat().st_size > 0
    ds, units = check_cf_metadata(tmp_path / "sqw.nc")
    assert units["S_charge"] == UNITS.Unit("1/meV")
    assert {"Q", "path_distance", "label", "Q_reduced", "q_reduced", "G_reduced"} <= set(ds.coords)
    lines = plot_against_path_distance(ds["frequency"])
    assert np.array_equal(lines[0].get_xdata(), ds["path_distance"].values)
    ds.close()


@pytest.mark.skipif(not Path("/usr/share/abinit/psp/PseudosHGH_pwteter").is_dir(),
                    reason="HGH pseudopotentials of abinit-data not installed")
def test_ab_initio_rejects_q_off_the_k_grid_before_running(capsys, tmp_path):
    code, err = run_cli(capsys, "ab-initio", "--q", "1/4,0,0", "--kgrid", "6", "--workdir", str(tmp_path / "w"),
                        "--output", str(tmp_path / "o"))
    assert_clean_failure(code, err, "not on the k grid")
    assert not (tmp_path / "w").exists()


def test_ddb_phonons_of_another_crystal_are_refused(capsys, tmp_path):
    ddb_dir = WSE2.parent.parent / "phonons" / "WSe2_lda_dfpt"
    path = write_variant(tmp_path, lambda text: text.replace(
        "../phonons/WSe2_lda_dfpt/", f"{ddb_dir}/").replace(
        "cell = [[3.251866, 0.0, 0.0], [-1.625933, 2.816199, 0.0]", "cell = [[3.30, 0.0, 0.0], [-1.65, 2.857884, 0.0]"))
    code, err = run_cli(capsys, "phonons", "--material", str(path), "--output", str(tmp_path / "o"))
    assert_clean_failure(code, err, "is not the structure's")


def test_help_lists_every_command_with_a_whole_line(capsys):
    """No short help is cut at a period inside it ("Eq." was all the ab-initio command said)."""
    from phonomag.cli.main import cli

    main(["--help"])
    listing = capsys.readouterr().out.split("Commands:")[1]
    described = dict(line.split(None, 1) for line in listing.strip().splitlines())
    assert set(described) == set(cli.commands)
    for name, text in described.items():
        assert len(text.split()) >= 3 and not text.endswith("..."), (name, text)


def test_version(capsys):
    from phonomag import __version__

    main(["--version"])
    assert capsys.readouterr().out.strip() == f"phonomag, version {__version__}"
