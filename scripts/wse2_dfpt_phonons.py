"""Recompute the built-in WSe2 phonons from first principles (ABINIT DFPT, LDA).

Writes the DDB files that data/materials/WSe2.toml reads ([phonons] source =
"abinit-ddb"): ground state and DFPT at the 7 irreducible q-points of the
Γ-centred 6×6 grid, for the structure of WSe2.toml (a = 3.251866 Å) with 18 Å
of vacuum, after relaxing the Se height at fixed cell (printed at the end: it is
the height WSe2.toml uses). Settings: HGH LDA pseudopotentials (W with 5s5p
semicore, 14 electrons; Se 6), ecut 25 Ha, no SOC (SOC changes WSe2 phonon
frequencies by well under 1 %), k grid 12×12 for the relaxation and 6×6 for
DFPT, tolvrs 1e-8 for the first-order potentials.

Needs abinit (scripts/install_abinit.sh). About 45 min on 2 cores.

    python scripts/wse2_dfpt_phonons.py [--workdir DIR] [--nproc 2]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import spglib

from phonomag.crystal.materials import load_material
from phonomag.io.abinit.inputs import AbinitSettings, phonon_input, relax_input
from phonomag.io.abinit.runner import run_abinit

DATA = Path(__file__).resolve().parents[1] / "src" / "phonomag" / "data" / "phonons" / "WSe2_lda_dfpt"
QGRID = (6, 6, 1)
VACUUM_CELL = 18.0  # Å


def relaxed_heights(abo: Path) -> np.ndarray:
    """Final reduced xred from a relaxation's .abo (last 'xred' block of the output variables)."""
    lines = abo.read_text().splitlines()
    start = max(i for i, line in enumerate(lines) if line.strip().startswith("xred"))
    values = lines[start].split()[1:] + lines[start + 1].split() + lines[start + 2].split()
    return np.array([float(v.replace("D", "E")) for v in values]).reshape(3, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("wse2_dfpt_work"))
    parser.add_argument("--nproc", type=int, default=2)
    args = parser.parse_args()

    atoms = load_material("WSe2").atoms.copy()
    cell = atoms.cell.array.copy()
    cell[2] = [0.0, 0.0, VACUUM_CELL]
    atoms.set_cell(cell, scale_atoms=False)

    relax = AbinitSettings(kgrid=(12, 12, 1), tolvrs_gs=1e-14)
    run_abinit(relax_input(atoms, relax), args.workdir, "relax", nproc=args.nproc)
    atoms.set_scaled_positions(relaxed_heights(args.workdir / "relax.abo"))

    frac = atoms.get_scaled_positions(wrap=False)
    mapping, grid = spglib.get_ir_reciprocal_mesh(QGRID, (atoms.cell.array, frac, atoms.numbers),
                                                  is_shift=[0, 0, 0])
    qpoints = grid[np.unique(mapping)] / np.array(QGRID)
    dfpt = AbinitSettings(kgrid=(6, 6, 1))
    run_abinit(phonon_input(atoms, dfpt, qpoints), args.workdir, "phonons", nproc=args.nproc,
               datasets=1 + len(qpoints))

    DATA.mkdir(parents=True, exist_ok=True)
    for n in range(2, 2 + len(qpoints)):
        shutil.copyfile(args.workdir / f"phononso_DS{n}_DDB", DATA / f"q{n - 1}_DDB")
    print(f"wrote {len(qpoints)} DDB files to {DATA}")
    print(f"relaxed Se heights: {np.round(atoms.positions[1:, 2], 6).tolist()} Å")


if __name__ == "__main__":
    main()
