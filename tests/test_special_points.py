"""The crystal object: dimensionality, symmetry and high-symmetry points of any lattice.

Independent facts used: a zone corner K is equidistant from Γ and exactly two other reciprocal
lattice points (three nearest), a zone-edge centre M from Γ and exactly one; the fcc points X, L
and the hexagonal A, H, L have known Cartesian coordinates (Setyawan & Curtarolo, Comput. Mater.
Sci. 49, 299 (2010)); spglib's space groups of textbook structures; the order of a little co-group
counted by hand.
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from phonomag.crystal.crystal import Crystal, CrystalError
from phonomag.crystal.kpath import farthest_corner_index, path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.errors import QPointError

A, C = 3.251866, 18.0
CELL_120 = np.array([[A, 0, 0], [-A / 2, A * np.sqrt(3) / 2, 0], [0, 0, C]])
CELL_60 = np.array([[A, 0, 0], [A / 2, A * np.sqrt(3) / 2, 0], [0, 0, C]])  # a2 + a1 of CELL_120


def mx2(cell) -> Crystal:
    """A trigonal-prismatic MX₂ layer (D3h) in ``cell``: the metal at the origin, X above and below."""
    x = (np.array([1 / 3, 2 / 3, 0]) @ CELL_120)[:2]
    positions = [[0, 0, 0], [*x, 1.67], [*x, -1.67]]
    return Crystal.from_atoms(Atoms("WSe2", positions=positions, cell=cell, pbc=[True, True, False]))


def nearest_lattice_points(crystal, q_reduced):
    """How many reciprocal lattice points are nearest to q (ties within 1e-9 relative)."""
    m = np.array([(i, j, 0) for i in range(-3, 4) for j in range(-3, 4)])
    distances = np.linalg.norm((np.asarray(q_reduced) - m) @ crystal.reciprocal, axis=1)
    return int(np.sum(distances <= distances.min() * (1 + 1e-9)))


def test_wse2_points_and_path_are_the_papers():
    crystal = load_material("WSe2").crystal
    assert crystal.dimension == 2 and crystal.space_group == ("P-6m2", 187)
    assert crystal.standard_path == ("G", "M", "K", "G")
    expected = {"G": [0, 0, 0], "M": [0.5, 0, 0], "K": [1 / 3, 1 / 3, 0], "K'": [-1 / 3, -1 / 3, 0]}
    assert set(crystal.special_points) == set(expected)
    for label, point in expected.items():
        assert np.allclose(crystal.special_points[label], point, atol=1e-12)


@pytest.mark.parametrize("cell", [CELL_120, CELL_60], ids=["120deg", "60deg"])
def test_k_is_a_zone_corner_and_m_an_edge_centre(cell):
    crystal = mx2(cell)
    points = crystal.special_points
    assert nearest_lattice_points(crystal, points["K"]) == 3
    assert nearest_lattice_points(crystal, points["K'"]) == 3
    assert nearest_lattice_points(crystal, points["M"]) == 2
    difference = points["K"] - points["K'"]
    assert not np.allclose(difference, np.round(difference))  # K and K′ are different points


def test_both_settings_name_the_same_k_and_an_m_of_the_same_star():
    c120, c60 = mx2(CELL_120), mx2(CELL_60)
    for label in ("G", "K", "K'"):
        assert np.allclose(c120.point(label) @ c120.reciprocal, c60.point(label) @ c60.reciprocal)
    m120, m60 = c120.point("M") @ c120.reciprocal, c60.point("M") @ c60.reciprocal
    rotations = [op.cartesian for op in c120.operations if op.proper]
    images = [(s @ m120 - m60) @ np.linalg.inv(c60.reciprocal) for s in rotations]  # reduced differences
    assert any(np.allclose(d, np.round(d), atol=1e-6) for d in images)  # the crystal's C3, modulo G
    assert np.allclose(c60.point("K"), [1 / 3, 2 / 3, 0])
    assert nearest_lattice_points(c60, [1 / 3, 1 / 3, 0]) == 1  # (1/3, 1/3) lies on Γ–M in the 60° cell


def test_labels_parse_and_print_in_the_crystal():
    crystal = mx2(CELL_60)
    assert np.allclose(parse_qpoint("K", crystal), [1 / 3, 2 / 3, 0])
    for text in ("k'", "KP", "-K", "K′"):
        assert np.allclose(parse_qpoint(text, crystal), crystal.point("K'"))
    for text in ("Γ", "gamma", "G", "g"):
        assert np.allclose(parse_qpoint(text, crystal), 0)
    assert qpoint_label(np.array([1 / 3, 2 / 3, 0]), crystal=crystal) == "K"
    assert qpoint_label(np.array([1 / 3, 1 / 3, 0]), crystal=crystal) == "(0.3333, 0.3333, 0)"
    with pytest.raises(QPointError, match="unknown q label 'X'|malformed q 'X'"):
        parse_qpoint("X", crystal)


def test_paths_of_both_settings_have_the_same_lengths():
    q120, d120, t120, l120 = path_from_labels(mx2(CELL_120), npoints=31)
    q60, d60, t60, l60 = path_from_labels(mx2(CELL_60), npoints=31)
    assert np.allclose(d120, d60) and np.allclose(t120, t60) and l120 == l60 == ["Γ", "M", "K", "Γ"]


def test_farthest_corner_of_the_hexagonal_path_is_k():
    crystal = mx2(CELL_60)
    qpoints = path_from_labels(crystal, npoints=31)[0]
    index = farthest_corner_index(crystal, qpoints, crystal.standard_path)
    assert np.allclose(qpoints[index], crystal.point("K"))
    assert np.isclose(np.linalg.norm(qpoints[index] @ crystal.reciprocal), 4 * np.pi / (3 * A))


def test_a_rectangular_non_symmorphic_layer():
    """Phosphorene-like: 4 atoms, rectangular, with glides (Pmna-type layer group): X, Y, S labels and its path."""
    a, b, c = 3.30, 4.62, 20.0
    fractional = [[0.0, 0.0863, 0.0], [0.5, 0.4137, 0.0], [0.5, 0.5863, 0.1064], [0.0, 0.9137, 0.1064]]
    atoms = Atoms("P4", scaled_positions=fractional, cell=np.diag([a, b, c]), pbc=True)
    atoms.positions -= [0, 0, atoms.positions[:, 2].mean()]
    crystal = Crystal.from_atoms(atoms)
    assert crystal.dimension == 2
    assert any(np.abs(op.translation - np.round(op.translation)).max() > 0.1 for op in crystal.operations)
    assert crystal.standard_path == ("G", "X", "S", "Y", "G", "S")
    assert np.allclose(crystal.point("X") @ crystal.reciprocal, [np.pi / a, 0, 0])
    assert np.allclose(crystal.point("Y") @ crystal.reciprocal, [0, np.pi / b, 0])
    assert len(crystal.zone_outline()) == 4


def test_zincblende_is_a_3d_crystal_with_the_fcc_points():
    a = 5.65
    crystal = Crystal.from_atoms(bulk("GaAs", "zincblende", a=a))
    assert crystal.dimension == 3 and crystal.space_group == ("F-43m", 216)
    assert crystal.standard_path[:4] == ("G", "X", "W", "K")
    cartesian = {label: crystal.point(label) @ crystal.reciprocal * a / (2 * np.pi) for label in ("X", "L", "W")}
    assert np.isclose(np.linalg.norm(cartesian["X"]), 1.0)
    assert np.allclose(np.abs(cartesian["L"]), 0.5)
    assert np.isclose(np.linalg.norm(cartesian["W"]), np.sqrt(1.25))
    # little co-groups of Td keeping q exactly: Γ all 24; X (along z) E, C2z and the two σ_d containing z; L C3v
    assert [len(crystal.little_cogroup(crystal.point(x))) for x in ("G", "X", "L")] == [24, 4, 6]
    with pytest.raises(CrystalError, match="layers only"):
        crystal.zone_outline()


def test_hexagonal_bulk_has_out_of_plane_points():
    crystal = Crystal.from_atoms(bulk("Mg", "hcp", a=3.21, c=5.21))
    assert crystal.dimension == 3 and crystal.space_group == ("P6_3/mmc", 194)
    assert {"A", "H", "L"} <= set(crystal.special_points)
    assert np.allclose(crystal.point("A") @ crystal.reciprocal, [0, 0, np.pi / 5.21])
    assert np.allclose(crystal.point("K'"), -crystal.point("K"))  # −K is another point modulo G
    assert "M'" not in crystal.special_points and "A'" not in crystal.special_points  # −M = M, −A = A modulo G


def test_a_layered_bulk_cell_stays_bulk():
    """2H-MoS₂ bulk (two layers, 3 Å van der Waals gaps) is 3D, never a layer; one layer with vacuum is 2D."""
    a, c = 3.16, 12.3
    cell = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    fractional = [[1 / 3, 2 / 3, 0.25], [1 / 3, 2 / 3, 0.621], [1 / 3, 2 / 3, 0.879],
                  [2 / 3, 1 / 3, 0.75], [2 / 3, 1 / 3, 0.129], [2 / 3, 1 / 3, 0.371]]
    crystal = Crystal.from_atoms(Atoms("Mo2S4", scaled_positions=fractional[:1] + fractional[3:4] + fractional[1:3]
                                       + fractional[4:], cell=cell, pbc=True))
    assert crystal.dimension == 3 and crystal.kind == "bulk"
    layer = mx2(CELL_120)
    assert layer.dimension == 2 and layer.kind == "layer"
    periodic = Atoms(layer.atoms.numbers, positions=layer.atoms.positions, cell=CELL_120, pbc=True)
    assert Crystal.from_atoms(periodic).dimension == 2  # vacuum of 18 − 3.3 Å along a3: a layer
    squeezed = periodic.copy()
    squeezed.set_cell(np.array([CELL_120[0], CELL_120[1], [0, 0, 6.0]]))
    assert Crystal.from_atoms(squeezed).dimension == 3  # 2.7 Å between images: a bulk crystal


def test_points_are_exact_fractions():
    """K of the hexagonal layer is exactly 1/3 (no rounding of the transformation), W of fcc (1/2, 1/4, 3/4)."""
    assert load_material("WSe2").crystal.point("K").tolist() == [1 / 3, 1 / 3, 0.0]
    assert Crystal.from_atoms(bulk("GaAs", "zincblende", a=5.65)).point("W").tolist() == [0.5, 0.25, 0.75]
