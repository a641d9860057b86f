"""The plane of a map: a lattice plane (h k l) of the crystal through one of its atoms, at an offset.

A lattice plane with Miller indices (h k l) (reduced to coprime integers, referred to the cell as given:
rows a₁, a₂, a₃) is normal to G = h b₁ + k b₂ + l b₃. Its lattice vectors are the integer combinations
u = Σ uᵢ aᵢ with h·u = 0; they form a two-dimensional lattice with a basis A₁, A₂ (the shortest such pair,
A₁ × A₂ = ±|Ω| G/2π). A map is drawn over that plane's own cells: A₁, A₂ tile it exactly, because the
response ñ_q(r) is cell periodic and every point r + A is a lattice translate of r. A₃ is a lattice vector
with h·A₃ = 1, so (A₁, A₂, A₃) is a basis of the crystal's lattice and the planes repeat every
d = 2π/|G| along the normal n̂ = A₁ × A₂ / |A₁ × A₂|.

The plane passes through atom κ at ``offset`` (Å) along n̂ from it (docs/physics.md §3). For a layer,
(0 0 1) is the layer plane and the offset the height above the chosen atom, never an assumed z = 0.

Maps are drawn in the plane's own frame: the rotation R (rows ê₁, ê₂, n̂) takes Cartesian vectors into
coordinates along the plane (x, y) and along its normal (z). For a plane normal to the Cartesian z axis
R is the identity (a layer's maps keep the lab axes); otherwise ê₁ = A₁/|A₁| and ê₂ = n̂ × ê₁. The
magnetization is an axial vector, but R is a proper rotation, so it turns like any vector.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms

#: Largest |Miller index| accepted: a plane of higher index has a long in-plane cell and little to see.
MAX_MILLER = 6
#: |n̂ · ẑ| above which a plane counts as normal to z (its maps keep the lab frame).
PARALLEL_TOLERANCE = 1e-9


def reduced_miller(miller) -> tuple[int, int, int]:
    """(h k l) divided by their greatest common divisor; a ValueError for (0 0 0) or non-integers."""
    values = tuple(int(m) for m in miller)
    if len(values) != 3 or any(v != m for v, m in zip(values, miller, strict=True)) or not any(values):
        raise ValueError(f"Miller indices must be three integers, not all zero, not {list(miller)}")
    divisor = math.gcd(*values)
    return tuple(v // divisor for v in values)


def _plane_basis(miller: tuple[int, int, int], cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer (u, v) (3,) each: a basis of {u : h·u = 0}, with u × v along +(h k l) (A₁ × A₂ ∥ G). Two cell
    vectors in the plane, in the cell's order (so that (0 0 1) gives a₁, a₂); else the shortest pair (Cartesian
    length, then fewest non-zero indices, then the largest indices first)."""
    h = np.array(miller)
    unit = [vector for vector in np.eye(3, dtype=int) if np.dot(h, vector) == 0]
    if len(unit) == 2:
        first, other = unit
    else:
        reach = 2 * int(np.abs(h).max()) + 1
        candidates = [np.array(u) for u in itertools.product(range(-reach, reach + 1), repeat=3)
                      if any(u) and np.dot(h, u) == 0]
        candidates.sort(key=lambda u: (round(float(np.linalg.norm(u @ cell)), 8), int(np.count_nonzero(u)),
                                       tuple(-u)))
        first = candidates[0]
        other = next(c for c in candidates[1:] if np.array_equal(np.abs(np.cross(first, c)), np.abs(h)))
    # u × v = ±h for a basis (not a sublattice); G ∥ Σ hᵢ bᵢ, and (u × v)·h > 0 puts A₁ × A₂ along it
    return (first, other) if np.dot(np.cross(first, other), h) > 0 else (first, -other)


def _out_of_plane(miller: tuple[int, int, int], u: np.ndarray, v: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Integer w (3,) with h·w = 1 (from the extended Euclid algorithm) and its in-plane part reduced by u, v."""
    h = np.array(miller)
    inverse = np.linalg.inv(np.stack([u, v, np.cross(u, v)]).T.astype(float))
    for w in itertools.product(range(-MAX_MILLER - 1, MAX_MILLER + 2), repeat=3):
        if np.dot(h, w) == 1:
            w = np.array(w)
            s, t, _ = inverse @ w
            return w - int(round(s)) * u - int(round(t)) * v
    raise ValueError(f"no lattice vector with h·w = 1 for {miller}")  # unreachable for coprime (h k l)


@dataclass(frozen=True)
class LatticePlane:
    """A lattice plane of a crystal at a point (module docstring).

    miller (h k l) coprime; basis (3, 3) Å, rows A₁, A₂ (in the plane) and A₃ (h·A₃ = 1), Cartesian;
    integer (3, 3): the same rows in units of the cell vectors; normal n̂ (3,); origin (3,) Å = height·n̂,
    the foot of the normal from the cell's origin, where the plane's cells start (in the plane's frame it is
    (0, 0, height)); height: the plane's distance (Å) along n̂ from the parallel plane through the cell's
    origin; atom: the index of the atom the plane goes through; offset (Å): the plane's distance from that
    atom along n̂.
    """

    miller: tuple[int, int, int]
    basis: np.ndarray
    integer: np.ndarray
    normal: np.ndarray
    origin: np.ndarray
    height: float
    atom: int
    offset: float

    @classmethod
    def through(cls, atoms: Atoms, miller=(0, 0, 1), atom: int = 0, offset: float = 0.0) -> LatticePlane:
        """The plane (h k l) of ``atoms``' cell through atom ``atom`` (0-based), ``offset`` Å along its normal."""
        miller = reduced_miller(miller)
        if not 0 <= atom < len(atoms):
            raise ValueError(f"atom {atom} is not one of the {len(atoms)} atoms (0 … {len(atoms) - 1})")
        cell = atoms.cell.array
        u, v = _plane_basis(miller, cell)
        w = _out_of_plane(miller, u, v, cell)
        integer = np.stack([u, v, w])
        basis = integer @ cell
        normal = np.cross(basis[0], basis[1])
        normal /= np.linalg.norm(normal)
        height = float(atoms.positions[atom] @ normal + offset)
        origin = height * normal
        return cls(miller, basis, integer, normal, origin, height, int(atom), float(offset))

    @property
    def spacing(self) -> float:
        """d (Å): the distance between neighbouring planes of the family, A₃·n̂."""
        return float(self.basis[2] @ self.normal)

    @property
    def normal_to_z(self) -> bool:
        """True when the plane is normal to the Cartesian z axis (a layer's own plane)."""
        return abs(abs(self.normal[2]) - 1.0) < PARALLEL_TOLERANCE

    def rotation(self) -> np.ndarray:
        """R (3, 3), rows ê₁, ê₂, n̂: Cartesian vectors into the plane's frame (module docstring)."""
        if self.normal_to_z:
            return np.eye(3) if self.normal[2] > 0 else np.diag([1.0, -1.0, -1.0])
        first = self.basis[0] / np.linalg.norm(self.basis[0])
        return np.stack([first, np.cross(self.normal, first), self.normal])

    def grid(self, points: int) -> np.ndarray:
        """Cartesian points (points, points, 3) Å of one plane cell: origin + (i/points) A₁ + (j/points) A₂."""
        f = np.arange(points) / points
        return self.origin + f[:, None, None] * self.basis[0] + f[None, :, None] * self.basis[1]

    def text(self, symbols) -> str:
        """E.g. "(0 0 1) through Sb (atom 1), +0.5 Å"."""
        hkl = " ".join(str(m) for m in self.miller)
        return f"({hkl}) through {symbols[self.atom]} (atom {self.atom}), {self.offset:+g} Å"


def strongest_spin_orbit_atom(atoms: Atoms) -> int:
    """The index of the first atom of the heaviest element (spin–orbit coupling grows with Z): the default
    atom a map plane goes through."""
    return int(np.argmax(atoms.numbers))
