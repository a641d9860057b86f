"""``phonomag dfpt-kernel --plan``: the production's q, perturbations and costs, and its early refusals."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from phonomag.cli.kernel_plan import plan_kernel
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import irreducible_steps
from phonomag.engines.abinit.tasks import KernelJob
from phonomag.engines.kernel.symmetry import grid_problems, space_group
from phonomag.errors import PhonomagError
from phonomag.io.abinit.inputs import AbinitSettings

needs_abinit = pytest.mark.skipif(shutil.which("abinit") is None, reason="abinit is not installed "
                                  "(scripts/install_abinit.sh)")
SHIPPED = Path(__file__).resolve().parents[1] / "src/phonomag/data/response/WSe2_soc_dfpt"


def glide_layer() -> Atoms:
    """Two Se on a rectangular cell related by {σ_h | (½, ½, 0)}: a non-symmorphic layer (p m m n-like)."""
    return Atoms("Se2", scaled_positions=[[0, 0, 0.5 / 14], [0.5, 0.5, -0.5 / 14]], cell=[3.3, 4.4, 14.0], pbc=True)


def _job(atoms, tmp_path, ecut=5.0, kgrid=(2, 2, 1)):
    settings = AbinitSettings(ecut=ecut, kgrid=kgrid, spin_orbit=True)
    return KernelJob(atoms, settings, tuple(irreducible_steps(atoms, kgrid)), tmp_path / "out", tmp_path / "work")


def test_a_half_translation_needs_even_fft_sizes():
    operations = space_group(glide_layer())
    assert any(np.allclose(op.translation[:2], 0.5) for op in operations)
    assert grid_problems(operations, 16, 18) == []
    (problem,) = grid_problems(operations, 15, 18)
    assert "translation [0.5, 0.5]" in problem and "15×18" in problem
    wse2 = space_group(load_material("WSe2").atoms)
    assert grid_problems(wse2, 27, 27) == [] and grid_problems(wse2, 27, 27) == grid_problems(wse2, 8, 8)


@needs_abinit
def test_the_plan_refuses_an_fft_grid_the_kernel_cannot_use_and_accepts_the_next(tmp_path):
    """At ecut 5 Ha ABINIT's FFT grid of the glide layer is 15×18 (odd n₁): refused before any DFPT;
    at 4 Ha it is 12×16 and the plan goes through (a control on the same structure)."""
    with pytest.raises(PhonomagError, match=r"translation \[0.5, 0.5\].*15×18.*no DFPT was started"):
        plan_kernel(_job(glide_layer(), tmp_path, ecut=5.0))
    plan = plan_kernel(_job(glide_layer(), tmp_path, ecut=4.0))
    assert plan.dimensions.ngfft[:2] == (12, 16) and plan.perturbations == 6
    assert not (tmp_path / "work").exists() and not (tmp_path / "out").exists()


@needs_abinit
def test_the_estimates_match_the_wse2_production(tmp_path):
    """At the production settings (ecut 20 Ha, 6×6, 18 Å): the shipped reduced files' size, and 1WF files of
    ≈1.3 GB per q (docs/kernel.md), from ABINIT's own dimensions."""
    atoms = load_material("WSe2").atoms.copy()
    cell = atoms.cell.array.copy()
    cell[2] = [0, 0, 18.0]
    atoms.set_cell(cell, scale_atoms=False)
    plan = plan_kernel(_job(atoms, tmp_path, ecut=20.0, kgrid=(6, 6, 1)))
    assert len(plan.steps) == 7 and plan.dimensions.kpoints == 36 and plan.dimensions.occupied == 26
    shipped = np.mean([f.stat().st_size for f in SHIPPED.glob("q_*.nc")])
    assert abs(plan.reduced_bytes_per_q / shipped - 1) < 0.05, (plan.reduced_bytes_per_q, shipped)
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
