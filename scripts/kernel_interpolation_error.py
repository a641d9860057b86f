"""Measure the response kernel's interpolation error: on the tight-binding engine, and ab initio.

``tight-binding``: the tight-binding engine gives the unit patterns' fields at any q directly. A
kernel is built from its fields at the irreducible q of an N×N grid (unfolded by symmetry), and
the zero-point RMS n⁰, M∥ and M_z of every branch along Γ–M–K–Γ (cell moments from the
z-integrated fields) are compared with the direct values.

``dfpt``: from reduced DFPT files of a 2N×2N grid (default: the shipped WSe₂ data), a kernel
from the N×N sub-grid alone (its irreducible q: for WSe₂ Γ, (1/3, 0) and K) against the direct
DFPT values at every other q of the 2N×2N grid whose file exists (M, (1/6, 0), ...), modes
from the material's phonon model.

Printed per branch: the largest |RMS_kernel − RMS_direct| over the compared q divided by the
branch's largest direct RMS of that component there ("—" where the component vanishes by
symmetry on the whole branch: below 1e-8 of its largest value over all branches for the
tight-binding engine, below 1e-5 for DFPT, whose symmetry zeros carry the SCF noise, ~1e-7).

    python scripts/kernel_interpolation_error.py tight-binding [--grids 6 12] [--npoints 31] [--kgrid 24]
    python scripts/kernel_interpolation_error.py dfpt [--data FOLDER]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.base import PerQEngine, compute_mode_response
from phonomag.engines.kernel.engine import KernelEngine, ReducedGrid
from phonomag.engines.kernel.symmetry import PlaneLayers
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.phonons.model import PhononModel
from phonomag.response.modes import PatternResponse

LAYERS = (None,)
SHIPPED = Path(__file__).resolve().parents[1] / "src" / "phonomag" / "data" / "response" / "WSe2_soc_dfpt"
PARTS = {"n0": lambda d: d.rms[..., 0], "M_par": lambda d: d.m_parts[0], "M_z": lambda d: d.m_parts[1]}


class DirectFieldEngine(PerQEngine):
    """The tight-binding engine's cell moments from its own z-integrated pattern fields (the kernel's definition)."""

    name = "tight-binding fields"

    def __init__(self, engine: TightBindingEngine, points: int, heights: int):
        self.engine, self.points, self.heights = engine, points, heights
        self.atoms, self.atom_labels, self.kgrid = engine.atoms, engine.atom_labels, engine.kgrid

    def provenance(self):
        return self.engine.provenance()

    def fields(self, q):
        return self.engine.pattern_fields(np.asarray(q, float), LAYERS, self.points, integral_heights=self.heights)

    def pattern_response(self, q, kind="one-sided", energy_ev=0.0):
        area = abs(np.linalg.det(self.atoms.cell.array[:2, :2]))
        moments = self.fields(q)[:, :, 0].mean(axis=(-2, -1)) * area
        return PatternResponse(np.asarray(q, float), kind, moments[:, :, None, :], ("cell",))


class ReducedFileEngine(PerQEngine):
    """Cell moments straight from reduced DFPT files, at their own q-points only (the direct values)."""

    name = "DFPT (reduced files)"

    def __init__(self, grid: ReducedGrid, atom_labels):
        self.grid, self.atoms, self.atom_labels, self.kgrid = grid, grid.atoms, atom_labels, grid.kgrid

    def provenance(self):
        return {"engine": self.grid.attrs.get("engine", "DFPT")}

    def pattern_response(self, q, kind="one-sided", energy_ev=0.0):
        steps = tuple(int(n) for n in np.rint(np.asarray(q) * self.grid.qgrid) % self.grid.qgrid)
        if steps not in self.grid.fields:
            raise ValueError(f"no reduced file for q = {q}")
        return PatternResponse(np.asarray(q, float), kind, self.grid.cell_integrals(steps)[:, :, None, :], ("cell",))


def print_errors(direct, data, nbranches: int, zero: float) -> None:
    """Per branch and component: max |ΔRMS| / max RMS of the branch (over the q of ``direct``); "—" where the
    component is below ``zero`` times its largest value over all branches (forbidden by symmetry)."""
    print("  ν   " + "  ".join(f"{name:>8s}" for name in PARTS))
    for nu in range(nbranches):
        errors = []
        for get in PARTS.values():
            reference = get(direct)[:, nu]
            scale = np.abs(reference).max()
            if scale <= zero * np.abs(get(direct)).max():
                errors.append(f"{'—':>8s}")
            else:
                errors.append(f"{np.abs(get(data)[:, nu] - reference).max() / scale:8.2e}")
        print(f"  {nu}   " + "  ".join(errors))


def tight_binding(args) -> None:
    spec = load_material("WSe2")
    a, c = spec.atoms.cell[0, 0], spec.atoms.cell[2, 2]
    fractional = spec.atoms.get_scaled_positions(wrap=False)
    spec.atoms.set_cell([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])  # exactly hexagonal
    spec.atoms.set_scaled_positions(fractional)
    engine = TightBindingEngine.from_material(spec, (args.kgrid, args.kgrid, 1))
    direct_engine = DirectFieldEngine(engine, args.points, args.heights)
    qpoints, *_ = path_from_labels(spec.atoms.cell, ("G", "M", "K", "G"), npoints=args.npoints)
    modes = PhononModel.from_material(spec).modes(qpoints)
    start = time.perf_counter()
    direct = compute_mode_response(direct_engine, modes, progress=False)
    print(f"direct: {len(qpoints)} q along Γ–M–K–Γ, k grid {args.kgrid}×{args.kgrid}, fields {args.points}² × "
          f"{args.heights} heights ({time.perf_counter() - start:.0f} s)")
    for n in args.grids:
        start = time.perf_counter()
        irreducible = {s: direct_engine.fields([s[0] / n, s[1] / n, 0])
                       for s in irreducible_steps(spec.atoms, (n, n, 1))}
        kernel = KernelEngine.from_irreducible(irreducible, engine.atoms, engine.atom_labels, (n, n, 1),
                                               PlaneLayers(LAYERS, engine.atoms), engine.kgrid,
                                               f"tight-binding {n}×{n}")
        data = compute_mode_response(kernel, modes, progress=False)
        print(f"kernel from the {n}×{n} grid ({len(irreducible)} irreducible q, {time.perf_counter() - start:.0f} s):"
              " max |ΔRMS| / max RMS of the branch")
        print_errors(direct, data, modes.frequencies.shape[1], 1e-8)


def dfpt(args) -> None:
    spec = load_material("WSe2")
    grid = ReducedGrid.read(sorted(Path(args.data).glob("q_*.nc")))
    if any(n % 2 for n in grid.qgrid[:2]) or grid.qgrid[2] != 1:
        raise SystemExit(f"the {grid.qgrid} grid of a layer has no N/2 sub-grid")
    half = (grid.qgrid[0] // 2, grid.qgrid[1] // 2, 1)
    sub = {(m1 // 2, m2 // 2, 0): f for (m1, m2, _), f in grid.fields.items() if m1 % 2 == 0 and m2 % 2 == 0}
    tests = sorted(steps for steps in grid.fields if steps[0] % 2 or steps[1] % 2)
    if not tests:
        raise SystemExit(f"{args.data} has no q of the {grid.qgrid} grid off its {half} sub-grid to compare with")
    kernel = KernelEngine.from_irreducible(sub, grid.atoms, spec.labels, half, grid.representation, grid.kgrid,
                                           f"{len(sub)} q of the {half} sub-grid")
    kernel.check_structure(spec.atoms)
    own = sorted(steps for steps in grid.fields if steps[0] % 2 == 0 and steps[1] % 2 == 0)
    at_own = kernel.pattern_responses(np.array([[m1 / grid.qgrid[0], m2 / grid.qgrid[1], 0.0] for m1, m2, _ in own]),
                                      progress=False)
    exact = max(np.abs(r.tensor[:, :, 0] - grid.cell_integrals(s)).max() / np.abs(grid.cell_integrals(s)).max()
                for r, s in zip(at_own, own, strict=False))
    print(f"the sub-grid kernel at its own q {own}: max |kernel − direct| / max |direct| = {exact:.1e}")
    qpoints = np.array([[m1 / grid.qgrid[0], m2 / grid.qgrid[1], 0.0] for m1, m2, _ in tests])
    modes = PhononModel.from_material(spec).modes(qpoints)
    direct = compute_mode_response(ReducedFileEngine(grid, spec.labels), modes, progress=False)
    data = compute_mode_response(kernel, modes, progress=False)
    print(f"kernel from the {half[0]}×{half[1]} sub-grid ({sorted(sub)}) against the direct DFPT values at the "
          f"{grid.qgrid[0]}×{grid.qgrid[1]} grid steps {tests}")
    for i, steps in enumerate(tests):
        print(f"q = {steps}: zero-point RMS (electrons per cell), direct → kernel, per branch")
        for nu in range(modes.frequencies.shape[1]):
            pairs = [f"{name} {get(direct)[i, nu]:.3e} → {get(data)[i, nu]:.3e}" for name, get in PARTS.items()]
            print(f"  ν{nu} ({modes.frequencies[i, nu]:6.2f} meV)  " + "   ".join(pairs))
    print("max |ΔRMS| / max RMS of the branch over these q (\"—\": below 1e-5 of the component's largest value, "
          "zero by symmetry up to the SCF noise):")
    print_errors(direct, data, modes.frequencies.shape[1], 1e-5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tb = commands.add_parser("tight-binding", help="kernel vs direct sums of the tight-binding engine along the path")
    tb.add_argument("--grids", type=int, nargs="+", default=[6, 12])
    tb.add_argument("--npoints", type=int, default=31)
    tb.add_argument("--kgrid", type=int, default=24)
    tb.add_argument("--points", type=int, default=12, help="in-plane field grid per cell edge")
    tb.add_argument("--heights", type=int, default=32, help="heights of the z integral")
    ab = commands.add_parser("dfpt", help="kernel of the N×N sub-grid vs direct DFPT at the other 2N×2N points")
    ab.add_argument("--data", type=Path, default=SHIPPED, help="folder of reduced DFPT files q_*.nc")
    args = parser.parse_args()
    {"tight-binding": tight_binding, "dfpt": dfpt}[args.command](args)


if __name__ == "__main__":
    main()
