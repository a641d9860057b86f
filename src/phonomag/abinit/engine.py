"""First-principles charge–spin response of every phonon mode at one q (ABINIT DFPT + eq. 1).

One call runs (or resumes from disk) ABINIT: a spinor ground state on the full k
grid and DFPT for all 3 n_atoms phonon perturbations at q (split over serial runs
side by side), then builds the modes of the DDB at q and the one-sided response
of each mode with the zero-point amplitude (phonomag's conventions, DESIGN.md §1, §3).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units

from phonomag.abinit.densities import read_first_order_density
from phonomag.abinit.density_response import one_sided_responses
from phonomag.abinit.inputs import (AbinitSettings, check_on_kgrid, response_ground_state_input, response_perturbation_input,
                                    split_perturbations)
from phonomag.abinit.mode_response import ddb_modes, mode_cell_moments, mode_fields, perturbation_coefficients
from phonomag.abinit.response_store import FILE_NAME, inputs_digest, load_responses, save_responses
from phonomag.abinit.runner import AbinitRunError, run_abinit
from phonomag.abinit.wavefunctions import read_wavefunctions
from phonomag.observables import mode_displacements
from phonomag.phonons.modes import PhononModes


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


def qpoint_folder(qpoint: np.ndarray, settings: AbinitSettings) -> str:
    """Folder name of the DFPT runs at q: q in units of the k-grid spacing, e.g. q_2_2_0 for K on 6×6×1."""
    steps = np.rint(np.asarray(qpoint) * np.array(settings.kgrid)).astype(int)
    return "q_" + "_".join(str(n) for n in steps)


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise AbinitRunError(f"expected one file {pattern} in {folder}, found {len(found)}")
    return found[0]


def _discard_if_older(abo: Path, source: Path) -> None:
    """Make a finished run count as unfinished when the file it read (``source``) is newer than its output."""
    if abo.is_file() and abo.stat().st_mtime < source.stat().st_mtime:
        abo.unlink()


def _responses_from_files(folders: list[Path], groups, wfk: Path) -> tuple[dict, float, float]:
    """Eq. 1 for every perturbation from the WFK and 1WF files; (responses, volume Bohr³, DEN1 check)."""
    ground = read_wavefunctions(wfk)
    first, densities = {}, {}
    for folder, group in zip(folders, groups):
        for atom, mask in group:
            for direction in np.flatnonzero(mask):
                key = (atom - 1, int(direction))
                wavefunctions = sorted(folder.glob(f"dfpto*_1WF{pertcase(*key)}.nc"))
                if not wavefunctions:
                    raise AbinitRunError(
                        f"{folder}: the first-order wavefunctions were deleted after reduction and "
                        f"{FILE_NAME} does not match the runs; delete {folder.parent} to recompute this q")
                first[key] = read_wavefunctions(wavefunctions[0])
                densities[key] = read_first_order_density(_one(folder, f"dfpto*_DEN{pertcase(*key)}.nc"))
    keys = sorted(first)
    responses = one_sided_responses(ground, first, densities[keys[0]].shape)
    check = max(np.abs(2 * (responses[key][0, 0] + responses[key][1, 1]) - densities[key]).max()
                / np.abs(densities[key]).max() for key in keys)
    return responses, ground.volume, float(check)


def abinit_mode_response(atoms: Atoms, settings: AbinitSettings, qpoint, workdir: Path,
                         nproc: int = 1, progress: bool = True,
                         keep_wavefunctions: bool = False, launcher: str = "auto") -> AbinitModeResponse:
    """Run (or reuse) the DFPT calculation at reduced ``qpoint`` in ``workdir`` and evaluate eq. 1.

    The ground state runs with ``nproc`` MPI processes started by ``launcher`` (workdir/gs, shared by every q
    of the same settings); the 3 n_atoms perturbations are split over ``nproc`` serial
    ABINIT runs side by side (workdir/q_…/dfpt1, …, see :func:`qpoint_folder`), because
    ABINIT 9.6 writes netCDF first-order wavefunctions only from serial runs. Finished
    runs are reused, so an interrupted calculation resumes from what is on disk; a DFPT
    run older than the ground state it read is redone. The responses N(r) of the
    perturbations are kept in workdir/q_…/response.nc and, unless ``keep_wavefunctions``,
    the first-order wavefunction files (≈1.3 GB per q for WSe₂ at 20 Ha, 6×6) are deleted.
    """
    workdir = Path(workdir).resolve()
    qpoint = check_on_kgrid(qpoint, settings)
    gs_text = response_ground_state_input(atoms, settings)
    gs_dir = run_abinit(gs_text, workdir / "gs", "gs", nproc=nproc, progress=progress, launcher=launcher)
    wfk = _one(gs_dir, "gso*_WFK.nc")
    groups = split_perturbations(len(atoms), nproc)
    texts = [response_perturbation_input(atoms, settings, qpoint, group, wfk) for group in groups]
    q_dir = workdir / qpoint_folder(qpoint, settings)
    for i in range(len(texts)):
        _discard_if_older(q_dir / f"dfpt{i + 1}" / "dfpt.abo", wfk)

    def work(i: int) -> Path:
        return run_abinit(texts[i], q_dir / f"dfpt{i + 1}", "dfpt", nproc=1, datasets=len(groups[i]),
                          progress=progress and i == 0)

    with ThreadPoolExecutor(len(texts)) as pool:
        folders = list(pool.map(work, range(len(texts))))
    digest = inputs_digest([gs_text, *texts])
    stored = load_responses(q_dir / FILE_NAME, digest, [wfk, *(folder / "dfpt.abo" for folder in folders)])
    if stored is None:
        stored = _responses_from_files(folders, groups, wfk)
        save_responses(q_dir / FILE_NAME, *stored, digest)
        if not keep_wavefunctions:
            for folder in folders:
                for path in folder.glob("dfpto*_1WF*.nc"):
                    path.unlink()
    responses, volume, check = stored
    ddb_files = [path for folder in folders for path in sorted(folder.glob("dfpto*_DDB"))]
    modes = ddb_modes(ddb_files, atoms)
    displacements = mode_displacements(modes.frequencies[0], modes.eigenvectors[0], modes.masses)
    # eq. 1 is per unit reduced displacement; x is dimensionless when U and the cell share units
    coefficients = perturbation_coefficients(displacements, atoms, qpoint)
    moments = mode_cell_moments(responses, coefficients, volume)
    fields = mode_fields(responses, coefficients) / units.Bohr**3
    return AbinitModeResponse(qpoint, atoms.cell.array.copy(), modes, displacements, moments, fields, check)
