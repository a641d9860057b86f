"""A crystal that knows its lattice: atoms, dimensionality, symmetry, high-symmetry points and path.

:class:`Crystal` is the one place that says what kind of crystal phonomag is computing
(docs/physics.md §12):

- **dimensionality**: a layer (2D, periodic along a₁, a₂, with vacuum along a₃ ⟂ the layer)
  or a bulk crystal (3D), from ASE's dimensionality analysis (:func:`ase.geometry.dimensionality.
  isolate_components`). A cell is a layer only if it holds exactly one bonded 2D component in the
  a₁–a₂ plane with at least ``min_vacuum`` Å between it and its image, or if its ``pbc`` says so;
  everything else, layered bulk crystals included, is 3D and is never made a slab.
- **symmetry**: the space group from spglib (the layer group of a layer, as the 3D operations of
  its cell): operations {S|t} acting as r → S r + t, their atom permutations, and the little
  co-group of any q (the rotations with S q = q exactly, docs/physics.md §12).
- **high-symmetry points and the standard path** of its Bravais lattice, from ASE's band paths
  (:meth:`ase.cell.Cell.bandpath`, Setyawan–Curtarolo for 3D lattices, ASE's five 2D lattices for
  layers), in reduced coordinates of the cell as given. Of the points equivalent to ASE's point
  modulo the reciprocal lattice, the label names the shortest (the first Brillouin zone); among
  equally short ones the largest in Cartesian (x, y, z) order, so that a label names the same
  Cartesian point in every setting of the same lattice. Each point X whose −X is not X modulo
  the reciprocal lattice also gets its partner X′ = −X (K′ of a hexagonal layer): without
  inversion the two carry opposite magnetizations.

For the paper's 120° hexagonal cell this gives Γ = 0, M = (1/2, 0, 0), K = (1/3, 1/3, 0),
K′ = −K and the path Γ–M–K–Γ.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
import spglib
from ase import Atoms
from ase.dft.bz import bz_vertices
from ase.geometry.dimensionality import isolate_components

from phonomag.errors import PhonomagError, QPointError

#: Vacuum (Å) between a layer and its periodic image above which a one-layer cell is a 2D layer.
MIN_VACUUM = 5.0
#: spglib's tolerance on positions (Å).
SYMPREC = 1e-4
#: Tolerance on reduced coordinates when comparing wavevectors.
Q_TOL = 1e-8
#: Relative tolerance of S q = q: the Cartesian rotations inherit the cell's rounding (spglib's SYMPREC in Å).
ROTATION_TOL = 1e-5


class CrystalError(PhonomagError):
    """A structure that is not a periodic crystal phonomag can compute."""


@dataclass(frozen=True)
class SymmetryOperation:
    """One space-group operation {S|t}: r → S r + t.

    rotation (3, 3) int acts on reduced positions (x → R x + τ); translation τ (3,) reduced;
    cartesian S (3, 3) orthogonal, acting on Cartesian vectors; permutation (natoms,) int:
    atom κ is carried onto atom permutation[κ] (modulo a lattice vector).
    """

    rotation: np.ndarray
    translation: np.ndarray
    cartesian: np.ndarray
    permutation: np.ndarray

    @property
    def proper(self) -> bool:
        """True for a rotation (det S = +1), False for a mirror, inversion or rotoinversion."""
        return bool(np.linalg.det(self.cartesian) > 0)

    def on_axial_vector(self) -> np.ndarray:
        """(3, 3): how an axial vector such as the magnetization transforms, det(S) S."""
        return np.linalg.det(self.cartesian) * self.cartesian


def _periodic(atoms: Atoms) -> Atoms:
    return Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell.array, pbc=True)


@dataclass(frozen=True)
class LayerGeometry:
    """How the atoms of a cell stack along a₃ = (0, 0, c): c (Å), the sorted heights modulo c (Å), the gaps between
    neighbouring heights (Å, the last one across the cell boundary) and the index of the widest gap (the vacuum)."""

    c: float
    heights: np.ndarray
    gaps: np.ndarray
    widest: int

    @property
    def vacuum(self) -> float:
        """The widest gap (Å): the vacuum between the layer and its image."""
        return float(self.gaps[self.widest])


def bonded_components(atoms: Atoms) -> dict[str, int]:
    """ASE's dimensionality analysis of the periodic cell: {"2D": 1} for one layer, {"3D": 1} for a 3D network …"""
    return {kind: len(parts) for kind, parts in isolate_components(_periodic(atoms)).items()}


def layer_geometry(atoms: Atoms) -> LayerGeometry | None:
    """The stacking of ``atoms`` along a₃ if a₁, a₂ lie in the xy plane and a₃ along z, else None."""
    cell = atoms.cell.array
    if np.abs(cell[:2, 2]).max() > 1e-6 or np.abs(cell[2, :2]).max() > 1e-6:
        return None
    c = float(cell[2, 2])
    z = np.sort(atoms.positions[:, 2] % c)
    gaps = np.diff(np.append(z, z[0] + c))
    return LayerGeometry(c, z, gaps, int(np.argmax(gaps)))


def _layer_vacuum(atoms: Atoms) -> float | None:
    """The vacuum (Å) between the layer and its image along a₃ if ``atoms`` is one bonded 2D component in the
    a₁–a₂ plane (:func:`layer_geometry`), else None."""
    geometry = layer_geometry(atoms)
    if geometry is None or bonded_components(atoms) != {"2D": 1}:
        return None
    return geometry.vacuum


def _rational(point: np.ndarray) -> np.ndarray:
    """``point`` with each coordinate that lies within 1e-9 of a fraction of denominator ≤ 48 set to that fraction:
    high-symmetry points are rational, and exact values make paths reproducible to the last bit."""
    values = []
    for x in np.asarray(point, float):
        fraction = Fraction(float(x)).limit_denominator(48)
        values.append(float(fraction) if abs(float(fraction) - x) < 1e-9 else float(x))
    return np.array(values) + 0.0


class Crystal:
    """A periodic crystal: its atoms, dimensionality, symmetry and high-symmetry points (module docstring).

    atoms: the cell (rows a₁, a₂, a₃, Å) and the atoms in their order; dimension: 2 (a layer in the
    a₁–a₂ plane, a₃ the vacuum direction) or 3.
    """

    def __init__(self, atoms: Atoms, dimension: int):
        if dimension not in (2, 3):
            raise CrystalError(f"dimension must be 2 (a layer) or 3 (a bulk crystal), got {dimension!r}")
        if len(atoms) == 0 or atoms.cell.rank != 3:
            raise CrystalError("a crystal needs atoms and three cell vectors")
        self.atoms = atoms.copy()
        self.atoms.pbc = [True, True, dimension == 3]
        self.dimension = dimension

    @classmethod
    def from_atoms(cls, atoms: Atoms, min_vacuum: float = MIN_VACUUM) -> Crystal:
        """The crystal of ``atoms``, its dimensionality found as the module docstring says: a layer if ``pbc``
        is (True, True, False) or the cell is one 2D layer with at least ``min_vacuum`` Å of vacuum, else 3D."""
        if len(atoms) == 0 or atoms.cell.rank != 3:
            raise CrystalError("a crystal needs atoms and three cell vectors")
        if tuple(bool(p) for p in atoms.pbc) == (True, True, False):
            return cls(atoms, 2)
        vacuum = _layer_vacuum(atoms)
        return cls(atoms, 2 if vacuum is not None and vacuum >= min_vacuum else 3)

    @property
    def kind(self) -> str:
        """"layer" or "bulk"."""
        return "layer" if self.dimension == 2 else "bulk"

    @property
    def cell(self) -> np.ndarray:
        """Lattice vectors as rows (3, 3), Å."""
        return self.atoms.cell.array

    @property
    def reciprocal(self) -> np.ndarray:
        """Reciprocal vectors b_i as rows (3, 3), 1/Å, with a_i · b_j = 2π δ_ij."""
        return 2 * np.pi * np.linalg.inv(self.cell).T

    # ------------------------------------------------------------------ symmetry
    @cached_property
    def _dataset(self):
        cell = (self.cell, self.atoms.get_scaled_positions(wrap=False), self.atoms.numbers)
        dataset = spglib.get_symmetry_dataset(cell, symprec=SYMPREC)
        if dataset is None:
            raise CrystalError(f"spglib finds no symmetry for this cell: {spglib.get_error_message()}")
        return dataset

    @property
    def space_group(self) -> tuple[str, int]:
        """(international symbol, number) of the space group (for a layer: of its cell, the layer group's
        operations)."""
        return str(self._dataset.international), int(self._dataset.number)

    @cached_property
    def operations(self) -> tuple[SymmetryOperation, ...]:
        """Every space-group operation of the cell (spglib), with its Cartesian rotation and atom permutation."""
        lattice = self.cell.T  # columns a_i: r = lattice @ x
        fractional = self.atoms.get_scaled_positions(wrap=False)
        ops = []
        for rotation, translation in zip(self._dataset.rotations, self._dataset.translations, strict=True):
            images = fractional @ rotation.T + translation
            difference = images[:, None, :] - fractional[None, :, :]
            distance = np.linalg.norm((difference - np.round(difference)) @ self.cell, axis=-1)
            permutation = np.argmin(distance, axis=1)
            if distance[np.arange(len(images)), permutation].max() > 10 * SYMPREC:
                raise CrystalError("a space-group operation of spglib does not map the atoms onto atoms")
            cartesian = lattice @ rotation @ np.linalg.inv(lattice)
            ops.append(SymmetryOperation(rotation.astype(int), np.asarray(translation, float), cartesian,
                                         permutation.astype(int)))
        return tuple(ops)

    def little_cogroup(self, q_reduced) -> tuple[SymmetryOperation, ...]:
        """The operations whose rotation keeps q exactly (S q = q, not only modulo G), q reduced (3,).

        Only these constrain the cell-integrated moments at q: an operation with S q = q + G, G ≠ 0, relates
        the q + 0 Fourier component to the q + G′ one (docs/physics.md §12).
        """
        q = np.asarray(q_reduced, float) @ self.reciprocal
        scale = max(np.linalg.norm(q), 1.0)
        return tuple(op for op in self.operations if np.linalg.norm(op.cartesian @ q - q) < ROTATION_TOL * scale)

    # ------------------------------------------------------------------ points and path
    @cached_property
    def _bandpath(self):
        pbc = [True, True, self.dimension == 3]
        try:
            return self.atoms.cell.bandpath(npoints=0, pbc=pbc)
        except Exception as exc:  # ASE raises several kinds for a lattice it cannot classify
            raise CrystalError(f"ASE finds no Bravais lattice for this cell ({type(exc).__name__}: {exc})") from None

    def _representative(self, point) -> np.ndarray:
        """The image of ``point`` (reduced) modulo the reciprocal lattice that its label names (module docstring):
        the shortest, then the largest in Cartesian (x, y, z) order."""
        span = np.arange(-2, 3)
        shifts = np.array(np.meshgrid(span, span, span if self.dimension == 3 else [0], indexing="ij")).reshape(3, -1).T
        images = np.asarray(point, float) - np.round(point) + shifts
        cartesian = images @ self.reciprocal
        length = np.linalg.norm(cartesian, axis=1)
        shortest = length <= length.min() * (1 + ROTATION_TOL) + 1e-12
        candidates, coords = images[shortest], np.round(cartesian[shortest], 5)
        best = np.lexsort((-coords[:, 2], -coords[:, 1], -coords[:, 0]))[0]
        return _rational(candidates[best])

    @cached_property
    def special_points(self) -> dict[str, np.ndarray]:
        """Label → reduced coordinates (3,) of the high-symmetry points (module docstring); "G" is Γ. A point X
        whose −X is another point modulo G also has its partner X′ = −X."""
        points = {label: self._representative(p) for label, p in self._bandpath.special_points.items()}
        partners = {label + "'": -point + 0.0 for label, point in points.items()
                    if not np.allclose(2 * point, np.round(2 * point), atol=Q_TOL)}
        return {**points, **partners}

    @cached_property
    def standard_path(self) -> tuple[str, ...]:
        """The labels of the first connected segment of the lattice's standard path, e.g. ("G", "M", "K", "G")
        for a hexagonal layer and ("G", "X", "W", "K", "G", "L", "U", "W", "L", "K") for fcc."""
        first = self._bandpath.path.split(",")[0]
        labels, i = [], 0
        while i < len(first):  # labels are a capital letter and optional digits (ASE: "G", "M1", "Y1" …)
            j = i + 1
            while j < len(first) and first[j].isdigit():
                j += 1
            labels.append(first[i:j])
            i = j
        return tuple(labels)

    def zone_outline(self) -> np.ndarray:
        """The corners of the 2D Brillouin zone of a layer around Γ, Cartesian (n, 2) in 1/Å, ordered by angle
        (ASE's :func:`ase.dft.bz.bz_vertices`): six for a hexagonal layer, four for a rectangular one."""
        if self.dimension != 2:
            raise CrystalError("a zone outline in the plane is drawn for layers only")
        faces = bz_vertices(self.atoms.cell.reciprocal(), dim=2)
        corners = np.unique(np.round(np.vstack([points[:, :2] for points, _ in faces]) * 2 * np.pi, 6), axis=0)
        return corners[np.argsort(np.arctan2(corners[:, 1], corners[:, 0]))]

    def label_of(self, q_reduced, tol: float = Q_TOL) -> str | None:
        """The label of the high-symmetry point at exactly ``q_reduced`` (not modulo G), or None."""
        for label, point in self.special_points.items():
            if np.allclose(q_reduced, point, atol=tol):
                return label
        return None

    @property
    def lattice_name(self) -> str:
        """ASE's name of the Bravais lattice: HEX2D, RECT, … for layers, FCC, HEX, … for bulk crystals."""
        return self.atoms.cell.get_bravais_lattice(pbc=self.atoms.pbc).name

    def point(self, label: str) -> np.ndarray:
        """The reduced coordinates of ``label``; QPointError names the labels this lattice has."""
        if label not in self.special_points:
            raise QPointError(f"unknown q label {label!r} for this {self.kind}'s lattice ({self.lattice_name}); "
                              f"labels: {', '.join(self.special_points)}, or three reduced coordinates")
        return self.special_points[label].copy()
