"""Benchmark: Fig. 3 data (every mode along Γ–M–K–Γ) from a response kernel of the WSe₂ production size.

The kernel has the dimensions of the first-principles WSe₂ data: 3 atoms, ABINIT's 27×27
in-plane FFT grid, the z integral and three planes, a 6×6 q grid (7 irreducible q unfolded
by symmetry). Its values are random (the timing does not depend on them; the physics is tested
in tests/test_kernel_*.py), or, with ``--data FOLDER``, the reduced DFPT files of FOLDER (e.g. the
shipped src/phonomag/data/response/WSe2_soc_dfpt, reading included in the build time). Printed: the
time to build the kernel, the time and throughput of the response of every mode at every q, and
the ratio of the estimated arithmetic to the machine's measured complex matmul peak.

    python benchmarks/kernel_benchmark.py [--npoints 301] [--repeat 3] [--data FOLDER]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from peak import matmul_peak
from threadpoolctl import threadpool_limits

from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.engines.base import compute_mode_response
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.engines.kernel.symmetry import PlaneLayers
from phonomag.phonons.model import PhononModel

IRREDUCIBLE = [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (1, 1, 0), (2, 1, 0), (2, 2, 0)]
GRID = 27
LAYERS = (None, 0.0, 1.665697, -1.665697)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npoints", type=int, default=301)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, help="folder of reduced DFPT files q_*.nc (default: random data)")
    args = parser.parse_args()

    spec = load_material("WSe2")
    if args.data:
        start = time.perf_counter()
        engine = KernelEngine.from_reduced_files(args.data, spec.labels)
    else:
        rng = np.random.default_rng(1)
        shape = (3, 3, len(LAYERS), 4, GRID, GRID)
        irreducible = {s: rng.normal(size=shape) + 1j * rng.normal(size=shape) for s in IRREDUCIBLE}
        start = time.perf_counter()
        engine = KernelEngine.from_irreducible(irreducible, spec.atoms, spec.labels, (6, 6, 1),
                                               PlaneLayers(LAYERS, spec.atoms), (6, 6, 1),
                                               "random data of the production size")
    build = time.perf_counter() - start
    qpoints, *_ = path_from_labels(spec.crystal, npoints=args.npoints)
    modes = PhononModel.from_material(spec).modes(qpoints)
    best = np.inf
    for _ in range(args.repeat):
        start = time.perf_counter()
        data = compute_mode_response(engine, modes, progress=False)
        best = min(best, time.perf_counter() - start)
    n_q, n_modes = data.frequencies.shape
    images = sum(len(table) for table in engine.kernel.lattice)
    n_layers, grid = len(engine.kernel.layers), engine.kernel.weighted[0].shape[-1]
    flops = (
        n_q * images * 3 * 4 * grid**2 * 8
    )  # the z-integral layer's phase-weighted sum over the WS images (complex MAC)
    peak = matmul_peak()
    with threadpool_limits(limits=1, user_api="blas"):
        peak_one = matmul_peak()
    n1, n2 = engine.kernel.qgrid
    print(f"kernel ({engine.source}): {n1}×{n2} q grid, {grid}×{grid} grid, {n_layers} layers, "
          f"{images} WS lattice vectors over the 3 atoms; built in {build:.2f} s")
    print(f"Fig. 3 data: {n_q} q × {n_modes} modes in {best:.3f} s ({n_q * n_modes / best:.0f} (q, mode) per s)")
    print(f"estimated arithmetic {flops / 1e9:.2f} Gflop: {flops / best / 1e9:.2f} Gflop/s; "
          f"complex matmul peak {peak / 1e9:.2f} Gflop/s (one BLAS thread {peak_one / 1e9:.2f}); "
          f"ratio to peak {flops / best / peak:.3f}")


if __name__ == "__main__":
    main()
