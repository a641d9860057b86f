"""The long-range part of a polar crystal's kernel on first-principles data: zincblende AlSb at small settings
(docs/kernel.md, "Polar crystals").

ABINIT DFPT with SOC (ecut 5 Ha, K×K×K k grid, K = 4 by default) at the irreducible q of an N×N×N q grid
(N = 2: Γ, L, X), the response to a uniform electric field with the Born charges and ε∞ (d/dk + field
perturbation at Γ), and directly at small q along two directions into Γ: (δ, 0, 0) (along b₁, Cartesian
[1̄11]) and (δ, δ, 0) (along b₁ + b₂, Cartesian [001]). Prints, for each small q, the largest cell moment of
the direct run and the kernel's error with and without the long-range part (docs/physics.md §12). Runs (or
reuses) everything in --workdir (about 10 minutes on one core).

    python scripts/polar_kernel_check.py [--workdir polar-work] [--kgrid 4] [--qgrid 2] [--delta 0.05 0.1]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

import numpy as np
from ase.build import bulk

from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.abinit.engine import run_pattern_dfpt
from phonomag.engines.abinit.pattern_response import reduce_patterns
from phonomag.engines.abinit.tasks import FIELD_ECUT_FACTOR, KernelJob, compute_kernel_files, file_attrs
from phonomag.engines.kernel.engine import KernelEngine, ReducedGrid
from phonomag.io.abinit.inputs import AbinitSettings
from phonomag.io.netcdf import complex_from, write_dataset
from phonomag.response.band_limited import box_spectrum, grid_values

SETTINGS = AbinitSettings(ecut=5.0, kgrid=(4, 4, 4), spin_orbit=True, tolvrs_gs=1e-14, tolvrs_dfpt=1e-10)
DIRECTIONS = {"(δ,0,0) ∥ [-111]": np.array([1.0, 0.0, 0.0]), "(δ,δ,0) ∥ [001]": np.array([1.0, 1.0, 0.0])}


def polar_kernel_folder(workdir: Path, kgrid: int = 4, qgrid: int = 2, settings: AbinitSettings = SETTINGS):
    """(atoms, settings, folder of the reduced files and the field file, runs folder): ABINIT runs reused. The q
    files as the kernel tasks write them (:func:`~phonomag.engines.abinit.tasks.reduce_task`), on an N×N×N q grid
    coarser than the k grid; the field file by the kernel tasks themselves."""
    atoms = bulk("AlSb", "zincblende", a=6.1355)
    settings = dataclasses.replace(settings, kgrid=(kgrid,) * 3)
    runs, folder = Path(workdir) / "runs", Path(workdir) / f"kernel_{qgrid}"
    job = KernelJob(atoms, settings, (), folder, runs, field_response=True)
    for steps in irreducible_steps(atoms, (qgrid,) * 3):
        q = np.array(steps, float) / qgrid
        target = folder / f"q_{'_'.join(map(str, steps))}.nc"
        if not target.is_file():
            run = run_pattern_dfpt(atoms, settings, q, runs, progress=False)
            folder.mkdir(parents=True, exist_ok=True)
            for n, ddb in enumerate(run.ddb_files, start=1):
                shutil.copyfile(ddb, target.with_name(f"{target.stem}_part{n}_DDB"))
            attrs = {**file_attrs(job, run.charge_check, run.digest), "qgrid": [qgrid] * 3}
            write_dataset(reduce_patterns(run.responses, atoms, q, run.volume_bohr3, job.field_ecut_hartree, attrs),
                          target)
    compute_kernel_files(job, progress=None)  # the field run and dielectric.nc
    return atoms, settings, folder, runs


def small_q_errors(workdir: Path, kgrid: int, qgrid: int, deltas) -> list[tuple]:
    """[(direction, δ, quantity, max |direct|, error with the long-range part, without)] at each small q: the cell
    moments of the 18 unit patterns (n⁰ and M; max over patterns and components) and their fields on the kernel's
    box (‖kernel − direct‖ / ‖direct‖ over all patterns, n⁰ and M)."""
    atoms, settings, folder, runs = polar_kernel_folder(workdir, kgrid, qgrid)
    polar = KernelEngine.from_reduced_files(folder, ["Al", "Sb"])
    grid = ReducedGrid.read(sorted(folder.glob("q_*.nc")))
    plain = KernelEngine.from_irreducible(grid.fields, grid.atoms, ["Al", "Sb"], grid.qgrid, grid.representation,
                                          grid.kgrid, "AlSb without the long-range part")
    rows = []
    for name, direction in DIRECTIONS.items():
        for delta in deltas:
            q = delta * direction
            run = run_pattern_dfpt(atoms, settings, q, runs, progress=False)
            reduced = reduce_patterns(run.responses, atoms, q, run.volume_bohr3, FIELD_ECUT_FACTOR * settings.ecut, {})
            direct = complex_from(reduced["moment"])
            fields = grid_values(box_spectrum(complex_from(reduced["coefficient"]), reduced["gvector"].values,
                                              grid.representation.shape))  # (κ, β, 4, n1, n2, n3)
            for part, components in (("n0", slice(0, 1)), ("M", slice(1, 4))):
                scale = np.abs(direct[..., components]).max()
                errors = [np.abs(engine.kernel.cell_integrals(q[None], None)[0][..., components]
                                 - direct[..., components]).max() for engine in (polar, plain)]
                rows.append((name, delta, f"cell {part}", scale, *errors))
                norm = np.linalg.norm(fields[:, :, components])
                errors = [np.linalg.norm(np.moveaxis(engine.kernel.fields(q[None])[0], 2, -1)[:, :, components]
                                         - fields[:, :, components]) for engine in (polar, plain)]
                rows.append((name, delta, f"field {part}", norm, *errors))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("polar-work"))
    parser.add_argument("--kgrid", type=int, default=4)
    parser.add_argument("--qgrid", type=int, default=2)
    parser.add_argument("--delta", type=float, nargs="+", default=[0.05, 0.1])
    args = parser.parse_args()
    print(f"AlSb, ecut {SETTINGS.ecut:g} Ha, {args.kgrid}³ k, kernel from the {args.qgrid}³ q grid. Cell moments of "
          "the 18 unit patterns (electrons per cell per Å): max |direct| and max |error|; fields on the box: "
          "‖direct‖ and ‖error‖ over all patterns")
    print("direction         δ      quantity    size        error with long range    error without")
    for name, delta, quantity, scale, with_lr, without in small_q_errors(args.workdir, args.kgrid, args.qgrid,
                                                                          args.delta):
        print(f"{name:17s} {delta:5.3f}  {quantity:10s}  {scale:.3e}   {with_lr:.3e} ({with_lr / scale:6.1%})"
              f"       {without:.3e} ({without / scale:6.1%})")

if __name__ == "__main__":
    main()
