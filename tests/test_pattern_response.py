"""The reduction of DFPT responses to unit Cartesian patterns (abinit.pattern_response), on synthetic fields.

The mode route of the ABINIT engine (reduced perturbations with the coefficients of
mode_response) is the independent reference for the Cartesian patterns, their
τ-phases and the z integral.
"""

import numpy as np
import pytest
from ase import Atoms, units

from phonomag.engines.abinit.density_response import cell_integrals, pauli_components
from phonomag.engines.abinit.pattern_response import planes_at, read_patterns, reduce_patterns
from phonomag.engines.abinit.perturbations import perturbation_coefficients

SHAPE = (6, 6, 16)


def slab() -> Atoms:
    a = 3.25
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, 12.0]]
    return Atoms("WSe2", cell=cell, scaled_positions=[[0, 0, 0], [1 / 3, 2 / 3, 0.14], [1 / 3, 2 / 3, -0.14]],
                 pbc=True)


def random_responses(rng, natoms=3):
    return {(k, i): rng.normal(size=(2, 2) + SHAPE) + 1j * rng.normal(size=(2, 2) + SHAPE)
            for k in range(natoms) for i in range(3)}


def test_patterns_reproduce_the_mode_route():
    rng = np.random.default_rng(1)
    atoms = slab()
    q = np.array([1 / 3, 1 / 6, 0])
    responses = random_responses(rng)
    volume_bohr3 = atoms.get_volume() / units.Bohr**3
    data = reduce_patterns(responses, atoms, q, volume_bohr3, [0.0, 1.3], {})
    zint, _ = read_patterns(data)
    displacements = rng.normal(size=(4, 3, 3)) + 1j * rng.normal(size=(4, 3, 3))  # Å
    # the mode route: ABINIT's perturbations with the coefficients x_κi of the displacements, cell-integrated
    x = perturbation_coefficients(displacements, atoms, q)
    reference = sum(x[:, k, i, None] * cell_integrals(pauli_components(responses[(k, i)]), volume_bohr3)[None]
                    for k in range(3) for i in range(3))
    area = abs(np.linalg.det(atoms.cell.array[:2, :2]))
    cell_values = zint.mean(axis=(-2, -1)) * area  # ∫ over the in-plane cell: electrons per Å of displacement
    moments = np.einsum("mkb,kba->ma", displacements, cell_values)
    np.testing.assert_allclose(moments, reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())


def test_missing_perturbation_is_an_error():
    rng = np.random.default_rng(2)
    responses = random_responses(rng)
    del responses[(1, 2)]
    with pytest.raises(KeyError, match=r"\(1, 2\)"):
        reduce_patterns(responses, slab(), [0, 0, 0], slab().get_volume() / units.Bohr**3, [0.0], {})


def test_planes_exact_on_grid_and_for_band_limited_fields():
    rng = np.random.default_rng(3)
    n, length = 16, 12.0
    grid = rng.normal(size=(5, n))
    np.testing.assert_allclose(planes_at(grid, length, [3 * length / n, 7 * length / n]).real,
                               grid[:, [3, 7]], atol=1e-13)
    z = np.arange(n) * length / n
    modes = [(1, 0.4), (3, -1.2), (7, 0.3)]  # below the Nyquist frequency 8
    field = sum(c * np.cos(2 * np.pi * m * z / length + m) for m, c in modes)
    heights = np.array([0.37, 5.11, 11.9])
    expected = sum(c * np.cos(2 * np.pi * m * heights / length + m) for m, c in modes)
    np.testing.assert_allclose(planes_at(field, length, heights), expected, atol=1e-12)


def test_z_integral_is_the_cell_integral_over_the_area():
    rng = np.random.default_rng(4)
    atoms = slab()
    responses = random_responses(rng)
    volume_bohr3 = atoms.get_volume() / units.Bohr**3
    data = reduce_patterns(responses, atoms, [0, 0, 0], volume_bohr3, [0.0], {})
    zint, _ = read_patterns(data)
    # W along Cartesian x at Γ is a1/|a1| in reduced direction 0 only (a1 ∥ x)
    expected = cell_integrals(pauli_components(responses[(0, 0)]), volume_bohr3) / np.linalg.norm(atoms.cell[0])
    area = abs(np.linalg.det(atoms.cell.array[:2, :2]))
    np.testing.assert_allclose(zint[0, 0].mean(axis=(-2, -1)) * area, expected, rtol=1e-12)
