"""The dimensions ABINIT chooses for a ground state (FFT grid, plane waves, bands, memory), without running it.

ABINIT picks the FFT grid from ecut and the cell itself. The ground-state input of eq. 1 with ``nstep 0``
stops after the set-up (about a second) and prints those numbers in its main output, where they are read.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ase import Atoms

from phonomag.io.abinit.inputs import AbinitSettings, response_ground_state_input, valence_electrons
from phonomag.io.abinit.runner import AbinitRunError, run_abinit

_NGFFT = re.compile(r"^\s*ngfft\s+(\d+)\s+(\d+)\s+(\d+)", re.M)
_MPW = re.compile(r"\bmpw\s*=\s*(\d+)")
_NKPT = re.compile(r"\bnkpt\s*=\s*(\d+)")
_MEMORY = re.compile(r"should need less than\s+([\d.]+)\s+Mbytes")


@dataclass(frozen=True)
class GroundStateDimensions:
    """ngfft: FFT grid (n₁, n₂, n₃) of the density; plane_waves: largest number of plane waves at a k-point
    (mpw); kpoints: k-points of the full grid (no symmetry); occupied: occupied bands (spinors); memory_mb:
    ABINIT's own bound on the memory of the ground state (MB, one process)."""

    ngfft: tuple[int, int, int]
    plane_waves: int
    kpoints: int
    occupied: int
    memory_mb: float


def ground_state_dimensions(atoms: Atoms, settings: AbinitSettings) -> GroundStateDimensions:
    """Run ABINIT's set-up of the spinor ground state of ``atoms`` (nstep 0, one process, a temporary folder)."""
    text = response_ground_state_input(atoms, settings, nstep=0)
    with tempfile.TemporaryDirectory(prefix="phonomag-dims-") as folder:
        run = run_abinit(text, Path(folder), "dims", progress=False, launcher="none")
        output = (run / "dims.abo").read_text(encoding="utf-8", errors="replace")
    found = [pattern.search(output) for pattern in (_NGFFT, _MPW, _NKPT, _MEMORY)]
    if not all(found):
        raise AbinitRunError("ABINIT's set-up did not print ngfft, mpw, nkpt and its memory estimate; "
                             f"is it ABINIT 9? ({run / 'dims.abo'})")
    ngfft, mpw, nkpt, memory = found
    return GroundStateDimensions(tuple(int(n) for n in ngfft.groups()), int(mpw.group(1)), int(nkpt.group(1)),
                                 valence_electrons(atoms, settings), float(memory.group(1)))
