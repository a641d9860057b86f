"""Measure the response kernel's interpolation error on the tight-binding engine along Γ–M–K–Γ.

The tight-binding engine gives the unit patterns' fields at any q directly. A kernel is
built from its fields at the irreducible q of an N×N grid (unfolded by symmetry), and the
zero-point RMS n⁰, M∥ and M_z of every branch along the path (cell moments from the
z-integrated fields) are compared with the direct values. Printed per grid and branch: the
largest |RMS_kernel − RMS_direct| along the path divided by the branch's largest direct RMS
of that component ("—" where the component vanishes by symmetry on the whole branch: below
1e-8 of its largest value over all branches).

    python scripts/kernel_interpolation_error.py [--grids 6 12] [--npoints 31] [--kgrid 24]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import spglib

from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.engines.base import PerQEngine, compute_mode_response
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.phonons.model import PhononModel
from phonomag.response.modes import PatternResponse

LAYERS = (None,)


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


def irreducible_steps(atoms, n: int) -> list[tuple[int, int]]:
    mapping, grid = spglib.get_ir_reciprocal_mesh((n, n, 1), (atoms.cell.array, atoms.get_scaled_positions(),
                                                               atoms.numbers), is_shift=[0, 0, 0])
    return [tuple(int(v) % n for v in grid[i][:2]) for i in np.unique(mapping)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[6, 12])
    parser.add_argument("--npoints", type=int, default=31)
    parser.add_argument("--kgrid", type=int, default=24)
    parser.add_argument("--points", type=int, default=12, help="in-plane field grid per cell edge")
    parser.add_argument("--heights", type=int, default=32, help="heights of the z integral")
    args = parser.parse_args()

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
    parts = {"n0": lambda d: d.rms[..., 0], "M_par": lambda d: d.in_plane, "M_z": lambda d: d.out_of_plane}
    for n in args.grids:
        start = time.perf_counter()
        irreducible = {s: direct_engine.fields([s[0] / n, s[1] / n, 0]) for s in irreducible_steps(spec.atoms, n)}
        kernel = KernelEngine.from_irreducible(irreducible, engine.atoms, engine.atom_labels, (n, n), LAYERS,
                                               engine.kgrid, f"tight-binding {n}×{n}")
        data = compute_mode_response(kernel, modes, progress=False)
        print(f"kernel from the {n}×{n} grid ({len(irreducible)} irreducible q, {time.perf_counter() - start:.0f} s):"
              " max |ΔRMS| / max RMS of the branch")
        print("  ν   " + "  ".join(f"{name:>8s}" for name in parts))
        for nu in range(modes.frequencies.shape[1]):
            errors = []
            for get in parts.values():
                reference = get(direct)[:, nu]
                scale = np.abs(reference).max()
                if scale <= 1e-8 * np.abs(get(direct)).max():
                    errors.append(f"{'—':>8s}")
                else:
                    errors.append(f"{np.abs(get(data)[:, nu] - reference).max() / scale:8.2e}")
            print(f"  {nu}   " + "  ".join(errors))


if __name__ == "__main__":
    main()
