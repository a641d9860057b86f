"""Real-space fields (phonomag.engines.tightbinding.fields, export, maps, movies), each against an independent fact.

Orbital normalisation by quadrature; Bloch periodicity by evaluating at r and r + R
directly; λ = 0 (no magnetization anywhere); the σ_h selection rule on cell integrals;
the on-site cell integral against the form-factor response of phonomag.engines.tightbinding.response; XSF
and cube files read back by ASE.
"""

from dataclasses import replace

import ase.io
import numpy as np
import pytest
import xarray as xr
from ase.io.cube import read_cube_data
from ase.io.xsf import read_xsf
from ase.units import Bohr
from scipy.integrate import quad

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.materials import load_material
from phonomag.engines.tightbinding import fields
from phonomag.engines.tightbinding.form_factors import slater_radial
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.engines.tightbinding.response import PAULI4, displacement_response, response_matrices, sampling_grid
from phonomag.outputs import field_files as export
from phonomag.response.fields import CellField, atom_wave

K = np.array([1 / 3, 1 / 3, 0.0])
M = np.array([0.5, 0.0, 0.0])
GRID = (6, 6, 1)  # contains Γ, M and K
W, SE_T, SE_B = 0, 1, 2  # atom order of the built-in WSe2


@pytest.fixture(scope="module")
def model():
    return TightBindingModel.from_material(load_material("WSe2"))


def random_pattern(seed, scale=0.02):
    rng = np.random.default_rng(seed)
    return scale * (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))


def relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# ------------------------------------------------------------------ orbitals
SHELLS = [
    (("s",), 3, 1.8),
    (("px", "py", "pz"), 4, 2.0718),
    (("dxy", "dyz", "dxz", "dx2-y2", "dz2"), 5, 3.3484),
]


def sphere_quadrature(n_theta=12, n_phi=24):
    """Product Gauss–Legendre × uniform φ rule, exact for polynomials of degree < 2 n_theta on S²."""
    t, wt = np.polynomial.legendre.leggauss(n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    ct, ph = np.meshgrid(t, phi, indexing="ij")
    st = np.sqrt(1 - ct**2)
    dirs = np.stack([st * np.cos(ph), st * np.sin(ph), ct], axis=-1)
    return dirs.reshape(-1, 3), np.repeat(wt, n_phi) * 2 * np.pi / n_phi


@pytest.mark.parametrize("names, n, zeta", SHELLS)
def test_slater_orbitals_are_orthonormal(names, n, zeta):
    """∫ χ_μ χ_ν d³r = δ_μν on a Gauss–Legendre radial × product angular grid."""
    rc = fields.cutoff_radius(n, zeta)
    x, wx = np.polynomial.legendre.leggauss(300)
    r, wr = 0.5 * rc * (x + 1), 0.5 * rc * wx * (0.5 * rc * (x + 1)) ** 2
    dirs, wd = sphere_quadrature()
    points = r[:, None, None] * dirs[None]  # (nr, nd, 3)
    chi = fields.slater_orbitals(names, n, zeta, points)  # (nr, nd, n_orb)
    overlap = np.einsum("r,d,rdm,rdn->mn", wr, wd, chi, chi)
    assert np.allclose(overlap, np.eye(len(names)), atol=1e-6)


@pytest.mark.parametrize("names, n, zeta", SHELLS)
def test_cutoff_radius_leaves_the_stated_norm_outside(names, n, zeta):
    rc = fields.cutoff_radius(n, zeta, tolerance=1e-6)
    outside, _ = quad(lambda r: slater_radial(n, zeta, r) ** 2 * r**2, rc, np.inf, epsabs=1e-14)
    assert outside == pytest.approx(1e-6, rel=1e-6)
    edge = np.array([[0.0, 0.0, 1.001 * rc], [0.6 * rc, 0.0, 0.0]])
    beyond = fields.slater_orbitals(names, n, zeta, edge, tolerance=1e-6)
    assert np.all(beyond[0] == 0.0) and np.any(beyond[1] != 0.0)


# ------------------------------------------------------------ Bloch waves
def test_periodic_amplitude_is_cell_periodic(model):
    """δñ(r + R) = δñ(r), both sides evaluated directly (no tiling), at a generic q."""
    q = np.array([0.2, 0.1, 0.0])
    lattice, density = fields.mode_density_response(model, q, GRID, random_pattern(1))
    rng = np.random.default_rng(2)
    cell = model.atoms.cell.array
    points = rng.random((40, 2)) @ cell[:2]
    points[:, 2] = rng.uniform(-3.0, 3.0, 40)
    base = fields.periodic_amplitude(model, q, density, lattice, points)
    assert np.abs(base[1:]).max() > 1e-3 * np.abs(base[0]).max()  # a non-trivial magnetization
    for shift in (cell[0], cell[1], 2 * cell[1] - 3 * cell[0]):
        moved = fields.periodic_amplitude(model, q, density, lattice, points + shift)
        assert relative(moved, base) < 1e-10


def test_amplitude_equals_an_explicit_bloch_sum(model):
    """δñ e^{iq·r} = (1/N_k) Σ_k Σ φ_{k+q,μ}(r) D_k[sμ, s′ν] φ_{k,ν}(r)* (Bloch sums of the orbitals).

    D_k is the orbital-basis response of phonomag.engines.tightbinding.response.response_matrices and
    φ_{kμ}(r) = Σ_R e^{ik·(R+τ_μ)} χ_μ(r − R − τ_μ) is summed here over every image
    within ±5 cells: no lattice-vector bookkeeping, so on- and off-site terms and the sign
    of L are checked at once (same k grid, hence the same P(L); no P blocks dropped).
    """
    q = np.array([0.2, 0.1, 0.0])
    u = random_pattern(9)
    lattice, density = fields.mode_density_response(model, q, GRID, u)
    rng = np.random.default_rng(10)
    cell = model.atoms.cell.array
    points = rng.random((12, 2)) @ cell[:2]
    points[:, 2] = rng.uniform(-2.5, 2.5, 12)
    amplitude = fields.periodic_amplitude(model, q, density, lattice, points, density_tolerance=0.0)

    kpoints = sampling_grid(GRID, q)
    d = np.einsum("kjamn,ja->kmn", response_matrices(model, q, kpoints), u)
    m = np.stack(np.meshgrid(np.arange(-5, 6), np.arange(-5, 6), [0], indexing="ij"), -1).reshape(-1, 3)
    sites = (m @ cell)[:, None, :] + model.atoms.positions[None]  # (nR, natoms, 3)
    chi = np.zeros((len(points), len(m), model.n_orbitals))
    for a, orbs in enumerate(model.atom_orbitals):
        (letter, (n, zeta)), = model.species[model.atoms[a].symbol].slater.items()
        sl = slice(model.orbital_offset[a], model.orbital_offset[a + 1])
        chi[:, :, sl] = fields.slater_orbitals(orbs, n, zeta, points[:, None, :] - sites[None, :, a])
    centres = sites[:, model.orbital_atom]  # (nR, n_orb, 3)

    def bloch(k_reduced):  # (nk, npoints, n_orb)
        phases = np.exp(1j * np.einsum("kx,rmx->krm", model.cartesian(k_reduced), centres))
        return np.einsum("krm,prm->kpm", phases, chi)

    left, right = bloch(kpoints + q), bloch(kpoints)
    n = model.n_orbitals
    blocks = d.reshape(len(kpoints), 2, n, 2, n)
    density_r = np.einsum("kpm,ksmtn,kpn->pst", left, blocks, right.conj()) / len(kpoints)
    expected = 0.5 * np.einsum("pst,ats->ap", density_r, PAULI4) * np.exp(-1j * points @ model.cartesian(q))
    assert relative(amplitude, expected) < 1e-10


def test_snapshot_repeats_with_the_wavelength_of_q(model):
    """At q = K (K·a₁ = 2π/3) the snapshot returns to itself after 3 cells along a₁, not after 1."""
    u = random_pattern(3)
    lattice, density = fields.mode_density_response(model, K, GRID, u)
    plane = fields.plane_field(model, K, density, lattice, LatticePlane.through(model.atoms, offset=0.4), 9)
    wave = plane.wave((6, 2))
    phase = 0.7
    snap = wave.at(phase)
    assert relative(snap[:, 27:54], snap[:, :27]) < 1e-12
    assert relative(snap[:, 9:36], snap[:, :27]) > 1e-2
    # tiling agrees with a direct evaluation at the points of cell (2, 1)
    block = wave.points[18:27, 9:18]
    direct = fields.periodic_amplitude(model, K, density, lattice, block)
    expected = (direct * np.exp(1j * (block @ model.cartesian(K) - phase))).real
    assert relative(snap[:, 18:27, 9:18], expected) < 1e-10
    atoms = atom_wave(model.atoms, model.labels, K, u, (6, 2))
    shifted = atoms.positions + 3 * model.atoms.cell.array[0]
    later = np.flatnonzero(np.all(np.isclose(atoms.positions[None], shifted[:, None]), axis=-1).any(axis=0))
    assert len(later) == 6 * 3 and np.allclose(atoms.at(phase)[later], atoms.at(phase)[:18])


# ------------------------------------------------------------------ physics
def test_no_magnetization_without_spin_orbit_coupling(model):
    species = {name: replace(spec, soc=0.0) for name, spec in model.species.items()}
    plain = TightBindingModel(model.atoms, model.labels, species, model.hoppings, model.occupied_bands)
    lattice, density = fields.mode_density_response(plain, K, GRID, random_pattern(4))
    field = fields.cell_field(plain, K, density, lattice, (10, 10, 30))
    assert np.abs(field.amplitude[0]).max() > 0
    assert np.abs(field.amplitude[1:]).max() <= 1e-12 * np.abs(field.amplitude[0]).max()


def mirror_pattern(parity, seed):
    """Displacements with σ_h u = parity·u.

    σ_h maps atom κ to its mirror image P(κ) (W → W, Se_t ↔ Se_b) and flips z:
    (σ_h u)_{P(κ)} = (u_x, u_y, −u_z)_κ. Even (+1): W in plane only, Se_b = (x, y, −z) of Se_t.
    Odd (−1): W along z only, Se_b = (−x, −y, z) of Se_t.
    """
    u = random_pattern(seed)
    flip = np.array([1.0, 1.0, -1.0])
    u[W] = 0.5 * (u[W] + parity * flip * u[W])
    u[SE_B] = parity * flip * u[SE_T]
    return u


@pytest.mark.parametrize("parity, allowed, forbidden", [(+1, [3], [1, 2]), (-1, [1, 2], [3])])
def test_sigma_h_selection_rule_of_the_cell_moment(model, parity, allowed, forbidden):
    """M is axial: σ_h-even patterns give a cell-integrated M along z only, odd ones in plane only."""
    u = mirror_pattern(parity, seed=5)
    lattice, density = fields.mode_density_response(model, K, GRID, u)
    moment = fields.cell_field(model, K, density, lattice, (12, 12, 48)).cell_integral()
    size = np.abs(moment[allowed]).max()
    assert size > 1e-3 * abs(moment[0])
    assert np.abs(moment[forbidden]).max() <= 1e-8 * size


@pytest.mark.parametrize("q", [K, M])
def test_onsite_cell_integral_equals_form_factor_response(model, q):
    """∫_cell of the on-site (R = R′, same atom) part of δñ = Σ_{μν∈κ} P_μν(L=0) F_μν(q), exactly.

    With r = R + τ_κ + x, e^{−iq·r} e^{iq·(R+τ_κ)} = e^{−iq·x}, so each site contributes
    Σ P_μν(0) ∫ χ_μ χ_ν e^{−iq·x} d³x = Σ P_μν(0) F_μν(q): the value of
    displacement_response with form factors (same k grid, hence the same P(0)). The grid
    sum converges fast (smooth periodic integrand in plane, vanishing ends in z), to
    ≈1e-7 relative here; the form factor at K changes M_z several-fold, so the check bites.
    """
    u = random_pattern(6)
    lattice, density = fields.mode_density_response(model, q, GRID, u)
    integral = fields.cell_field(model, q, density, lattice, (24, 24, 120), onsite_only=True).cell_integral()
    expected = displacement_response(model, q, GRID).for_displacements(u).sum(axis=0)
    assert np.abs(integral - expected).max() <= 1e-6 * np.abs(expected).max()
    assert np.all(np.abs(integral - expected) <= 1e-5 * np.abs(expected))


# ------------------------------------------------------------------- export
def test_field_files_round_trip(model, tmp_path):
    lattice, density = fields.mode_density_response(model, K, GRID, random_pattern(7))
    field = fields.cell_field(model, K, density, lattice, (8, 9, 20))
    cells = (3, 1)
    values = export.field_values(field, "mz", "snapshot", phase=0.3, cells=cells)
    step = np.array([model.atoms.cell[0] / 8, model.atoms.cell[1] / 9, [0, 0, np.diff(field.heights)[0]]])
    origin = np.array([0.0, 0.0, field.heights[0]])
    structure = model.atoms.repeat((*cells, 1))

    cube = export.write_field(tmp_path / "mz.cube", model.atoms, field, "mz", "snapshot", phase=0.3, cells=cells)
    data, atoms = read_cube_data(str(cube))
    assert data.shape == (24, 9, 20)
    assert "electrons/bohr^3" in cube.read_text().splitlines()[0]
    per_bohr3 = values * Bohr**3  # the cube format is in atomic units
    assert np.abs(data - per_bohr3).max() <= 1e-6 * np.abs(per_bohr3).max()
    assert np.allclose(atoms.positions, structure.positions, atol=1e-5)
    assert np.allclose(atoms.cell[:], np.array(data.shape)[:, None] * step, atol=1e-5)

    xsf = export.write_field(tmp_path / "mz.xsf", model.atoms, field, "mz", "snapshot", phase=0.3, cells=cells)
    with open(xsf) as handle:
        data, read_origin, span, atoms = read_xsf(handle, read_data=True)
    assert np.abs(data - values).max() <= 1e-8 * np.abs(values).max()  # values as they are, e/Å³
    assert np.allclose(read_origin, origin, atol=1e-5)
    assert np.allclose(span, (np.array(values.shape) - 1)[:, None] * step, atol=1e-5)
    assert np.allclose(ase.io.read(xsf).positions, structure.positions, atol=1e-5)

    modulus = export.field_values(field, "n0", "abs")
    assert np.allclose(modulus, np.abs(field.amplitude[0]))


def test_a_bulk_cell_field_file_has_the_cell_as_its_grid(tmp_path):
    """A bulk (fcc) volume over the whole periodic cell, as the kernel engine of format 2 gives it: the cube's
    voxel vectors are aᵢ/nᵢ (a₃ not along z) and a value sits at the point the field was computed at."""
    from ase.build import bulk

    structure = bulk("AlSb", "zincblende", a=6.1355)
    cell, shape = structure.cell.array, (6, 5, 4)
    fractional = np.stack(np.meshgrid(*[np.arange(n) / n for n in shape], indexing="ij"), axis=-1)
    points = fractional @ cell
    amplitude = np.zeros((4, *shape), complex)
    amplitude[0] = np.cos(2 * np.pi * fractional[..., 2]) + 0.1 * fractional[..., 0]  # varies along a₃
    heights = np.arange(shape[2]) / shape[2] * (cell[2] @ np.cross(cell[0], cell[1])) / np.linalg.norm(
        np.cross(cell[0], cell[1]))
    field = CellField(points, amplitude, heights, np.zeros(3), cell)
    cube = export.write_field(tmp_path / "n0.cube", structure, field, "n0", "abs")
    data, atoms = read_cube_data(str(cube))
    assert np.allclose(atoms.cell[:], cell, atol=1e-5)  # the periodic cell, a₃ = (a/2, a/2, 0)
    assert np.allclose(data / Bohr**3, np.abs(amplitude[0]), atol=1e-9)
    assert np.allclose(atoms.positions, structure.positions, atol=1e-5)


def test_cube_integral_matches_results_file(model, tmp_path):
    """The charge and moment read back from a cube file (ase.io.cube, bohr and e/bohr³) are the
    cell moments stored in results.nc for the same mode.

    The cube holds the snapshot s(r) = Re[δñ(r) e^{iq·r}] over the 3×3 supercell at K. With
    N = 9 cells and 2K not a reciprocal vector of the supercell, (2/N) ∫ s(r) e^{−iq·r} d³r
    = n̄ = ∫_cell δñ d³r: the cube integral must give results.nc's cell_moment.
    """
    from ase.io.cube import read_cube

    from phonomag.crystal.materials import load_material
    from phonomag.engines.base import compute_mode_response
    from phonomag.engines.tightbinding.engine import TightBindingEngine
    from phonomag.io.netcdf import complex_from
    from phonomag.phonons.model import PhononModel

    spec = load_material("WSe2")
    modes = PhononModel.from_material(spec).modes(K[None])
    data = compute_mode_response(TightBindingEngine(model, GRID), modes, progress=False)
    results = data.write(tmp_path / "results.nc", np.zeros(1))
    with xr.open_dataset(results) as ds:
        stored = complex_from(ds["cell_moment"])[0]
    nu = int(np.argmax(np.abs(stored[:, 3])))  # the mode with the largest M_z at K
    lattice, density = fields.mode_density_response(model, K, GRID, data.displacements[0, nu])
    field = fields.cell_field(model, K, density, lattice, (24, 24, 120), onsite_only=True)
    for alpha, component in enumerate(("n0", "mx", "my", "mz")):
        cube = export.write_field(tmp_path / f"{component}.cube", model.atoms, field, component, cells=(3, 3))
        with open(cube) as handle:
            read = read_cube(handle)
        index = np.stack(np.meshgrid(*[np.arange(n) for n in read["data"].shape], indexing="ij"), axis=-1)
        points = read["origin"] + index @ read["spacing"]  # Å
        voxel = abs(np.linalg.det(read["spacing"])) / Bohr**3  # bohr³
        weight = np.exp(-1j * points @ model.cartesian(K))
        integral = 2 / 9 * (read["data"] * weight).sum() * voxel  # electrons per cell
        assert abs(integral - stored[nu, alpha]) <= 1e-5 * np.abs(stored[nu]).max(), component


# ----------------------------------------------------------------- figures
def test_maps_and_movie_are_written(model, tmp_path):
    from phonomag.outputs.plotting.maps import plot_inplane_magnetization, plot_mz_and_charge
    from phonomag.outputs.plotting.movies import write_movie

    u = mirror_pattern(-1, seed=8)
    lattice, density = fields.mode_density_response(model, K, GRID, u)
    wave = fields.plane_field(model, K, density, lattice, LatticePlane.through(model.atoms), 12).wave((2, 2))
    atoms = atom_wave(model.atoms, model.labels, K, u, (2, 2))
    written = plot_inplane_magnetization(wave, atoms, tmp_path / "fig1", stride=2)
    written += plot_mz_and_charge(wave, atoms, tmp_path / "fig2")
    written += write_movie(wave, atoms, tmp_path / "movie", frames=2, dpi=40)
    assert {p.name for p in written} >= {"fig1.png", "fig1.pdf", "fig2.png", "fig2.pdf", "movie.gif"}
    assert all(p.stat().st_size > 0 for p in written)
    from PIL import Image

    with Image.open(tmp_path / "movie.gif") as gif:
        assert gif.n_frames == 2


def test_movie_frames_equal_the_still_maps_at_their_phase(model):
    """A movie frame (figure built once, data updated, layout frozen after frame 0) has the same
    pixels as the map drawn from scratch at that frame's phase with constrained layout."""
    import matplotlib.pyplot as plt

    from phonomag.outputs.plotting.maps import FIGURE_SIZES
    from phonomag.outputs.plotting.movies import PANELS, movie_frames

    u = mirror_pattern(-1, seed=8)
    lattice, density = fields.mode_density_response(model, K, GRID, u)
    wave = fields.plane_field(model, K, density, lattice, LatticePlane.through(model.atoms), 12).wave((2, 2))
    atoms = atom_wave(model.atoms, model.labels, K, u, (2, 2))
    count, dpi = 3, 40
    for panels, draw in PANELS.items():
        frames = list(movie_frames(wave, atoms, panels, frames=count, dpi=dpi))
        assert len(frames) == count
        for k in (1, 2):
            fig = plt.figure(figsize=FIGURE_SIZES[panels], dpi=dpi, layout="constrained")
            draw(fig, wave, atoms, 2 * np.pi * k / count)
            fig.canvas.draw()
            still = np.asarray(fig.canvas.buffer_rgba())[..., :3]
            plt.close(fig)
            assert not np.array_equal(frames[0], still), (panels, k)  # the snapshot changes with the phase
            assert np.array_equal(frames[k], still), (panels, k, np.count_nonzero(frames[k] != still))


def test_without_ffmpeg_the_gif_has_one_palette_for_the_whole_movie(model, tmp_path, monkeypatch):
    """Pillow's GIF (no ffmpeg): a warning, no MP4, one palette for every frame (at most 256 colours in all)."""
    from PIL import Image, ImageSequence

    from phonomag.outputs.plotting import movies

    u = mirror_pattern(-1, seed=8)
    lattice, density = fields.mode_density_response(model, K, GRID, u)
    wave = fields.plane_field(model, K, density, lattice, LatticePlane.through(model.atoms), 12).wave((2, 2))
    atoms = atom_wave(model.atoms, model.labels, K, u, (2, 2))
    monkeypatch.setattr(movies, "ffmpeg_executable", lambda: None)
    with pytest.warns(UserWarning, match="no ffmpeg"):
        written = movies.write_movie(wave, atoms, tmp_path / "movie", frames=3, dpi=40)
    assert [p.name for p in written] == ["movie.gif"]
    with Image.open(written[0]) as gif:
        frames = [np.asarray(frame.convert("RGB")).reshape(-1, 3) for frame in ImageSequence.Iterator(gif)]
    assert len(frames) == 3 and len(np.unique(np.concatenate(frames), axis=0)) <= 256
