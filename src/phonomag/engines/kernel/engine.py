"""The kernel engine: any q from pattern fields on a coarse q grid (docs/physics.md §11), behind the engine protocol.

Built from the pattern fields at the irreducible q-points of an N₁×N₂ grid — from DFPT
(the reduced files of :mod:`phonomag.engines.abinit.pattern_response`, e.g. the shipped WSe₂
data) or from any engine with ``pattern_fields`` — unfolded by symmetry
(:mod:`~phonomag.engines.kernel.symmetry`) and Fourier interpolated
(:mod:`~phonomag.engines.kernel.interpolation`). Static one-sided response; cell moments
from the z-integral layer (one site, the cell); maps on the stored planes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from scipy.signal import resample

from phonomag.engines.base import EngineCapabilityError, StaticCellEngine
from phonomag.engines.kernel.data import KernelDataError, check_together, open_reduced, verify_manifest
from phonomag.engines.kernel.interpolation import ResponseKernel
from phonomag.engines.kernel.symmetry import InconsistentImages, fill_grid, space_group
from phonomag.io.netcdf import complex_from
from phonomag.response.fields import CellField, cartesian_q, in_plane_grid
from phonomag.response.modes import PatternResponse

#: Decimals of Å to which a map height names a stored plane (docs/kernel.md quotes the planes so).
PLANE_DIGITS = 4

@dataclass(frozen=True)
class ReducedGrid:
    """The reduced DFPT files of some q-points of one grid
    (:func:`~phonomag.engines.abinit.pattern_response.reduce_patterns`), checked as a whole
    (:mod:`~phonomag.engines.kernel.data`).

    fields: {grid steps (m₁, m₂): pattern fields (natoms, 3, nlayers, 4, n₁, n₂)}, layers (None: the z
    integral, then the plane heights in Å); qgrid (N₁, N₂) and kgrid as the files state; attrs: those
    of the first file (equal in every file where they describe the calculation); files: {grid steps: path}.
    """

    fields: dict
    atoms: Atoms
    layers: tuple
    qgrid: tuple[int, int]
    kgrid: tuple[int, ...]
    attrs: dict
    files: dict

    @classmethod
    def read(cls, files) -> ReducedGrid:
        """From files ``q_<m1>_<m2>_0.nc``; a :class:`~phonomag.engines.kernel.data.KernelDataError` naming the
        file if one is damaged, off its grid, from another calculation or a second file for a grid point."""
        datasets = {Path(path): open_reduced(path) for path in files}
        paths = check_together(datasets)
        fields = {steps: np.concatenate([complex_from(datasets[path]["zint"])[:, :, None],
                                         complex_from(datasets[path]["plane"])], axis=2)
                  for steps, path in paths.items()}
        first = next(iter(datasets.values()))
        atoms = Atoms(list(first["species"].values), positions=first["positions"].values,
                      cell=first["cell"].values, pbc=True)
        layers = (None, *(float(h) for h in first["height"].values))
        return cls(fields, atoms, layers, tuple(int(n) for n in np.atleast_1d(first.attrs["qgrid"])[:2]),
                   tuple(int(n) for n in np.atleast_1d(first.attrs["kgrid"])), dict(first.attrs), paths)

    def cell_integrals(self, steps) -> np.ndarray:
        """∫_cell ñ_{q,κβ} d²x (natoms, 3, 4) of the z-integral layer at grid steps (m₁, m₂): the direct values."""
        area = abs(np.linalg.det(self.atoms.cell.array[:2, :2]))
        return self.fields[tuple(steps)][:, :, self.layers.index(None)].mean(axis=(-2, -1)) * area


class KernelEngine(StaticCellEngine):
    """:class:`~phonomag.engines.base.ResponseEngine` of a :class:`ResponseKernel`.

    atom_labels: one per atom; kgrid: the k grid of the calculations the kernel came from;
    source: provenance text. The kernel's layers must hold the z integral (``None``).
    """

    name = "dfpt-kernel"

    def __init__(self, kernel: ResponseKernel, atom_labels, kgrid, source: str):
        if None not in kernel.layers:
            raise EngineCapabilityError("the kernel has no z-integral layer: no cell moments")
        self.kernel = kernel
        self.atoms = kernel.atoms
        self.atom_labels = tuple(atom_labels)
        self.kgrid = tuple(int(n) for n in kgrid)
        self.source = source

    @classmethod
    def from_irreducible(cls, irreducible: dict, atoms: Atoms, atom_labels, qgrid, layers: tuple, kgrid,
                         source: str) -> KernelEngine:
        """From {grid steps: pattern fields (natoms, 3, nlayers, 4, n₁, n₂)} at the irreducible q of ``qgrid``."""
        full = fill_grid(irreducible, tuple(qgrid), space_group(atoms), tuple(layers), atoms)
        return cls(ResponseKernel.from_grid(full, atoms, tuple(qgrid), tuple(layers)), atom_labels, kgrid, source)

    @classmethod
    def from_reduced_files(cls, folder: Path, atom_labels) -> KernelEngine:
        """From the per-q files ``q_<m1>_<m2>_0.nc`` of
        :func:`~phonomag.engines.abinit.pattern_response.reduce_patterns`
        (one per irreducible q of the grid named in their ``qgrid`` attribute), checked as a whole first
        (:mod:`~phonomag.engines.kernel.data`: the manifest if there is one, every file, files that map onto
        the same grid point by symmetry agreeing)."""
        verify_manifest(folder)
        files = sorted(Path(folder).glob("q_*.nc"))
        if not files:
            raise EngineCapabilityError(f"no reduced DFPT files q_*.nc in {folder}")
        grid = ReducedGrid.read(files)
        source = (f"{grid.attrs.get('engine', 'DFPT')}; {len(files)} irreducible q of "
                  f"{grid.qgrid[0]}×{grid.qgrid[1]} ({folder})")
        try:
            return cls.from_irreducible(grid.fields, grid.atoms, atom_labels, grid.qgrid, grid.layers, grid.kgrid,
                                        source)
        except InconsistentImages as exc:
            raise KernelDataError(f"{grid.files[exc.first]} and {grid.files[exc.second]} disagree: {exc}") from None
        except ValueError as exc:  # the files do not cover the grid
            raise EngineCapabilityError(f"{folder}: {exc}; compute the missing irreducible q-points "
                                        "(e.g. python scripts/wse2_response_kernel.py)") from None

    def check_structure(self, atoms: Atoms) -> None:
        """An error unless ``atoms`` (a material) has the kernel's atoms in the same order and in-plane cell."""
        same = (atoms.get_chemical_symbols() == self.atoms.get_chemical_symbols()
                and np.allclose(atoms.cell.array[:2, :2], self.atoms.cell.array[:2, :2], atol=1e-4)
                and np.allclose(atoms.positions[:, :2], self.atoms.positions[:, :2], atol=1e-4))
        if not same:
            raise EngineCapabilityError(
                f"the kernel data ({self.source}) is for {self.atoms.get_chemical_formula()} with cell "
                f"{np.round(self.atoms.cell.array[:2, :2], 4).tolist()} Å, not this material's structure")

    def provenance(self) -> dict[str, str]:
        n1, n2 = self.kernel.qgrid
        return {"engine": f"response kernel from a {n1}×{n2} q grid, Wigner–Seitz images (docs/physics.md §11)",
                "source": self.source}

    def pattern_responses(self, qpoints, kind: str = "one-sided", progress: bool = True) -> list[PatternResponse]:
        """All q at once (:meth:`ResponseKernel.cell_integrals`, batched matrix products)."""
        self.check_static_one_sided(kind)
        q = np.atleast_2d(np.asarray(qpoints, float))
        moments = self.kernel.cell_integrals(q, self.kernel.layers.index(None))
        return [PatternResponse(point, kind, m[:, :, None, :], ("cell",)) for point, m in zip(q, moments, strict=True)]

    def fourier_response(self, q_reduced, g_reduced, kind: str = "one-sided") -> np.ndarray:
        self.check_static_one_sided(kind)
        g = self.in_plane_g(g_reduced)
        values = self.kernel.fourier(np.asarray(q_reduced, float)[None], g, self.kernel.layers.index(None))[0]
        return values[:, :, :, 0]  # (nG, κ, β, α) of the z-integral layer

    def plane_index(self, z: float) -> int:
        """The stored layer of the plane at height z (Å): a stored plane's height, as the files state it or
        rounded to :data:`PLANE_DIGITS` decimals (docs/kernel.md quotes them so); else an EngineCapabilityError."""
        for i, height in enumerate(self.kernel.layers):
            if height is not None and abs(height - z) <= 0.5 * 10.0 ** -PLANE_DIGITS:
                return i
        heights = ", ".join(f"{h:.{PLANE_DIGITS}f}" for h in self.kernel.layers if h is not None)
        raise EngineCapabilityError(f"the kernel stores the planes z = {heights} Å only, not z = {z:g}: "
                                    "[maps] height must be one of them")

    def check_plane_height(self, z: float) -> None:
        self.plane_index(z)

    def plane_field(self, q_reduced, displacements, z: float, points: int, kind: str = "one-sided") -> CellField:
        """δñ^α on a stored plane (Fourier resampled to points × points)."""
        self.check_static_one_sided(kind)
        layer = self.plane_index(z)
        fields = self.kernel.fields(np.asarray(q_reduced, float)[None], layer)[0][:, :, 0]  # (κ, β, α, n1, n2)
        plane = np.einsum("kb,kbaxy->axy", np.asarray(displacements), fields)
        amplitude = resample(resample(plane, points, axis=1), points, axis=2)
        cell = self.atoms.cell.array
        height = self.kernel.layers[layer]  # the stored plane's own height
        grid = in_plane_grid(cell, (points, points)) + np.array([0.0, 0.0, height])
        return CellField(grid, amplitude, np.array([height]), cartesian_q(self.atoms, q_reduced), cell)

    def volume_field(self, q_reduced, displacements, shape, kind: str = "one-sided") -> CellField:
        raise EngineCapabilityError("the kernel engine keeps planes and the z integral, not volume fields")
