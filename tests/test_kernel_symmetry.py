"""Pattern fields unfolded by the space group and time reversal against direct evaluation (tight-binding engine).

The tight-binding engine evaluates the unit patterns' fields at any q directly, so it is
an independent check of the rotation of the displacement direction (polar), of M (axial,
det S · S), of the atom map, of the τ-including Bloch phases and of the reciprocal-lattice
shifts that bring an image q back onto the grid.
"""

import numpy as np
import pytest

from phonomag.engines.kernel.symmetry import apply_operation, fill_grid, rotate_q, space_group, time_reverse
from phonomag.engines.tightbinding.engine import TightBindingEngine

LAYERS = (None, 0.0, 1.2, -1.2)  # closed under σ_h
POINTS = 6


@pytest.fixture(scope="module")
def engine(hexagonal_wse2):
    return TightBindingEngine.from_material(hexagonal_wse2, (6, 6, 1))


def fields_at(engine, q):
    return engine.pattern_fields(np.asarray(q, float), LAYERS, POINTS, integral_heights=16)


def relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_wse2_has_the_twelve_operations_of_p6m2(engine):
    operations = space_group(engine.atoms)
    assert len(operations) == 12
    assert sum(np.linalg.det(op.cartesian) < 0 for op in operations) == 6  # σ_h and the mirrors
    assert all(np.allclose(op.cartesian @ op.cartesian.T, np.eye(3), atol=1e-10) for op in operations)


def test_every_operation_maps_the_fields_of_q_onto_those_of_sq(engine):
    q = np.array([1 / 3, 1 / 6, 0.0])  # a general point of the 6×6 grid (a star of 12)
    direct_q = fields_at(engine, q)
    cell = engine.atoms.cell.array
    images = []
    for operation in space_group(engine.atoms):  # σ_h keeps q and swaps the Se planes
        q_image = rotate_q(operation, q)
        unfolded = apply_operation(operation, direct_q, LAYERS, cell)
        assert relative(unfolded, fields_at(engine, q_image)) < 1e-9, operation.rotation
        images.append(tuple(np.round(q_image, 8)))
    assert len(set(images)) == 6


def test_time_reversal_gives_minus_q(engine):
    q = np.array([1 / 6, 0.0, 0.0])
    assert relative(time_reverse(fields_at(engine, q)), fields_at(engine, -q)) < 1e-9


def test_a_wrong_rule_is_detected(engine):
    """Control: M rotated as a polar vector (no det S) fails for an improper operation."""
    q = np.array([1 / 3, 1 / 6, 0.0])
    operation = next(op for op in space_group(engine.atoms) if np.linalg.det(op.cartesian) < 0
                     and not np.allclose(rotate_q(op, q), q))
    wrong = apply_operation(operation, fields_at(engine, q), LAYERS, engine.atoms.cell.array)
    wrong[:, :, :, 1:] *= -1  # det S = −1 undone
    assert relative(wrong, fields_at(engine, rotate_q(operation, q))) > 1e-2


def test_the_irreducible_points_fill_the_three_by_three_grid(engine):
    """Γ, (1/3, 0) and K unfold to all nine points, including images that need a shift by G."""
    irreducible = {(0, 0): fields_at(engine, [0, 0, 0]), (1, 0): fields_at(engine, [1 / 3, 0, 0]),
                   (1, 1): fields_at(engine, [1 / 3, 1 / 3, 0])}
    full = fill_grid(irreducible, (3, 3), space_group(engine.atoms), LAYERS, engine.atoms)
    assert len(full) == 9
    for steps in ((0, 1), (2, 2), (1, 2), (2, 0)):
        direct = fields_at(engine, [steps[0] / 3, steps[1] / 3, 0])
        assert relative(full[steps], direct) < 1e-9, steps
