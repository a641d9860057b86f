"""The reduced result of the DFPT runs at one q: N(r) per perturbation, kept instead of the 1WF files.

The first-order wavefunctions of one q are about 1.3 GB at production settings
(WSe₂, ecut 20 Ha, 6×6 k); what eq. 1 needs from them afterwards is the one-sided
response N_st(r) of each perturbation on the FFT grid (about 60 MB). This file
(``q_…/response.nc``) holds it with the cell volume and the DEN1 check; it is valid
only for the same ABINIT inputs (a digest of their texts) and only while it is
newer than the ground-state wavefunctions and every DFPT run it was made from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import xarray as xr

from phonomag.io.netcdf import complex_from, write_dataset

FILE_NAME = "response.nc"


def inputs_digest(texts: list[str]) -> str:
    """Digest of the ABINIT input texts (ground state and DFPT) the responses come from."""
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:24]


def save_responses(path: Path, responses: dict, volume: float, charge_check: float, digest: str) -> Path:
    """Write {(atom, direction): N (2, 2, n1, n2, n3)} atomically; volume in Bohr³ (ABINIT's unit)."""
    keys = sorted(responses)
    values = np.array([responses[key] for key in keys])
    data = xr.Dataset(
        {"response": (("perturbation", "s", "t", "x", "y", "z", "part"),
                      np.stack([values.real, values.imag], axis=-1),
                      {"description": "one-sided N_st(r) per unit reduced displacement, cell-periodic part, "
                                      "electrons per Bohr^3 (eq. 1 on ABINIT's FFT grid)"})},
        coords={"atom": ("perturbation", [k[0] for k in keys]),
                "direction": ("perturbation", [k[1] for k in keys]), "part": ["real", "imag"]},
        attrs={"volume_bohr3": float(volume), "charge_check": float(charge_check), "inputs_digest": digest})
    return write_dataset(data, path)


def load_responses(path: Path, digest: str, sources: list[Path]) -> tuple[dict, float, float] | None:
    """(responses, volume, charge_check) from ``path``, or None if absent, of other inputs, or older than a source."""
    path = Path(path)
    if not path.is_file():
        return None
    newest_source = max(Path(s).stat().st_mtime for s in sources)
    if path.stat().st_mtime < newest_source:
        return None
    with xr.open_dataset(path) as data:
        if data.attrs.get("inputs_digest") != digest:
            return None
        values = complex_from(data["response"])
        keys = zip(data["atom"].values.tolist(), data["direction"].values.tolist(), strict=True)
        responses = {(int(a), int(d)): values[i] for i, (a, d) in enumerate(keys)}
        return responses, float(data.attrs["volume_bohr3"]), float(data.attrs["charge_check"])
