"""Mode-resolved charge and magnetization of WSe2 (phonon modes × response)."""

import numpy as np
import pytest

from phonomag.cli.systems import load_model, load_phonons
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.engines.base import compute_mode_response
from phonomag.engines.tightbinding.engine import TightBindingEngine

K = np.array([1 / 3, 1 / 3, 0.0])
GRID = (12, 12, 1)


@pytest.fixture(scope="module")
def system():
    spec, model = load_model("WSe2")
    return spec, model, load_phonons(spec)


@pytest.fixture(scope="module")
def along_path(system):
    spec, model, engine = system
    qpoints, *_ = path_from_labels(spec.crystal, ("G", "M", "K", "G"), npoints=25)
    return compute_mode_response(TightBindingEngine(model, GRID), engine.modes(qpoints), progress=False)


def test_sigma_h_selection_rule_for_every_mode_on_the_path(along_path):
    """Even modes: cell-integrated M along z only; odd modes: in plane only (docs/physics.md §6.4)."""
    moments = along_path.cell_moments
    even = along_path.parity == 1
    odd = along_path.parity == -1
    assert np.all(even | odd), "every mode on an in-plane path has a σ_h parity"
    scale = np.abs(moments[..., 1:]).max()
    assert np.abs(moments[even][:, 1:3]).max() < 1e-8 * scale
    assert np.abs(moments[odd][:, 3]).max() < 1e-8 * scale
    # odd modes carry no net charge either (the scalar density is odd in z)
    assert np.abs(moments[odd][:, 0]).max() < 1e-8 * np.abs(moments[..., 0]).max()


def test_rigid_translations_at_gamma_give_zero_not_nan(along_path):
    assert np.all(np.isfinite(along_path.site_moments))
    assert np.all(np.isfinite(along_path.magnetization_to_charge))
    gamma = np.flatnonzero(np.linalg.norm(along_path.qpoints, axis=1) < 1e-12)
    assert len(gamma) >= 1
    assert np.abs(along_path.site_moments[gamma][:, :3]).max() == 0.0


def test_time_reversal_of_modes(system):
    """With e(−q) = e(q)*: n⁰(−q) = n⁰(q)*, M(−q) = −M(q)* mode by mode (docs/physics.md §6.1)."""
    _, model, engine = system
    q = np.array([0.23, 0.11, 0.0])
    data = compute_mode_response(TightBindingEngine(model, GRID), engine.modes(np.array([q, -q])), progress=False)
    plus, minus = data.cell_moments
    assert np.allclose(minus[:, 0], plus[:, 0].conj(), atol=1e-10 * np.abs(plus).max())
    assert np.allclose(minus[:, 1:], -plus[:, 1:].conj(), atol=1e-10 * np.abs(plus).max())


def test_paper_statements_at_k(system):
    """At K: the acoustic mode with W out of plane has in-plane M and no M_z; the acoustic
    mode with W rotating in plane has M_z and no in-plane M (paper, Figs. 1–3)."""
    _, model, engine = system
    modes = engine.modes(K[None])
    data = compute_mode_response(TightBindingEngine(model, GRID), modes, progress=False)
    u = data.displacements[0]
    w_out = np.abs(u[:, 0, 2]) / np.linalg.norm(u[:, 0], axis=1).clip(1e-300)
    acoustic = np.arange(3)
    w_out_mode = acoustic[np.argmax(w_out[acoustic])]
    assert w_out[w_out_mode] > 0.99
    w_in_plane = [nu for nu in acoustic if w_out[nu] < 1e-8]
    assert w_in_plane
    scale = np.abs(data.cell_moments[0, :, 1:]).max()
    # "has" = far above the numerical zero of the forbidden components (1e-8)
    assert data.m_parts[0][0, w_out_mode] > 1e-3 * scale
    assert data.m_parts[1][0, w_out_mode] < 1e-8 * scale
    best = max(w_in_plane, key=lambda nu: data.m_parts[1][0, nu])
    assert data.m_parts[1][0, best] > 1e-3 * scale
    assert data.m_parts[0][0, best] < 1e-8 * scale


def test_time_reversed_snapshots_have_opposite_magnetization(system):
    """Paper, Supplementary Figs. 1–2: at ωt = 0 the atoms of modes at K and K′ = −K stand at
    the same positions, the induced charge is the same and the magnetization is reversed,
    point by point in real space (docs/physics.md §6.1)."""
    from phonomag.engines.tightbinding.fields import mode_density_response, plane_field
    from phonomag.phonons.amplitudes import mode_displacements
    from phonomag.response.fields import atom_wave

    spec, model, engine = system
    snapshots, atoms = [], []
    for q in (K, -K):
        modes = engine.modes(q[None])
        u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses)[0, 0]
        lattice, density = mode_density_response(model, q, GRID, u)
        field = plane_field(model, q, density, lattice, LatticePlane.through(model.atoms, offset=0.4), 9)
        snapshots.append(field.wave((3, 3)).at(0.0))
        atoms.append(atom_wave(model.atoms, model.labels, q, u, (3, 3)).at(0.0))
    assert np.allclose(atoms[0], atoms[1], atol=1e-14)
    scale = np.abs(snapshots[0]).max()
    assert np.abs(snapshots[0][1:]).max() > 1e-3 * scale
    assert np.allclose(snapshots[1][0], snapshots[0][0], atol=1e-9 * scale)
    assert np.allclose(snapshots[1][1:], -snapshots[0][1:], atol=1e-9 * scale)
