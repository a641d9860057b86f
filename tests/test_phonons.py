"""Phonons: Stillinger–Weber potential, engine, modes, parity, files, path and figure.

Every test compares with an independent computation (finite differences, direct
supercell forces, analytic counts, SI-unit formulas, phonopy's own writers).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import phonopy
import pytest
from file_checks import phonopy_frequencies
from phonopy.file_IO import write_FORCE_CONSTANTS, write_force_constants_to_hdf5, write_FORCE_SETS
from scipy import constants

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.kpath import path_from_labels
from phonomag.errors import PhononSourceError
from phonomag.outputs.plotting.phonons import plot_dispersion
from phonomag.phonons import build_phonon_model
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.phonons.mirror import sigma_h_operator, sigma_h_permutation
from phonomag.phonons.modes import THZ_TO_MEV
from phonomag.phonons.phonopy_export import write_phonopy_params
from phonomag.phonons.stillinger_weber import StillingerWeberMX2, load_sw_parameters, mx2_cell

SW_CONFIG = {"source": "stillinger-weber", "potential": "WSe2", "supercell": [6, 6, 1], "displacement": 0.01}


@pytest.fixture(scope="module")
def params():
    return load_sw_parameters("WSe2")


@pytest.fixture(scope="module")
def cell(params):
    return mx2_cell(params)


@pytest.fixture(scope="module")
def engine(cell):
    return build_phonon_model(cell, SW_CONFIG, Path("."))


@pytest.fixture(scope="module")
def path(cell):
    return path_from_labels(Crystal.from_atoms(cell), npoints=121)


@pytest.fixture(scope="module")
def path_modes(engine, path):
    return engine.modes(path[0])


# ----------------------------------------------------------------- potential


def _energy(atoms, params):
    atoms = atoms.copy()
    atoms.calc = StillingerWeberMX2(params)
    return atoms.get_potential_energy()


def _general_probe(params):
    """The built-in WSe2 set with every term of the general form switched on."""
    mx = dataclasses.replace(params.pairs["mx"], p=6.0, q=2.0)
    pairs = {"mx": mx, "mm": dataclasses.replace(mx, A=0.3, sigma=1.0, a=4.0),
             "xx": dataclasses.replace(mx, A=0.2, sigma=1.0, a=3.5)}
    angles = params.angles | {"mxx_cross": (2.0, 0.8, -0.7)}
    return dataclasses.replace(params, pairs=pairs, angles=angles)


@pytest.fixture(scope="module", params=["WSe2", "WSe2_mobaraki", "general"])
def any_params(request, params):
    return _general_probe(params) if request.param == "general" else load_sw_parameters(request.param)


def test_sw_forces_equal_finite_differences(any_params):
    rng = np.random.default_rng(7)
    atoms = mx2_cell(any_params) * (3, 3, 1)
    atoms.positions += rng.normal(scale=0.04, size=atoms.positions.shape)
    atoms.calc = StillingerWeberMX2(any_params)
    forces = atoms.get_forces()
    h = 1e-5
    numeric = np.zeros_like(forces)
    for k in range(len(atoms)):
        for axis in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[k, axis] += h
            minus.positions[k, axis] -= h
            numeric[k, axis] = -(_energy(plus, any_params) - _energy(minus, any_params)) / (2 * h)
    assert np.abs(forces - numeric).max() < 1e-7
    assert np.abs(forces).max() > 0.1  # the distortion is not trivial


def test_sw_stress_equals_strain_derivative(any_params):
    a, h = any_params.equilibrium
    atoms = mx2_cell(any_params, a=1.02 * a, height=1.02 * h)
    atoms.calc = StillingerWeberMX2(any_params)
    stress = atoms.get_stress(voigt=False)
    eps = 1e-6
    for i, j in [(0, 0), (1, 1), (0, 1)]:
        strain = np.eye(3)
        strain[i, j] += eps
        plus = atoms.copy()
        plus.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
        strain[i, j] -= 2 * eps
        minus = atoms.copy()
        minus.set_cell(atoms.cell.array @ strain.T, scale_atoms=True)
        numeric = (_energy(plus, any_params) - _energy(minus, any_params)) / (2 * eps) / atoms.get_volume()
        assert stress[i, j] == pytest.approx(numeric, abs=1e-8)
    assert np.abs(stress).max() > 1e-4


@pytest.mark.parametrize("name", ["WSe2", "WSe2_mobaraki"])
def test_equilibrium_geometry_is_force_and_stress_free(name):
    params = load_sw_parameters(name)
    cell = mx2_cell(params)
    cell.calc = StillingerWeberMX2(params)
    assert np.abs(cell.get_forces()).max() < 1e-4
    in_plane = cell.get_stress()[:2] * cell.cell[2, 2]  # eV/Å², independent of the vacuum
    assert np.abs(in_plane).max() < 1e-5


def _angle_geometry(params):
    a, h = params.equilibrium
    d = np.sqrt(a**2 / 3 + h**2)  # M–X bond
    same = 1 - a**2 / (2 * d**2)  # two bonds to one sublayer, or to two M
    cos = {"mxx_same": same, "xmm": same, "mxx_vertical": (a**2 / 3 - h**2) / d**2,
           "mxx_cross": (-a**2 / 6 - h**2) / d**2}
    return d, cos


@pytest.mark.parametrize("kind, count", [("mxx_same", 6), ("mxx_vertical", 3), ("mxx_cross", 6), ("xmm", 6)])
def test_angle_terms_follow_mx2_topology(params, cell, kind, count):
    # Only one kind of angle term switched on, λ = 1 eV, γ = 0.8, cos θ₀ = −0.5: the energy
    # per cell is count · exp(2γσ/(d − r_c)) · (cos θ + 0.5)² for the trigonal prism.
    probe = dataclasses.replace(params, pairs={"mx": dataclasses.replace(params.pairs["mx"], A=0.0)},
                                angles={kind: (1.0, 0.8, -0.5)})
    d, cos = _angle_geometry(params)
    mx = params.pairs["mx"]
    expected = count * np.exp(2 * 0.8 * mx.sigma / (d - mx.cutoff)) * (cos[kind] + 0.5) ** 2
    assert _energy(cell, probe) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kind", ["mm", "xx"])
def test_pair_terms_between_like_atoms(kind):
    # W–W: 3 pairs per cell at a. Se–Se: 6 in-plane pairs per cell at a and the vertical
    # pair at 2h (both within the 4.02 Å cutoff). φ₂ = A [B (σ/r)^p − (σ/r)^q] e^{σ/(r − r_c)}.
    params = load_sw_parameters("WSe2_mobaraki")
    term = params.pairs[kind]
    probe = dataclasses.replace(params, pairs={"mx": dataclasses.replace(params.pairs["mx"], A=0.0), kind: term},
                                angles={})
    a, h = params.equilibrium
    distances = {"mm": [a] * 3, "xx": [a] * 6 + [2 * h]}[kind]
    r = np.array(distances)
    assert np.all(r < term.cutoff)
    phi = term.A * (term.B * (term.sigma / r) ** term.p - (term.sigma / r) ** term.q) * np.exp(
        term.sigma / (r - term.cutoff))
    assert _energy(mx2_cell(params), probe) == pytest.approx(phi.sum(), rel=1e-12)


# -------------------------------------------------------------- frequencies


def test_no_imaginary_frequencies_along_path(path_modes):
    assert path_modes.frequencies.min() > -0.05


def test_acoustic_modes_vanish_at_gamma(engine):
    freqs = engine.modes([[0.0, 0.0, 0.0]]).frequencies[0]
    assert np.abs(freqs[:3]).max() < 0.05
    assert freqs[3] > 5.0


# ------------------------------------------------------------------ parity


def test_gamma_parity_counts_match_d3h_irreps(engine):
    # Γ modes of 1H-MX2: A2''+E' (acoustic) + E'' + E' + A1' + A2''. Under σ_h the
    # characters are E' +2, A1' +1, E'' −2, A2'' −1: 5 even and 4 odd modes.
    modes = engine.modes([[0.0, 0.0, 0.0]])
    f, p = modes.frequencies[0], modes.parity[0]
    odd, even = f[p == -1], f[p == 1]
    assert len(even) == 5 and len(odd) == 4
    assert abs(odd[0]) < 0.05 and np.abs(even[:2]).max() < 0.05  # ZA; LA, TA
    assert odd[1] == pytest.approx(odd[2], abs=1e-6) and odd[3] > odd[2] + 1  # E'' doublet, A2''
    assert even[2] == pytest.approx(even[3], abs=1e-6) and even[4] > even[3] + 1  # E' doublet, A1'


def test_modes_are_parity_pure_along_path(cell, path_modes):
    sigma = sigma_h_operator(sigma_h_permutation(cell))
    e = path_modes.eigenvectors.reshape(*path_modes.eigenvectors.shape[:2], -1)
    expectation = np.einsum("qni,ij,qnj->qn", e.conj(), sigma, e)
    assert np.abs(expectation - path_modes.parity).max() < 1e-10
    assert set(np.unique(path_modes.parity)) == {-1, 1}


def test_parity_zero_without_mirror(params, cell):
    tilted = cell.copy()
    tilted.positions[1, 2] += 0.02  # top Se higher than the bottom one is low
    assert sigma_h_permutation(tilted) is None
    with pytest.warns(UserWarning, match="not at the minimum"):
        eng = build_phonon_model(tilted, SW_CONFIG | {"supercell": [4, 4, 1]}, Path("."))
    assert np.all(eng.modes([[0.1, 0.2, 0.0]]).parity == 0)


# ------------------------------------------------------------- eigenvectors


def test_eigenvectors_normalised_and_time_reversal_gauge(engine):
    q = np.array([[0.13, 0.27, 0.0], [-0.13, -0.27, 0.0]])
    modes = engine.modes(q)
    e = modes.eigenvectors
    assert np.allclose(np.einsum("qnka,qnka->qn", e.conj(), e).real, 1.0, atol=1e-12)
    f = modes.frequencies[0]
    assert np.allclose(f, modes.frequencies[1], atol=1e-9)
    gaps = np.diff(f)
    single = np.ones(len(f), bool)
    single[:-1] &= gaps > 1e-3
    single[1:] &= gaps > 1e-3
    assert single.sum() >= 7
    assert np.abs(e[1][single] - e[0][single].conj()).max() < 1e-8


@pytest.mark.parametrize("q, repeats", [((1 / 3, 1 / 3, 0.0), (3, 3, 1)), ((0.5, 0.0, 0.0), (2, 2, 1))])
def test_modes_reproduce_supercell_forces(params, cell, engine, q, repeats):
    # u_κ(R) = Re[A e_κ/√M_κ exp(i q·(R + τ_κ))] in a commensurate supercell must give
    # SW forces F = −M ω² u (harmonic, ± amplitude): checks ω, e and the τ-including phase.
    modes = engine.modes([q])
    sc = cell * repeats
    reference = cell.positions[np.arange(len(sc)) % len(cell)]
    lattice = sc.positions - reference  # R of every atom (ASE repeats keep the atom order)
    kappa = np.arange(len(sc)) % len(cell)
    qcart = np.asarray(q) @ cell.cell.reciprocal() * 2 * np.pi
    phase = np.exp(1j * (lattice + cell.positions[kappa]) @ qcart)
    mass = cell.get_masses()[kappa]
    hbar = constants.hbar / constants.e  # eV s
    to_si = np.sqrt(constants.e / constants.atomic_mass) * 1e10  # √(eV/Å²/amu) in 1/s
    for n in range(3, 9):
        u = 1e-3 * np.real(modes.eigenvectors[0, n, kappa] * phase[:, None]) / np.sqrt(mass)[:, None]
        forces = []
        for sign in (1, -1):
            shifted = sc.copy()
            shifted.positions += sign * u
            shifted.calc = StillingerWeberMX2(params)
            forces.append(shifted.get_forces())
        harmonic = (forces[0] - forces[1]) / 2
        omega = modes.frequencies[0, n] * 1e-3 / hbar / to_si  # √(eV/Å²/amu)
        expected = -mass[:, None] * omega**2 * u
        assert np.linalg.norm(harmonic - expected) < 2e-3 * np.linalg.norm(expected)


def test_zero_point_amplitudes(engine):
    modes = engine.modes([[0.0, 0.0, 0.0], [0.2, 0.1, 0.0]])
    u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses)
    assert np.all(np.isfinite(u))
    assert np.all(u[0, :3] == 0)  # rigid translations at Γ
    # independent SI evaluation for one optical mode and atom
    n, k = 6, 1
    omega = modes.frequencies[1, n] * 1e-3 * constants.e / constants.hbar
    amp = np.sqrt(constants.hbar / (2 * modes.masses[k] * constants.atomic_mass * omega)) * 1e10
    assert np.allclose(u[1, n, k], amp * modes.eigenvectors[1, n, k], rtol=1e-10)


# ------------------------------------------------------------------- input


@pytest.mark.parametrize("config, words", [
    (SW_CONFIG | {"potential": "Unobtainium"}, ["Unobtainium", "WSe2"]),
    (SW_CONFIG | {"mesh": 8}, ["'mesh'", "stillinger-weber"]),
    (SW_CONFIG | {"supercell": [6, 6]}, ["supercell", "[6, 6]"]),
    (SW_CONFIG | {"displacement": -0.01}, ["displacement", "-0.01"]),
    ({"source": "dft"}, ["'dft'"]),
    ({"source": "phonopy", "force_constants": "NOPE_FC", "supercell": [3, 3, 1]}, ["NOPE_FC", "does not exist"]),
    ({"source": "phonopy", "phonopy_yaml": "nope.yaml"}, ["nope.yaml", "does not exist"]),
    ({"source": "phonopy", "force_constants": "FC", "force_sets": "FS"}, ["exactly one"]),
])
def test_bad_input_names_the_problem(cell, tmp_path, config, words):
    with pytest.raises(PhononSourceError) as info:
        build_phonon_model(cell, config, tmp_path)
    for word in words:
        assert word in str(info.value)


def test_malformed_and_mismatched_files(cell, engine, tmp_path):
    (tmp_path / "FORCE_CONSTANTS").write_text("this is not\na force constants file\n")
    with pytest.raises(PhononSourceError, match="FORCE_CONSTANTS"):
        build_phonon_model(cell, {"source": "phonopy", "force_constants": "FORCE_CONSTANTS",
                                   "supercell": [6, 6, 1]}, tmp_path)
    write_FORCE_CONSTANTS(engine.phonopy.force_constants, tmp_path / "FC6", p2s_map=engine.phonopy.primitive.p2s_map)
    with pytest.raises(PhononSourceError, match="shape"):
        build_phonon_model(cell, {"source": "phonopy", "force_constants": "FC6", "supercell": [4, 4, 1]}, tmp_path)


# ------------------------------------------------------------- phonopy files


def test_phonopy_files_give_the_same_modes(cell, engine, tmp_path):
    ph = engine.phonopy
    q = np.array([[0.0, 0.0, 0.0], [1 / 3, 1 / 3, 0.0], [0.21, 0.05, 0.0]])
    reference = engine.modes(q)
    write_FORCE_CONSTANTS(ph.force_constants, tmp_path / "FORCE_CONSTANTS", p2s_map=ph.primitive.p2s_map)
    write_FORCE_SETS(ph.dataset, tmp_path / "FORCE_SETS")
    write_force_constants_to_hdf5(ph.force_constants, str(tmp_path / "force_constants.hdf5"),
                                  p2s_map=ph.primitive.p2s_map)
    ph.save(tmp_path / "phonopy_params.yaml", settings={"force_constants": True})
    configs = [
        {"source": "phonopy", "force_constants": "FORCE_CONSTANTS", "supercell": [6, 6, 1]},
        {"source": "phonopy", "force_constants": "force_constants.hdf5", "supercell": [6, 6, 1]},
        {"source": "phonopy", "force_sets": "FORCE_SETS", "supercell": [6, 6, 1]},
        {"source": "phonopy", "phonopy_yaml": "phonopy_params.yaml"},
    ]
    for config in configs:
        modes = build_phonon_model(cell, config, tmp_path).modes(q)
        assert np.allclose(modes.frequencies, reference.frequencies, atol=1e-5), config
        moving = reference.frequencies > 0.05  # the order of Γ's rigid translations is noise
        assert np.array_equal(modes.parity[moving], reference.parity[moving])


#: A BORN file for the WSe2 layer: ε∞ and the charges of W and Se (D3h, C3v site symmetry, sum zero).
BORN = """14.399652
5.0 0 0 0 5.0 0 0 0 2.0
-1.0 0 0 0 -1.0 0 0 0 -0.2
0.5 0 0 0 0.5 0 0 0 0.1
"""


def test_born_charges_enter_as_phonopy_applies_them(cell, engine, tmp_path):
    """With born = "BORN" the modes near Γ are phonopy's own with the same file; without, a warning."""
    ph = engine.phonopy
    write_FORCE_CONSTANTS(ph.force_constants, tmp_path / "FORCE_CONSTANTS", p2s_map=ph.primitive.p2s_map)
    (tmp_path / "BORN").write_text(BORN)
    config = {"source": "phonopy", "force_constants": "FORCE_CONSTANTS", "supercell": [6, 6, 1]}
    q = np.array([[0.01, 0.0, 0.0], [0.0, 0.02, 0.0], [0.2, 0.1, 0.0]])
    with pytest.warns(UserWarning, match="no Born charges"):
        plain = build_phonon_model(cell, config, tmp_path).modes(q).frequencies
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        polar = build_phonon_model(cell, config | {"born": "BORN"}, tmp_path)
    reference = phonopy.load(supercell_matrix=[6, 6, 1], unitcell=ph.unitcell, log_level=0,
                             force_constants_filename=tmp_path / "FORCE_CONSTANTS",
                             born_filename=tmp_path / "BORN")
    reference.run_qpoints(q)
    expected = np.sort(reference.qpoints.frequencies, axis=1) * THZ_TO_MEV
    assert np.allclose(polar.modes(q).frequencies, expected, atol=1e-5)
    assert np.abs(polar.modes(q).frequencies - plain)[:2].max() > 0.1  # the correction matters near Γ
    exported = write_phonopy_params(polar, tmp_path / "export" / "phonopy_params.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = build_phonon_model(cell, {"source": "phonopy", "phonopy_yaml": "phonopy_params.yaml"},
                                    exported.parent)
    assert np.allclose(again.modes(q).frequencies, expected, atol=1e-5)


def test_phonopy_yaml_atoms_matched_in_structure_order(cell, engine, tmp_path):
    engine.phonopy.save(tmp_path / "phonopy_params.yaml", settings={"force_constants": True})
    reordered = cell[[1, 0, 2]]  # Se_top, W, Se_bottom
    modes = build_phonon_model(reordered, {"source": "phonopy", "phonopy_yaml": "phonopy_params.yaml"},
                                tmp_path).modes([[0.2, 0.1, 0.0]])
    reference = engine.modes([[0.2, 0.1, 0.0]])
    assert np.allclose(modes.frequencies, reference.frequencies, atol=1e-8)
    assert np.allclose(modes.masses, reference.masses[[1, 0, 2]])
    overlap = np.abs(np.einsum("nka,nka->n", modes.eigenvectors[0].conj(), reference.eigenvectors[0][:, [1, 0, 2]]))
    assert np.allclose(overlap, 1.0, atol=1e-8)


def test_exported_phonopy_params_reproduce_the_engine(engine, tmp_path):
    """The Stillinger–Weber engine (force sets + symmetrised constants) exported and read by phonopy."""
    q = np.array([[0.0, 0.0, 0.0], [1 / 3, 1 / 3, 0.0], [0.21, 0.05, 0.0]])
    path = write_phonopy_params(engine, tmp_path / "phonopy_params.yaml")
    assert np.allclose(phonopy_frequencies(path, q), engine.modes(q).frequencies, atol=1e-6)


def test_phonons_command_exports_the_phonons_it_used(tmp_path):
    from phonomag.cli.main import main
    from phonomag.cli.overviews import load_phonons
    from phonomag.crystal.materials import load_material

    main(["phonons", "-o", str(tmp_path), "--npoints", "12"])
    q = np.array([[0.5, 0.0, 0.0], [1 / 3, 1 / 3, 0.0]])
    expected = load_phonons(load_material("WSe2")).modes(q).frequencies
    assert np.allclose(phonopy_frequencies(tmp_path / "phonopy_params.yaml", q), expected, atol=1e-6)


# --------------------------------------------------------------- path, figure


def test_hexagonal_path_corners(cell, path):
    q, dist, ticks, labels = path
    assert labels == ["Γ", "M", "K", "Γ"]
    b = cell.cell.reciprocal() * 2 * np.pi
    lengths = [np.linalg.norm(np.array(p) @ b) for p in ([0.5, 0, 0], [1 / 6, -1 / 3, 0], [1 / 3, 1 / 3, 0])]
    assert np.allclose(np.diff(ticks), lengths)
    for tick, corner in zip(ticks, ([0, 0, 0], [0.5, 0, 0], [1 / 3, 1 / 3, 0], [0, 0, 0]), strict=True):
        assert np.allclose(q[np.argmin(np.abs(dist - tick))], corner)
    assert len(q) == 121 and np.all(np.diff(dist) > 0)


def test_plot_dispersion_writes_raster_and_vector(path, path_modes, tmp_path):
    q, dist, ticks, labels = path
    written = plot_dispersion(path_modes, dist, ticks, labels, tmp_path / "dispersion")
    assert {p.suffix for p in written} == {".png", ".pdf"}
    assert all(p.stat().st_size > 1000 for p in written)
