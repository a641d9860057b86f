"""Recompute the first-principles WSe₂ pattern responses that the response kernel is built from.

For every irreducible q of the Γ-centred 6×6 grid (space group and time reversal,
from spglib): ABINIT DFPT with spin–orbit coupling for the 9 atomic displacements,
eq. 1 from the first-order spinor wavefunctions, reduced to the unit Cartesian
patterns' z-integrated fields and their values on the W and Se planes
(:mod:`phonomag.engines.abinit.pattern_response`). One file per q,
``src/phonomag/data/response/WSe2_soc_dfpt/q_<n1>_<n2>_0.nc`` (≈2 MB), plus the DDB
files of the run. Settings as in docs/abinit.md: HGH LDA with SOC, ecut 20 Ha,
6×6 k grid, 18 Å cell, tolvrs 1e-12 (ground state) and 1e-8 (DFPT).

The work runs as Parsl tasks (:mod:`phonomag.engines.abinit.tasks`): on this machine by
default, on a cluster with ``--cluster run.toml`` (its ``[cluster]`` section, docs/cluster.md).
Resumable per q: a q whose file exists is skipped, and the ABINIT runs in --workdir
are reused (one ground state for all q). Commit each q's file as it appears; a new
machine continues with the q-points still missing. About 45 min per q and 10 min for
the ground state on 2 cores (needs abinit, scripts/install_abinit.sh).

    python scripts/wse2_response_kernel.py [--workdir DIR] [--nproc 2] [--q 2,2,0 ...] [--cluster run.toml]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from phonomag.cli.config import AbinitRunSpec, load_run_config
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.abinit.tasks import KernelJob, compute_kernel_files
from phonomag.engines.kernel.data import write_manifest

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


def checked_order(atoms) -> list[tuple[int, int, int]]:
    """ORDER, checked to hold exactly one q of every irreducible class of the 6×6 grid."""
    first = irreducible_steps(atoms, QGRID)
    if len(ORDER) != len(first) or set(ORDER) != set(first):
        raise RuntimeError(f"{ORDER} is not one q per irreducible class of the {QGRID} grid ({first})")
    return ORDER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("wse2_kernel_work"))
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--q", action="append", help="grid steps n1,n2,0 (default: every irreducible q)")
    parser.add_argument("--cluster", type=Path, help="a run configuration whose [cluster] section says where "
                        "the tasks run (docs/cluster.md); default: this machine")
    args = parser.parse_args()

    spec = AbinitRunSpec()
    atoms = production_atoms(spec)
    steps = [tuple(int(s) for s in q.split(",")) for q in args.q] if args.q else checked_order(atoms)
    cluster = load_run_config(args.cluster).cluster
    job = KernelJob(atoms, spec.settings(), tuple(steps), DATA, args.workdir.resolve(),
                    nproc=cluster.cores_per_task or args.nproc, launcher=cluster.launcher or spec.launcher,
                    attrs={"produced_by": "scripts/wse2_response_kernel.py"})
    for path in compute_kernel_files(job, cluster):
        print(f"{path.stem}: {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    print(f"checksums: {write_manifest(DATA)}")


if __name__ == "__main__":
    main()
