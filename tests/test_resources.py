"""Memory of the k sums: the estimate that guards a run, and the batching of the real-space response."""

import tracemalloc

import numpy as np
import pytest

from phonomag.cli.systems import load_model
from phonomag.engines.tightbinding.fields import response_lattice_vectors
from phonomag.engines.tightbinding.response import fourier_responses, memory_estimate, orbital_response

Q = np.array([0.1, 0.2, 0.0])


@pytest.fixture(scope="module")
def model():
    return load_model("WSe2")[1]


def peak_bytes(function, *args, **kwargs) -> int:
    """Largest memory traced (numpy arrays included) while ``function`` runs."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_estimate_bounds_the_cell_integrated_response(model):
    """The estimate is above the measured peak (one-sided, and full with both halves), and not by more than a
    factor of 2; on a grid smaller than one k batch too."""
    for kgrid in [(60, 60, 1), (30, 30, 1)]:
        measured = peak_bytes(fourier_responses, model, Q, kgrid, np.zeros((1, 3)))
        full = peak_bytes(fourier_responses, model, Q, kgrid, np.zeros((1, 3)), "full")
        estimate = memory_estimate(model, kgrid)
        assert measured <= full <= estimate <= 2 * measured, (kgrid, measured, full, estimate)


def test_real_space_response_is_batched_over_k(model):
    """The maps stage's response no longer holds arrays over the whole k grid: its peak memory does not
    grow with the grid (4× the k-points), and stays below the estimate."""
    lattice = response_lattice_vectors(model)
    small = peak_bytes(orbital_response, model, Q, (24, 24, 1), lattice)
    large = peak_bytes(orbital_response, model, Q, (48, 48, 1), lattice)
    assert large < 1.1 * small, (small, large)
    assert large <= memory_estimate(model, (48, 48, 1), maps=True)


def test_batches_do_not_change_the_real_space_response(model):
    lattice = response_lattice_vectors(model)
    whole = orbital_response(model, Q, (6, 6, 1), lattice, k_batch=36)
    batched = orbital_response(model, Q, (6, 6, 1), lattice, k_batch=7)
    assert np.abs(batched - whole).max() <= 1e-12 * np.abs(whole).max()
