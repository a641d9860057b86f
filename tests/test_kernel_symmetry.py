"""Pattern fields unfolded by the space group and time reversal against direct evaluation (tight-binding engine).

The tight-binding engine evaluates the unit patterns' fields at any q directly, so it is
an independent check of the rotation of the displacement direction (polar), of M (axial,
det S · S), of the atom map, of the τ-including Bloch phases and of the reciprocal-lattice
shifts that bring an image q back onto the grid.
"""

import numpy as np
import pytest

from phonomag.engines.kernel.symmetry import (
    PlaneLayers,
    apply_operation,
    fill_grid,
    rotate_q,
    space_group,
    time_reverse,
)
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
    irreducible = {(0, 0, 0): fields_at(engine, [0, 0, 0]), (1, 0, 0): fields_at(engine, [1 / 3, 0, 0]),
                   (1, 1, 0): fields_at(engine, [1 / 3, 1 / 3, 0])}
    full = fill_grid(irreducible, (3, 3, 1), space_group(engine.atoms), engine.atoms, PlaneLayers(LAYERS, engine.atoms))
    assert len(full) == 9
    for steps in ((0, 1, 0), (2, 2, 0), (1, 2, 0), (2, 0, 0)):
        direct = fields_at(engine, [steps[0] / 3, steps[1] / 3, 0])
        assert relative(full[steps], direct) < 1e-9, steps


def _series(coefficients, box_shape, point):
    """Σ_G c_G e^{2πi G·x} at the fractional point x, for coefficients (…, n₁, n₂, n₃) on the box (FFT order)."""
    axes = [np.fft.fftfreq(n, 1.0 / n) for n in box_shape]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    return np.einsum("...xyz,xyz->...", coefficients, np.exp(2j * np.pi * g @ point))


def test_a_translation_off_every_grid_acts_exactly_on_fourier_coefficients():
    """The glide {σ_h | (½, ½, 0)} of a rectangular layer on an odd (15×…) grid, which the plane layers cannot
    carry: the coefficients of FourierBox.apply, summed at a point r′, equal Σ_β S_γβ R_S ñ_κβ(S⁻¹(r′ − t)) of
    the source series there (the definition, docs/physics.md §11); without the translation's phase they do not
    (control)."""
    from ase import Atoms

    from phonomag.engines.kernel.symmetry import FourierBox, Operation

    atoms = Atoms("Se2", scaled_positions=[[0, 0, 0.5 / 14], [0.5, 0.5, -0.5 / 14]], cell=[3.3, 4.4, 14.0], pbc=True)
    operations = space_group(atoms)
    glide = next(op for op in operations if np.allclose(op.translation[:2] % 1, 0.5) and op.rotation[2, 2] == -1)
    box = FourierBox((5, 7, 15), atoms)
    rng = np.random.default_rng(7)
    axes = [np.fft.fftfreq(n, 1.0 / n) for n in box.shape]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    ball = np.linalg.norm(g @ (2 * np.pi * np.linalg.inv(atoms.cell.array).T), axis=-1) <= 3.0  # 1/Å, in the box
    fields = (rng.normal(size=(2, 3, 4, *box.shape)) + 1j * rng.normal(size=(2, 3, 4, *box.shape))) * ball
    moved = box.apply(glide, fields)
    s_cart = glide.cartesian
    components = np.eye(4)
    components[1:, 1:] = np.linalg.det(s_cart) * s_cart
    for point in (np.array([0.31, 0.77, 0.05]), np.array([0.9, 0.1, -0.2])):
        source = np.linalg.inv(glide.rotation) @ (point - glide.translation)
        values = _series(fields, box.shape, source)  # (κ, β, α)
        expected = np.empty_like(values)
        expected[glide.atom_map] = np.einsum("gb,ac,kbc->kga", s_cart, components, values)
        assert np.allclose(_series(moved, box.shape, point), expected, rtol=1e-12, atol=1e-12)
        dropped = Operation(glide.rotation, glide.cartesian, np.zeros(3), glide.atom_map)
        assert not np.allclose(_series(box.apply(dropped, fields), box.shape, point), expected, atol=1e-3)
