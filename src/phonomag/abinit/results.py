"""abinit_results.nc: the first-principles mode response in the layout of results.nc.

Same variable names, units and conventions as :mod:`phonomag.results_io` where the
quantity exists (qpoint, frequency, parity, displacement, cell_moment, rms,
rms_in_plane, rms_out_of_plane); ABINIT gives no site decomposition. The plane of
the metal atoms (z = 0) is stored as ``plane_field`` on a 60×60 grid per cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from phonomag import __version__
from phonomag.abinit.maps import plane_of
from phonomag.magnetization import COMPONENTS
from phonomag.observables import in_plane_out_of_plane, rms_components
from phonomag.cf_metadata import DIMENSIONLESS, QPOINT_ATTRS, finish
from phonomag.results_io import CONVENTIONS, VARIABLE_ATTRS, _attr, _split, write_dataset

PLANE_POINTS = 60


def abinit_dataset(results: dict, settings, model) -> xr.Dataset:
    """Dataset of {label: AbinitModeResponse} computed with ``settings`` (AbinitSettings)."""
    labels = list(results)
    items = [results[label] for label in labels]
    moments = np.array([r.cell_moments for r in items])
    rms = rms_components(moments)
    rms_in, rms_out = in_plane_out_of_plane(rms)
    planes = np.array([[plane_of(r.fields[nu], r.cell, model.cartesian(r.qpoint), 0.0, PLANE_POINTS).amplitude
                        for nu in range(len(r.cell_moments))] for r in items])
    coords = {"q": labels, "mode": np.arange(moments.shape[1]), "site": list(model.labels),
              "component": list(COMPONENTS), "cartesian": ["x", "y", "z"], "reduced": ["b1", "b2", "b3"],
              "part": ["real", "imag"], "f1": np.arange(PLANE_POINTS) / PLANE_POINTS,
              "f2": np.arange(PLANE_POINTS) / PLANE_POINTS}
    variables = {
        "qpoint": (("q", "reduced"), np.array([r.qpoint for r in items]), QPOINT_ATTRS),
        "frequency": (("q", "mode"), np.array([r.modes.frequencies[0] for r in items]), VARIABLE_ATTRS["frequency"]),
        "parity": (("q", "mode"), np.array([r.modes.parity[0] for r in items]), VARIABLE_ATTRS["parity"]),
        "displacement": (("q", "mode", "site", "cartesian", "part"),
                         _split(np.array([r.displacements for r in items])), VARIABLE_ATTRS["displacement"]),
        "cell_moment": (("q", "mode", "component", "part"), _split(moments), VARIABLE_ATTRS["cell_moment"]),
        "rms": (("q", "mode", "component"), rms, VARIABLE_ATTRS["rms"]),
        "rms_in_plane": (("q", "mode"), rms_in, VARIABLE_ATTRS["rms_in_plane"]),
        "rms_out_of_plane": (("q", "mode"), rms_out, VARIABLE_ATTRS["rms_out_of_plane"]),
        "plane_field": (("q", "mode", "component", "f1", "f2", "part"), _split(planes),
                        {"units": "angstrom^-3",
                         "long_name": "cell-periodic delta n^a in the metal plane z = 0 at fractional (f1, f2), "
                                      "electrons per cubic angstrom"}),
        "charge_check": (("q",), np.array([r.charge_check for r in items]),
                         {"units": DIMENSIONLESS, "long_name": "max |DEN1 - 2 Tr N| / max |DEN1|"}),
    }
    attrs = {"phonomag_version": __version__, "phonomag_conventions": CONVENTIONS, "engine": "abinit",
             "response_kind": "one-sided", "amplitude": "zero-point",
             "abinit_settings": {k: str(v) for k, v in settings.__dict__.items()}}
    dataset = xr.Dataset({k: xr.DataArray(v[1], dims=v[0], attrs=v[2]) for k, v in variables.items()},
                         coords=coords, attrs={k: _attr(v) for k, v in attrs.items()})
    dataset["q"].attrs["long_name"] = "q-point label"
    dataset["f1"].attrs.update(units=DIMENSIONLESS, long_name="fractional coordinate along a1")
    dataset["f2"].attrs.update(units=DIMENSIONLESS, long_name="fractional coordinate along a2")
    return finish(dataset, "phonomag: first-principles (ABINIT) charge and magnetization of phonons")


def write_abinit_results(results: dict, settings, model, path: Path) -> Path:
    """Write :func:`abinit_dataset` atomically to ``path``."""
    return write_dataset(abinit_dataset(results, settings, model), path)
