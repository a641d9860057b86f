"""Checks shared by the tests of phonomag's NetCDF files: CF-style metadata that pint reads."""

import matplotlib

matplotlib.use("Agg")

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
