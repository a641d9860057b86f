"""Bad input fails with one clear message, exit status 2 and no traceback."""

import os
import shutil
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


@pytest.mark.parametrize("q", ["1/3,1/3", "a,b,c", "1/0,0,0"])
def test_malformed_q(capsys, q):
    code, err = run_cli(capsys, "check-vertex", "--q", q)
    assert_clean_failure(code, err, "malformed q")


def test_a_label_the_lattice_lacks_names_the_lattices_labels(capsys):
    code, err = run_cli(capsys, "check-vertex", "--q", "K2")
    assert_clean_failure(code, err, "unknown q label 'K2'", "G, M, K, K'")


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


@pytest.mark.parametrize("command,options,needle", [
    ("sqw", ["-T", "-5"], "--temperature"),
    ("sqw", ["-T", "nan"], "--temperature"),
    ("sqw", ["-T", "inf"], "--temperature"),
    ("sqw", ["--width", "0"], "--width"),
    ("sqw", ["--width", "-1"], "--width"),
    ("sqw", ["--resolution", "-2"], "--resolution"),
    ("sqw", ["--kgrid", "0"], "--kgrid"),
    ("sqw", ["--npoints", "1"], "--npoints"),
    ("sqw", ["--plane-omega", "nan"], "--plane-omega"),
    ("sqw", ["-T", "warm"], "--temperature"),
    ("dynamics", ["--kgrid", "0"], "--kgrid"),
    ("dynamics", ["--npoints", "0"], "--npoints"),
])
def test_every_bad_sqw_and_dynamics_option_is_one_line(capsys, tmp_path, command, options, needle):
    out = tmp_path / "out"
    code, err = run_cli(capsys, command, "-o", str(out), *options)
    assert_clean_failure(code, err, needle)
    assert not out.exists() or not list(out.iterdir()), "nothing (no empty tmp*.png) may be left behind"


def test_output_under_a_file_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, err = run_cli(capsys, "bands", "-o", str(blocker / "out"))
    assert_clean_failure(code, err, str(blocker / "out"), "Not a directory")
    code, err = run_cli(capsys, "run", "-o", str(blocker))
    assert_clean_failure(code, err, str(blocker), "is a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_one_line(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, err = run_cli(capsys, "bands", "-o", str(folder))
    finally:
        folder.chmod(0o755)
    assert_clean_failure(code, err, str(folder), "Permission denied")


def test_an_os_error_while_writing_names_the_file(capsys, tmp_path, monkeypatch):
    """Whatever OSError the writers meet (a full disk here) ends in one line naming the file."""
    import errno

    def disk_full(self, name, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(name))

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", disk_full)
    code, err = run_cli(capsys, "bands", "-o", str(tmp_path / "out"))
    assert_clean_failure(code, err, f"{tmp_path / 'out' / 'bands.png'}: No space left on device")
    assert not [p for p in (tmp_path / "out").iterdir()]


def ddb_variant(tmp_path, edit_q2):
    """A copy of the WSe2 model file with its DDB files copied; q2_DDB passed through ``edit_q2`` (bytes)."""
    ddb_dir = WSE2.parent.parent / "phonons" / "WSe2_lda_dfpt"
    shutil.copytree(ddb_dir, tmp_path / "ddb")
    path = tmp_path / "ddb" / "q2_DDB"
    path.write_bytes(edit_q2(path.read_bytes()))
    model = tmp_path / "model.toml"
    model.write_text(WSE2.read_text().replace("../phonons/WSe2_lda_dfpt/", "ddb/"))
    return model, path


@pytest.mark.parametrize("edit,needle", [
    (lambda data: data.replace(b"0.83417061886239D+01", b"0.834170618X6239D+01", 1), "is malformed"),
    (lambda data: data.replace(b"0.83417061886239D+01", b"0.83417061886239D+99999", 1), "is malformed"),
    (lambda data: data.replace(b"qpt  1.66666667E-01", b"qpt  1.6666$667E-01", 1), "is malformed"),
    (lambda data: bytes(range(256)) * 40, "is not a text file"),
])
def test_a_corrupt_ddb_file_is_one_line_naming_it(capsys, tmp_path, edit, needle):
    model, ddb = ddb_variant(tmp_path, edit)
    code, err = run_cli(capsys, "phonons", "--material", str(model), "-o", str(tmp_path / "out"))
    assert_clean_failure(code, err, str(ddb), needle)


def test_a_binary_model_or_configuration_file_is_one_line(capsys, tmp_path):
    binary = tmp_path / "model.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" * 10)
    code, err = run_cli(capsys, "bands", "--material", str(binary))
    assert_clean_failure(code, err, str(binary), "not a text file")
    code, err = run_cli(capsys, "run", "-c", str(binary), "-o", str(tmp_path / "out"))
    assert_clean_failure(code, err, str(binary), "not a text file")


def test_a_binary_potential_file_is_one_line(capsys, tmp_path):
    potential = tmp_path / "sw.toml"
    potential.write_bytes(b"\xff\xfe\x00" * 50)
    text = WSE2.read_text()
    model = tmp_path / "model.toml"
    model.write_text(text[:text.index("[phonons]")] + '[phonons]\nsource = "stillinger-weber"\npotential = "sw.toml"\n')
    code, err = run_cli(capsys, "phonons", "--material", str(model), "-o", str(tmp_path / "out"))
    assert_clean_failure(code, err, str(potential), "not a text file")


def test_ab_initio_rejects_zero_processes_before_anything(capsys, tmp_path):
    code, err = run_cli(capsys, "ab-initio", "--nproc", "0", "--workdir", str(tmp_path / "w"),
                        "--output", str(tmp_path / "o"))
    assert_clean_failure(code, err, "nproc", "from 1", "0")
    assert not (tmp_path / "w").exists() and not (tmp_path / "o").exists()


@pytest.mark.parametrize("edit,needles", [
    (lambda t: t.replace("pd_sigma = 5.803", "pd_sigma = 5.803\ndp_sigma = 5.803", 1),
     ("dp_sigma and pd_sigma are both given", "same integral")),
    (lambda t: t.replace("pd_pi = -1.081", "pd_pi = -1.081\nss_sigma = 1.0", 1), ("ss_sigma", "never be used")),
    (lambda t: t.replace("dd_delta = 0.317", "dd_delta = 0.317\ncutoff = 5.7", 1),
     ("cutoff = 5.7", f"{np.sqrt(3) * np.linalg.norm(load_material('WSe2').atoms.cell[0]):.3f} Å",
      "match no hopping table")),
    (lambda t: t.replace("dd_delta = 0.317", "dd_delta = 0.317\ncutoff = 3.0", 1),
     ("cutoff", "shorter than the table's own distance")),
])
def test_model_file_hopping_tables_are_checked(capsys, tmp_path, edit, needles):
    path = write_variant(tmp_path, edit)
    code, err = run_cli(capsys, "bands", "--material", str(path))
    assert_clean_failure(code, err, *needles)


def test_a_cutoff_that_covers_the_tables_changes_nothing(tmp_path):
    """cutoff = 3.5 Å on the W–W table: every W–W bond up to 3.5 Å has a table, the model is the same."""
    from phonomag.engines.tightbinding.model import TightBindingModel

    path = write_variant(tmp_path, lambda t: t.replace("dd_delta = 0.317", "dd_delta = 0.317\ncutoff = 3.5", 1))
    plain, explicit = (TightBindingModel.from_material(load_material(p)) for p in (WSE2, path))
    assert [h.cutoff for h in load_material(path).hoppings if h.pair == ("W", "W")] == [3.5]
    k = np.array([[0.1, 0.2, 0.0], [1 / 3, 1 / 3, 0.0]])
    assert np.array_equal(plain.hamiltonian(k), explicit.hamiltonian(k))


def test_an_interrupt_that_a_library_turned_into_another_error_still_aborts(monkeypatch, capsys):
    """Ctrl-C inside C code that calls Python (matplotlib's renderer) can surface as the library's own error
    (ValueError: Invalid affine transformation matrix): still "phonomag: aborted", status 130. Without
    an interrupt the same error is not hidden."""
    import signal

    import click

    from phonomag.cli import main as main_module

    def interrupted_draw(interrupt: bool):
        @click.command()
        def command():
            try:
                if interrupt:
                    signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass
            raise ValueError("Invalid affine transformation matrix")
        return command

    # SIGINT with Python's default handler, as in a terminal, even where pytest runs with it ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        monkeypatch.setattr(main_module, "cli", interrupted_draw(True))
        with pytest.raises(SystemExit) as exit_info:
            main_module.main([])
        assert exit_info.value.code == 130 and capsys.readouterr().err == "phonomag: aborted\n"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
        monkeypatch.setattr(main_module, "cli", interrupted_draw(False))
        with pytest.raises(ValueError, match="affine"):
            main_module.main([])
    finally:
        signal.signal(signal.SIGINT, previous)


def test_run_material_option_names_a_bad_material_before_writing(capsys, tmp_path):
    """`phonomag run -m` overrides [run] material; an unknown name is one error line, and nothing is written."""
    code, err = run_cli(capsys, "run", "-m", "NoSuchCrystal", "-o", str(tmp_path / "out"))
    assert_clean_failure(code, err, "NoSuchCrystal")
    assert not (tmp_path / "out").exists()
