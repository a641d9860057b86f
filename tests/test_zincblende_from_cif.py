"""A bulk zincblende crystal from a CIF, end to end at tiny settings: plan, DFPT, kernel, run (issue: any crystal).

AlSb (F-43m, experimental a = 6.1355 Å) at ecut 5 Ha on a 2×2×2 grid: the kernel's three irreducible q are
computed by ABINIT, the run interpolates them along the fcc path Γ–X–W–K–Γ–L–U–W–L–K with the kernel's own DFPT
phonons. Checked: the run's path is the fcc lattice's (ASE's band path), Fig. 3 is drawn, and every component
the little co-group of q forbids (docs/physics.md §12, derived from spglib alone) is zero as the kernel computes
it. About 1.5 min on 2 cores.
"""

import shutil

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from phonomag.cli.main import main
from phonomag.response.modes import read_results

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("abinit") is None, reason="abinit is not installed "
                                 "(scripts/install_abinit.sh)")]


def _phonomag(*arguments):
    """``phonomag ARGUMENTS``, which must succeed (it returns, or exits with status 0)."""
    try:
        main(list(arguments))
    except SystemExit as done:
        assert done.code in (0, None), done.code


def test_zincblende_from_a_cif_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ase.io.write(tmp_path / "AlSb.cif", bulk("AlSb", "zincblende", a=6.1355))
    (tmp_path / "kernel.toml").write_text('[run]\nmaterial = "AlSb.cif"\n[abinit]\necut = 5.0\nkgrid = [2, 2, 2]\n'
                                          "nproc = 1\n", encoding="utf-8")
    for arguments in (["--plan"], []):
        _phonomag("dfpt-kernel", "-c", "kernel.toml", "-o", "kernel", *arguments)
    assert sorted(p.name for p in (tmp_path / "kernel").glob("q_*.nc")) == ["q_0_0_0.nc", "q_1_0_0.nc", "q_1_1_0.nc"]
    (tmp_path / "run.toml").write_text('[run]\nmaterial = "AlSb.cif"\nengine = "kernel"\n[kernel]\ndata = "kernel"\n'
                                       "[outputs]\nmovies = false\n",
                                       encoding="utf-8")
    _phonomag("run", "-c", "run.toml", "-o", "out")
    data, dataset = read_results(tmp_path / "out" / "results.nc")
    assert "".join(dataset.attrs["path_labels"].strip('[]"').split('", "')).startswith("ΓXWKΓ")
    assert (tmp_path / "out" / "fig3_magnetization_dispersion.png").stat().st_size > 0
    moments = np.abs(data.cell_moments)
    assert moments.max() > 0
    assert np.all(moments[~data.allowed] < 1e-6 * moments.max())  # symmetry zeros are computed zeros
    assert np.any(~data.allowed)  # and the rule forbids something on this path (Γ, X, L, W …)
