"""The ABINIT engine: DFPT with spin–orbit coupling and the paper's eq. 1, at the q-points it is given.

:func:`run_pattern_dfpt` runs (or resumes from disk) a spinor ground state on the full k
grid and DFPT for all 3 n_atoms perturbations at one q (split over serial runs side by
side) and evaluates eq. 1 per perturbation. :class:`AbinitEngine` puts that behind the
engine protocol (:mod:`phonomag.engines.base`): the unit Cartesian patterns' cell moments,
Fourier components and real-space fields, and, as its own phonon source, the modes of the
DDB at each q.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms, units
from scipy.signal import resample

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.engines.abinit.density_response import one_sided_responses
from phonomag.engines.abinit.pattern_response import cartesian_patterns
from phonomag.engines.abinit.perturbations import ddb_modes
from phonomag.engines.abinit.response_store import FILE_NAME, inputs_digest, load_responses, save_responses
from phonomag.engines.base import EngineCapabilityError, StaticCellEngine
from phonomag.io.abinit.ddb import DielectricTensors, read_dielectric
from phonomag.io.abinit.densities import read_first_order_density
from phonomag.io.abinit.ground_state import check_insulating
from phonomag.io.abinit.inputs import (
    AbinitSettings,
    check_finite_q,
    on_kgrid,
    pseudopotential_names,
    response_field_input,
    response_ground_state_input,
    response_perturbation_input,
    response_wfq_input,
    split_perturbations,
)
from phonomag.io.abinit.runner import AbinitRunError, run_abinit
from phonomag.io.abinit.wavefunctions import read_wavefunctions
from phonomag.phonons.modes import PhononModes, concatenate_modes
from phonomag.response.fields import CellField, cartesian_q, in_plane_grid, plane_field_from_grid


def pertcase(atom: int, direction: int) -> int:
    """ABINIT's perturbation index (file suffix) for atom (0-based) and reduced direction (0-based)."""
    return direction + 1 + 3 * atom


def qpoint_folder(qpoint: np.ndarray, settings: AbinitSettings, off_grid_path: bool = False) -> str:
    """Folder name of the DFPT runs at q: q in units of the k-grid spacing (q_2_2_0 for K on 6×6×1), or, for
    a q off the k grid (or computed through the k + q run, ``off_grid_path``), its reduced coordinates."""
    if on_kgrid(qpoint, settings.kgrid) and not off_grid_path:
        steps = np.rint(np.asarray(qpoint) * np.array(settings.kgrid)).astype(int)
        return "q_" + "_".join(str(n) for n in steps)
    return "q_" + "_".join(f"{x:.6f}" for x in np.asarray(qpoint, float)) + ("_wfq" if off_grid_path else "")


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
    runs = [(folder, (atom - 1, int(direction))) for folder, group in zip(folders, groups, strict=True)
            for atom, mask in group for direction in np.flatnonzero(mask)]
    return _one_sided_from_files(runs, wfk)


def _one_sided_from_files(runs: list[tuple[Path, tuple[int, int]]], wfk: Path) -> tuple[dict, float, float]:
    """Eq. 1 for the perturbations ``runs`` [(folder, (ABINIT ipert − 1, direction))] from the WFK and 1WF files;
    ({key: N}, volume Bohr³, the largest relative deviation of 2 Tr N from ABINIT's DEN1)."""
    ground = read_wavefunctions(wfk)
    first, densities = {}, {}
    for folder, key in runs:
        wavefunctions = sorted(folder.glob(f"*o*_1WF{pertcase(*key)}.nc"))
        if not wavefunctions:
            raise AbinitRunError(
                f"{folder}: the first-order wavefunctions were deleted after reduction and "
                f"{FILE_NAME} does not match the runs; delete {folder.parent} to recompute this q")
        first[key] = read_wavefunctions(wavefunctions[-1])
        densities[key] = read_first_order_density(_one(folder, f"*o*_DEN{pertcase(*key)}.nc"))
    keys = sorted(first)
    responses = one_sided_responses(ground, first, densities[keys[0]].shape)
    check = max(np.abs(2 * (responses[key][0, 0] + responses[key][1, 1]) - densities[key]).max()
                / np.abs(densities[key]).max() for key in keys)
    return responses, ground.volume, float(check)


@dataclass
class PerturbationRuns:
    """The DFPT runs at one q, reduced: responses {(atom 0-based, reduced direction): N (2, 2, n1, n2, n3)}
    in electrons/bohr³ per unit reduced displacement; cell volume (bohr³); DEN1 check; digest of the
    ABINIT inputs; the DDB files of the runs."""

    responses: dict
    volume_bohr3: float
    charge_check: float
    digest: str
    ddb_files: list[Path]


def run_ground_state(atoms: Atoms, settings: AbinitSettings, workdir: Path, nproc: int = 1,
                     progress: bool = True, launcher: str = "auto") -> Path:
    """Run (or reuse) the spinor ground state in workdir/gs with ``nproc`` MPI processes started by
    ``launcher`` (:mod:`phonomag.workflow.launcher`); the path of its wavefunction file (WFK). A metallic
    ground state stops here (:func:`~phonomag.io.abinit.ground_state.check_insulating`), before any DFPT."""
    gs_dir = run_abinit(response_ground_state_input(atoms, settings), Path(workdir).resolve() / "gs", "gs", nproc=nproc,
                        progress=progress, launcher=launcher)
    check_insulating(_one(gs_dir, "gso*_GSR.nc"), atoms.get_chemical_formula())
    return _one(gs_dir, "gso*_WFK.nc")


@dataclass
class _QPointPlan:
    """The runs at one q: the k + q run (None on the k grid) and the DFPT runs, with their inputs."""

    q_dir: Path
    wfq_text: str | None
    wfq: Path | None
    groups: list
    texts: list[str]
    folders: list[Path]


def _qpoint_plan(atoms: Atoms, settings: AbinitSettings, qpoint, workdir: Path, wfk: Path, nproc: int,
                 force_wfq: bool) -> _QPointPlan:
    """The inputs at q; off the k grid (or with ``force_wfq``) a non-self-consistent k + q run
    (workdir/q_…/wfq, :func:`~phonomag.io.abinit.inputs.response_wfq_input`) comes first."""
    qpoint = check_finite_q(qpoint)
    q_dir = Path(workdir).resolve() / qpoint_folder(qpoint, settings, force_wfq)
    wfq_text = wfq = None
    if force_wfq or not on_kgrid(qpoint, settings.kgrid):
        wfq_text = response_wfq_input(atoms, settings, qpoint, _one(Path(wfk).parent, "gso*_DEN.nc"))
        wfq = q_dir / "wfq" / "wfqo_WFQ.nc"  # ABINIT names the k + q states of a GS run with nqpt 1 WFQ
    groups = split_perturbations(len(atoms), nproc)
    texts = [response_perturbation_input(atoms, settings, qpoint, group, wfk, wfq) for group in groups]
    return _QPointPlan(q_dir, wfq_text, wfq, groups, texts, [q_dir / f"dfpt{i + 1}" for i in range(len(texts))])


def run_qpoint_dfpt(atoms: Atoms, settings: AbinitSettings, qpoint, workdir: Path, wfk: Path, nproc: int = 1,
                    progress: bool = True, launcher: str = "auto", force_wfq: bool = False) -> list[Path]:
    """Run (or reuse) the DFPT of all 3 n_atoms perturbations at q (any q), split over ``nproc`` serial runs
    side by side (workdir/q_…/dfpt1, …), after the k + q run when q is off the k grid; a run older than
    the wavefunctions it reads is redone."""
    plan = _qpoint_plan(atoms, settings, qpoint, workdir, wfk, nproc, force_wfq)
    if plan.wfq is not None:
        _discard_if_older(plan.wfq.parent / "wfq.abo", wfk)
        run_abinit(plan.wfq_text, plan.wfq.parent, "wfq", nproc=nproc, progress=progress, launcher=launcher)
        if not plan.wfq.is_file():
            raise AbinitRunError(f"the k + q run in {plan.wfq.parent} wrote no {plan.wfq.name}")
    for folder in plan.folders:
        _discard_if_older(folder / "dfpt.abo", plan.wfq if plan.wfq is not None else wfk)

    def work(i: int) -> Path:
        return run_abinit(plan.texts[i], plan.folders[i], "dfpt", nproc=1, datasets=len(plan.groups[i]),
                          progress=progress and i == 0)

    with ThreadPoolExecutor(len(plan.texts)) as pool:
        return list(pool.map(work, range(len(plan.texts))))


def reduce_qpoint_dfpt(atoms: Atoms, settings: AbinitSettings, qpoint, workdir: Path, wfk: Path, nproc: int = 1,
                       keep_wavefunctions: bool = False, force_wfq: bool = False) -> PerturbationRuns:
    """Eq. 1 from the finished DFPT runs at q (:func:`run_qpoint_dfpt` with the same ``nproc``), kept in
    workdir/q_…/response.nc and reused while its inputs are unchanged; the first-order wavefunction files
    are deleted afterwards unless ``keep_wavefunctions``."""
    plan = _qpoint_plan(atoms, settings, qpoint, workdir, wfk, nproc, force_wfq)
    inputs = [response_ground_state_input(atoms, settings), *([plan.wfq_text] if plan.wfq_text else [])]
    digest = inputs_digest([*inputs, *plan.texts])
    sources = [wfk, *([plan.wfq] if plan.wfq is not None else []), *(f / "dfpt.abo" for f in plan.folders)]
    stored = load_responses(plan.q_dir / FILE_NAME, digest, sources)
    if stored is None:
        stored = _responses_from_files(plan.folders, plan.groups, wfk)
        save_responses(plan.q_dir / FILE_NAME, *stored, digest)
        if not keep_wavefunctions:
            for folder in plan.folders:
                for path in folder.glob("dfpto*_1WF*.nc"):
                    path.unlink()
    ddb_files = [path for folder in plan.folders for path in sorted(folder.glob("dfpto*_DDB"))]
    return PerturbationRuns(*stored, digest, ddb_files)


#: The folder (in the work folder) of the DFPT response to a uniform electric field at q = 0.
FIELD_FOLDER = "q_0_0_0_field"


@dataclass
class FieldRuns:
    """The DFPT response to a uniform electric field at q = 0, reduced: responses {Cartesian direction β:
    N (2, 2, n1, n2, n3)}, electrons/bohr³ per unit field (Ha/(e bohr), the physical field E: an electron
    feels the force −E); cell volume (bohr³); DEN1 check; digest of the ABINIT inputs; the run's DDB file
    (Γ phonons, Born charges and ε∞) and those tensors (:func:`~phonomag.io.abinit.ddb.read_dielectric`)."""

    responses: dict
    volume_bohr3: float
    charge_check: float
    digest: str
    ddb_file: Path
    dielectric: DielectricTensors


def run_field_dfpt(atoms: Atoms, settings: AbinitSettings, workdir: Path, wfk: Path, progress: bool = True) -> Path:
    """Run (or reuse) d/dk and the electric-field DFPT at q = 0 (with the Γ displacements, for Z*) in
    workdir/q_0_0_0_field, one serial run (:func:`~phonomag.io.abinit.inputs.response_field_input`)."""
    folder = Path(workdir).resolve() / FIELD_FOLDER
    _discard_if_older(folder / "field.abo", wfk)
    return run_abinit(response_field_input(atoms, settings, wfk), folder, "field", nproc=1, datasets=2,
                      progress=progress)


def reduce_field_dfpt(atoms: Atoms, settings: AbinitSettings, workdir: Path, wfk: Path,
                      keep_wavefunctions: bool = False) -> FieldRuns:
    """Eq. 1 for the three field directions from the finished :func:`run_field_dfpt`, in the physical field's
    Cartesian components, kept in workdir/q_0_0_0_field/response.nc while its inputs are unchanged.

    ABINIT's field perturbation along reduced direction i is λ_i = a_i·E/2π, so
    ∂N/∂E_β = Σ_i (a_{iβ}/2π) ∂N/∂λ_i (a_i in bohr; docs/physics.md §12.1). The sign is fixed by direct DFPT at
    small q: the jump of the pattern fields between Γ and q = 0.05 b₁ projects onto the long-range part with
    the coefficient +1.06 (n⁰) and +0.82 (M) in this convention (docs/kernel.md, "Polar crystals";
    tests/test_polar.py fails with the opposite sign).
    """
    folder = Path(workdir).resolve() / FIELD_FOLDER
    text = response_field_input(atoms, settings, wfk)
    digest = inputs_digest([response_ground_state_input(atoms, settings), text])
    stored = load_responses(folder / FILE_NAME, digest, [wfk, folder / "field.abo"])
    if stored is None:
        field = len(atoms) + 1  # ABINIT's ipert − 1 of the electric field
        stored = _one_sided_from_files([(folder, (field, i)) for i in range(3)], wfk)
        save_responses(folder / FILE_NAME, *stored, digest)
        if not keep_wavefunctions:
            for path in folder.glob("fieldo*_1WF*.nc"):
                path.unlink()
    responses, volume, check = stored
    cell_bohr = atoms.cell.array / units.Bohr
    reduced = np.array([responses[key] for key in sorted(responses)])  # (i, 2, 2, n1, n2, n3)
    cartesian = np.einsum("ib,i...->b...", cell_bohr / (2 * np.pi), reduced)
    ddb = _one(folder, "fieldo*_DS2_DDB")
    dielectric = read_dielectric(ddb)
    if dielectric is None:
        raise AbinitRunError(f"{ddb} holds no electric-field elements")
    return FieldRuns({b: cartesian[b] for b in range(3)}, volume, check, digest, ddb, dielectric)


def run_pattern_dfpt(atoms: Atoms, settings: AbinitSettings, qpoint, workdir: Path, nproc: int = 1,
                     progress: bool = True, keep_wavefunctions: bool = False,
                     launcher: str = "auto", force_wfq: bool = False) -> PerturbationRuns:
    """Run (or reuse) the ground state and the DFPT of all 3 n_atoms perturbations at reduced ``qpoint`` (any q).

    The three steps, each resumable on its own (:mod:`phonomag.engines.abinit.tasks` runs them as
    tasks): :func:`run_ground_state` with ``nproc`` MPI processes started by ``launcher``
    (workdir/gs, shared by every q of the same settings); :func:`run_qpoint_dfpt`, for a q off the
    k grid (or with ``force_wfq``) first a non-self-consistent run for the k + q states, then the
    perturbations split over ``nproc`` serial ABINIT runs side by side (workdir/q_…/dfpt1, …,
    see :func:`qpoint_folder`), because ABINIT 9.6 writes netCDF first-order wavefunctions only
    from serial runs; :func:`reduce_qpoint_dfpt`, eq. 1. Finished runs are reused, so an
    interrupted calculation resumes from what is on disk. The responses N(r) are kept in
    workdir/q_…/response.nc and, unless ``keep_wavefunctions``, the first-order wavefunction
    files (≈1.3 GB per q for WSe₂ at 20 Ha, 6×6) are deleted.
    """
    wfk = run_ground_state(atoms, settings, workdir, nproc, progress, launcher)
    run_qpoint_dfpt(atoms, settings, qpoint, workdir, wfk, nproc, progress, launcher, force_wfq)
    return reduce_qpoint_dfpt(atoms, settings, qpoint, workdir, wfk, nproc, keep_wavefunctions, force_wfq)


class AbinitEngine(StaticCellEngine):
    """:class:`~phonomag.engines.base.ResponseEngine` from ABINIT DFPT at the q-points on its k grid.

    atoms: a layer's slab (cell vector a₃ = (0, 0, c) normal to a₁, a₂) or a bulk crystal's own cell; atom_labels
    per atom; settings: :class:`AbinitSettings` (spin–orbit on); workdir: where the runs live
    and are reused. Each q is computed on first use (≈45 min for WSe₂ at production
    settings on 2 cores) and kept in memory. Static one-sided response only; no site
    decomposition (one site, the cell).
    """

    name = "abinit-dfpt"

    def __init__(self, atoms: Atoms, atom_labels, settings: AbinitSettings, workdir: Path, nproc: int = 1,
                 progress: bool = True, keep_wavefunctions: bool = False, launcher: str = "auto"):
        cell = atoms.cell.array
        self.layer = Crystal.from_atoms(atoms).dimension == 2
        if self.layer and (np.abs(cell[2, :2]).max() > 1e-10 or np.abs(cell[:2, 2]).max() > 1e-10):
            raise EngineCapabilityError("the ABINIT engine needs a layer's slab cell with a3 = (0, 0, c) normal to "
                                        "a1, a2")
        self.atoms = atoms
        self.atom_labels = tuple(atom_labels)
        self.settings = settings
        self.kgrid = tuple(settings.kgrid)
        self.workdir = Path(workdir)
        self.nproc, self.progress, self.keep_wavefunctions = nproc, progress, keep_wavefunctions
        self.launcher = launcher
        self._runs: dict[tuple, tuple[PerturbationRuns, np.ndarray]] = {}

    def provenance(self) -> dict[str, str]:
        """The DFPT settings (ecut, k grid, cell, pseudopotentials) and the charge check of each run, for results.nc."""
        s = self.settings
        checks = ", ".join(f"{list(np.round(q, 6))}: {runs.charge_check:.1e}" for q, (runs, _) in self._runs.items())
        cell = (f"cell length along z {self.atoms.cell[2, 2]:g} Angstrom" if self.layer
                else f"cell {np.round(self.atoms.cell.array, 6).tolist()} Angstrom")
        return {"engine": f"ABINIT DFPT with spin-orbit coupling + eq. 1: ecut {s.ecut:g} Ha, k grid {list(s.kgrid)}, "
                          f"{cell}, pseudopotentials " + ", ".join(pseudopotential_names(self.atoms, s).values()),
                "den1_check": checks, "workdir": str(self.workdir)}

    def check_qpoint(self, q_reduced) -> None:
        """An error unless q is three finite numbers (off the k grid a k + q run is added)."""
        check_finite_q(q_reduced)

    def runs(self, q_reduced) -> tuple[PerturbationRuns, np.ndarray]:
        """(the DFPT runs at q, the unit patterns' δñ^α (natoms, 3, 4, n1, n2, n3) in electrons/Å³ per Å)."""
        q = check_finite_q(q_reduced)
        key = tuple(np.round(q, 10))
        if key not in self._runs:
            runs = run_pattern_dfpt(self.atoms, self.settings, q, self.workdir, self.nproc, self.progress,
                                    self.keep_wavefunctions, self.launcher)
            self._runs[key] = runs, cartesian_patterns(runs.responses, self.atoms, q) / units.Bohr**3
        return self._runs[key]

    def fourier_response(self, q_reduced, g_reduced, kind: str = "one-sided") -> np.ndarray:
        """∫_cell ñ e^{−iG·r} d³r (nG, κ, β, α), electrons per cell per Å, on the FFT grid's band limit: a layer's
        in-plane G (G₃ = 0, the z average), a bulk crystal's any G."""
        self.check_static_one_sided(kind)
        g = self.in_plane_g(g_reduced) if self.layer else np.atleast_2d(np.asarray(g_reduced)).astype(int)
        _, patterns = self.runs(q_reduced)
        shape = np.array(patterns.shape[-3:])
        if np.any(np.abs(g) > shape // 2):
            raise EngineCapabilityError(f"G beyond the FFT grid ({'×'.join(map(str, shape))}) of the ABINIT run")
        volume = abs(np.linalg.det(self.atoms.cell.array))
        coefficients = np.fft.fftn(patterns, axes=(-3, -2, -1)) / shape.prod() * volume
        return np.moveaxis(coefficients[..., g[:, 0] % shape[0], g[:, 1] % shape[1], g[:, 2] % shape[2]], -1, 0)

    def _mode_fields(self, q_reduced, displacements) -> np.ndarray:
        _, patterns = self.runs(q_reduced)
        return np.einsum("ka,kab...->b...", np.asarray(displacements), patterns)

    def plane_field(self, q_reduced, displacements, plane: LatticePlane, points: int,
                    kind: str = "one-sided") -> CellField:
        """δñ^α on the lattice ``plane``, interpolated exactly from the band-limited FFT-grid fields
        (:func:`~phonomag.response.fields.plane_field_from_grid`)."""
        self.check_static_one_sided(kind)
        return plane_field_from_grid(self._mode_fields(q_reduced, displacements), self.atoms.cell.array, plane,
                                     points, cartesian_q(self.atoms, q_reduced))

    def volume_field(self, q_reduced, displacements, shape, kind: str = "one-sided") -> CellField:
        """δñ^α on (n₁, n₂) in-plane points (Fourier resampled) × the FFT planes within 4 Å of the atoms.

        shape[2] is ignored: the heights are those of ABINIT's FFT grid (exact values).
        """
        self.check_static_one_sided(kind)
        fields = self._mode_fields(q_reduced, displacements)
        cell = self.atoms.cell.array
        n3 = fields.shape[-1]
        step = cell[2, 2] / n3
        reach = np.abs(self.atoms.positions[:, 2]).max() + 4.0
        planes = np.arange(-int(reach // step), int(reach // step) + 1)
        amplitude = resample(resample(fields[..., planes % n3], shape[0], axis=1), shape[1], axis=2)
        heights = planes * step
        grid = in_plane_grid(cell, tuple(shape[:2]))[:, :, None, :] + heights[None, None, :, None] * np.array(
            [0, 0, 1.0]
        )
        return CellField(grid, amplitude, heights, cartesian_q(self.atoms, q_reduced), cell)

    # ------------------------------------------------------------------ its own phonon source
    @property
    def description(self) -> str:
        """Where the phonons come from (the DDB of the response runs), for the summary and results.nc."""
        return f"ABINIT DFPT phonons at each q (DDB of the response runs, ecut {self.settings.ecut:g} Ha, SOC)"

    def modes(self, qpoints) -> PhononModes:
        """The modes of the DDB of the runs at each q (ABINIT's masses)."""
        return concatenate_modes([ddb_modes(self.runs(q)[0].ddb_files, self.atoms) for q in np.atleast_2d(qpoints)])
