"""Lattice planes of the maps (crystal/lattice_plane.py) and the exact field on them (band_limited.plane_values).

Independent checks: the plane's basis against the definition of a lattice plane (h·u = 0, a unimodular
basis, d = 2π/|G|); the field on the plane against the closed form of a band-limited field evaluated at the
plane's points, for odd and even grids, tilted planes and offsets off the grid; the plane's frame against
the invariants of a rotation (|M| and M·n̂ kept, n⁰ unchanged).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from phonomag.crystal.lattice_plane import LatticePlane, reduced_miller, strongest_spin_orbit_atom
from phonomag.crystal.materials import load_material
from phonomag.response.band_limited import plane_values
from phonomag.response.fields import CellField, atom_wave, plane_field_from_grid

#: A triclinic cell (Å): no axis is normal to another, so no shortcut of an orthogonal cell can pass.
TRICLINIC = np.array([[4.1, 0.3, -0.2], [0.9, 3.7, 0.4], [-0.6, 0.8, 5.3]])
#: Band-limited test field: (reduced frequency m, complex amplitude), |mᵢ| below every grid's Nyquist index.
MODES = [((1, 0, 0), 0.7 + 0.2j), ((2, -1, 1), -0.4 + 0.5j), ((0, 3, -2), 0.3j), ((-1, 1, 3), 0.25)]


def triclinic() -> Atoms:
    return Atoms("GaAsSb", scaled_positions=[[0.1, 0.2, 0.3], [0.6, 0.45, 0.7], [0.35, 0.8, 0.05]],
                 cell=TRICLINIC, pbc=True)


def analytic(fractional: np.ndarray) -> np.ndarray:
    """Σ_m c_m e^{2πi m·x} at fractional points (…, 3)."""
    return sum(c * np.exp(2j * np.pi * fractional @ np.array(m)) for m, c in MODES)


def grid_field(shape) -> np.ndarray:
    f = np.stack(np.meshgrid(*[np.arange(n) / n for n in shape], indexing="ij"), axis=-1)
    return analytic(f)


@pytest.mark.parametrize("miller", [(0, 0, 1), (1, 1, 0), (1, -1, 2), (2, 0, 3)])
def test_the_plane_basis_is_a_basis_of_the_lattice_plane(miller):
    atoms = triclinic()
    plane = LatticePlane.through(atoms, miller, atom=2, offset=0.37)
    u, v, w = plane.integer
    assert np.dot(miller, u) == 0 and np.dot(miller, v) == 0 and np.dot(miller, w) == 1
    assert abs(round(np.linalg.det(plane.integer))) == 1  # (A₁, A₂, A₃) is a basis of the crystal's lattice
    g = np.array(miller) @ (2 * np.pi * np.linalg.inv(atoms.cell.array).T)
    assert np.isclose(abs(plane.normal @ g), np.linalg.norm(g))  # n̂ ∥ G
    assert np.isclose(plane.spacing, 2 * np.pi / np.linalg.norm(g))
    assert np.isclose((plane.origin - atoms.positions[2]) @ plane.normal, 0.37)  # through the atom, offset
    points = plane.grid(5).reshape(-1, 3)
    assert np.allclose((points - plane.origin) @ plane.normal, 0.0, atol=1e-12)  # every point on the plane


def test_a_layer_plane_keeps_the_cell_and_the_lab_frame():
    atoms = load_material("WSe2").atoms
    plane = LatticePlane.through(atoms, (0, 0, 2), strongest_spin_orbit_atom(atoms), 0.4)
    assert plane.miller == (0, 0, 1) and np.array_equal(plane.integer, np.eye(3, dtype=int))
    assert plane.atom == 0 and atoms[plane.atom].symbol == "W"
    assert np.array_equal(plane.rotation(), np.eye(3)) and np.isclose(plane.height, 0.4)
    assert np.allclose(plane.origin, [0, 0, 0.4])


@pytest.mark.parametrize("bad", [(0, 0, 0), (1.5, 0, 0)])
def test_bad_miller_indices_are_refused(bad):
    with pytest.raises(ValueError, match="Miller indices"):
        reduced_miller(bad)


@pytest.mark.parametrize("shape", [(9, 11, 13), (10, 12, 8)])
@pytest.mark.parametrize("miller", [(0, 0, 1), (1, 0, 0), (1, 1, -1), (2, 1, 0)])
def test_the_field_on_any_plane_is_the_band_limited_field_there(shape, miller):
    """Odd grids and even ones (the Nyquist term, here zero, must not spoil it); an offset off every grid plane."""
    atoms = triclinic()
    plane = LatticePlane.through(atoms, miller, atom=1, offset=0.213)
    fields = np.stack([grid_field(shape), 2 * grid_field(shape)])
    field = plane_field_from_grid(fields, atoms.cell.array, plane, 7, np.zeros(3))
    expected = analytic(field.points @ np.linalg.inv(atoms.cell.array))
    assert np.allclose(field.amplitude[0], expected, atol=1e-12)
    assert np.allclose(field.amplitude[1], 2 * expected, atol=1e-12)


def test_on_a_grid_plane_the_values_are_the_grid_values():
    """A plane through grid points returns them exactly, whatever the field (not band-limited: random)."""
    rng = np.random.default_rng(5)
    values = rng.normal(size=(2, 8, 6, 10)) + 1j * rng.normal(size=(2, 8, 6, 10))
    # the plane x₃ = 3/10 sampled at i/24 along a₁ and j/24 along a₂: every 3rd and 4th point is a grid point
    exact = plane_values(values, [0, 0, 0.3], [1, 0, 0], [0, 1, 0], 24)
    assert np.allclose(exact[:, ::3, ::4], values[:, :, :, 3], atol=1e-12)
    # the plane x₁ = 2/8 spanned by a₂, a₃, at j/30: every 5th along a₂, every 3rd along a₃
    across = plane_values(values, [0.25, 0, 0], [0, 1, 0], [0, 0, 1], 30)
    assert np.allclose(across[:, ::5, ::3], values[:, 2], atol=1e-12)


def test_in_the_plane_frame_the_normal_component_is_m_dot_n():
    atoms = triclinic()
    plane = LatticePlane.through(atoms, (1, -1, 2), atom=0)
    rotation = plane.rotation()
    assert np.allclose(rotation @ rotation.T, np.eye(3)) and np.isclose(np.linalg.det(rotation), 1.0)
    assert np.allclose(rotation @ plane.normal, [0, 0, 1])
    rng = np.random.default_rng(2)
    amplitude = rng.normal(size=(4, 3, 3)) + 1j * rng.normal(size=(4, 3, 3))
    field = CellField(plane.grid(3), amplitude, np.array([plane.height]), np.array([0.1, 0.2, -0.3]), plane.basis)
    turned = field.in_frame(rotation)
    assert np.allclose(turned.amplitude[0], amplitude[0])
    assert np.allclose(turned.amplitude[3], np.tensordot(plane.normal, amplitude[1:], axes=(0, 0)))
    assert np.allclose((np.abs(turned.amplitude[1:]) ** 2).sum(axis=0), (np.abs(amplitude[1:]) ** 2).sum(axis=0))
    assert np.allclose(turned.points[..., 2], plane.height)  # the plane is z = height in its frame
    assert np.allclose(turned.points[0, 0, :2], 0.0)  # its cells start at the foot of the normal
    # the Bloch phase is the same in either frame
    assert np.allclose(turned.points @ turned.q_cartesian, field.points @ field.q_cartesian)


def test_the_atoms_drawn_are_the_images_nearest_the_plane():
    atoms = bulk("AlSb", "zincblende", a=6.1355)
    plane = LatticePlane.through(atoms, (1, 1, 1), strongest_spin_orbit_atom(atoms))
    assert atoms[plane.atom].symbol == "Sb"
    wave = atom_wave(atoms, ("Al", "Sb"), np.zeros(3), np.zeros((2, 3)), (1, 1), plane)
    distance = (wave.positions - plane.origin) @ plane.normal
    assert np.all(np.abs(distance) <= plane.spacing / 2 + 1e-9)
    assert np.isclose(distance[1], 0.0)  # Sb on its plane
    along = (wave.positions - plane.origin) @ np.linalg.inv(np.stack([*plane.basis[:2], plane.normal]))
    assert np.all((along[:, :2] > -1e-9) & (along[:, :2] < 1))  # drawn inside the plane's first cell
    # each image is its atom moved by a lattice vector
    shift = (wave.positions - atoms.positions) @ np.linalg.inv(atoms.cell.array)
    assert np.allclose(shift, np.round(shift), atol=1e-9)
