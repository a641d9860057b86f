"""The kernel of a 3D crystal from first principles: zincblende AlSb at tiny settings (ecut 5 Ha, 2×2×2 k and q).

ABINIT DFPT with SOC (skipped where abinit is not installed) at the three irreducible q of the 2×2×2 grid
(Γ, L = (½, 0, 0), X = (½, ½, 0)) and, directly, at X′ = (0, ½, ½), which the space group F-43m reaches from X
only by operations that mix z with the plane. Reduced files of format 2 (docs/kernel.md). Checks (docs/physics.md
§11, §12): the unfolded coefficients at X′ against the direct run (SCF tolerance), with a control in which M
is rotated as a polar vector; the kernel at every grid q equals the unfolded fields (exact); its cell
moments at X′ are the direct run's. About 35 s on one core (the DFPT), hence slow.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase.build import bulk

from phonomag.engines.abinit.tasks import KernelJob, compute_kernel_files
from phonomag.engines.kernel.engine import KernelEngine, ReducedGrid
from phonomag.engines.kernel.symmetry import FourierBox, fill_grid, space_group
from phonomag.io.abinit.inputs import AbinitSettings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("abinit") is None,
                                                   reason="abinit not installed (run scripts/install_abinit.sh)")]

SETTINGS = AbinitSettings(ecut=5.0, kgrid=(2, 2, 2), spin_orbit=True, tolvrs_gs=1e-14, tolvrs_dfpt=1e-10)
IRREDUCIBLE = ((0, 0, 0), (1, 0, 0), (1, 1, 0))
X_PRIME = (0, 1, 1)


def alsb():
    return bulk("AlSb", "zincblende", a=6.136)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(ReducedGrid of the irreducible q, ReducedGrid of X′ read with the same box), from one ground state."""
    folder = tmp_path_factory.mktemp("alsb")
    job = KernelJob(alsb(), SETTINGS, (*IRREDUCIBLE, X_PRIME), folder / "reduced", folder / "work")
    files = compute_kernel_files(job, progress=None)
    return ReducedGrid.read(files[:3]), ReducedGrid.read(files)


def relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_unfolding_mixes_z_with_the_plane_and_matches_direct_dfpt(runs):
    grid, everything = runs
    operations = space_group(grid.atoms)
    assert len(operations) == 24 and any(np.abs(op.rotation[2, :2]).max() for op in operations)
    box = everything.representation  # the box of all four files, which holds that of the three
    irreducible = {steps: everything.fields[steps] for steps in IRREDUCIBLE}
    unfolded = fill_grid(irreducible, grid.qgrid, operations, grid.atoms, box)[X_PRIME]
    direct = everything.fields[X_PRIME]
    deviation = relative(unfolded, direct)
    print(f"AlSb X′ unfolded vs direct DFPT: {deviation:.1e} of the largest coefficient")
    assert deviation < 1e-6

    class PolarM(FourierBox):
        def apply(self, operation, fields):
            out = super().apply(operation, fields)
            out[:, :, 1:] *= np.linalg.det(operation.cartesian)  # det S undone: M as a polar vector
            return out
    wrong = fill_grid(irreducible, grid.qgrid, operations, grid.atoms, PolarM(box.shape, grid.atoms))[X_PRIME]
    assert relative(wrong, direct) > 1e-2


def test_the_kernel_reproduces_its_grid_q_and_the_direct_run(runs):
    grid, everything = runs
    engine = KernelEngine.from_irreducible(grid.fields, grid.atoms, ["Al", "Sb"], grid.qgrid, grid.representation,
                                           grid.kgrid, "AlSb test")
    assert engine.z_integral is None and engine.kernel.qgrid == (2, 2, 2)
    full = fill_grid(grid.fields, grid.qgrid, space_group(grid.atoms), grid.atoms, grid.representation)
    layered, _ = grid.representation.kernel_layers(full)
    steps = sorted(full)
    fields = engine.kernel.fields(np.array(steps) / 2)
    assert max(relative(fields[i], layered[s]) for i, s in enumerate(steps)) < 1e-12
    moments = engine.kernel.cell_integrals(np.array([X_PRIME]) / 2, None)[0]
    assert relative(moments, everything.cell_integrals(X_PRIME)) < 1e-6
    # the cell moment is the G = 0 Fourier component, and a 3D G is available
    fourier = engine.fourier_response(np.array(X_PRIME) / 2, [[0, 0, 0], [1, -1, 1]])
    assert relative(fourier[0], moments) < 1e-12 and np.abs(fourier[1]).max() > 0
