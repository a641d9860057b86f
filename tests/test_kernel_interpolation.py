"""The response kernel (engines/kernel/interpolation.py) on the tight-binding engine's pattern fields.

Exact at the grid q-points (docs/physics.md §11); off the grid its error is that of the
truncation, which must shrink when the q grid is refined (3×3 → 6×6), measured against
the engine's direct evaluation.
"""

import numpy as np
import pytest

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.materials import load_material
from phonomag.engines.kernel.interpolation import ResponseKernel
from phonomag.engines.kernel.symmetry import PlaneLayers, fill_grid, space_group
from phonomag.engines.tightbinding.engine import TightBindingEngine

LAYERS = (None, 0.0)
POINTS = 6
IRREDUCIBLE = {3: [(0, 0, 0), (1, 0, 0), (1, 1, 0)],
               6: [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (1, 1, 0), (2, 1, 0), (2, 2, 0)]}


@pytest.fixture(scope="module")
def engine(hexagonal_wse2):
    return TightBindingEngine.from_material(hexagonal_wse2, (12, 12, 1))


def fields_at(engine, q):
    return engine.pattern_fields(np.asarray(q, float), LAYERS, POINTS, integral_heights=16)


@pytest.fixture(scope="module")
def kernels(engine):
    operations = space_group(engine.atoms)
    out = {}
    for n, steps in IRREDUCIBLE.items():
        irreducible = {s: fields_at(engine, [s[0] / n, s[1] / n, 0]) for s in steps}
        full = fill_grid(irreducible, (n, n, 1), operations, engine.atoms, PlaneLayers(LAYERS, engine.atoms))
        out[n] = (ResponseKernel.from_grid(full, engine.atoms, (n, n, 1), LAYERS), full)
    return out


def relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_kernel_is_exact_at_the_grid_points(kernels):
    kernel, full = kernels[6]
    steps = sorted(full)
    q = np.array([[m1 / 6, m2 / 6, 0] for m1, m2, _ in steps])
    values = kernel.fields(q)
    for i, s in enumerate(steps):
        assert relative(values[i], full[s]) < 1e-10, s
    # and at the same q moved by a reciprocal lattice vector: ñ_{q+G} = e^{iG·τ} e^{−iG·x} ñ_q
    assert np.allclose(np.abs(kernel.fields(q[5] + [1, -1, 0])[0]), np.abs(values[5]), atol=1e-12)


def test_fourier_components_are_the_cell_integrals(kernels, engine):
    kernel, _ = kernels[6]
    q = np.array([[0.21, 0.07, 0.0]])
    values = kernel.fields(q)[0]
    area = abs(np.linalg.det(engine.atoms.cell.array[:2, :2]))
    g0 = kernel.fourier(q, [[0, 0, 0], [1, 0, 0]], 0)[0]
    values = values[:, :, 0]  # the z-integral layer
    assert np.allclose(g0[0], values.mean(axis=(-2, -1)) * area, rtol=1e-12, atol=1e-15)
    x = np.stack(np.meshgrid(np.arange(POINTS) / POINTS, np.arange(POINTS) / POINTS, indexing="ij"), -1)
    expected = (values * np.exp(-2j * np.pi * x[..., 0])).mean(axis=(-2, -1)) * area
    assert np.allclose(g0[1], expected, rtol=1e-12, atol=1e-15)


def test_interpolation_error_shrinks_with_the_grid(kernels, engine):
    """Off-grid q: the 6×6 kernel is closer to the direct fields than the 3×3 one (cell moments of the
    z integral, every pattern)."""
    q = np.array([[0.25, 0.1, 0.0], [0.4, 0.4, 0.0]])
    direct = np.array([fields_at(engine, point) for point in q])
    errors = {}
    for n, (kernel, _) in kernels.items():
        values = kernel.fields(q)
        errors[n] = relative(values[:, :, :, 0].mean(axis=(-2, -1)), direct[:, :, :, 0].mean(axis=(-2, -1)))
    assert errors[6] < 0.5 * errors[3], errors


def test_kernel_engine_follows_the_protocol_and_its_grid(kernels, engine):
    from phonomag.engines.base import ResponseEngine, compute_mode_response
    from phonomag.engines.kernel.engine import KernelEngine
    from phonomag.phonons.model import PhononModel

    kernel, full = kernels[6]
    kernel_engine = KernelEngine(kernel, engine.atom_labels, engine.kgrid, "tight-binding pattern fields, test")
    assert isinstance(kernel_engine, ResponseEngine)
    q = np.array([1 / 3, 1 / 6, 0.0])
    area = abs(np.linalg.det(engine.atoms.cell.array[:2, :2]))
    expected = full[(2, 1, 0)][:, :, 0].mean(axis=(-2, -1)) * area  # z integral over the cell, (κ, β, α)
    assert relative(kernel_engine.pattern_response(q).tensor[:, :, 0], expected) < 1e-10
    u = np.zeros((3, 3))
    u[0, 2] = 0.01  # W along z
    plane = kernel_engine.plane_field(q, u, LatticePlane.through(engine.atoms), POINTS)  # the W plane
    assert relative(plane.amplitude, 0.01 * full[(2, 1, 0)][0, 2, 1]) < 1e-10
    modes = PhononModel.from_material(load_material("WSe2")).modes(np.array([[0.3, 0.1, 0.0]]))
    data = compute_mode_response(kernel_engine, modes, progress=False)
    assert data.engine == "dfpt-kernel" and data.site_labels == ("cell",) and np.all(np.isfinite(data.rms))


def test_kernel_engine_from_reduced_files(tmp_path):
    """Files written by the DFPT reduction (format 2) are read back as the kernel's irreducible data (synthetic N):
    at a grid q the kernel gives the files' own cell moments, to the files' precision (single: the kernel holds
    the data as stored; the tests above check exactness in double precision)."""
    from ase import units

    from phonomag.engines.abinit.pattern_response import reduce_patterns
    from phonomag.engines.kernel.engine import KernelEngine
    from phonomag.io.netcdf import complex_from, write_dataset

    spec = load_material("WSe2")
    atoms = spec.atoms.copy()
    atoms.set_cell([*atoms.cell.array[:2], [0, 0, 12.0]], scale_atoms=False)
    rng = np.random.default_rng(5)
    stored = {}
    for steps in IRREDUCIBLE[3]:
        q = np.array(steps) / 3
        responses = {(k, i): rng.normal(size=(2, 2, 6, 6, 16)) + 1j * rng.normal(size=(2, 2, 6, 6, 16))
                     for k in range(3) for i in range(3)}
        data = reduce_patterns(responses, atoms, q, atoms.get_volume() / units.Bohr**3, 0.5,
                               {"qgrid": [3, 3, 1], "kgrid": [3, 3, 1], "engine": "synthetic"})
        write_dataset(data, tmp_path / f"q_{steps[0]}_{steps[1]}_0.nc")
        stored[steps] = data
    kernel_engine = KernelEngine.from_reduced_files(tmp_path, spec.labels)
    assert kernel_engine.z_integral is None and kernel_engine.kgrid == (3, 3, 1)
    moments = kernel_engine.pattern_response(np.array([1 / 3, 1 / 3, 0])).tensor[:, :, 0]
    data = stored[(1, 1, 0)]
    zero = np.flatnonzero((data["gvector"].values == 0).all(axis=1))[0]
    assert data["coefficient"].dtype == np.float32
    single = np.finfo(np.float32).eps
    assert relative(moments, complex_from(data["coefficient"])[..., zero] * atoms.get_volume()) < single
    # and the files' double-precision moments, to the single precision of the coefficients
    assert relative(moments, complex_from(data["moment"])) < 4 * single


def test_batched_cell_integrals_equal_the_fourier_g0(kernels):
    kernel, _ = kernels[6]
    q = np.array([[0.21, 0.07, 0.0], [0.5, 0.0, 0.0], [0.1, 0.33, 0.0]])
    batched = kernel.cell_integrals(q, 0)
    single = kernel.fourier(q, [[0, 0, 0]], 0)[:, 0]
    assert np.allclose(batched, single, rtol=1e-12, atol=1e-14 * np.abs(single).max())
