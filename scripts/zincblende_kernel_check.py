"""The 3D kernel on first-principles data: zincblende AlSb at tiny settings (docs/kernel.md, "A 3D crystal").

ABINIT DFPT with SOC (ecut 5 Ha, N×N×N k and q grid, N = 2 by default) at the irreducible q (for N = 2: Γ, L,
X), for N = 2 directly at X′ = (0, ½, ½), and off the grid at q = (¼, 0, 0) (half way from Γ to L; k + q run).
Prints the size of the reduced files, the unfolding error at X′, the kernel's error at its grid q, and the
kernel against the direct run off the grid (cell moments and fields). Runs (or reuses) everything in
--workdir (about 1 minute on one core for N = 2, 3 for N = 3).

    python scripts/zincblende_kernel_check.py [--workdir alsb-work] [--grid 2] [--field-factor 2]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
from ase.build import bulk

from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.abinit.engine import run_pattern_dfpt
from phonomag.engines.abinit.pattern_response import reduce_patterns
from phonomag.engines.abinit.tasks import FIELD_ECUT_FACTOR, KernelJob, compute_kernel_files
from phonomag.engines.kernel.engine import KernelEngine, ReducedGrid
from phonomag.engines.kernel.symmetry import fill_grid, space_group
from phonomag.io.abinit.inputs import AbinitSettings
from phonomag.io.netcdf import complex_from
from phonomag.response.band_limited import box_spectrum, grid_values

SETTINGS = AbinitSettings(ecut=5.0, kgrid=(2, 2, 2), spin_orbit=True, tolvrs_gs=1e-14, tolvrs_dfpt=1e-10)
OFF_GRID = np.array([0.25, 0.0, 0.0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("alsb-work"))
    parser.add_argument("--grid", type=int, default=2)
    parser.add_argument("--field-factor", type=float, default=FIELD_ECUT_FACTOR)
    args = parser.parse_args()
    atoms = bulk("AlSb", "zincblende", a=6.136)
    n = args.grid
    settings = dataclasses.replace(SETTINGS, kgrid=(n, n, n))
    field_ecut = args.field_factor * settings.ecut
    irreducible_q = tuple(irreducible_steps(atoms, (n, n, n)))
    steps = (*irreducible_q, *([(0, 1, 1)] if n == 2 else []))
    work = args.workdir / f"{n}x{n}x{n}"
    job = KernelJob(atoms, settings, steps, work / f"reduced_{field_ecut:g}", work / "runs", field_ecut=field_ecut)
    files = compute_kernel_files(job, progress=None)
    print("reduced files:", ", ".join(f"{f.name} {f.stat().st_size / 1e3:.0f} kB" for f in files),
          f"(E_f = {field_ecut:g} Ha)")
    grid, everything = ReducedGrid.read(files[:len(irreducible_q)]), ReducedGrid.read(files)
    if n == 2:
        irreducible = {s: everything.fields[s] for s in irreducible_q}
        unfolded = fill_grid(irreducible, grid.qgrid, space_group(atoms), atoms, everything.representation)
        direct = everything.fields[(0, 1, 1)]
        print(f"X′ = (0, ½, ½) unfolded from X against direct DFPT: "
              f"{np.abs(unfolded[(0, 1, 1)] - direct).max() / np.abs(direct).max():.1e} of the largest coefficient")
    engine = KernelEngine.from_irreducible(grid.fields, atoms, ["Al", "Sb"], grid.qgrid, grid.representation,
                                           grid.kgrid, "AlSb")
    layered, _ = grid.representation.kernel_layers(fill_grid(grid.fields, grid.qgrid, space_group(atoms), atoms,
                                                             grid.representation))
    exact = max(np.abs(engine.kernel.fields(np.array(s)[None] / n)[0] - f).max() / np.abs(f).max()
                for s, f in layered.items())
    print(f"kernel at its {n ** 3} grid q against the unfolded fields: {exact:.1e} of the largest value")
    runs = run_pattern_dfpt(atoms, settings, OFF_GRID, work / "runs", progress=False)
    data = reduce_patterns(runs.responses, atoms, OFF_GRID, runs.volume_bohr3, field_ecut, {})
    moments, kernel = complex_from(data["moment"]), engine.kernel.cell_integrals(OFF_GRID[None], None)[0]
    print(f"off the grid, q = {OFF_GRID.tolist()} (k + q run; DEN1 = 2 Tr N to {runs.charge_check:.1e}): "
          "cell moments, max |direct| and max |kernel − direct| over the 18 patterns")
    for a, name in enumerate(("n0", "Mx", "My", "Mz")):
        print(f"  {name}: {np.abs(moments[..., a]).max():.3e}  {np.abs(kernel[..., a] - moments[..., a]).max():.3e}")
    fields = grid_values(box_spectrum(complex_from(data["coefficient"]), data["gvector"].values,
                                      grid.representation.shape))
    kernel_fields = np.moveaxis(engine.kernel.fields(OFF_GRID[None])[0], 2, -1)
    errors = [np.linalg.norm(kernel_fields[:, :, a] - fields[:, :, a]) / np.linalg.norm(fields[:, :, a])
              for a in range(4)]
    print("  fields, ‖kernel − direct‖ / ‖direct‖ (n0, Mx, My, Mz): " + ", ".join(f"{e:.2f}" for e in errors))
    at = {s: np.abs(m[..., 1:]).max() for s, m in grid.moments.items()}
    print("  largest |M| of the cell moments at the irreducible q: " + ", ".join(f"{s} {v:.2e}" for s, v in at.items()))


if __name__ == "__main__":
    main()
