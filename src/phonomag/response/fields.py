"""Real-space fields of a mode's response, and the atoms' motion, as data the outputs read.

Conventions (docs/physics.md §1, §3): lengths Å, wavevectors 1/Å (Cartesian) or reduced;
Pauli components δñ^α (α = 0, x, y, z) in electrons/Å³ (induced electrons 2n⁰, spin
polarisation ⟨σ⟩ = 2M, spin moment m ≈ −2 μ_B M). Time dependence of one coherent mode
(phase φ = ωt): n^α(r, t) = Re[δñ^α(r) e^{i(q·r − φ)}], u_κ(R, t) = Re[u_κ e^{i(q·(R+τ_κ) − φ)}].
Every engine returns its fields as a :class:`CellField` on one cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from ase import Atoms

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.response.band_limited import plane_values


def cartesian_q(atoms: Atoms, q_reduced) -> np.ndarray:
    """Reduced → Cartesian wavevector (1/Å): q = Σ_i q_i b_i with a_i·b_j = 2π δ_ij."""
    return np.asarray(q_reduced, dtype=float) @ (2 * np.pi * atoms.cell.reciprocal())


@dataclass(frozen=True)
class FieldWave:
    """A mode's density over several cells: n^α(r, t) = Re[bloch^α(r) e^{−iφ}], φ = ωt.

    points (…, 3) Cartesian Å; bloch (4, …) complex = δñ^α(r) e^{iq·r}, electrons/Å³
    (Pauli components α = 0, x, y, z); q_cartesian (3,) 1/Å; cell (3, 3) Å; cells (c₁, c₂).
    """

    points: np.ndarray
    bloch: np.ndarray
    q_cartesian: np.ndarray
    cell: np.ndarray
    cells: tuple[int, int]

    def at(self, phase: float) -> np.ndarray:
        """Real snapshot n^α(r, t) (4, …) electrons/Å³ at φ = ωt (radians)."""
        return (self.bloch * np.exp(-1j * phase)).real


@dataclass(frozen=True)
class CellField:
    """Cell-periodic amplitude δñ^α on a grid of one cell.

    points (n₁, n₂, 3) for a plane or (n₁, n₂, n₃, 3) for a volume, Cartesian Å, at
    fractional in-plane coordinates (i/n₁, j/n₂) and heights ``heights`` (Å);
    amplitude (4, n₁, n₂[, n₃]) complex electrons/Å³, α = 0, x, y, z; q_cartesian (3,) 1/Å;
    cell (3, 3) Å: for a volume the crystal's cell, for a plane its lattice basis A₁, A₂, A₃
    (:class:`~phonomag.crystal.lattice_plane.LatticePlane`), whose A₁, A₂ tile it.
    """

    points: np.ndarray
    amplitude: np.ndarray
    heights: np.ndarray
    q_cartesian: np.ndarray
    cell: np.ndarray

    def wave(self, cells: tuple[int, int] = (4, 4)) -> FieldWave:
        """The field over c₁×c₂ cells: tiled periodic amplitude times the Bloch phase e^{iq·r}."""
        c1, c2 = cells
        n1, n2 = self.points.shape[:2]
        rest = self.points.shape[2:-1]
        i = np.arange(c1 * n1) // n1
        j = np.arange(c2 * n2) // n2
        shift = i[:, None, None] * self.cell[0] + j[None, :, None] * self.cell[1]
        shift = shift.reshape(c1 * n1, c2 * n2, *([1] * len(rest)), 3)
        points = np.tile(self.points, (c1, c2, *([1] * len(rest)), 1)) + shift
        amplitude = np.tile(self.amplitude, (1, c1, c2, *([1] * len(rest))))
        bloch = amplitude * np.exp(1j * points @ self.q_cartesian)[None]
        return FieldWave(points, bloch, self.q_cartesian, self.cell, (c1, c2))

    def in_frame(self, rotation: np.ndarray) -> CellField:
        """The same field in a rotated frame: points, cell, q and the spin components (M is axial, but
        ``rotation`` (3, 3) is proper) turned by it; the charge n⁰ unchanged."""
        rotation = np.asarray(rotation, float)
        amplitude = self.amplitude.copy()
        amplitude[1:] = np.tensordot(rotation, self.amplitude[1:], axes=(1, 0))
        return CellField(self.points @ rotation.T, amplitude, self.heights, rotation @ self.q_cartesian,
                         self.cell @ rotation.T)

    def cell_integral(self) -> np.ndarray:
        """n̄^α = ∫_cell δñ^α d³r (4,) complex, electrons per cell (volume grids only).

        Uniform periodic rule in-plane and the rectangle rule in z (the integrand vanishes
        at both ends of the height range).
        """
        if self.amplitude.ndim != 4:
            raise ValueError("the cell integral needs a volume grid (cell_field), not a plane")
        n1, n2, n3 = self.amplitude.shape[1:]
        area = np.linalg.norm(np.cross(self.cell[0], self.cell[1]))
        dz = (self.heights[-1] - self.heights[0]) / (n3 - 1)
        return self.amplitude.sum(axis=(1, 2, 3)) * area / (n1 * n2) * dz


@dataclass(frozen=True)
class ModeFields:
    """The real-space response of one mode, computed by the pipeline for the outputs, which only draw and
    write it (:func:`~phonomag.engines.base.compute_mode_fields`, :func:`~phonomag.outputs.maps.render_mode`).

    engine: the engine's name; atoms (Å) and atom_labels: the structure the engine computed;
    q_reduced (3,); frequency: ħω (meV); nu: the mode index; displacements (natoms, 3) complex Å;
    map_plane: the lattice plane of the maps; plane: δñ^α on it (:class:`CellField`, one plane cell, lab
    frame); volume: δñ^α on the volume grid of the field files, or None (none asked for, or the engine has no
    volume fields). Conventions: the module docstring and docs/physics.md.
    """

    engine: str
    atoms: Atoms
    atom_labels: tuple[str, ...]
    q_reduced: np.ndarray
    frequency: float
    nu: int
    displacements: np.ndarray
    map_plane: LatticePlane
    plane: CellField
    volume: CellField | None = None


def plane_field_from_grid(fields: np.ndarray, cell: np.ndarray, plane: LatticePlane, points: int,
                          q_cartesian: np.ndarray) -> CellField:
    """δñ^α (4, points, points) on ``plane`` (one plane cell) from cell-periodic fields (4, n₁, n₂, n₃) on the
    grid r = Σ jᵢ/nᵢ aᵢ of ``cell``: exact for fields band-limited on that grid
    (:func:`~phonomag.response.band_limited.plane_values`)."""
    origin = plane.origin @ np.linalg.inv(np.asarray(cell, float))
    amplitude = plane_values(fields, origin, plane.integer[0], plane.integer[1], points)
    return CellField(plane.grid(points), amplitude, np.array([plane.height]), q_cartesian, plane.basis)


def in_plane_grid(cell: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Cartesian in-plane points (n₁, n₂, 3) at fractional (i/n₁, j/n₂), z = 0."""
    f1 = np.arange(shape[0]) / shape[0]
    f2 = np.arange(shape[1]) / shape[1]
    return f1[:, None, None] * cell[0] + f2[None, :, None] * cell[1]


@dataclass(frozen=True)
class AtomWave:
    """Atom displacements of one mode over several cells: u(R, t) = Re[amplitudes e^{−iφ}], φ = ωt.

    positions (N, 3) equilibrium Å; amplitudes (N, 3) complex Å = u_κ e^{iq·(R+τ_κ)};
    atom (N,) index κ in the cell; labels, symbols per κ; cells (c₁, c₂).
    """

    positions: np.ndarray
    amplitudes: np.ndarray
    atom: np.ndarray
    labels: tuple[str, ...]
    symbols: tuple[str, ...]
    cells: tuple[int, int]

    def at(self, phase: float) -> np.ndarray:
        """Real displacements (N, 3) Å at φ = ωt (radians)."""
        return (self.amplitudes * np.exp(-1j * phase)).real

    def in_frame(self, rotation: np.ndarray) -> AtomWave:
        """The same motion in a rotated frame (positions and displacements turned by ``rotation`` (3, 3))."""
        rotation = np.asarray(rotation, float)
        return replace(self, positions=self.positions @ rotation.T, amplitudes=self.amplitudes @ rotation.T)


def _plane_images(atoms: Atoms, plane: LatticePlane) -> np.ndarray:
    """(natoms, 3) Å: each atom's lattice image in the plane's slab, within half a spacing of the plane along
    its normal, and whose projection onto the plane falls in the plane cell A₁, A₂ from its origin
    (coordinates [0, 1), up to a rounding margin)."""
    inverse = np.linalg.inv(plane.basis)
    level = (plane.origin @ inverse)[2]
    fractional = atoms.positions @ inverse
    images = atoms.positions - np.floor(fractional[:, 2] - level + 0.5)[:, None] * plane.basis[2]
    # in-plane coordinates of the projection: (A₁, A₂, n̂) is a basis whose third coordinate is dropped
    along = (images - plane.origin) @ np.linalg.inv(np.stack([plane.basis[0], plane.basis[1], plane.normal]))
    return images - np.floor(along[:, :2] + 1e-9) @ plane.basis[:2]


def atom_wave(atoms: Atoms, labels: tuple[str, ...], q_reduced: np.ndarray, displacements: np.ndarray,
              cells: tuple[int, int] = (4, 4), plane: LatticePlane | None = None) -> AtomWave:
    """Displacement wave of the complex amplitudes u (natoms, 3) Å over c₁×c₂ cells (R = m₁A₁ + m₂A₂, m ≥ 0).

    ``labels``: one per atom of ``atoms`` (the structure whose positions are drawn). Without ``plane``, the
    cells of a₁, a₂ and the atoms where they stand; with it, the plane's cells A₁, A₂ and every atom's image
    nearest the plane (:func:`_plane_images`).
    """
    if plane is None:
        cell, sites = atoms.cell.array, atoms.positions
    else:
        cell, sites = plane.basis, _plane_images(atoms, plane)
    m = np.stack(np.meshgrid(np.arange(cells[0]), np.arange(cells[1]), indexing="ij"), axis=-1).reshape(-1, 2)
    natoms = len(atoms)
    shifts = m @ cell[:2]
    positions = (shifts[:, None, :] + sites[None]).reshape(-1, 3)
    phase = np.exp(1j * positions @ cartesian_q(atoms, q_reduced))
    amplitudes = np.tile(np.asarray(displacements, dtype=complex), (len(m), 1)) * phase[:, None]
    return AtomWave(positions, amplitudes, np.tile(np.arange(natoms), len(m)), tuple(labels),
                    tuple(atoms.get_chemical_symbols()), tuple(cells))
