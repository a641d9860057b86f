"""The spin–orbit switch: the same DFPT with the pseudopotentials' spin–orbit terms left out (``so_psp 0``, the
spinors kept) gives M = 0 to the SCF tolerance while the charge response stays finite; with them, M is finite
(the control). For a bulk crystal (zincblende AlSb) and a layer (WSe₂), at tiny settings, one q each, on one
core; skipped where abinit is not installed, hence slow (about 3 min in all)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase import units
from ase.build import bulk

from phonomag.cli.abinit_setup import abinit_structure
from phonomag.crystal.materials import load_material
from phonomag.engines.abinit.engine import run_pattern_dfpt
from phonomag.engines.abinit.pattern_response import cartesian_patterns
from phonomag.io.abinit.inputs import AbinitSettings

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("abinit") is None,
                                                   reason="abinit not installed (run scripts/install_abinit.sh)")]

#: The DFPT stops at this potential residual; M without spin–orbit coupling is zero to its square root.
TOLVRS = 1e-10


def _fields(atoms, kgrid, q, workdir, terms: bool) -> np.ndarray:
    """δñ^α (natoms, 3, 4, n1, n2, n3) of the unit patterns at q, electrons/Å³ per Å."""
    settings = AbinitSettings(ecut=5.0, kgrid=kgrid, spin_orbit=True, spin_orbit_terms=terms, tolvrs_gs=1e-14,
                              tolvrs_dfpt=TOLVRS)
    runs = run_pattern_dfpt(atoms, settings, q, workdir, nproc=1, progress=False)
    return cartesian_patterns(runs.responses, atoms, q) / units.Bohr**3


CASES = {"bulk AlSb": (lambda: bulk("AlSb", "zincblende", a=6.1355), (2, 2, 2), (0.5, 0.0, 0.0)),
         "layer WSe2": (lambda: abinit_structure(load_material("WSe2"), 14.0), (3, 3, 1), (1 / 3, 1 / 3, 0.0))}


@pytest.mark.parametrize("name", list(CASES))
def test_no_spin_orbit_terms_no_magnetization(name, tmp_path):
    make, kgrid, q = CASES[name]
    atoms = make()
    without = _fields(atoms, kgrid, np.array(q), tmp_path / "off", terms=False)
    with_soc = _fields(atoms, kgrid, np.array(q), tmp_path / "on", terms=True)
    charge = np.abs(without[:, :, 0]).max()
    ratio_off = np.abs(without[:, :, 1:]).max() / charge
    ratio_on = np.abs(with_soc[:, :, 1:]).max() / np.abs(with_soc[:, :, 0]).max()
    print(f"{name}: max |M| / max |n⁰| of the fields, without SOC {ratio_off:.1e}, with SOC {ratio_on:.1e}")
    assert 0.5 < charge / np.abs(with_soc[:, :, 0]).max() < 2.0  # the charge response stays, of the same size
    assert ratio_off < np.sqrt(TOLVRS)
    assert ratio_on > 100 * np.sqrt(TOLVRS)  # control: spin–orbit coupling gives M
