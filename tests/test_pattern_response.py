"""The reduction of DFPT responses to unit Cartesian patterns (abinit.pattern_response), on synthetic fields.

The mode route of the ABINIT engine (reduced perturbations with the coefficients of
mode_response) is the independent reference for the Cartesian patterns, their
τ-phases and the cell moments; a field given by its own Fourier series is the reference for the
kept coefficients (format 2, docs/kernel.md).
"""

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import bulk

from phonomag.engines.abinit.density_response import cell_integrals, pauli_components
from phonomag.engines.abinit.pattern_response import FORMAT_VERSION, cartesian_patterns, reduce_patterns
from phonomag.engines.abinit.perturbations import perturbation_coefficients
from phonomag.engines.kernel.symmetry import rotate_q, space_group
from phonomag.io.netcdf import complex_from
from phonomag.response.band_limited import sphere_gvectors, sphere_radius

SHAPE = (6, 6, 16)


def slab() -> Atoms:
    a = 3.25
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, 12.0]]
    return Atoms("WSe2", cell=cell, scaled_positions=[[0, 0, 0], [1 / 3, 2 / 3, 0.14], [1 / 3, 2 / 3, -0.14]],
                 pbc=True)


def random_responses(rng, natoms=3, shape=SHAPE):
    return {(k, i): rng.normal(size=(2, 2) + shape) + 1j * rng.normal(size=(2, 2) + shape)
            for k in range(natoms) for i in range(3)}


def test_cell_moments_reproduce_the_mode_route():
    rng = np.random.default_rng(1)
    atoms = slab()
    q = np.array([1 / 3, 1 / 6, 0])
    responses = random_responses(rng)
    volume_bohr3 = atoms.get_volume() / units.Bohr**3
    data = reduce_patterns(responses, atoms, q, volume_bohr3, 0.5, {})
    assert data.attrs["format_version"] == FORMAT_VERSION == 2 and list(data.attrs["fft_grid"]) == list(SHAPE)
    displacements = rng.normal(size=(4, 3, 3)) + 1j * rng.normal(size=(4, 3, 3))  # Å
    # the mode route: ABINIT's perturbations with the coefficients x_κi of the displacements, cell-integrated
    x = perturbation_coefficients(displacements, atoms, q)
    reference = sum(x[:, k, i, None] * cell_integrals(pauli_components(responses[(k, i)]), volume_bohr3)[None]
                    for k in range(3) for i in range(3))
    moments = np.einsum("mkb,kba->ma", displacements, complex_from(data["moment"]))
    np.testing.assert_allclose(moments, reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())
    # the G = 0 coefficient times the cell volume is the same moment, to the single precision it is stored in
    zero = np.flatnonzero((data["gvector"].values == 0).all(axis=1))
    moment = complex_from(data["moment"])
    np.testing.assert_allclose(complex_from(data["coefficient"])[..., zero[0]] * atoms.get_volume(), moment,
                               rtol=0, atol=2 * np.finfo(np.float32).eps * np.abs(moment).max())


def test_missing_perturbation_is_an_error():
    rng = np.random.default_rng(2)
    responses = random_responses(rng)
    del responses[(1, 2)]
    with pytest.raises(KeyError, match=r"\(1, 2\)"):
        reduce_patterns(responses, slab(), [0, 0, 0], slab().get_volume() / units.Bohr**3, 0.5, {})


def _fourier_series_responses(atoms, q, ecut, shape, rng):
    """Responses whose Pauli fields are random Fourier series inside the sphere of q: (responses, G, N(G))."""
    g = sphere_gvectors(atoms.cell.array, q, ecut, shape)
    coefficients = rng.normal(size=(len(atoms), 3, 2, 2, len(g))) + 1j * rng.normal(size=(len(atoms), 3, 2, 2, len(g)))
    fractional = np.stack(np.meshgrid(*[np.arange(n) / n for n in shape], indexing="ij"), axis=-1)
    waves = np.exp(2j * np.pi * fractional @ g.T)  # (n1, n2, n3, nG)
    responses = {(k, i): np.einsum("abg,xyzg->abxyz", coefficients[k, i], waves) for k in range(len(atoms))
                 for i in range(3)}
    return responses, g


@pytest.mark.parametrize("atoms, q, shape, ecut", [(slab(), [1 / 3, 1 / 6, 0], (9, 9, 24), 2.0),
                                                   (bulk("AlSb", "zincblende", a=6.136), [0.5, 0.25, 0], (10, 10, 10),
                                                    3.0)], ids=["layer", "zincblende"])
def test_a_field_inside_the_sphere_is_kept_exactly_at_any_point(atoms, q, shape, ecut):
    """The coefficients give the field anywhere (a finite Fourier sum): at the grid points and at a point off
    the grid, against the patterns' own values and their direct Fourier sum; a field beyond the sphere is
    not kept exactly (the control: the stated coarsening)."""
    rng = np.random.default_rng(5)
    q = np.asarray(q, float)
    responses, g = _fourier_series_responses(atoms, q, ecut, shape, rng)
    data = reduce_patterns(responses, atoms, q, atoms.get_volume() / units.Bohr**3, ecut, {})
    assert np.array_equal(data["gvector"].values, g)
    kept = complex_from(data["coefficient"])
    patterns = cartesian_patterns(responses, atoms, q) / units.Bohr**3
    fractional = np.stack(np.meshgrid(*[np.arange(n) / n for n in shape], indexing="ij"), axis=-1)
    back = np.einsum("kbag,xyzg->kbaxyz", kept, np.exp(2j * np.pi * fractional @ g.T))
    rounding = np.finfo(np.float32).eps * np.abs(kept).sum(axis=-1).max()  # the coefficients' single precision
    np.testing.assert_allclose(back, patterns, rtol=0, atol=rounding)
    point = np.array([0.123, 0.456, 0.789])  # off the grid: the sum of the pattern's own series there
    x = perturbation_coefficients(np.eye(3 * len(atoms)).reshape(len(atoms), 3, len(atoms), 3), atoms, q)
    wave = np.exp(2j * np.pi * g @ point)  # a pattern's coefficients are those of its ABINIT perturbations
    direct = sum(x[:, :, k, i, None] * pauli_components(_series_at(responses, k, i, g, point, shape))
                 for k in range(len(atoms)) for i in range(3)) / units.Bohr**3
    np.testing.assert_allclose(kept @ wave, direct, rtol=0, atol=rounding)
    smaller = reduce_patterns(responses, atoms, q, atoms.get_volume() / units.Bohr**3, ecut / 2, {})
    g_small = smaller["gvector"].values
    lost = np.einsum("kbag,xyzg->kbaxyz", complex_from(smaller["coefficient"]),
                     np.exp(2j * np.pi * fractional @ g_small.T))
    assert len(g_small) < len(g) and np.abs(lost - patterns).max() > 0.1 * np.abs(patterns).max()


def _series_at(responses, k, i, g, point, shape):
    """N (2, 2) of the perturbation (k, i) at a fractional point, from its own Fourier series on the grid."""
    spectrum = np.fft.fftn(responses[(k, i)], axes=(-3, -2, -1)) / np.prod(shape)
    index = g % np.array(shape)
    return spectrum[..., index[:, 0], index[:, 1], index[:, 2]] @ np.exp(2j * np.pi * g @ point)


@pytest.mark.parametrize("atoms", [slab(), bulk("AlSb", "zincblende", a=6.136)], ids=["layer", "zincblende"])
def test_the_sphere_of_q_is_carried_onto_that_of_every_image(atoms):
    """|q + G|²/2 ≤ E_f: every space-group operation maps the kept G of q onto those of Sq (reduced G′ = R⁻ᵀG),
    time reversal those of q onto those of −q (G ↦ −G): the kernel's unfolding needs no G that was not kept."""
    q = np.array([0.5, 0.25, 0.0]) if len(atoms) == 2 else np.array([1 / 3, 1 / 6, 0.0])
    g = sphere_gvectors(atoms.cell.array, q, 5.0)
    as_set = {tuple(v) for v in g}
    for operation in space_group(atoms):
        image = {tuple(v) for v in g @ np.rint(np.linalg.inv(operation.rotation)).astype(int)}
        assert image == {tuple(v) for v in sphere_gvectors(atoms.cell.array, rotate_q(operation, q), 5.0)}
    assert {(-a, -b, -c) for a, b, c in as_set} == {tuple(v) for v in sphere_gvectors(atoms.cell.array, -q, 5.0)}
    radius = sphere_radius(5.0)
    assert np.linalg.norm((g + q) @ atoms.cell.reciprocal() * 2 * np.pi, axis=1).max() <= radius * (1 + 1e-9)


def test_a_sphere_beyond_the_fft_grid_is_refused():
    with pytest.raises(ValueError, match="beyond the 6×6×16 FFT grid"):
        sphere_gvectors(slab().cell.array, [0, 0, 0], 20.0, SHAPE)


