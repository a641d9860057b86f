"""Layers from a CIF, end to end at tiny settings: plan, DFPT, kernel, run (issue: any crystal).

Two layers the WSe₂ code path never had to handle:
- a Janus MoSSe layer (P3m1, C₃v): no σ_h, so no mode is "in-plane M" or "M_z" by parity;
- a phosphorene-like layer (4 P, rectangular, Pmna-type layer group): non-symmorphic, its glides
  translate by half a cell, off ABINIT's FFT grid.

Each at ecut 5 Ha on a 2×2 k and q grid (ABINIT DFPT with SOC; skipped where abinit is not installed):
``phonomag dfpt-kernel --plan``, then the DFPT of every irreducible q, then ``phonomag run`` with the
kernel and its own DFPT phonons. Checked (docs/physics.md §6, §11, §12):
- every reduced file passed the charge check DEN1 = 2 Tr N of its run (its attribute, below 1e-6);
- the kernel reproduces its grid q: the cell moments of every file, at that q;
- time reversal: n̄_{−q} = n̄_q* for n⁰ and −n̄_q* for M, pattern by pattern, at a general q;
- the selection rules derived from spglib alone are computed zeros, with a control (M polar) that fails.
"""

from __future__ import annotations

import shutil

import ase.io
import numpy as np
import pytest
import xarray as xr
from ase import Atoms

from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.io.netcdf import complex_from
from phonomag.response.modes import read_results
from phonomag.response.selection_rules import allowed_components

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("abinit") is None, reason="abinit is not installed "
                                 "(scripts/install_abinit.sh)")]

#: T on the Pauli components of the one-sided response (docs/physics.md §6.1).
T_SIGN = np.array([1.0, -1.0, -1.0, -1.0])


def janus_mosse() -> Atoms:
    a, c = 3.224, 16.0
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]]
    return Atoms("MoSSe", cell=cell, pbc=True,
                 scaled_positions=[[0, 0, 0], [1 / 3, 2 / 3, -1.56 / c], [1 / 3, 2 / 3, 1.68 / c]])


def phosphorene() -> Atoms:
    a, b, c = 3.30, 4.62, 16.0
    return Atoms("P4", cell=np.diag([a, b, c]), pbc=True, scaled_positions=[
        [0.0, 0.0863, -1.06 / c], [0.5, 0.4137, -1.06 / c], [0.5, 0.5863, 1.06 / c], [0.0, 0.9137, 1.06 / c]])


def _phonomag(*arguments):
    """``phonomag ARGUMENTS``, which must succeed (it returns, or exits with status 0)."""
    try:
        main(list(arguments))
    except SystemExit as done:
        assert done.code in (0, None), done.code


@pytest.mark.parametrize("name, build", [("MoSSe", janus_mosse), ("P4", phosphorene)])
def test_a_layer_from_a_cif_end_to_end(tmp_path, monkeypatch, name, build):
    monkeypatch.chdir(tmp_path)
    ase.io.write(tmp_path / f"{name}.cif", build())
    (tmp_path / "kernel.toml").write_text(f'[run]\nmaterial = "{name}.cif"\n[abinit]\necut = 5.0\nkgrid = [2, 2, 1]\n'
                                          "vacuum = 16.0\nnproc = 2\n", encoding="utf-8")
    for arguments in (["--plan"], []):
        _phonomag("dfpt-kernel", "-c", "kernel.toml", "-o", "kernel", *arguments)
    files = sorted((tmp_path / "kernel").glob("q_*.nc"))
    assert files
    (tmp_path / "run.toml").write_text(f'[run]\nmaterial = "{name}.cif"\nengine = "kernel"\n[kernel]\ndata = "kernel"\n'
                                       "[outputs]\nmovies = false\n", encoding="utf-8")
    _phonomag("run", "-c", "run.toml", "-o", "out")
    assert (tmp_path / "out" / "fig3_magnetization_dispersion.png").stat().st_size > 0

    spec = load_material(f"{name}.cif")
    engine = KernelEngine.from_reduced_files(tmp_path / "kernel", spec.labels)
    for path in files:
        with xr.open_dataset(path) as data:
            assert abs(float(data.attrs["charge_check"])) < 1e-6, path.name  # DEN1 = 2 Tr N
            q, stored = np.asarray(data["qpoint"].values, float), complex_from(data["moment"])
        assert np.abs(engine.pattern_response(q).tensor[:, :, 0] - stored).max() <= 1e-9 * np.abs(stored).max()

    q = np.array([0.17, 0.31, 0.0])
    plus, minus = engine.pattern_response(q).tensor[:, :, 0], engine.pattern_response(-q).tensor[:, :, 0]
    assert np.abs(minus - T_SIGN * plus.conj()).max() <= 1e-6 * np.abs(plus).max()

    data, _ = read_results(tmp_path / "out" / "results.nc")
    moments = np.abs(data.cell_moments)
    computed_zero = moments < 1e-6 * moments.max()
    rule = allowed_components(spec.crystal, data.qpoints, data.frequencies, data.displacements)
    assert not np.any(~rule & ~computed_zero), np.argwhere(~rule & ~computed_zero)
    polar = allowed_components(spec.crystal, data.qpoints, data.frequencies, data.displacements, axial=False)
    assert np.any(~polar & ~computed_zero)  # control: M as a polar vector is caught
