"""The ABINIT engine's bookkeeping: time-reversal check, map selection, vacuum check, CLI errors.

No ABINIT run here (tests/test_abinit_response.py has those); the time-reversal
check is fed cell moments that obey, or break, n⁰_{−q} = n⁰_q*, M_{−q} = −M_q*.
"""

import numpy as np
import pytest

from phonomag.cli.abinit_setup import check_vacuum
from phonomag.cli.config import RunConfig, with_material_defaults
from phonomag.cli.main import main
from phonomag.cli.run import maps_at
from phonomag.crystal.materials import load_material
from phonomag.errors import PhonomagError
from phonomag.outputs.tables import time_reversal_lines
from phonomag.response.comparison import time_reversal_deviations
from phonomag.response.modes import ModeResponse


def _response(results: dict) -> tuple[ModeResponse, list[str]]:
    """One ModeResponse of {label: (q, cell moments (nmodes, 4), frequencies)}, no site decomposition."""
    labels = list(results)
    q = np.array([results[k][0] for k in labels], float)
    moments = np.array([results[k][1] for k in labels])[:, :, None, :]
    w = np.array([results[k][2] for k in labels])
    nq, nmodes = w.shape
    return ModeResponse(q, w, np.ones((nq, nmodes)), np.zeros((nq, nmodes, 3, 3), complex), moments,
                        ("W", "Se_t", "Se_b"), ("cell",), "one-sided", "zero-point", (6, 6, 1), "test"), labels


def time_reversal_text(results: dict) -> list[str]:
    return time_reversal_lines(time_reversal_deviations(*_response(results)))


def _numbers(line):
    return [float(x.rstrip(",;")) for x in line.replace("meV", "").split() if x[0].isdigit()]


def test_time_reversal_check_passes_for_partners_and_flags_a_broken_one():
    rng = np.random.default_rng(3)
    moments = rng.normal(size=(9, 4)) + 1j * rng.normal(size=(9, 4))
    partner = np.conj(moments) * np.array([1, -1, -1, -1]) * np.exp(1j * rng.uniform(0, 6, 9))[:, None]
    w = np.sort(rng.uniform(1, 30, 9))
    results = {"K": ([1 / 3, 1 / 3, 0], moments, w), "K'": ([-1 / 3, -1 / 3, 0], partner, w),
               "M": ([0.5, 0, 0], moments, w)}
    lines = time_reversal_text(results)
    assert len(lines) == 1 and lines[0].startswith("time reversal K ↔ K'")  # M has no partner here
    assert max(_numbers(lines[0].split(":", 1)[1])) < 1e-12
    broken = partner.copy()
    broken[4, 3] *= 1.5
    line = time_reversal_text({"K": results["K"], "K'": ([2 / 3, 2 / 3, 0], broken, w)})[0]
    assert max(_numbers(line.split(":", 1)[1])) > 1e-2  # −K given as K + G' = (2/3, 2/3) is still found


def test_maps_are_assigned_to_the_computed_q_points():
    DEFAULT_MAPS = with_material_defaults(RunConfig(), load_material("WSe2")).maps.modes
    at, skipped = maps_at(DEFAULT_MAPS, {"K": np.array([1 / 3, 1 / 3, 0]),
                                         "-1/3,-1/3,0": np.array([-1 / 3, -1 / 3, 0])},
                          load_material("WSe2").crystal)
    assert [m.name for m in at] == ["K_acoustic_W_out_of_plane", "K_highest_acoustic",
                                    "Kp_acoustic_W_out_of_plane", "Kp_highest_acoustic"]
    assert [m.q for m in skipped] == ["M", "M"]
    assert maps_at(DEFAULT_MAPS, None) == (list(DEFAULT_MAPS), [])


def test_vacuum_must_separate_the_slab_images():
    check_vacuum(np.array([-1.67, 0.0, 1.67]), 12.0)
    with pytest.raises(PhonomagError, match="abinit.vacuum = 9.0 Å leaves only 5.66 Å"):
        check_vacuum(np.array([-1.67, 0.0, 1.67]), 9.0)


def test_run_engine_abinit_rejects_a_small_vacuum_before_running(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('[abinit]\nvacuum = 6.0\nworkdir = "w"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--engine", "abinit", "-c", str(config), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert "abinit.vacuum = 6.0 Å" in err, err
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("command", [["run", "--engine", "abinit"], ["dfpt-kernel"]])
def test_a_missing_pseudopotential_is_named_before_anything_runs(tmp_path, capsys, command):
    """No HGH file for the species in pseudo_dir: one line naming them, before the ground state (no work folder)."""
    empty = tmp_path / "no-pseudos"
    empty.mkdir()
    config = tmp_path / "run.toml"
    config.write_text(f'[abinit]\npseudo_dir = "{empty}"\nworkdir = "w"\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "-c", str(config), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert "no pseudopotential for W, Se" in err, err
    assert not (tmp_path / "w").exists() and not (tmp_path / "out" / "abinit-work").exists()


def _mos2_with_structure(tmp_path, structure: str):
    """The documented MoS₂ model file with its [structure] block replaced by ``structure``."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "examples" / "MoS2.toml").read_text(encoding="utf-8")
    start, end = text.index("[structure]"), text.index("[species.Mo]")
    path = tmp_path / "MoS2_cell.toml"
    path.write_text(text[:start] + structure + "\n" + text[end:], encoding="utf-8")
    return path


def _sites(rows):
    return "".join(f'[[structure.sites]]\nlabel = "{label}"\nspecies = "{label[:2].rstrip("_0123456789")}"\n'
                   f"position = {list(position)}\n\n" for label, position in rows)


@pytest.mark.parametrize("name, structure, c", [
    ("AA bulk, one layer per cell (c = 6.2 Å)",
     "[structure]\ncell = [[3.117543, 0.0, 0.0], [-1.558771, 2.699871, 0.0], [0.0, 0.0, 6.2]]\n\n"
     + _sites([("Mo", (0.0, 0.0, 0.0)), ("S_t", (0.0, 1.799914, 1.558907)), ("S_b", (0.0, 1.799914, -1.558907))]),
     6.2),
    ("2H bulk, two layers per cell (c = 12.3 Å)",
     "[structure]\ncell = [[3.117543, 0.0, 0.0], [-1.558771, 2.699871, 0.0], [0.0, 0.0, 12.3]]\n\n"
     + _sites([("Mo", (0.0, 0.0, 0.0)), ("S_t", (0.0, 1.799914, 1.558907)), ("S_b", (0.0, 1.799914, -1.558907)),
               ("Mo2", (0.0, 1.799914, 6.15)), ("S_t2", (0.0, 0.0, 7.708907)), ("S_b2", (0.0, 0.0, 4.591093))]),
     12.3),
], ids=["AA-bulk", "2H-bulk"])
def test_a_bulk_cell_in_a_model_file_is_never_made_a_slab(tmp_path, name, structure, c):
    """Before, a₃ was replaced by (0, 0, vacuum): the 2H bulk became an isolated bilayer without a word. Now a bulk
    crystal is computed as bulk: ABINIT gets its own cell and positions, whatever [abinit] vacuum says; asking for a
    layer's structure file with it is one error. The documented monolayer (next test) is the control."""
    from phonomag.cli.abinit_setup import abinit_structure
    from phonomag.crystal.materials import load_material

    spec = load_material(_mos2_with_structure(tmp_path, structure))
    assert spec.crystal.dimension == 3
    atoms = abinit_structure(spec, 18.0)
    assert np.allclose(atoms.cell.array, spec.atoms.cell.array) and atoms.cell[2, 2] == c
    assert np.allclose(atoms.positions, spec.atoms.positions) and all(atoms.pbc)
    with pytest.raises(PhonomagError, match="bulk crystal"):
        abinit_structure(spec, 18.0, str(tmp_path / "layer.cif"))


def test_the_documented_monolayer_passes_the_layer_check():
    from pathlib import Path

    from phonomag.cli.abinit_setup import abinit_structure
    from phonomag.crystal.materials import load_material

    spec = load_material(Path(__file__).resolve().parents[1] / "docs" / "examples" / "MoS2.toml")
    atoms = abinit_structure(spec, 18.0)
    assert atoms.cell[2, 2] == 18.0 and atoms.get_chemical_symbols() == ["Mo", "S", "S"]
