"""CF-style metadata shared by phonomag's NetCDF files (results.nc, sqw.nc).

Every variable and coordinate has a ``long_name`` and a ``units`` string that pint (and
UDUNITS) parse. Numbers without a physical dimension have units "1" and say in their
long_name what they count: the Pauli components n^a of a cell are numbers of electrons per
unit cell, reduced coordinates are multiples of the reciprocal basis vectors b_i.
Conventions of the physics: docs/physics.md.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: The CF version the files follow (global attribute ``Conventions``).
CF_CONVENTIONS = "CF-1.10"
#: Dimensionless (a count per unit cell, a reduced coordinate, a ratio); the long_name says which.
DIMENSIONLESS = "1"
#: Cartesian wavevector lengths, including the 2π.
INVERSE_ANGSTROM = "angstrom^-1"
#: Path-point label of a point that is not a named high-symmetry point.
NO_LABEL = ""
#: units and long_name of a reduced wavevector.
QPOINT_ATTRS = {"units": DIMENSIONLESS, "long_name": "phonon wavevector q, reduced coordinates of b1, b2, b3"}


def path_point_labels(distances: np.ndarray, ticks, tick_labels) -> list[str]:
    """Label of each point of a sampled path: the tick text at the corners, "" elsewhere.

    distances (n,) and ticks in 1/Å as returned by :func:`phonomag.crystal.kpath.path_from_labels`.
    """
    labels = [NO_LABEL] * len(distances)
    for tick, text in zip(ticks, tick_labels, strict=True):
        index = int(np.argmin(np.abs(np.asarray(distances) - tick)))
        if abs(distances[index] - tick) <= 1e-9 * max(1.0, abs(tick)):
            labels[index] = text
    return labels


def path_coordinates(dim: str, qpoints: np.ndarray, distances: np.ndarray, labels: list[str] | None) -> dict:
    """The coordinates along a q path: ``qpoint`` (reduced), ``path_distance`` (1/Å) and ``label``."""
    return {
        "qpoint": ((dim, "reduced"), np.asarray(qpoints, float), QPOINT_ATTRS),
        "path_distance": ((dim,), np.asarray(distances, float),
                          {"units": INVERSE_ANGSTROM, "long_name": "distance along the path, |dq| summed (with 2 pi)"}),
        "label": ((dim,), list(labels) if labels is not None else [NO_LABEL] * len(distances),
                  {"long_name": "high-symmetry label of the path corner (empty between corners)"}),
    }


def finish(dataset: xr.Dataset, title: str) -> xr.Dataset:
    """Set the global CF attributes (``Conventions``, ``title``) and give index coordinates a long_name."""
    for name in dataset.dims:
        if name in dataset.coords and "long_name" not in dataset[name].attrs:
            dataset[name].attrs["long_name"] = INDEX_NAMES.get(name, f"{name} index")
    dataset.attrs = {"Conventions": CF_CONVENTIONS, "title": title, **dataset.attrs}
    return dataset


#: long_names of the index and label dimensions.
INDEX_NAMES = {
    "q": "index of the q-point",
    "Q": "index of the Q-point along the path",
    "mode": "phonon branch index nu (by frequency at each q)",
    "atom": "atom of the unit cell",
    "site": "site of the cell moments (an atom, or the whole cell for engines without a site decomposition)",
    "component": "Pauli component (n0 charge, Mx, My, Mz magnetization)",
    "cartesian": "Cartesian axis",
    "reduced": "reciprocal basis vector",
    "part": "real or imaginary part of a complex value",
    "a": "Cartesian spin axis a",
    "b": "Cartesian spin axis b",
}
