"""Force constants from matrices on a q-grid: symmetry expansion and Fourier transform.

Independent reference: a Stillinger–Weber phonopy calculation. Its force-constant
matrices C(q) at the irreducible points of the 6×6 grid alone must give back the
same supercell force constants, hence the same frequencies at q off the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spglib

from phonomag.errors import PhononSourceError
from phonomag.phonons import build_phonon_model
from phonomag.phonons.grid_force_constants import expand_to_grid, grid_points, supercell_force_constants
from phonomag.phonons.stillinger_weber import load_sw_parameters, mx2_cell

MESH = (6, 6, 1)


@pytest.fixture(scope="module")
def engine():
    cell = mx2_cell(load_sw_parameters("WSe2"))
    return build_phonon_model(cell, {"source": "stillinger-weber", "potential": "WSe2",
                                      "supercell": [6, 6, 1]}, Path("."))


def _force_constant_matrices(engine, qpoints):
    """C(q) = √(M M') D(q) in eV/Å² (phonopy's D is in the position convention)."""
    sqrt_m = np.repeat(np.sqrt(engine.masses), 3)
    out = []
    for q in qpoints:
        engine.phonopy.dynamical_matrix.run(q)
        out.append(engine.phonopy.dynamical_matrix.dynamical_matrix * np.outer(sqrt_m, sqrt_m))
    return np.array(out)


def _irreducible(atoms):
    mapping, grid = spglib.get_ir_reciprocal_mesh(
        MESH, (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers), is_shift=[0, 0, 0])
    return grid[np.unique(mapping)] / np.array(MESH)


def test_irreducible_matrices_rebuild_the_supercell_force_constants(engine):
    atoms = engine.atoms
    irreducible = _irreducible(atoms)
    assert len(irreducible) < len(grid_points(MESH)) / 3  # the symmetry does real work
    full = expand_to_grid(atoms, MESH, irreducible, _force_constant_matrices(engine, irreducible))
    # every grid point equals the direct calculation
    direct = _force_constant_matrices(engine, grid_points(MESH))
    assert np.abs(full - direct).max() < 1e-9 * np.abs(direct).max()
    ph = engine.phonopy
    fc = supercell_force_constants(ph, MESH, full)
    reference = ph.force_constants
    reference = reference[ph.primitive.p2s_map] if reference.shape[0] != len(atoms) else reference
    assert np.abs(fc - reference).max() < 1e-9 * np.abs(reference).max()


def test_wrong_convention_is_detected(engine):
    atoms = engine.atoms
    irreducible = _irreducible(atoms)
    matrices = _force_constant_matrices(engine, irreducible)
    # cell-vector convention (phases of τ dropped): not invariant under the space group at K
    tau = atoms.get_scaled_positions()
    phases = np.exp(-2j * np.pi * irreducible @ tau.T)  # (nq, natoms)
    weight = np.repeat(phases, 3, axis=1)
    wrong = matrices * weight.conj()[:, :, None] * weight[:, None, :]
    with pytest.raises(PhononSourceError, match="not invariant"):
        expand_to_grid(atoms, MESH, irreducible, wrong)


def test_missing_grid_points_are_reported(engine):
    atoms = engine.atoms
    only_gamma = np.zeros((1, 3))
    with pytest.raises(PhononSourceError, match="not symmetry images"):
        expand_to_grid(atoms, MESH, only_gamma, _force_constant_matrices(engine, only_gamma))
