"""The reduced DFPT files of a kernel folder, read and checked as a whole (docs/kernel.md, "What is checked").

Each file ``q_*.nc`` (:func:`~phonomag.engines.abinit.pattern_response.reduce_patterns`) must be a
netCDF file of a known layout (:data:`VARIABLES`: format 2, the Fourier coefficients of any cell; format 1,
files without a ``format_version`` attribute, the z integral and atom planes of a layer: the shipped WSe₂
data) with every variable of its format, finite values, the attributes of :data:`REQUIRED_ATTRS`, and a
q-point on the n₁×n₂×n₃ grid it names to :data:`GRID_TOLERANCE`; every file must come from the same
calculation (:data:`SAME_CALCULATION`, the atoms, and for format 1 the planes and the FFT grid); one
file per grid point. A folder may carry a checksum manifest (:data:`MANIFEST`, the
format of ``sha256sum``; the shipped data does), which is then verified first: every ``q_*`` file
listed, none changed. A folder that fails raises :class:`KernelDataError` naming the file and the
reason, before anything is computed or written. A bulk crystal's folder may also hold :data:`FIELD_FILE`, the
response to a uniform electric field with the Born charges and ε∞ (:func:`open_field_file`, the long-range part
of :mod:`~phonomag.engines.kernel.long_range`), checked against the q files in the same way.
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
#: The variables (and coordinates) every reduced file holds, per format version.
VARIABLES = {1: ("zint", "plane", "qpoint", "cell", "positions", "species", "height"),
             2: ("moment", "coefficient", "gvector", "qpoint", "cell", "positions", "species")}
#: The attributes every reduced file holds, per format version: the q grid, the k grid and the code ("engine",
#: with its version); format 2 also the sphere of its coefficients and the FFT grid they came from.
REQUIRED_ATTRS = {1: ("qgrid", "kgrid", "engine"), 2: ("qgrid", "kgrid", "engine", "field_ecut_hartree", "fft_grid")}
#: Attributes that must be equal in every file (those of them present in any file must be in all).
SAME_CALCULATION = ("format_version", *REQUIRED_ATTRS[2], "ecut_hartree", "pseudopotentials", "tolvrs_ground_state",
                    "tolvrs_dfpt", "conventions")
#: The reduced response to a uniform electric field of a kernel folder (written by the ABINIT kernel tasks), and
#: the variables it holds.
FIELD_FILE = "dielectric.nc"
FIELD_VARIABLES = ("field_moment", "field_coefficient", "gvector", "born_charge", "epsilon_inf", "cell", "positions",
                   "species")
#: Largest distance (reduced units) of a file's q from the nearest point of its grid.
GRID_TOLERANCE = 1e-8
#: Largest difference (Å, or the reduced cell units of ``cell``) of the atoms between files.
ATOMS_TOLERANCE = 1e-8


class KernelDataError(EngineCapabilityError):
    """A kernel data folder that cannot be used: a damaged file, or files that do not belong together."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def kernel_files(folder: Path) -> list[Path]:
    """The files of a kernel folder the manifest covers: the reduced files, the DDB files beside them and the field
    file (:data:`FIELD_FILE`) if there is one."""
    return sorted(path for path in [*Path(folder).glob("q_*"), Path(folder) / FIELD_FILE] if path.is_file())


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


def format_version(data: xr.Dataset) -> int:
    """The layout of a reduced file: its ``format_version`` attribute, 1 for files without one."""
    return int(data.attrs.get("format_version", 1))


def _load(path: Path, what: str) -> xr.Dataset:
    """The loaded content of a netCDF file of a kernel folder; a KernelDataError if it is empty or unreadable."""
    if Path(path).stat().st_size == 0:
        raise KernelDataError(f"{path} is empty (0 bytes): not a {what} file")
    try:
        with xr.open_dataset(path) as data:
            return data.load()
    except (OSError, ValueError, RuntimeError) as exc:
        raise KernelDataError(f"{path} is not a readable netCDF file ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None


def open_reduced(path: Path) -> xr.Dataset:
    """The loaded content of one reduced file, checked on its own: readable netCDF, every variable and
    attribute, finite values."""
    data = _load(path, "reduced DFPT")
    version = format_version(data)
    if version not in VARIABLES:
        raise KernelDataError(f"{path} has format_version {version}; this phonomag reads "
                              f"{', '.join(map(str, VARIABLES))}")
    for name in VARIABLES[version]:
        if name not in data.variables:
            raise KernelDataError(f"{path} has no variable {name!r} (a reduced DFPT file of format {version} has "
                                  f"{', '.join(VARIABLES[version])})")
    for name in REQUIRED_ATTRS[version]:
        if name not in data.attrs:
            raise KernelDataError(f"{path} has no attribute {name!r} (a reduced DFPT file of format {version} has "
                                  f"{', '.join(REQUIRED_ATTRS[version])})")
    for name in VARIABLES[version]:
        values = data[name].values
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise KernelDataError(f"{path}: variable {name!r} has {bad} value(s) that are not finite (NaN or inf)")
    return data


def file_qgrid(data: xr.Dataset) -> tuple[int, int, int]:
    """The q grid (N₁, N₂, N₃) a file names (a layer's has N₃ = 1)."""
    return tuple(int(n) for n in np.atleast_1d(data.attrs["qgrid"]))


def grid_steps(path: Path, data: xr.Dataset) -> tuple[int, int, int]:
    """The grid steps (m₁, m₂, m₃) of the file's q-point; an error unless q lies on the file's N₁×N₂×N₃ grid to
    :data:`GRID_TOLERANCE`."""
    qgrid = np.atleast_1d(data.attrs["qgrid"]).astype(float)
    q = np.asarray(data["qpoint"].values, float)
    if q.shape != (3,) or len(qgrid) != 3 or (qgrid < 1).any():
        raise KernelDataError(f"{path}: qpoint {q.tolist()} or qgrid {qgrid.tolist()} is not a reduced 3-vector "
                              "and an N1×N2×N3 grid")
    steps = np.rint(q * qgrid)
    off = np.abs(q - steps / qgrid).max()
    if off > GRID_TOLERANCE:
        raise KernelDataError(f"{path}: qpoint {np.round(q, 10).tolist()} is not on its "
                              f"{'×'.join(str(int(n)) for n in qgrid)} grid (off by {off:.2g} > {GRID_TOLERANCE:g}): "
                              "not rounded")
    return int(steps[0]), int(steps[1]), int(steps[2])


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
        _check_same_calculation(path, data, first_path, first, shared)
        if format_version(first) == 1 and (
                data["plane"].shape != first["plane"].shape or data["zint"].shape != first["zint"].shape
                or not np.allclose(data["height"].values, first["height"].values, atol=ATOMS_TOLERANCE, rtol=0)):
            raise KernelDataError(f"{path} is from another calculation: its planes or FFT grid (plane "
                                  f"{data['plane'].shape}, heights {data['height'].values.tolist()}) differ from "
                                  f"those of {first_path}")
        steps = grid_steps(path, data)
        qgrid = file_qgrid(data)
        point = tuple(m % n for m, n in zip(steps, qgrid, strict=True))
        if point in by_point:
            raise KernelDataError(f"{by_point[point]} and {path} are both for the grid point {point} of "
                                  f"{'×'.join(map(str, qgrid))}: keep one file per q")
        by_point[point] = path
        files[steps] = path
    return files


def _check_same_calculation(path: Path, data: xr.Dataset, first_path: Path, first: xr.Dataset, shared) -> None:
    """An error unless ``data`` has the attributes ``shared`` and the atoms of ``first``."""
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


def open_field_file(path: Path, first_path: Path, first: xr.Dataset) -> xr.Dataset:
    """The loaded field file of a kernel folder (:data:`FIELD_FILE`), checked on its own (readable, every variable,
    finite values) and against the folder's first reduced file ``first`` (same calculation and atoms)."""
    data = _load(path, "reduced field-response")
    for name in FIELD_VARIABLES:
        if name not in data.variables:
            raise KernelDataError(f"{path} has no variable {name!r} (a field-response file has "
                                  f"{', '.join(FIELD_VARIABLES)})")
        values = data[name].values
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise KernelDataError(f"{path}: variable {name!r} has values that are not finite (NaN or inf)")
    # its own conventions; a field at q = 0 belongs to any q grid of the same ground state
    shared = [name for name in SAME_CALCULATION if name in first.attrs and name not in ("conventions", "qgrid")]
    _check_same_calculation(path, data, first_path, first, shared)
    return data
