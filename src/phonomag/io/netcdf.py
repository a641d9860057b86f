"""phonomag's NetCDF files: complex values as (real, imag) pairs, attributes, atomic writes.

Complex quantities are stored with a trailing dimension ``part`` = (real, imag);
:func:`complex_from` turns them back into complex arrays. Every variable carries its
unit in ``attrs["units"]`` (pint-parseable) and a ``long_name`` (CF style,
:mod:`phonomag.io.cf_metadata`). Files are written to a temporary name and renamed,
so an interrupted run never leaves a truncated file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from phonomag.io.atomic import write_atomically

CONVENTIONS = (
    "phonomag / docs/physics.md: one-sided charge-spin response N (paper eq. 1); Pauli components "
    "n^a = Tr[N sigma_a]/2 (a = 0,x,y,z); cell-integrated values per unit cell; induced electrons = 2 n0; "
    "spin polarisation <sigma> = 2 M; spin moment m = -2 mu_B M (variable magnetic_moment); "
    "RMS = |cell value|/sqrt(2) (eq. 3); "
    "displacements u = A e/sqrt(M) with A = sqrt(hbar/2 omega) (zero-point) unless stated; "
    "q in reduced coordinates of the reciprocal basis; complex values stored as (real, imag) pairs"
)


def split_complex(values: np.ndarray) -> np.ndarray:
    """(…) complex → (…, 2) real: the trailing ``part`` dimension (real, imag)."""
    return np.stack([values.real, values.imag], axis=-1)


def complex_from(data: xr.DataArray) -> np.ndarray:
    """Complex numpy array from a variable with a trailing ``part`` dimension."""
    return data.sel(part="real").values + 1j * data.sel(part="imag").values


def netcdf_attribute(value: Any) -> Any:
    """NetCDF attributes are numbers, strings or 1-D arrays: encode anything else as JSON."""
    if isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return list(value)
    return json.dumps(value, default=str)


def write_dataset(dataset: xr.Dataset, path: Path) -> Path:
    """Write NetCDF atomically (temporary file in the same folder, then rename)."""
    return write_atomically(path, lambda tmp: dataset.to_netcdf(tmp, engine="netcdf4"), ".nc.tmp")
