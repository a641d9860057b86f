"""Polar crystals from first principles (docs/physics.md §12), zincblende AlSb at small settings with ABINIT:

- the Born charges and ε∞ read from the field run's DDB against anaddb's own output for that DDB, with charge
  neutrality imposed as anaddb does (chneut 1), and the raw violation of Σ_κ Z*_κ = 0 stated;
- the LO–TO splitting at Γ of the DDB phonons against anaddb's;
- (slow) the kernel with the long-range part against direct DFPT at small q along two directions into Γ, and
  the same kernel without it failing that check (the control).

ecut 5 Ha; the first two from one field run (3×3×3 k, about a minute on one core), the slow one from the runs of
scripts/polar_kernel_check.py (4×4×4 k, 2×2×2 q grid; about 10 minutes).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from phonomag.io.abinit.ddb import read_dielectric

pytestmark = pytest.mark.skipif(shutil.which("abinit") is None or shutil.which("anaddb") is None,
                                reason="needs ABINIT and anaddb (sh scripts/install_abinit.sh)")

ROOT = Path(__file__).resolve().parents[1]
THZ_TO_CM = 33.35641  # cm⁻¹ per THz


def _script():
    spec = importlib.util.spec_from_file_location("polar_kernel_check", ROOT / "scripts" / "polar_kernel_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def field_ddb(tmp_path_factory):
    """(atoms, the DDB of the field run: Γ phonons, Z* and ε∞), ecut 5 Ha, 3×3×3 k: a ground state and one run."""
    from ase.build import bulk

    from phonomag.engines.abinit.engine import FIELD_FOLDER, run_field_dfpt, run_ground_state

    script = _script()
    work = tmp_path_factory.mktemp("field")
    atoms = bulk("AlSb", "zincblende", a=6.1355)
    settings = dataclasses.replace(script.SETTINGS, kgrid=(3, 3, 3))
    wfk = run_ground_state(atoms, settings, work, progress=False)
    run_field_dfpt(atoms, settings, work, wfk, progress=False)
    return atoms, next((work / FIELD_FOLDER).glob("fieldo*_DS2_DDB"))


def _anaddb(ddb: Path, folder: Path, direction) -> str:
    """anaddb's output for ``ddb``: Born charges and ε∞ (dieflag 1, chneut 1) and the Γ frequencies with the
    non-analytic term along the Cartesian ``direction`` (nph2l, the last entry 0: a direction, not a q)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "anaddb.in").write_text(
        "ifcflag 0\ndieflag 1\nchneut 1\nasr 1\nnph1l 1\nqph1l 0 0 0 1\nnph2l 1\n"
        f"qph2l {direction[0]} {direction[1]} {direction[2]} 0\n")
    (folder / "anaddb.files").write_text(f"anaddb.in\nanaddb.out\n{ddb}\ndummy_band\ndummy_gkk\ndummy_eph\ndummy_ddk\n")
    with open(folder / "anaddb.files") as stdin:
        subprocess.run(["anaddb"], stdin=stdin, cwd=folder, check=True, capture_output=True, timeout=300)
    return (folder / "anaddb.out").read_text()


def _anaddb_dielectric(text: str, natom: int):
    """(ε∞ (3, 3), Z* (natom, 3, 3) Z*_{κ,βα}, β the field) from anaddb's Cartesian printouts ("Electronic
    dielectric tensor"; "Effective charge tensors after imposition of the charge neutrality": rows atom,
    displacement α, then the three field directions β)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Electronic dielectric tensor" in line)
    epsilon = np.array([[float(x) for x in lines[start + 1 + r].split()] for r in range(3)])
    start = next(i for i, line in enumerate(lines) if "Effective charge tensors after" in line)
    born = np.zeros((natom, 3, 3))
    rows = [line.split() for line in lines[start + 4:start + 4 + 3 * natom]]
    for words in rows:
        atom, displacement = int(words[0]) - 1, int(words[1]) - 1
        born[atom, :, displacement] = [float(x) for x in words[2:5]]
    return epsilon, born


def _anaddb_gamma_frequencies(text: str) -> list[np.ndarray]:
    """The Γ frequencies (cm⁻¹) of each "Phonon frequencies in cm-1" block: without (nph1l), then with the
    non-analytic term (nph2l)."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if "Phonon frequencies in cm-1" in line:
            values = []
            for row in lines[i + 1:]:
                if not row.startswith("-"):
                    break
                values += [float(x) for x in row[1:].split()]
            blocks.append(np.array(values))
    return blocks


def test_born_charges_and_epsilon_as_anaddb(field_ddb, tmp_path):
    atoms, ddb = field_ddb
    raw = read_dielectric(ddb)
    assert raw is not None
    violation = raw.neutrality_violation()
    print(f"raw Σ_κ Z*_κ = {np.round(np.diag(violation), 4).tolist()} e (diagonal)")
    neutral = raw.charge_neutral()
    assert np.abs(neutral.born.sum(axis=0)).max() < 1e-12
    epsilon, born = _anaddb_dielectric(_anaddb(ddb, tmp_path / "anaddb", [1, 0, 0]), len(atoms))
    print(f"ε∞ {neutral.epsilon[0, 0]:.6f} (anaddb {epsilon[0, 0]:.6f}); Z*(Al) {neutral.born[0, 0, 0]:.6f} "
          f"(anaddb {born[0, 0, 0]:.6f})")
    assert epsilon[0, 0] > 2 and born[0, 0, 0] > 0.5  # an insulator, the cation positive
    assert np.abs(neutral.epsilon - epsilon).max() < 1e-5 * epsilon[0, 0]
    assert np.abs(neutral.born - born).max() < 1e-5 * abs(born[0, 0, 0])
    # the control: without the neutrality correction the charges are not anaddb's
    assert np.abs(raw.born - born).max() > 1e3 * np.abs(neutral.born - born).max()


def test_lo_to_splitting_as_anaddb(field_ddb, tmp_path):
    """Γ frequencies of the DDB phonons (phonopy, the NAC set from the same DDB) along [100] and [111] against
    anaddb's, and the TO modes without the non-analytic term."""
    from phonomag.phonons.model import build_phonon_model

    atoms, ddb = field_ddb
    model = build_phonon_model(atoms, {"source": "abinit-ddb", "ddb": ddb.name, "qgrid": [1, 1, 1]}, ddb.parent)
    assert "LO–TO" in model.description
    for cartesian in ([1, 0, 0], [1, 1, 1]):
        model.phonopy.run_qpoints([[0, 0, 0]], nac_q_direction=atoms.cell.array @ np.array(cartesian, float))
        ours = np.sort(model.phonopy.get_qpoints_dict()["frequencies"][0]) * THZ_TO_CM
        without, with_nac = _anaddb_gamma_frequencies(_anaddb(ddb, tmp_path / f"anaddb{cartesian}", cartesian))[:2]
        anaddb, transverse = np.sort(with_nac)[3:], np.sort(without)[3:]
        print(f"Γ along {cartesian}, cm⁻¹: phonomag {np.round(ours[3:], 3).tolist()}, anaddb "
              f"{np.round(anaddb, 3).tolist()}; without NAC {np.round(transverse, 3).tolist()}")
        assert anaddb[-1] - anaddb[-2] > 5.0  # a visible LO–TO splitting
        assert np.abs(ours[3:] - anaddb).max() < 0.05


@pytest.mark.slow
def test_kernel_long_range_part_against_direct_dfpt_into_gamma(tmp_path):
    """At q = 0.05 b₁ and 0.05 (b₁ + b₂) (Cartesian [1̄11] and [001]) the kernel with the long-range part is closer
    to direct DFPT than without it, for the fields of n⁰ and M (the direction-dependent jump at Γ); without it
    (the control) the error is larger."""
    rows = _script().small_q_errors(tmp_path, 4, 2, [0.05])
    fields = [row for row in rows if row[2].startswith("field")]
    for name, delta, quantity, size, with_lr, without in fields:
        print(f"{name} δ = {delta}: {quantity} error {with_lr / size:.1%} with the long-range part, "
              f"{without / size:.1%} without")
        assert with_lr < 0.75 * without
