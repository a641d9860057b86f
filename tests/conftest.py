"""Test-suite settings and shared fixtures: one BLAS thread, as in the k-batched kernels
(phonomag.engines.tightbinding.response); an exactly hexagonal WSe₂.

The tests multiply and diagonalise many small matrices, where a second BLAS thread costs
more than it gains (and the suite shares the machine with other jobs).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from phonomag.crystal.materials import load_material


@pytest.fixture(scope="session", autouse=True)
def single_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def hexagonal_wse2():
    """The built-in WSe₂ in an exactly hexagonal cell (the material file gives a₂ to 6 decimals), for
    symmetry tests at 1e-9."""
    spec = load_material("WSe2")
    a, c = spec.atoms.cell[0, 0], spec.atoms.cell[2, 2]
    fractional = spec.atoms.get_scaled_positions(wrap=False)
    spec.atoms.set_cell([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    spec.atoms.set_scaled_positions(fractional)
    return spec
