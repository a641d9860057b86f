"""results.nc: the mode-resolved charge and magnetization as an xarray Dataset in NetCDF.

Complex quantities are stored with a trailing dimension ``part`` = (real, imag);
:func:`complex_from` turns them back into complex arrays. Every variable carries
its unit in ``attrs["units"]`` (pint-parseable) and a ``long_name`` (CF style, see
:mod:`phonomag.cf_metadata`); ``qpoint``, ``path_distance`` and ``label`` are coordinates
along ``q``. The dataset carries the package version, the full run configuration (JSON)
and the conventions. Files are written to a
temporary name and renamed, so an interrupted run never leaves a truncated file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from phonomag import __version__
from phonomag.cf_metadata import DIMENSIONLESS, finish, path_coordinates
from phonomag.magnetization import COMPONENTS, ModeMagnetization
from phonomag.observables import spin_magnetic_moment

CONVENTIONS = (
    "phonomag / docs/physics.md: one-sided charge-spin response N (paper eq. 1); Pauli components "
    "n^a = Tr[N sigma_a]/2 (a = 0,x,y,z); cell-integrated values per unit cell; induced electrons = 2 n0; "
    "spin polarisation <sigma> = 2 M; spin moment m = -2 mu_B M (variable magnetic_moment); "
    "RMS = |cell value|/sqrt(2) (eq. 3); "
    "displacements u = A e/sqrt(M) with A = sqrt(hbar/2 omega) (zero-point) unless stated; "
    "q in reduced coordinates of the reciprocal basis; complex values stored as (real, imag) pairs"
)
#: Pauli components per cell are numbers of electrons per unit cell: units "1", named in long_name.
PER_CELL = DIMENSIONLESS
_PER_CELL_TEXT = "electrons per unit cell"
#: units and long_name of each variable of results.nc (also used by abinit_results.nc).
VARIABLE_ATTRS = {
    "frequency": {"units": "meV", "long_name": "phonon energy hbar omega"},
    "parity": {"units": DIMENSIONLESS, "long_name": "sigma_h parity (+1 even, -1 odd, 0 none)"},
    "displacement": {"units": "angstrom", "long_name": "complex displacement amplitude u"},
    "site_moment": {"units": PER_CELL, "long_name": f"site-resolved cell-integrated n^a ({_PER_CELL_TEXT})"},
    "cell_moment": {"units": PER_CELL, "long_name": f"cell-integrated n^a ({_PER_CELL_TEXT})"},
    "magnetic_moment": {"units": "bohr_magneton",
                        "long_name": "cell-integrated spin magnetic moment m = -2 mu_B M per unit cell"},
    "rms": {"units": PER_CELL, "long_name": f"RMS_a = |n^a|/sqrt(2) ({_PER_CELL_TEXT})"},
    "rms_in_plane": {"units": PER_CELL, "long_name": f"sqrt(RMS_x^2 + RMS_y^2) ({_PER_CELL_TEXT})"},
    "rms_out_of_plane": {"units": PER_CELL, "long_name": f"RMS_z ({_PER_CELL_TEXT})"},
    "magnetization_to_charge": {"units": DIMENSIONLESS, "long_name": "site-resolved |M| / |n0| (0 where undefined)"},
}


def _split(values: np.ndarray) -> np.ndarray:
    return np.stack([values.real, values.imag], axis=-1)


def complex_from(data: xr.DataArray) -> np.ndarray:
    """Complex numpy array from a variable with a trailing ``part`` dimension."""
    return data.sel(part="real").values + 1j * data.sel(part="imag").values


def magnetization_dataset(
    data: ModeMagnetization,
    distances: np.ndarray,
    site_labels: tuple[str, ...],
    attrs: dict[str, Any],
    point_labels: list[str] | None = None,
) -> xr.Dataset:
    """Dataset of the mode-resolved response along a q path.

    Coordinates along ``q``: ``qpoint`` (reduced), ``path_distance`` (1/Å) and ``label``
    (``point_labels``, e.g. from :func:`phonomag.cf_metadata.path_point_labels`; empty without).
    """
    coords = {
        "q": np.arange(len(data.qpoints)),
        "mode": np.arange(data.frequencies.shape[1]),
        "site": list(site_labels),
        "component": list(COMPONENTS),
        "cartesian": ["x", "y", "z"],
        "reduced": ["b1", "b2", "b3"],
        "part": ["real", "imag"],
        **path_coordinates("q", data.qpoints, distances, point_labels),
    }
    rms_in, rms_out = data.in_plane, data.out_of_plane
    variables = {
        "frequency": (("q", "mode"), data.frequencies),
        "parity": (("q", "mode"), data.parity),
        "displacement": (("q", "mode", "site", "cartesian", "part"), _split(data.displacements)),
        "site_moment": (("q", "mode", "site", "component", "part"), _split(data.site_moments)),
        "cell_moment": (("q", "mode", "component", "part"), _split(data.cell_moments)),
        "magnetic_moment": (("q", "mode", "cartesian", "part"), _split(spin_magnetic_moment(data.cell_moments))),
        "rms": (("q", "mode", "component"), data.rms),
        "rms_in_plane": (("q", "mode"), rms_in),
        "rms_out_of_plane": (("q", "mode"), rms_out),
        "magnetization_to_charge": (("q", "mode"), data.magnetization_to_charge),
    }
    base = {
        "phonomag_version": __version__,
        "phonomag_conventions": CONVENTIONS,
        "response_kind": data.kind,
        "amplitude": str(data.amplitude),
        "kgrid": list(data.kgrid),
    }
    base.update(attrs)
    dataset = xr.Dataset({k: xr.DataArray(v[1], dims=v[0], attrs=dict(VARIABLE_ATTRS[k])) for k, v in variables.items()},
                         coords=coords, attrs={k: _attr(v) for k, v in base.items()})
    return finish(dataset, "phonomag: phonon-induced charge and magnetization along a q path")


def _attr(value: Any) -> Any:
    """NetCDF attributes are numbers, strings or 1-D arrays: encode anything else as JSON."""
    if isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return list(value)
    return json.dumps(value, default=str)


def write_dataset(dataset: xr.Dataset, path: Path) -> Path:
    """Write NetCDF atomically (temporary file in the same folder, then rename)."""
    return write_atomically(path, lambda tmp: dataset.to_netcdf(tmp, engine="netcdf4"), ".nc.tmp")


def write_atomically(path: Path, write: Callable[[str], object], suffix: str) -> Path:
    """Call ``write(temporary name)`` in the folder of ``path``, then rename to ``path`` (mode 0644)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_magnetization(path: Path) -> tuple[ModeMagnetization, np.ndarray, xr.Dataset]:
    """Read back a results.nc into a :class:`ModeMagnetization`, the path distances and the dataset."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        ds = ds.load()
    amplitude = ds.attrs["amplitude"]
    data = ModeMagnetization(
        qpoints=ds["qpoint"].values,
        frequencies=ds["frequency"].values,
        parity=ds["parity"].values,
        displacements=complex_from(ds["displacement"]),
        site_moments=complex_from(ds["site_moment"]),
        kind=ds.attrs["response_kind"],
        amplitude=amplitude if amplitude == "zero-point" else float(amplitude),
        kgrid=tuple(int(x) for x in np.atleast_1d(ds.attrs["kgrid"])),
    )
    return data, ds["path_distance"].values, ds
