"""Checks shared by the tests of phonomag's output files, each read by the tool its users have:
NetCDF metadata by xarray and pint, phonopy_params.yaml by phonopy."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import phonopy  # noqa: E402
import pint  # noqa: E402
import pint_xarray  # noqa: E402, F401  (registers the .pint accessor)
import xarray as xr  # noqa: E402

UNITS = pint.UnitRegistry(force_ndarray_like=True)


def check_cf_metadata(path):
    """Open ``path`` with xarray, parse every units attribute with pint, quantify with pint-xarray.

    Returns the dataset and the parsed units {name: pint.Unit}. Every data variable must have
    a long_name and units; the file must name its CF version.
    """
    ds = xr.open_dataset(path)
    assert ds.attrs["Conventions"].startswith("CF-")
    parsed = {name: UNITS.Unit(ds[name].attrs["units"]) for name in ds.variables if "units" in ds[name].attrs}
    for name, variable in ds.data_vars.items():
        assert {"units", "long_name"} <= set(variable.attrs), name
    quantified = ds.pint.quantify(unit_registry=UNITS)
    for name, unit in parsed.items():
        if name in quantified.data_vars:
            assert quantified[name].pint.units == unit, name
    return ds, parsed


def plot_against_path_distance(variable):
    """``variable.plot.line(x="path_distance")``, the line the issue asks to work without set_coords."""
    import matplotlib.pyplot as plt

    lines = variable.plot.line(x="path_distance", hue="mode", add_legend=False)
    plt.close("all")
    return lines


def phonopy_frequencies(path, q):
    """Frequencies (meV, ascending) that phonopy itself computes from a phonopy_params.yaml."""
    from phonomag.phonons.modes import THZ_TO_MEV

    ph = phonopy.load(path, produce_fc=False, symmetrize_fc=False, log_level=0)
    ph.run_qpoints(q)
    return np.sort(ph.qpoints.frequencies, axis=1) * THZ_TO_MEV
