"""ABINIT netCDF densities: the first-order density DEN<pert>.nc of a DFPT run."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

from phonomag.io.abinit.wavefunctions import WavefunctionFileError


def read_first_order_density(path) -> np.ndarray:
    """Total first-order density n¹(r) (n1, n2, n3) complex, electrons/bohr³ per unit perturbation.

    For spinor runs with nspden 1 this is the charge only (ABINIT does not store
    a first-order magnetization then).
    """
    path = Path(path)
    try:
        with netCDF4.Dataset(path) as data:
            raw = np.asarray(data["first_order_density"][0])  # (n3, n2, n1, re/im)
    except (OSError, KeyError, IndexError) as exc:
        raise WavefunctionFileError(f"cannot read a first-order density from {path}: {exc}") from None
    if raw.shape[-1] == 1:
        return raw[..., 0].transpose(2, 1, 0).astype(complex)
    return (raw[..., 0] + 1j * raw[..., 1]).transpose(2, 1, 0)
