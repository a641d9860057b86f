"""First-principles charge–spin response of every phonon mode at one q (ABINIT DFPT + eq. 1).

One call runs (or resumes from disk) ABINIT: a spinor ground state on the full k
grid and DFPT for all 3 n_atoms phonon perturbations at q, then builds the modes
of the DDB at q and the one-sided response of each mode with the zero-point
amplitude (phonomag's conventions, DESIGN.md §1, §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

from phonomag.abinit.densities import read_first_order_density
from phonomag.abinit.density_response import one_sided_responses
from phonomag.abinit.inputs import AbinitSettings, response_input
from phonomag.abinit.mode_response import ddb_modes, mode_cell_moments, mode_fields, perturbation_coefficients
from phonomag.abinit.runner import run_abinit
from phonomag.abinit.wavefunctions import read_wavefunctions
from phonomag.observables import mode_displacements
from phonomag.phonons.modes import PhononModes

NAME = "response"


@dataclass
class AbinitModeResponse:
    """Modes at one q from DFPT and their cell-integrated response.

    qpoint (3,) reduced; cell (3, 3) Å of the ABINIT run (rows);
    modes: the DDB's modes at q (one q-point); displacements (nmodes, natoms, 3)
    complex Å (zero-point); cell_moments (nmodes, 4) complex n̄^α, electrons per
    cell (α = 0, x, y, z); fields (nmodes, 4, n1, n2, n3) complex δñ^α(r) in
    electrons/Å³ on ABINIT's FFT grid (r = Σ_i (j_i/n_i) a_i, cell-periodic part);
    charge_check: largest |DEN1 − 2 Tr N| / max|DEN1| over the perturbations
    (ABINIT's first-order density against eq. 1).
    """

    qpoint: np.ndarray
    cell: np.ndarray
    modes: PhononModes
    displacements: np.ndarray
    cell_moments: np.ndarray
    fields: np.ndarray
    charge_check: float


def pertcase(atom: int, direction: int) -> int:
    """ABINIT's perturbation index (file suffix) for atom (0-based) and reduced direction (0-based)."""
    return direction + 1 + 3 * atom


def abinit_mode_response(atoms: Atoms, settings: AbinitSettings, qpoint, workdir: Path,
                         nproc: int = 1, progress: bool = True) -> AbinitModeResponse:
    """Run (or reuse) the DFPT calculation at reduced ``qpoint`` in ``workdir`` and evaluate eq. 1."""
    workdir = Path(workdir)
    qpoint = np.asarray(qpoint, float)
    run_abinit(response_input(atoms, settings, [qpoint]), workdir, NAME, nproc=nproc, datasets=2,
               progress=progress)
    ground = read_wavefunctions(workdir / f"{NAME}o_DS1_WFK.nc")
    keys = [(k, i) for k in range(len(atoms)) for i in range(3)]
    first = {key: read_wavefunctions(workdir / f"{NAME}o_DS2_1WF{pertcase(*key)}.nc") for key in keys}
    densities = {key: read_first_order_density(workdir / f"{NAME}o_DS2_DEN{pertcase(*key)}.nc") for key in keys}
    shape = next(iter(densities.values())).shape
    responses = one_sided_responses(ground, first, shape)
    check = max(np.abs(2 * (responses[key][0, 0] + responses[key][1, 1]) - densities[key]).max()
                / np.abs(densities[key]).max() for key in keys)
    modes = ddb_modes(workdir / f"{NAME}o_DS2_DDB", atoms)
    displacements = mode_displacements(modes.frequencies[0], modes.eigenvectors[0], modes.masses)
    # eq. 1 is per unit reduced displacement; x is dimensionless when U and the cell share units
    coefficients = perturbation_coefficients(displacements, atoms, qpoint)
    moments = mode_cell_moments(responses, coefficients, ground.volume)
    fields = mode_fields(responses, coefficients) / units.Bohr**3
    return AbinitModeResponse(qpoint, atoms.cell.array.copy(), modes, displacements, moments, fields, float(check))
