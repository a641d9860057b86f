"""The two parts of M that Fig. 3 draws: a layer's in and out of plane, a bulk crystal's along and across q
(docs/physics.md §4)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from phonomag.crystal.crystal import Crystal
from phonomag.engines.base import split_directions
from phonomag.response.modes import ModeResponse, read_results, results_variables
from phonomag.response.observables import BULK_PARTS, LAYER_PARTS, longitudinal_directions, magnetization_parts


def test_along_and_across_q_of_a_known_complex_magnetization():
    """M̄ = a q̂ + b ê (ê ⟂ q̂, complex a, b with different phases): M_L = |a|/√2, M_T = |b|/√2, whatever the
    phases; a layer's split of the same moments is the Cartesian one."""
    rng = np.random.default_rng(3)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    across = np.cross(direction, rng.normal(size=3))
    across /= np.linalg.norm(across)
    a, b = 0.3 * np.exp(0.7j), 1.1 * np.exp(-2.1j)
    moments = np.zeros((1, 1, 4), complex)
    moments[0, 0, 1:] = a * direction + b * across
    along, transverse = magnetization_parts(moments, direction[None])
    assert along[0, 0] == pytest.approx(abs(a) / np.sqrt(2), rel=1e-12)
    assert transverse[0, 0] == pytest.approx(abs(b) / np.sqrt(2), rel=1e-12)
    in_plane, out_of_plane = magnetization_parts(moments)
    m = moments[0, 0, 1:]
    assert in_plane[0, 0] == pytest.approx(np.hypot(abs(m[0]), abs(m[1])) / np.sqrt(2), rel=1e-12)
    assert out_of_plane[0, 0] == pytest.approx(abs(m[2]) / np.sqrt(2), rel=1e-12)


def test_the_direction_at_gamma_follows_the_path():
    """q̂ is q/|q|; at Γ the direction of the segment that leaves it (the previous one at the end of the list)."""
    crystal = Crystal.from_atoms(bulk("GaAs", "zincblende", a=5.65))
    path = np.array([[0.1, 0.0, 0.1], [0.0, 0.0, 0.0], [0.25, 0.25, 0.25], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]])
    directions = longitudinal_directions(path, crystal.reciprocal)
    cartesian = path @ crystal.reciprocal
    assert np.allclose(np.linalg.norm(directions, axis=1), 1.0)
    assert np.allclose(directions[0], cartesian[0] / np.linalg.norm(cartesian[0]))
    assert np.allclose(directions[1], cartesian[2] / np.linalg.norm(cartesian[2]))  # Γ → L, the next segment
    assert np.allclose(np.abs(directions[4] @ directions[3]), 1.0)  # the last Γ: from L, the previous point
    assert split_directions(crystal, path) is not None
    layer = Crystal.from_atoms(load_layer())
    assert split_directions(layer, path * [1, 1, 0]) is None


def load_layer():
    from phonomag.crystal.materials import load_material

    return load_material("WSe2").atoms


def test_a_bulk_results_file_keeps_its_parts(tmp_path):
    """results.nc of a bulk crystal holds rms_along_q, rms_across_q and q_direction (no in/out-of-plane), and reads
    back to the same parts."""
    rng = np.random.default_rng(0)
    nq, nmodes = 3, 6
    qpoints = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.1], [0.2, 0.0, 0.2]])
    crystal = Crystal.from_atoms(bulk("GaAs", "zincblende", a=5.65))
    data = ModeResponse(qpoints, rng.random((nq, nmodes)), np.zeros((nq, nmodes), int),
                        rng.normal(size=(nq, nmodes, 2, 3)) + 0j, rng.normal(size=(nq, nmodes, 1, 4)) + 1j,
                        ("Ga", "As"), ("cell",), "one-sided", "zero-point", (4, 4, 4), "synthetic",
                        q_directions=split_directions(crystal, qpoints))
    assert data.parts == BULK_PARTS
    path = data.write(tmp_path / "results.nc")
    back, dataset = read_results(path)
    assert set(dataset.data_vars) == results_variables("bulk") - {"allowed"}  # no selection rules given
    assert "rms_in_plane" not in dataset and dataset["rms_along_q"].attrs["units"] == "1"
    assert back.parts == BULK_PARTS and np.allclose(back.q_directions, data.q_directions)
    for stored, computed in zip(back.m_parts, data.m_parts, strict=True):
        assert np.allclose(stored, computed)
    assert np.allclose(back.m_parts[0] ** 2 + back.m_parts[1] ** 2,
                       np.sum(np.abs(data.cell_moments[..., 1:]) ** 2, axis=-1) / 2)
    assert LAYER_PARTS.variables == ("rms_in_plane", "rms_out_of_plane")
