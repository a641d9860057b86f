"""Recompute the first-principles WSe₂ pattern responses that the response kernel is built from.

For every irreducible q of the Γ-centred 6×6 grid (space group and time reversal,
from spglib): ABINIT DFPT with spin–orbit coupling for the 9 atomic displacements,
eq. 1 from the first-order spinor wavefunctions, reduced to the unit Cartesian
patterns' z-integrated fields and their values on the W and Se planes
(:mod:`phonomag.engines.abinit.pattern_response`). One file per q,
``src/phonomag/data/response/WSe2_soc_dfpt/q_<n1>_<n2>_0.nc`` (≈2 MB), plus the DDB
files of the run. Settings as in docs/abinit.md: HGH LDA with SOC, ecut 20 Ha,
6×6 k grid, 18 Å cell, tolvrs 1e-12 (ground state) and 1e-8 (DFPT).

Resumable per q: a q whose file exists is skipped, and the ABINIT runs in --workdir
are reused (one ground state for all q). Commit each q's file as it appears; a new
machine continues with the q-points still missing. About 45 min per q and 10 min for
the ground state on 2 cores (needs abinit, scripts/install_abinit.sh).

    python scripts/wse2_response_kernel.py [--workdir DIR] [--nproc 2] [--q 2,2,0 ...]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import spglib

from phonomag.engines.abinit.engine import qpoint_folder, run_pattern_dfpt
from phonomag.engines.abinit.pattern_response import reduce_patterns
from phonomag.io.abinit.runner import abinit_version
from phonomag.cli.config import AbinitRunSpec
from phonomag.crystal.materials import load_material
from phonomag.io.netcdf import write_dataset

DATA = Path(__file__).resolve().parents[1] / "src" / "phonomag" / "data" / "response" / "WSe2_soc_dfpt"
QGRID = (6, 6, 1)
#: The 3×3 sub-grid's irreducible points first (its kernel is the interpolation test), then the rest.
ORDER = [(2, 2, 0), (2, 0, 0), (0, 0, 0), (3, 0, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0)]


def production_atoms(spec: AbinitRunSpec):
    """WSe₂ of the built-in material in a cell of length ``spec.vacuum`` along z (W at z = 0)."""
    atoms = load_material("WSe2").atoms.copy()
    cell = atoms.cell.array.copy()
    cell[2] = [0.0, 0.0, spec.vacuum]
    atoms.set_cell(cell, scale_atoms=False)
    return atoms


def irreducible_steps(atoms) -> list[tuple[int, int, int]]:
    """ORDER, checked to hold exactly one q of every irreducible class of the 6×6 grid (spglib)."""
    mapping, grid = spglib.get_ir_reciprocal_mesh(QGRID, (atoms.cell.array, atoms.get_scaled_positions(wrap=False),
                                                          atoms.numbers), is_shift=[0, 0, 0])
    index = {tuple(int(n) % g for n, g in zip(point, QGRID)): i for i, point in enumerate(grid)}
    classes = [mapping[index[step]] for step in ORDER]
    if sorted(classes) != sorted(set(np.unique(mapping))):
        raise RuntimeError(f"{ORDER} is not one q per irreducible class of the {QGRID} grid")
    return ORDER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("wse2_kernel_work"))
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--q", action="append", help="grid steps n1,n2,0 (default: every irreducible q)")
    args = parser.parse_args()

    spec = AbinitRunSpec()
    settings = spec.settings()
    atoms = production_atoms(spec)
    steps = [tuple(int(s) for s in q.split(",")) for q in args.q] if args.q else irreducible_steps(atoms)
    heights = [0.0, *sorted(set(np.round(atoms.positions[1:, 2], 12)))]  # W plane, Se planes
    DATA.mkdir(parents=True, exist_ok=True)
    for step in steps:
        q = np.array(step, float) / np.array(QGRID)
        name = qpoint_folder(q, settings)
        target = DATA / f"{name}.nc"
        if target.is_file():
            print(f"{name}: {target} exists, skipped")
            continue
        start = time.time()
        run = run_pattern_dfpt(atoms, settings, q, args.workdir.resolve(), nproc=args.nproc)
        data = reduce_patterns(run.responses, atoms, q, run.volume_bohr3, heights, {
            "engine": f"ABINIT {abinit_version()} DFPT with SOC + eq. 1 (phonomag)",
            "ecut_hartree": settings.ecut, "kgrid": list(settings.kgrid), "qgrid": list(QGRID),
            "pseudopotentials": ", ".join(settings.pseudos[s] for s in dict.fromkeys(atoms.get_chemical_symbols())),
            "tolvrs_ground_state": settings.tolvrs_gs, "tolvrs_dfpt": settings.tolvrs_dfpt,
            "charge_check": run.charge_check, "inputs_digest": run.digest,
            "produced_by": "scripts/wse2_response_kernel.py"})
        write_dataset(data, target)
        for n, ddb in enumerate(run.ddb_files, start=1):
            shutil.copyfile(ddb, DATA / f"{name}_part{n}_DDB")
        print(f"{name}: wrote {target} ({target.stat().st_size / 1e6:.1f} MB), DEN1 = 2 Tr N to "
              f"{run.charge_check:.1e}, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
