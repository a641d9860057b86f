"""The reduced DFPT files of a kernel folder, read and checked as a whole (docs/kernel.md, "What is checked").

Each file ``q_*.nc`` (:func:`~phonomag.engines.abinit.pattern_response.reduce_patterns`) must be a
netCDF file with every variable of :data:`VARIABLES`, finite values, the attributes of
:data:`REQUIRED_ATTRS`, and a q-point on the grid it names to :data:`GRID_TOLERANCE`; every file
must come from the same calculation (:data:`SAME_CALCULATION`, the atoms, the planes and the FFT
grid); one file per grid point. A folder may carry a checksum manifest (:data:`MANIFEST`, the
format of ``sha256sum``; the shipped data does), which is then verified first: every ``q_*`` file
listed, none changed. A folder that fails raises :class:`KernelDataError` naming the file and the
reason, before anything is computed or written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import xarray as xr

from phonomag.engines.base import EngineCapabilityError
from phonomag.io.atomic import write_atomically

#: The checksum manifest of a kernel folder (``sha256sum -c`` reads it).
MANIFEST = "MANIFEST.sha256"
#: The variables (and coordinates) every reduced file holds.
VARIABLES = ("zint", "plane", "qpoint", "cell", "positions", "species", "height")
#: The attributes every reduced file holds: the q grid, the k grid and the code ("engine", with its version).
REQUIRED_ATTRS = ("qgrid", "kgrid", "engine")
#: Attributes that must be equal in every file (those of them present in any file must be in all).
SAME_CALCULATION = (*REQUIRED_ATTRS, "ecut_hartree", "pseudopotentials", "tolvrs_ground_state", "tolvrs_dfpt",
                    "conventions")
#: Largest distance (reduced units) of a file's q from the nearest point of its grid.
GRID_TOLERANCE = 1e-8
#: Largest difference (Å, or the reduced cell units of ``cell``) of the atoms between files.
ATOMS_TOLERANCE = 1e-8


class KernelDataError(EngineCapabilityError):
    """A kernel data folder that cannot be used: a damaged file, or files that do not belong together."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def kernel_files(folder: Path) -> list[Path]:
    """The files of a kernel folder the manifest covers: the reduced files and the DDB files beside them."""
    return sorted(path for path in Path(folder).glob("q_*") if path.is_file())


def write_manifest(folder: Path) -> Path:
    """(Re)write ``folder``/MANIFEST.sha256 over :func:`kernel_files` (after adding or recomputing a q)."""
    lines = "".join(f"{_sha256(path)}  {path.name}\n" for path in kernel_files(folder))
    return write_atomically(Path(folder) / MANIFEST, lambda name: Path(name).write_text(lines, encoding="utf-8"),
                            ".sha256")


def verify_manifest(folder: Path) -> None:
    """If ``folder`` has a manifest: an error unless it lists exactly :func:`kernel_files`, each unchanged."""
    manifest = Path(folder) / MANIFEST
    if not manifest.exists():
        return
    listed = {}
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise KernelDataError(f"{manifest}: line {number} is not '<sha256>  <file name>'")
        listed[name] = digest
    regenerate = f"(python scripts/kernel_manifest.py {folder} rewrites the manifest after a deliberate change)"
    for path in kernel_files(folder):
        if path.name not in listed:
            raise KernelDataError(f"{path} is not in {manifest}: remove it {regenerate}")
    for name, digest in listed.items():
        path = Path(folder) / name
        if not path.exists():
            raise KernelDataError(f"{path} is missing: {manifest} lists it")
        if _sha256(path) != digest:
            raise KernelDataError(f"{path} has changed since {manifest} was written (sha256 differs) {regenerate}")


def open_reduced(path: Path) -> xr.Dataset:
    """The loaded content of one reduced file, checked on its own: readable netCDF, every variable and
    attribute, finite values."""
    if Path(path).stat().st_size == 0:
        raise KernelDataError(f"{path} is empty (0 bytes): not a reduced DFPT file")
    try:
        with xr.open_dataset(path) as data:
            data = data.load()
    except (OSError, ValueError, RuntimeError) as exc:
        raise KernelDataError(f"{path} is not a readable netCDF file ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
    for name in VARIABLES:
        if name not in data.variables:
            raise KernelDataError(f"{path} has no variable {name!r} (a reduced DFPT file has {', '.join(VARIABLES)})")
    for name in REQUIRED_ATTRS:
        if name not in data.attrs:
            raise KernelDataError(f"{path} has no attribute {name!r} (a reduced DFPT file has "
                                  f"{', '.join(REQUIRED_ATTRS)})")
    for name in VARIABLES:
        values = data[name].values
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise KernelDataError(f"{path}: variable {name!r} has {bad} value(s) that are not finite (NaN or inf)")
    return data


def grid_steps(path: Path, data: xr.Dataset) -> tuple[int, int]:
    """The grid steps (m₁, m₂) of the file's q-point; an error unless q lies on the file's grid to
    :data:`GRID_TOLERANCE` (in-plane, q_z = 0)."""
    qgrid = np.atleast_1d(data.attrs["qgrid"])[:2].astype(float)
    q = np.asarray(data["qpoint"].values, float)
    if q.shape != (3,) or len(qgrid) != 2 or (qgrid < 1).any():
        raise KernelDataError(f"{path}: qpoint {q.tolist()} or qgrid {qgrid.tolist()} is not a reduced 3-vector "
                              "and an N1×N2 grid")
    steps = np.rint(q[:2] * qgrid)
    off = max(np.abs(q[:2] - steps / qgrid).max(), abs(q[2]))
    if off > GRID_TOLERANCE:
        raise KernelDataError(f"{path}: qpoint {np.round(q, 10).tolist()} is not on its {int(qgrid[0])}×"
                              f"{int(qgrid[1])} grid (off by {off:.2g} > {GRID_TOLERANCE:g}): not rounded")
    return int(steps[0]), int(steps[1])


def _attr(data: xr.Dataset, name: str):
    value = data.attrs[name]
    return np.atleast_1d(value).tolist() if isinstance(value, (np.ndarray, list, tuple)) else value


def check_together(datasets: dict) -> dict:
    """{path: dataset} of one folder: the files must be of one calculation and one file per grid point.
    Returns {grid steps as stored: path}."""
    paths = list(datasets)
    first_path, first = paths[0], datasets[paths[0]]
    shared = [name for name in SAME_CALCULATION if any(name in data.attrs for data in datasets.values())]
    by_point: dict = {}
    files: dict = {}
    for path, data in datasets.items():
        for name in shared:
            if name not in data.attrs:
                raise KernelDataError(f"{path} has no attribute {name!r}, which other files of the folder have")
            if _attr(data, name) != _attr(first, name):
                raise KernelDataError(f"{path} is from another calculation: {name} = {_attr(data, name)!r}, "
                                      f"{first_path} has {_attr(first, name)!r}")
        same_atoms = (list(data["species"].values) == list(first["species"].values)
                      and data["positions"].shape == first["positions"].shape
                      and np.allclose(data["positions"].values, first["positions"].values, atol=ATOMS_TOLERANCE, rtol=0)
                      and np.allclose(data["cell"].values, first["cell"].values, atol=ATOMS_TOLERANCE, rtol=0))
        if not same_atoms:
            species = list(data["species"].values)
            raise KernelDataError(f"{path} is from another calculation: its atoms (species {species}, positions or "
                                  f"cell) differ from those of {first_path}")
        if (data["plane"].shape != first["plane"].shape or data["zint"].shape != first["zint"].shape
                or not np.allclose(data["height"].values, first["height"].values, atol=ATOMS_TOLERANCE, rtol=0)):
            raise KernelDataError(f"{path} is from another calculation: its planes or FFT grid (plane "
                                  f"{data['plane'].shape}, heights {data['height'].values.tolist()}) differ from "
                                  f"those of {first_path}")
        steps = grid_steps(path, data)
        qgrid = tuple(int(n) for n in np.atleast_1d(data.attrs["qgrid"])[:2])
        point = (steps[0] % qgrid[0], steps[1] % qgrid[1])
        if point in by_point:
            raise KernelDataError(f"{by_point[point]} and {path} are both for the grid point {point} of "
                                  f"{qgrid[0]}×{qgrid[1]}: keep one file per q")
        by_point[point] = path
        files[steps] = path
    return files
