"""Benchmark: the Fig. 3 data set (mode-resolved magnetization along Γ–M–K–Γ).

Prints wall time, throughput (q-points × modes per second), the floating-point
rate of the response kernel estimated from its operation count, the ratio to this
machine's complex matrix-multiply peak (measured by the script with every BLAS thread,
and with one), and the split of one q-point's time over the parts of the kernel.

    python benchmarks/fig3_benchmark.py [--npoints 151] [--kgrid 36] [--repeat 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from peak import matmul_peak
from threadpoolctl import threadpool_limits

from phonomag.cli.systems import load_model, load_phonons
from phonomag.crystal.kpath import path_from_labels
from phonomag.engines.base import compute_mode_response
from phonomag.engines.tightbinding import response
from phonomag.engines.tightbinding.engine import TightBindingEngine


def response_flops(n_k: int, n_basis: int, n_orb: int, n_occ: int, natoms: int) -> float:
    """Real flop of one q-point of :func:`phonomag.engines.tightbinding.response.displacement_response`
    (dominant terms).

    This is the reference work of the straightforward algorithm (issue 14's "lower bound"), kept
    fixed so that the ratio to peak compares versions: the code does less — half-size σ_h blocks
    and the k+q states by time reversal — so the rate it implies is an effective rate.

    Per k: two eigendecompositions (~ 2 × 10 n³ complex ≈ 2 × 40 n³ flop), the band vertex
    (3N patterns × 2 spins × (n_orb² n_occ + n_emp n_orb n_occ) complex MACs), the site
    projections (natoms × 4 × n_orb_site × n_emp × n_occ) and the final contraction
    (3N × n_emp n_occ × natoms × 4); complex MAC = 8 flop.
    """
    n_emp = n_basis - n_occ
    patterns = 3 * natoms
    eig = 2 * 40.0 * n_basis**3
    vertex = patterns * 2 * (n_orb**2 * n_occ + n_emp * n_orb * n_occ) * 8.0
    sites = 4 * n_orb * n_emp * n_occ * 8.0
    contraction = patterns * n_emp * n_occ * natoms * 4 * 8.0
    return n_k * (eig + vertex + sites + contraction)


def timed(function, *args, repeat: int = 3):
    """(best wall time in s over ``repeat`` calls, result of the last call)."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def one_q_split(model, q: np.ndarray, kgrid: tuple[int, int, int]) -> dict[str, float]:
    """Wall time (s) of each part of the one-sided response at one q, one BLAS thread."""
    kpoints = response.sampling_grid(kgrid, q)
    occ = slice(0, model.occupied_bands)
    emp = slice(model.occupied_bands, model.n_basis)
    with threadpool_limits(limits=1, user_api="blas"):
        parts = {}
        parts["bands (σ_h blocks, k+q by TR)"], (e_k, v_k, e_kq, v_kq) = timed(
            response._grid_bands, model, q, kgrid, None)
        parts["orbital vertex"], vertex = timed(model.vertex, kpoints, q)
        parts["form factors"], weight = timed(model.onsite_form_factors, q)
        parts["band vertex"], (x, y, amplitude) = timed(
            response._amplitudes, model, vertex, v_kq, v_k, e_kq, e_k, emp, occ, 1.0)
        parts["site sums"], _ = timed(response._site_diagonal_sum, model, x, y, amplitude, weight)
        parts["whole q (displacement_response)"], _ = timed(response.displacement_response, model, q, kgrid)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--npoints", type=int, default=151, help="q-points along Γ–M–K–Γ")
    parser.add_argument(
        "--kgrid", type=int, default=24, help="n for an n×n×1 k grid (24: RMS at K converged to < 0.1 %)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    spec, model = load_model("WSe2")
    phonons = load_phonons(spec)
    qpoints, *_ = path_from_labels(spec.crystal, npoints=args.npoints)
    kgrid = (args.kgrid, args.kgrid, 1)

    start = time.perf_counter()
    modes = phonons.modes(qpoints)
    phonon_time = time.perf_counter() - start
    engine = TightBindingEngine(model, kgrid)
    best, data = timed(lambda: compute_mode_response(engine, modes, progress=False), repeat=args.repeat)
    one_at_a_time = TightBindingEngine(model, kgrid, q_threads=1)
    serial, _ = timed(lambda: compute_mode_response(one_at_a_time, modes, progress=False), repeat=args.repeat)

    n_q, n_modes = data.frequencies.shape
    one_q = response_flops(int(np.prod(kgrid)), model.n_basis, model.n_orbitals, model.occupied_bands,
                           len(model.atoms))
    flops = len(qpoints) * one_q
    peak = matmul_peak()
    with threadpool_limits(limits=1, user_api="blas"):
        peak_one = matmul_peak()
    print(f"Fig. 3 data set: {n_q} q-points × {n_modes} modes, k grid {kgrid[0]}×{kgrid[1]}×1")
    print(f"phonons (force constants + {n_q} dynamical matrices): {phonon_time:8.2f} s")
    print(f"response, all q and modes, {engine.q_threads} q side by side:     {best:8.2f} s")
    print(f"  the same, one q at a time:                   {serial:8.2f} s  (×{serial / best:.2f})")
    print(f"throughput:                                    {n_q * n_modes / best:8.1f} (q, mode) per s")
    print(f"effective kernel rate (reference flop count):  {flops / best / 1e9:8.2f} Gflop/s")
    print(f"measured complex matmul peak:                  {peak / 1e9:8.2f} Gflop/s")
    print(f"ratio to peak:                                 {flops / best / peak:8.3f}")
    print(f"measured complex matmul peak, one BLAS thread: {peak_one / 1e9:8.2f} Gflop/s")
    q = qpoints[len(qpoints) // 3]
    print(f"one q = {np.round(q, 4)} ({one_q / 1e9:.3f} Gflop), one BLAS thread:")
    split = one_q_split(model, q, kgrid)
    for name, seconds in split.items():
        print(f"  {name:32s} {seconds * 1e3:8.1f} ms")
    whole = split["whole q (displacement_response)"]
    print(f"  ratio to the one-thread peak:    {one_q / whole / peak_one:8.3f}")


if __name__ == "__main__":
    main()
