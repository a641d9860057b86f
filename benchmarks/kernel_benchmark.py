"""Benchmark: Fig. 3 data (every mode along the standard path) from a response kernel of production size.

Default: a kernel with the dimensions of the first-principles WSe₂ data (3 atoms, ABINIT's 27×27
in-plane FFT grid, the z integral and three planes, a 6×6 q grid, 7 irreducible q unfolded by
symmetry) and random values (the timing does not depend on them; the physics is tested in
tests/test_kernel_*.py). ``--material AlSb`` (or WSe2 with ``--shipped``) builds the shipped kernel
from its reduced DFPT files instead, reading included (AlSb: 16 irreducible q of a 6×6×6 grid on a 25³
box and the long-range part); ``--data FOLDER`` any folder of reduced files for the material. Printed:
the time and peak memory (resident set) of the build, the time and throughput of the response of every
mode at every q, and the ratio of the estimated arithmetic to the machine's measured complex matmul peak.

    python benchmarks/kernel_benchmark.py [--material WSe2] [--shipped] [--data FOLDER] [--npoints 301] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
from peak import matmul_peak
from threadpoolctl import threadpool_limits

from phonomag.cli.systems import SHIPPED_KERNELS, load_phonons
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.engines.base import compute_mode_response
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.engines.kernel.symmetry import PlaneLayers

IRREDUCIBLE = [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (1, 1, 0), (2, 1, 0), (2, 2, 0)]
GRID = 27
LAYERS = (None, 0.0, 1.665697, -1.665697)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npoints", type=int, default=301)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--material", default="WSe2", help="a built-in material (WSe2, AlSb)")
    parser.add_argument("--shipped", action="store_true", help="the material's shipped kernel data")
    parser.add_argument("--data", type=Path, help="folder of reduced DFPT files q_*.nc (default: random data of "
                                                  "the WSe2 size; the shipped data for AlSb)")
    args = parser.parse_args()

    spec = load_material(args.material)
    folder = args.data or (SHIPPED_KERNELS[spec.name] if args.shipped or spec.name != "WSe2" else None)
    if folder is not None:
        start = time.perf_counter()
        engine = KernelEngine.from_reduced_files(folder, spec.labels)
    else:
        rng = np.random.default_rng(1)
        shape = (3, 3, len(LAYERS), 4, GRID, GRID)
        irreducible = {s: rng.normal(size=shape) + 1j * rng.normal(size=shape) for s in IRREDUCIBLE}
        start = time.perf_counter()
        engine = KernelEngine.from_irreducible(irreducible, spec.atoms, spec.labels, (6, 6, 1),
                                               PlaneLayers(LAYERS, spec.atoms), (6, 6, 1),
                                               "random data of the production size")
    build = time.perf_counter() - start
    build_memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB → GB
    qpoints, *_ = path_from_labels(spec.crystal, npoints=args.npoints)
    modes = load_phonons(spec).modes(qpoints)
    best = np.inf
    for _ in range(args.repeat):
        start = time.perf_counter()
        data = compute_mode_response(engine, modes, progress=False)
        best = min(best, time.perf_counter() - start)
    n_q, n_modes = data.frequencies.shape
    kernel = engine.kernel
    images = sum(len(table) for table in kernel.lattice)
    n_layers, (n1, n2) = len(kernel.layers), kernel.weighted[0].shape[-2:]
    summed_layers = 1 if engine.z_integral is not None else n_layers  # the z integral, or the whole volume
    # the cell integrals: Σ_x e^{−iq·x} over the summed layers' points for every WS image (complex MAC)
    flops = n_q * images * 3 * 4 * summed_layers * n1 * n2 * 8
    peak = matmul_peak()
    with threadpool_limits(limits=1, user_api="blas"):
        peak_one = matmul_peak()
    stored = sum(values.nbytes for values in kernel.weighted) / 1e9
    print(f"kernel ({engine.source}): {'×'.join(map(str, kernel.qgrid))} q grid, {n1}×{n2} grid, {n_layers} layers, "
          f"{images} WS lattice vectors over the {len(spec.atoms)} atoms, {stored:.2f} GB "
          f"({kernel.weighted[0].dtype}); built in {build:.2f} s, peak memory {build_memory:.2f} GB")
    print(f"Fig. 3 data: {n_q} q × {n_modes} modes in {best:.3f} s ({n_q * n_modes / best:.0f} (q, mode) per s)")
    print(f"estimated arithmetic {flops / 1e9:.2f} Gflop: {flops / best / 1e9:.2f} Gflop/s; "
          f"complex matmul peak {peak / 1e9:.2f} Gflop/s (one BLAS thread {peak_one / 1e9:.2f}); "
          f"ratio to peak {flops / best / peak:.3f}")


if __name__ == "__main__":
    main()
