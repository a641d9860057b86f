"""The ABINIT engine of a run: the material as a slab with the configured vacuum, checked before any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.crystal.materials import MaterialSpec
from phonomag.engines.abinit.engine import AbinitEngine
from phonomag.errors import PhonomagError

#: Vacuum (Å) that must remain between periodic images of the slab along z.
MIN_VACUUM_GAP = 8.0


def check_vacuum(positions_z: np.ndarray, vacuum: float) -> None:
    """An error unless the cell length ``vacuum`` leaves MIN_VACUUM_GAP Å between slab images."""
    thickness = float(np.ptp(positions_z))
    if vacuum - thickness < MIN_VACUUM_GAP:
        raise PhonomagError(f"abinit.vacuum = {vacuum} Å leaves only {vacuum - thickness:.2f} Å between the "
                            f"{thickness:.2f} Å thick slab and its image; use at least "
                            f"{thickness + MIN_VACUUM_GAP:.1f} Å")


def abinit_engine(spec: MaterialSpec, abinit, output: Path, progress: bool = True) -> AbinitEngine:
    """:class:`AbinitEngine` for the material of ``spec`` with the ``[abinit]`` settings (AbinitRunSpec).

    The cell length along z becomes ``abinit.vacuum``; the runs live in ``abinit.workdir``
    (default ``output/abinit-work``) and are reused when their inputs are unchanged.
    """
    atoms = spec.atoms.copy()
    cell = atoms.cell.array.copy()
    cell[2] = [0.0, 0.0, abinit.vacuum]
    atoms.set_cell(cell, scale_atoms=False)
    check_vacuum(atoms.positions[:, 2], abinit.vacuum)
    workdir = Path(abinit.workdir) if abinit.workdir else Path(output) / "abinit-work"
    return AbinitEngine(atoms, spec.labels, abinit.settings(), workdir, nproc=abinit.nproc, progress=progress,
                        keep_wavefunctions=abinit.keep_wavefunctions)
