"""The machine's measured matmul peak, the reference of every benchmark's "ratio to peak"."""

from __future__ import annotations

import time

import numpy as np


def matmul_peak(n: int = 1024, repeat: int = 3) -> float:
    """Measured complex128 matrix-multiply rate (real flop/s; one complex MAC = 8 flop)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    b = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    a @ b
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 8.0 * n**3 / best
