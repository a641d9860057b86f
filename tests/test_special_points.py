"""High-symmetry labels from the actual reciprocal lattice: 60° and 120° cells of the same lattice.

Independent facts: a zone corner K is equidistant from Γ and exactly two other reciprocal
lattice points (three nearest), a zone-edge centre M from Γ and exactly one; ASE's special
points of the same cells (the HEX2D lattice) agree modulo reciprocal lattice vectors.
"""

import numpy as np
import pytest
from ase.cell import Cell

from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.crystal.special_points import hexagonal_points
from phonomag.errors import QPointError

A, C = 3.251866, 18.0
CELL_120 = np.array([[A, 0, 0], [-A / 2, A * np.sqrt(3) / 2, 0], [0, 0, C]])
CELL_60 = np.array([[A, 0, 0], [A / 2, A * np.sqrt(3) / 2, 0], [0, 0, C]])  # a2 + a1 of CELL_120


def reciprocal(cell):
    return 2 * np.pi * np.linalg.inv(cell).T


def nearest_lattice_points(cell, q_reduced):
    """How many reciprocal lattice points are nearest to q (ties within 1e-9 relative)."""
    b = reciprocal(cell)
    m = np.array([(i, j, 0) for i in range(-3, 4) for j in range(-3, 4)])
    distances = np.linalg.norm((np.asarray(q_reduced) - m) @ b, axis=1)
    return int(np.sum(distances <= distances.min() * (1 + 1e-9)))


def same_point_modulo_lattice(q1, q2):
    difference = np.asarray(q1) - np.asarray(q2)
    return np.allclose(difference, np.round(difference), atol=1e-9)


@pytest.mark.parametrize("cell", [CELL_120, CELL_60], ids=["120deg", "60deg"])
def test_k_is_a_zone_corner_and_m_an_edge_centre(cell):
    points = hexagonal_points(cell)
    assert nearest_lattice_points(cell, points["K"]) == 3
    assert nearest_lattice_points(cell, points["K'"]) == 3
    assert nearest_lattice_points(cell, points["M"]) == 2
    assert not same_point_modulo_lattice(points["K"], points["K'"])


def test_both_settings_name_the_same_cartesian_points():
    p120, p60 = hexagonal_points(CELL_120), hexagonal_points(CELL_60)
    for label in ("G", "M", "K", "K'"):
        assert np.allclose(np.array(p120[label]) @ reciprocal(CELL_120), np.array(p60[label]) @ reciprocal(CELL_60))
    assert np.allclose(p120["K"], [1 / 3, 1 / 3, 0])  # the paper's setting is unchanged
    assert np.allclose(p60["K"], [1 / 3, 2 / 3, 0])


def test_the_120_degree_k_is_not_a_corner_of_the_60_degree_cell():
    """(1/3, 1/3, 0) of the 60° cell lies on Γ–M (two-thirds of the way): one nearest lattice point."""
    assert nearest_lattice_points(CELL_60, [1 / 3, 1 / 3, 0]) == 1
    assert np.allclose(parse_qpoint("K", CELL_60), [1 / 3, 2 / 3, 0])
    assert qpoint_label(np.array([1 / 3, 2 / 3, 0]), cell=CELL_60) == "K"
    assert qpoint_label(np.array([1 / 3, 1 / 3, 0]), cell=CELL_60) != "K"


@pytest.mark.parametrize("cell", [CELL_120, CELL_60], ids=["120deg", "60deg"])
def test_agrees_with_ase_special_points(cell):
    ase_points = Cell(cell).bandpath(pbc=[1, 1, 0], npoints=0).special_points
    ours = hexagonal_points(cell)
    assert same_point_modulo_lattice(ours["K"], ase_points["K"])
    # ASE's M may be another of the three edge centres: same star, same length
    b = reciprocal(cell)
    assert np.isclose(np.linalg.norm(np.array(ours["M"]) @ b), np.linalg.norm(ase_points["M"] @ b))


def test_paths_of_both_settings_are_the_same_path():
    q120, d120, t120, l120 = path_from_labels(CELL_120, npoints=31)
    q60, d60, t60, l60 = path_from_labels(CELL_60, npoints=31)
    assert np.allclose(q120 @ reciprocal(CELL_120), q60 @ reciprocal(CELL_60))
    assert np.allclose(d120, d60) and np.allclose(t120, t60) and l120 == l60


def test_labels_on_a_cell_that_is_not_hexagonal_are_refused():
    square = np.diag([A, A, C])
    with pytest.raises(QPointError, match="hexagonal cell"):
        parse_qpoint("K", square)
    assert np.allclose(parse_qpoint("1/2, 0, 0", square), [0.5, 0, 0])
