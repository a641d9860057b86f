"""The kernel engine: any q from pattern fields on a coarse q grid (docs/physics.md §11), behind the engine protocol.

Built from the pattern fields at the irreducible q-points of an N₁×N₂×N₃ grid — from DFPT
(the reduced files of :mod:`phonomag.engines.abinit.pattern_response`, e.g. the shipped WSe₂
data) or from any engine with ``pattern_fields`` — unfolded by symmetry
(:mod:`~phonomag.engines.kernel.symmetry`) and Fourier interpolated
(:mod:`~phonomag.engines.kernel.interpolation`). Static one-sided response; cell moments (one site,
the cell). From files of format 2 (any cell): the fields on the whole grid of the cell, so Fourier
components at any G of that grid, maps at any height and volume fields; from format 1 (layers): the z
integral (in-plane G) and maps on the stored planes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from scipy.signal import resample

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.engines.base import EngineCapabilityError, StaticCellEngine
from phonomag.engines.kernel.data import (
    FIELD_FILE,
    KernelDataError,
    check_together,
    file_qgrid,
    format_version,
    open_field_file,
    open_reduced,
    verify_manifest,
)
from phonomag.engines.kernel.interpolation import ResponseKernel, plane_spacing
from phonomag.engines.kernel.long_range import LongRange
from phonomag.engines.kernel.symmetry import FourierBox, InconsistentImages, PlaneLayers, fill_grid, space_group
from phonomag.io.abinit.ddb import DielectricTensors
from phonomag.io.netcdf import complex_from
from phonomag.response.band_limited import ball_box, box_spectrum, sphere_radius
from phonomag.response.fields import CellField, cartesian_q, in_plane_grid, plane_field_from_grid
from phonomag.response.modes import PatternResponse

#: Decimals of Å to which a map height names a stored plane (docs/kernel.md quotes the planes so).
PLANE_DIGITS = 4

def grid_text(qgrid) -> str:
    """N₁×N₂ for a layer's grid (N₃ = 1), N₁×N₂×N₃ otherwise."""
    return "×".join(map(str, qgrid[:2] if qgrid[2] == 1 else qgrid))


@dataclass(frozen=True)
class ReducedGrid:
    """The reduced DFPT files of some q-points of one grid
    (:func:`~phonomag.engines.abinit.pattern_response.reduce_patterns`), checked as a whole
    (:mod:`~phonomag.engines.kernel.data`).

    fields: {grid steps (m₁, m₂, m₃): pattern fields in ``representation``}: format 2, the Fourier
    coefficients on a box holding every q's sphere and its images (:class:`~.symmetry.FourierBox`,
    (natoms, 3, 4, n₁, n₂, n₃)); format 1, the z integral and the stored planes
    (:class:`~.symmetry.PlaneLayers`, (natoms, 3, nlayers, 4, n₁, n₂), layers None then the heights in Å);
    moments: {grid steps: the files' cell moments (natoms, 3, 4), electrons per cell per Å};
    qgrid (N₁, N₂, N₃) and kgrid as the files state; attrs: those of the first file (equal in every file
    where they describe the calculation); files: {grid steps: path}.
    """

    fields: dict
    moments: dict
    atoms: Atoms
    representation: object
    qgrid: tuple[int, int, int]
    kgrid: tuple[int, ...]
    attrs: dict
    files: dict

    @classmethod
    def read(cls, files) -> ReducedGrid:
        """From files ``q_<m1>_<m2>_<m3>.nc``; a :class:`~phonomag.engines.kernel.data.KernelDataError` naming the
        file if one is damaged, off its grid, from another calculation or a second file for a grid point."""
        datasets = {Path(path): open_reduced(path) for path in files}
        paths = check_together(datasets)
        first = next(iter(datasets.values()))
        atoms = Atoms(list(first["species"].values), positions=first["positions"].values,
                      cell=first["cell"].values, pbc=True)
        qgrid = file_qgrid(first)
        if format_version(first) == 1:
            layers = (None, *(float(h) for h in first["height"].values))
            fields = {steps: np.concatenate([complex_from(datasets[path]["zint"])[:, :, None],
                                             complex_from(datasets[path]["plane"])], axis=2)
                      for steps, path in paths.items()}
            area = abs(np.linalg.det(atoms.cell.array[:2, :2]))
            moments = {steps: f[:, :, 0].mean(axis=(-2, -1)) * area for steps, f in fields.items()}
            representation = PlaneLayers(layers, atoms)
        else:
            largest_q = max(np.linalg.norm(np.asarray(m, float) / qgrid @ atoms.cell.reciprocal() * 2 * np.pi)
                            for m in [*paths, *np.ndindex(*qgrid)])
            shape = ball_box(atoms.cell.array, sphere_radius(float(first.attrs["field_ecut_hartree"])) + largest_q)
            fields = {steps: box_spectrum(complex_from(datasets[path]["coefficient"]),
                                          datasets[path]["gvector"].values, shape)
                      for steps, path in paths.items()}
            moments = {steps: complex_from(datasets[path]["moment"]) for steps, path in paths.items()}
            representation = FourierBox(shape, atoms)
        return cls(fields, moments, atoms, representation, qgrid,
                   tuple(int(n) for n in np.atleast_1d(first.attrs["kgrid"])), dict(first.attrs), paths)

    def cell_integrals(self, steps) -> np.ndarray:
        """∫_cell ñ_{q,κβ} (natoms, 3, 4) at grid steps (m₁, m₂, m₃): the direct values of the files."""
        return self.moments[tuple(steps)]


def _long_range(path: Path, first_file: Path, grid: ReducedGrid) -> LongRange | None:
    """The long-range part from a kernel folder's field file (None without one), the Born charges made charge
    neutral (:meth:`~phonomag.io.abinit.ddb.DielectricTensors.charge_neutral`)."""
    if not path.is_file():
        return None
    if not isinstance(grid.representation, FourierBox) or grid.qgrid[2] == 1:
        raise KernelDataError(f"{path}: the long-range part is for a bulk crystal's kernel (reduced files of format 2 "
                              "on a 3D q grid); remove the file")
    data = open_field_file(path, first_file, open_reduced(first_file))
    tensors = DielectricTensors(data["born_charge"].values, data["epsilon_inf"].values).charge_neutral()
    coefficients = complex_from(data["field_coefficient"])
    return LongRange.from_coefficients(grid.atoms, tensors.born, tensors.epsilon, coefficients, data["gvector"].values,
                                       grid.representation.shape)


class KernelEngine(StaticCellEngine):
    """:class:`~phonomag.engines.base.ResponseEngine` of a :class:`ResponseKernel`.

    atom_labels: one per atom; kgrid: the k grid of the calculations the kernel came from;
    source: provenance text. The kernel's layers either hold the z integral (``None``, format 1: cell
    moments and in-plane G from it, maps on the stored planes) or are the planes x₃ = j/n₃ of a volume
    (format 2: cell moments and G from the volume, maps at any height, volume fields).
    """

    name = "dfpt-kernel"

    def __init__(self, kernel: ResponseKernel, atom_labels, kgrid, source: str):
        self.kernel = kernel
        self.atoms = kernel.atoms
        self.atom_labels = tuple(atom_labels)
        self.kgrid = tuple(int(n) for n in kgrid)
        self.source = source
        #: the index of the z-integral layer, or None: the layers are a volume
        self.z_integral = kernel.layers.index(None) if None in kernel.layers else None

    @classmethod
    def from_irreducible(cls, irreducible: dict, atoms: Atoms, atom_labels, qgrid, representation, kgrid,
                         source: str, long_range: LongRange | None = None) -> KernelEngine:
        """From {grid steps (m₁, m₂, m₃): pattern fields in ``representation``} at the irreducible q of ``qgrid``
        (:class:`~.symmetry.FourierBox` or :class:`~.symmetry.PlaneLayers`); ``long_range``: the long-range part
        of a polar crystal (a FourierBox kernel), subtracted before and added after the interpolation."""
        qgrid = tuple(int(n) for n in qgrid)
        full = fill_grid(irreducible, qgrid, space_group(atoms), atoms, representation)
        layered, layers = representation.kernel_layers(full)
        return cls(ResponseKernel.from_grid(layered, atoms, qgrid, layers, long_range), atom_labels, kgrid, source)

    @classmethod
    def from_reduced_files(cls, folder: Path, atom_labels) -> KernelEngine:
        """From the per-q files ``q_<m1>_<m2>_<m3>.nc`` of
        :func:`~phonomag.engines.abinit.pattern_response.reduce_patterns`
        (one per irreducible q of the grid named in their ``qgrid`` attribute), checked as a whole first
        (:mod:`~phonomag.engines.kernel.data`: the manifest if there is one, every file, files that map onto
        the same grid point by symmetry agreeing)."""
        verify_manifest(folder)
        files = sorted(Path(folder).glob("q_*.nc"))
        if not files:
            raise EngineCapabilityError(f"no reduced DFPT files q_*.nc in {folder}")
        grid = ReducedGrid.read(files)
        source = f"{grid.attrs.get('engine', 'DFPT')}; {len(files)} irreducible q of {grid_text(grid.qgrid)} ({folder})"
        long_range = _long_range(Path(folder) / FIELD_FILE, files[0], grid)
        if long_range is not None:
            source += (f"; long-range part from {FIELD_FILE} (time reversal imposed on its field response: "
                       f"raw violation n⁰ {long_range.removed[0]:.1e}, M {long_range.removed[1]:.1e})")
        try:
            return cls.from_irreducible(grid.fields, grid.atoms, atom_labels, grid.qgrid, grid.representation,
                                        grid.kgrid, source, long_range)
        except InconsistentImages as exc:
            raise KernelDataError(f"{grid.files[exc.first]} and {grid.files[exc.second]} disagree: {exc}") from None
        except ValueError as exc:  # the files do not cover the grid
            raise EngineCapabilityError(f"{folder}: {exc}; compute the missing irreducible q-points "
                                        "(e.g. python scripts/wse2_response_kernel.py)") from None

    def check_structure(self, atoms: Atoms) -> None:
        """An error unless ``atoms`` (a material) has the kernel's atoms in the same order and cell (in plane only
        for a layer's kernel, N₃ = 1: the vacuum is the material's choice)."""
        axes = slice(0, 2) if self.kernel.qgrid[2] == 1 else slice(0, 3)
        same = (atoms.get_chemical_symbols() == self.atoms.get_chemical_symbols()
                and np.allclose(atoms.cell.array[axes, axes], self.atoms.cell.array[axes, axes], atol=1e-4)
                and np.allclose(atoms.positions[:, axes], self.atoms.positions[:, axes], atol=1e-4))
        if not same:
            raise EngineCapabilityError(
                f"the kernel data ({self.source}) is for {self.atoms.get_chemical_formula()} with cell "
                f"{np.round(self.atoms.cell.array[axes, axes], 4).tolist()} Å, not this material's structure")

    def provenance(self) -> dict[str, str]:
        return {"engine": f"response kernel from a {grid_text(self.kernel.qgrid)} q grid, Wigner–Seitz images "
                          "(docs/physics.md §11)",
                "source": self.source}

    def pattern_responses(self, qpoints, kind: str = "one-sided", progress: bool = True) -> list[PatternResponse]:
        """All q at once (:meth:`ResponseKernel.cell_integrals`, batched matrix products)."""
        self.check_static_one_sided(kind)
        q = np.atleast_2d(np.asarray(qpoints, float))
        moments = self.kernel.cell_integrals(q, self.z_integral)
        return [PatternResponse(point, kind, m[:, :, None, :], ("cell",)) for point, m in zip(q, moments, strict=True)]

    def fourier_response(self, q_reduced, g_reduced, kind: str = "one-sided") -> np.ndarray:
        """∫_cell ñ e^{−iG·r} (nG, κ, β, α), electrons per cell per Å: in-plane G from the z integral (format 1),
        any G of the volume's grid (format 2)."""
        self.check_static_one_sided(kind)
        if self.z_integral is not None:
            g = self.in_plane_g(g_reduced)
        else:
            g = np.atleast_2d(np.asarray(g_reduced)).astype(int)
            n1, n2 = self.kernel.weighted[0].shape[-2:]
            limit = (np.array([n1, n2, len(self.kernel.layers)]) - 1) // 2
            if (np.abs(g) > limit).any():
                raise EngineCapabilityError(f"G beyond the kernel's grid (|G_i| <= {limit.tolist()}, the sphere of "
                                            "the reduced files' field cutoff)")
        return self.kernel.fourier(np.asarray(q_reduced, float)[None], g, self.z_integral)[0]

    def _volume(self, q_reduced, displacements) -> np.ndarray:
        """δñ^α (4, n₁, n₂, n₃) of the mode on the volume's grid (format 2)."""
        fields = self.kernel.fields(np.asarray(q_reduced, float)[None])[0]  # (κ, β, n3, α, n1, n2)
        return np.moveaxis(np.einsum("kb,kblaxy->laxy", np.asarray(displacements), fields), 0, -1)

    @property
    def volume_data(self) -> bool:
        """True for reduced files of format 2 (the fields of the whole cell: volume fields, any G, any plane);
        False for format 1 (stored planes and the z integral)."""
        return self.z_integral is None

    def plane_index(self, z: float) -> int:
        """The stored layer (format 1) of the plane at height z (Å): a stored plane's height, as the files state it
        or rounded to :data:`PLANE_DIGITS` decimals (docs/kernel.md quotes them so); else an
        EngineCapabilityError."""
        for i, height in enumerate(self.kernel.layers):
            if height is not None and abs(height - z) <= 0.5 * 10.0 ** -PLANE_DIGITS:
                return i
        heights = ", ".join(f"{h:.{PLANE_DIGITS}f}" for h in self.kernel.layers if h is not None)
        raise EngineCapabilityError(f"the kernel stores the planes z = {heights} Å only, not z = {z:g}: "
                                    "[maps] height must be one of them")

    def check_plane(self, plane: LatticePlane) -> None:
        """Format 2 draws any lattice plane; format 1 only its stored planes, parallel to the layer
        (:meth:`plane_index`)."""
        if self.z_integral is not None:
            if not plane.normal_to_z:
                raise EngineCapabilityError(f"this kernel (reduced files of format 1) stores planes parallel to the "
                                            f"layer only, not ({' '.join(map(str, plane.miller))}): [maps] plane "
                                            "must be [0, 0, 1]")
            self.plane_index(plane.height)

    def plane_field(self, q_reduced, displacements, plane: LatticePlane, points: int,
                    kind: str = "one-sided") -> CellField:
        """δñ^α on the lattice ``plane``, points × points per plane cell: any plane (format 2, exact
        trigonometric interpolation of the volume), or a stored plane (format 1, Fourier resampled in plane)."""
        self.check_static_one_sided(kind)
        q_cartesian = cartesian_q(self.atoms, q_reduced)
        if self.z_integral is None:
            return plane_field_from_grid(self._volume(q_reduced, displacements), self.atoms.cell.array, plane,
                                         points, q_cartesian)
        self.check_plane(plane)
        layer = self.plane_index(plane.height)
        fields = self.kernel.fields(np.asarray(q_reduced, float)[None], layer)[0][:, :, 0]  # (κ, β, α, n1, n2)
        field = np.einsum("kb,kbaxy->axy", np.asarray(displacements), fields)
        amplitude = resample(resample(field, points, axis=1), points, axis=2)
        height = self.kernel.layers[layer]  # the stored plane's own height
        grid = in_plane_grid(self.atoms.cell.array, (points, points)) + np.array([0.0, 0.0, height])
        return CellField(grid, amplitude, np.array([height]), q_cartesian, plane.basis)

    def volume_field(self, q_reduced, displacements, shape, kind: str = "one-sided") -> CellField:
        """δñ^α on the (n₁, n₂, n₃) grid of the cell (Fourier resampled from the volume's grid; format 2 only)."""
        self.check_static_one_sided(kind)
        if self.z_integral is not None:
            raise EngineCapabilityError("this kernel (reduced files of format 1) keeps planes and the z integral, "
                                        "not volume fields")
        amplitude = self._volume(q_reduced, displacements)
        for axis, n in enumerate(shape[:3], start=1):
            amplitude = resample(amplitude, n, axis=axis)
        cell = self.atoms.cell.array
        fractional = np.stack(np.meshgrid(*[np.arange(n) / n for n in shape[:3]], indexing="ij"), axis=-1)
        heights = np.arange(shape[2]) / shape[2] * plane_spacing(cell)
        return CellField(fractional @ cell, amplitude, heights, cartesian_q(self.atoms, q_reduced), cell)
