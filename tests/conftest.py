"""Test-suite settings: one BLAS thread, as in the k-batched kernels (phonomag.engines.tightbinding.response).

The tests multiply and diagonalise many small matrices, where a second BLAS thread costs
more than it gains (and the suite shares the machine with other jobs).
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="session", autouse=True)
def single_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
