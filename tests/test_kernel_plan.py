"""``phonomag dfpt-kernel --plan``: the production's q, perturbations and costs, and its early refusals."""

import shutil

import numpy as np
import pytest
from ase import Atoms, units

from phonomag.cli.kernel_plan import plan_kernel
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.abinit.pattern_response import reduce_patterns
from phonomag.engines.abinit.tasks import KernelJob
from phonomag.engines.kernel.symmetry import space_group
from phonomag.errors import PhonomagError
from phonomag.io.abinit.inputs import AbinitSettings
from phonomag.io.netcdf import write_dataset

needs_abinit = pytest.mark.skipif(shutil.which("abinit") is None, reason="abinit is not installed "
                                  "(scripts/install_abinit.sh)")


def glide_layer() -> Atoms:
    """Two Se on a rectangular cell related by {σ_h | (½, ½, 0)}: a non-symmorphic layer (p m m n-like)."""
    return Atoms("Se2", scaled_positions=[[0, 0, 0.5 / 14], [0.5, 0.5, -0.5 / 14]], cell=[3.3, 4.4, 14.0], pbc=True)


def _job(atoms, tmp_path, ecut=5.0, kgrid=(2, 2, 1)):
    settings = AbinitSettings(ecut=ecut, kgrid=kgrid, spin_orbit=True)
    return KernelJob(atoms, settings, tuple(irreducible_steps(atoms, kgrid)), tmp_path / "out", tmp_path / "work")


@needs_abinit
def test_the_plan_accepts_a_translation_off_the_fft_grid_and_refuses_a_sphere_beyond_it(tmp_path):
    """At ecut 5 Ha ABINIT's FFT grid of the glide layer is 15×18: the half translation of {σ_h | (½, ½, 0)} is off
    it, and the reduced files (Fourier coefficients) carry it exactly (tests/test_kernel_symmetry.py): the plan goes
    through. A field cutoff whose sphere that grid does not hold is refused before any DFPT."""
    operations = space_group(glide_layer())
    assert any(np.allclose(op.translation[:2], 0.5) for op in operations)
    plan = plan_kernel(_job(glide_layer(), tmp_path, ecut=5.0))
    assert plan.dimensions.ngfft[:2] == (15, 18) and plan.perturbations == 6
    job = KernelJob(glide_layer(), AbinitSettings(ecut=5.0, kgrid=(2, 2, 1), spin_orbit=True), ((0, 0, 0),),
                    tmp_path / "out", tmp_path / "work", field_ecut=30.0)
    with pytest.raises(PhonomagError, match=r"sphere of 30 Ha reaches beyond the 15×18×\d+ FFT grid.*no DFPT"):
        plan_kernel(job)
    assert not (tmp_path / "work").exists() and not (tmp_path / "out").exists()


@needs_abinit
def test_the_estimates_match_the_wse2_production(tmp_path):
    """At the production settings (ecut 20 Ha, 6×6, 18 Å): the size of a reduced file written at ABINIT's own FFT
    grid (synthetic responses of that shape) and the default field cutoff (2 ecut), at most 4 MB per q, and 1WF
    files of ≈1.3 GB per q (docs/kernel.md)."""
    atoms = load_material("WSe2").atoms.copy()
    cell = atoms.cell.array.copy()
    cell[2] = [0, 0, 18.0]
    atoms.set_cell(cell, scale_atoms=False)
    plan = plan_kernel(_job(atoms, tmp_path, ecut=20.0, kgrid=(6, 6, 1)))
    assert plan.field_ecut == 40.0 and len(plan.steps) == 7
    assert plan.dimensions.kpoints == 36 and plan.dimensions.occupied == 26
    rng = np.random.default_rng(0)
    shape = (2, 2, *plan.dimensions.ngfft)
    responses = {(k, i): rng.normal(size=shape) + 0j for k in range(3) for i in range(3)}
    data = reduce_patterns(responses, atoms, [1 / 3, 1 / 6, 0], atoms.get_volume() / units.Bohr**3,
                           plan.field_ecut, {})
    written = write_dataset(data, tmp_path / "q_2_1_0.nc").stat().st_size
    print(f"WSe2 production: FFT grid {plan.dimensions.ngfft}, {data.sizes['g']} coefficients, "
          f"{written / 1e6:.2f} MB per q (plan: {plan.reduced_bytes_per_q / 1e6:.2f} MB)")
    assert abs(plan.reduced_bytes_per_q / written - 1) < 0.05, (plan.reduced_bytes_per_q, written)
    assert written < 4e6
    assert 1.2e9 < plan.first_order_bytes_per_q < 1.4e9
    assert 30 * 60 < plan.seconds_per_q * plan.nproc / 2 < 60 * 60  # 45-50 min per q on 2 cores, measured


@needs_abinit
def test_dfpt_kernel_plan_prints_and_writes_nothing(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('[abinit]\necut = 6.0\nkgrid = [3, 3, 1]\nnproc = 1\nworkdir = "w"\n', encoding="utf-8")
    main(["dfpt-kernel", "-c", str(config), "-o", str(tmp_path / "out"), "--plan"])
    out = capsys.readouterr().out
    assert "irreducible q (grid steps): 3, to compute: 3" in out, out
    assert "q_0_0_0: 9 perturbations" in out and "MB per reduced q file" in out
    assert not (tmp_path / "out").exists() and not (tmp_path / "w").exists()
