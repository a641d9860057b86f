"""ABINIT input files written from an ASE structure and a few physical settings.

Units in the files: lengths in Å (``angstrom`` tags), ecut in Hartree, as ABINIT
reads them. Pseudopotentials default to the HGH set of Debian's ``abinit-data``
(LDA, with SOC terms; C. Hartwigsen, S. Goedecker, J. Hutter, PRB 58, 3641 (1998)), one file per
element chosen by :func:`default_pseudopotential`; ``pseudos`` overrides it per species.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from phonomag.errors import PhonomagError

#: Where Debian's abinit-data puts the HGH pseudopotentials.
HGH_DIR = Path("/usr/share/abinit/psp/PseudosHGH_pwteter")

#: Atomic numbers of the d-block (groups 3-12): their HGH default keeps the semicore s and p shells.
_D_BLOCK = set(range(21, 31)) | set(range(39, 49)) | set(range(57, 81))


class AbinitInputError(PhonomagError):
    """Settings or structure that ABINIT inputs cannot be written for."""


@dataclass(frozen=True)
class AbinitSettings:
    """Physical settings of an ABINIT calculation.

    ecut: plane-wave cutoff (Ha); kgrid: Γ-centred Monkhorst–Pack grid;
    pseudos: species → file name in ``pseudo_dir``, overriding :func:`default_pseudopotential`
    for that species; nband: bands (default: half the valence electrons, insulator);
    spin_orbit: spinors (nspinor 2) with the pseudopotentials' SOC terms; spin_orbit_terms: False keeps the
    spinors and leaves those terms out (``so_psp 0``: the same calculation without spin–orbit coupling, a control);
    tolvrs_gs / tolvrs_dfpt: SCF stopping criteria on the potential residual.
    """

    ecut: float = 25.0
    kgrid: tuple[int, int, int] = (6, 6, 1)
    pseudo_dir: Path = HGH_DIR
    pseudos: dict[str, str] = field(default_factory=dict)
    nband: int | None = None
    spin_orbit: bool = False
    spin_orbit_terms: bool = True
    tolvrs_gs: float = 1e-16
    tolvrs_dfpt: float = 1e-8

    def __post_init__(self):
        if not (isinstance(self.ecut, (int, float)) and 1 <= self.ecut <= 200):
            raise AbinitInputError(f"ecut = {self.ecut!r} Ha must be a number in [1, 200]")
        if len(self.kgrid) != 3 or not all(isinstance(n, int) and n >= 1 for n in self.kgrid):
            raise AbinitInputError(f"kgrid = {self.kgrid!r} must be three positive integers")


def _valence(pseudo: Path) -> float:
    """zion from the second line of a pseudopotential file (zatom, zion, pspdat)."""
    try:
        return float(pseudo.read_text(encoding="utf-8", errors="replace").splitlines()[1].split()[1])
    except (OSError, IndexError, ValueError) as exc:
        raise AbinitInputError(f"cannot read the valence charge from pseudopotential {pseudo}: {exc}") from None


def default_pseudopotential(symbol: str, pseudo_dir: Path = HGH_DIR) -> str | None:
    """File name of the HGH pseudopotential of element ``symbol`` in ``pseudo_dir`` (``<Z><symbol>.<zion>.hgh``),
    or None if there is none.

    Where the set has several valences for one element: d-block elements (groups 3-12) take the largest
    (semicore s and p shells in the valence, e.g. 74w.14.hgh, 42mo.14.hgh), the others the smallest
    (e.g. 34se.6.hgh, 31ga.3.hgh).
    """
    from ase.data import atomic_numbers

    z = atomic_numbers.get(symbol)
    if z is None:
        return None
    valences = []
    for path in Path(pseudo_dir).glob(f"{z}{symbol.lower()}.*.hgh"):
        parts = path.name.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            valences.append((int(parts[1]), path.name))
    if not valences:
        return None
    return (max if z in _D_BLOCK else min)(valences)[1]


def pseudopotential_names(atoms: Atoms, settings: AbinitSettings) -> dict[str, str]:
    """species → pseudopotential file name, in order of first appearance: ``settings.pseudos``, else the
    :func:`default_pseudopotential` of ``settings.pseudo_dir``; one error naming every species without one."""
    species = list(dict.fromkeys(atoms.get_chemical_symbols()))
    names = {s: settings.pseudos.get(s) or default_pseudopotential(s, settings.pseudo_dir) for s in species}
    missing = [s for s, name in names.items() if name is None]
    if missing:
        raise AbinitInputError(
            f"no pseudopotential for {', '.join(missing)} in {settings.pseudo_dir} (no <Z><element>.<valence>.hgh "
            f"file there); give pseudos = {{{missing[0]} = \"file\"}} in [abinit], or pseudo_dir, "
            "or install the HGH set with scripts/install_abinit.sh")
    return names


def pseudopotential_files(atoms: Atoms, settings: AbinitSettings) -> dict[str, Path]:
    """species → pseudopotential file (:func:`pseudopotential_names` in ``settings.pseudo_dir``); an error naming
    every file that is absent. Call it before anything runs: it is the whole pseudopotential check."""
    files = {s: settings.pseudo_dir / name for s, name in pseudopotential_names(atoms, settings).items()}
    absent = [str(f) for f in files.values() if not f.is_file()]
    if absent:
        raise AbinitInputError(f"pseudopotential file(s) {', '.join(absent)} not found "
                               "(install them with scripts/install_abinit.sh)")
    return files


def structure_block(atoms: Atoms, settings: AbinitSettings) -> str:
    """Cell, atoms, species and pseudopotentials of ``atoms`` as ABINIT variables."""
    files = pseudopotential_files(atoms, settings)
    species = list(files)
    typat = [species.index(s) + 1 for s in atoms.get_chemical_symbols()]
    znucl = [int(atoms.numbers[atoms.get_chemical_symbols().index(s)]) for s in species]
    cell = atoms.cell.array
    lines = ["acell 3*1.0 angstrom", "rprim"]
    lines += [f"  {v[0]:.12f} {v[1]:.12f} {v[2]:.12f}" for v in cell]
    lines += [f"natom {len(atoms)}", f"ntypat {len(species)}",
              "typat " + " ".join(map(str, typat)), "znucl " + " ".join(map(str, znucl)), "xred"]
    lines += [f"  {x[0]:.15f} {x[1]:.15f} {x[2]:.15f}" for x in atoms.get_scaled_positions(wrap=False)]
    lines += [f'pp_dirpath "{settings.pseudo_dir}"', 'pseudos "' + ", ".join(files[s].name for s in species) + '"']
    return "\n".join(lines)


def electron_block(atoms: Atoms, settings: AbinitSettings) -> str:
    """Basis, k grid, bands and spin variables."""
    electrons = valence_electrons(atoms, settings)
    per_band = 1 if settings.spin_orbit else 2
    nband = settings.nband or int(np.ceil(electrons / per_band))
    n1, n2, n3 = settings.kgrid
    lines = [f"ecut {settings.ecut:g}", f"ngkpt {n1} {n2} {n3}", "nshiftk 1 shiftk 0 0 0",
             "occopt 1", f"nband {nband}"]
    if settings.spin_orbit:
        lines.append("nspinor 2 nspden 1")  # so_psp defaults to the SOC terms of the files
        if not settings.spin_orbit_terms:
            lines.append("so_psp " + " ".join("0" for _ in dict.fromkeys(atoms.get_chemical_symbols())))
    return "\n".join(lines)


def valence_electrons(atoms: Atoms, settings: AbinitSettings) -> int:
    """Valence electrons per cell with the chosen pseudopotentials."""
    files = pseudopotential_files(atoms, settings)
    total = sum(_valence(files[s]) for s in atoms.get_chemical_symbols())
    return int(round(total))


def relax_input(atoms: Atoms, settings: AbinitSettings, max_force: float = 1e-6, empty_bands: int = 4) -> str:
    """Relax the internal coordinates at a fixed cell (BFGS, until every force is below ``max_force``, Ha/bohr),
    with ``empty_bands`` above the occupied ones so that the GSR file shows the gap."""
    per_band = 1 if settings.spin_orbit else 2
    relax = dataclasses.replace(settings, nband=-(-valence_electrons(atoms, settings) // per_band) + empty_bands)
    return "\n".join([
        "# relax internal coordinates at fixed cell (written by phonomag)",
        structure_block(atoms, relax), electron_block(atoms, relax),
        "kptopt 1", f"ionmov 2 optcell 0 ntime 30 tolmxf {max_force:g}",
        f"tolvrs {settings.tolvrs_gs:g} nstep 100 nbdbuf {empty_bands}", ""])


def phonon_input(atoms: Atoms, settings: AbinitSettings, qpoints) -> str:
    """Ground state (dataset 1) and one DFPT phonon dataset per q (all atoms, all directions).

    q in reduced coordinates; each must be commensurate with the k grid (k+q on it).
    """
    qpoints = np.array([check_on_kgrid(q, settings) for q in np.atleast_2d(qpoints)])
    lines = ["# ground state and DFPT phonons (written by phonomag)", f"ndtset {1 + len(qpoints)}",
             structure_block(atoms, settings), electron_block(atoms, settings),
             f"kptopt1 1 tolvrs1 {settings.tolvrs_gs:g} nstep 100"]
    for n, q in enumerate(qpoints, start=2):
        kptopt = 2 if np.allclose(q, 0) else 3
        lines.append(f"kptopt{n} {kptopt} getwfk{n} 1 rfphon{n} 1 rfatpol{n} 1 {len(atoms)} rfdir{n} 1 1 1 "
                     f"nqpt{n} 1 qpt{n} {q[0]:.15f} {q[1]:.15f} {q[2]:.15f} tolvrs{n} {settings.tolvrs_dfpt:g}")
    return "\n".join(lines) + "\n"


def response_ground_state_input(atoms: Atoms, settings: AbinitSettings, empty_bands: int = 4, nstep: int = 100) -> str:
    """Spinor ground state on the full k grid for eq. 1: no symmetry, istwfk 1, netCDF WFK.

    ``empty_bands`` above the occupied ones are a buffer for the SCF (nbdbuf); ``nstep`` 0 stops ABINIT after
    its set-up, which prints the dimensions of the run (:mod:`phonomag.io.abinit.dimensions`).
    """
    if not settings.spin_orbit:
        raise AbinitInputError("the charge–spin response needs spin_orbit = true (spinor wavefunctions)")
    gs = dataclasses.replace(settings, nband=valence_electrons(atoms, settings) + empty_bands)
    return "\n".join([
        "# spinor ground state for the charge–spin response (written by phonomag)",
        structure_block(atoms, gs), electron_block(atoms, gs), "nsym 1 kptopt 3 istwfk *1 iomode 3",
        f"tolvrs {settings.tolvrs_gs:g} nstep {nstep} nbdbuf {empty_bands}", ""])


def response_wfq_input(atoms: Atoms, settings: AbinitSettings, qpoint, den: Path, empty_bands: int = 4) -> str:
    """Non-self-consistent spinor wavefunctions on the k grid shifted by q (ABINIT adds q to every k of a
    ground-state dataset with nqpt 1), from the ground-state density ``den``: the k + q states DFPT needs
    when k + q is not on the k grid (any q)."""
    if not settings.spin_orbit:
        raise AbinitInputError("the charge–spin response needs spin_orbit = true (spinor wavefunctions)")
    q = np.asarray(qpoint, float)
    nscf = dataclasses.replace(settings, nband=valence_electrons(atoms, settings) + empty_bands)
    return "\n".join([
        "# spinor wavefunctions at k + q, non-self-consistent (written by phonomag)",
        structure_block(atoms, nscf), electron_block(atoms, nscf), "nsym 1 kptopt 3 istwfk *1 iomode 3",
        f'iscf -2 getden_filepath "{Path(den).resolve()}" nqpt 1 qpt {q[0]:.15f} {q[1]:.15f} {q[2]:.15f}',
        f"tolwfr 1e-18 nstep 150 nbdbuf {empty_bands}", ""])


def response_perturbation_input(atoms: Atoms, settings: AbinitSettings, qpoint, groups, wfk: Path,
                                wfq: Path | None = None) -> str:
    """DFPT datasets at one q for the perturbation ``groups`` [(atom 1-based, (dx, dy, dz) mask)], reading ``wfk``
    and, for a q off the k grid, the k + q states ``wfq`` (:func:`response_wfq_input`).

    Occupied bands only; writes 1WF and DEN files per perturbation (netCDF: run serially,
    ABINIT 9.6 cannot write them with MPI).
    """
    if not settings.spin_orbit:
        raise AbinitInputError("the charge–spin response needs spin_orbit = true (spinor wavefunctions)")
    q = check_on_kgrid(qpoint, settings) if wfq is None else np.asarray(qpoint, float)
    occupied = valence_electrons(atoms, settings)
    dfpt = dataclasses.replace(settings, nband=occupied)
    lines = ["# DFPT first-order wavefunctions for the charge–spin response (written by phonomag)",
             f"ndtset {len(groups)}", structure_block(atoms, dfpt), electron_block(atoms, dfpt),
             "nsym 1 kptopt 3 istwfk *1 iomode 3", f'getwfk_filepath "{Path(wfk).resolve()}"',
             *([f'getwfq_filepath "{Path(wfq).resolve()}"'] if wfq is not None else []),
             f"rfphon 1 nqpt 1 qpt {q[0]:.15f} {q[1]:.15f} {q[2]:.15f} tolvrs {settings.tolvrs_dfpt:g} prtden 1"]
    for n, (atom, mask) in enumerate(groups, start=1):
        if not 1 <= atom <= len(atoms):
            raise AbinitInputError(f"perturbed atom {atom} is not in 1..{len(atoms)}")
        lines.append(f"rfatpol{n} {atom} {atom} rfdir{n} " + " ".join(str(int(bool(d))) for d in mask))
    return "\n".join(lines) + "\n"


def response_field_input(atoms: Atoms, settings: AbinitSettings, wfk: Path) -> str:
    """DFPT at q = 0 for the response to a uniform electric field: d/dk (dataset 1), then the field along the
    three reduced directions together with every atomic displacement (dataset 2, so that its DDB holds the
    Born charges and ε∞ as well as the Γ phonons), reading the spinor ground state ``wfk``.

    No symmetry, full k grid, netCDF 1WF and DEN files per perturbation (as
    :func:`response_perturbation_input`); the field perturbation's files are numbered
    ``3 (natom + 1) + direction`` (ABINIT's ipert = natom + 2).
    """
    if not settings.spin_orbit:
        raise AbinitInputError("the charge–spin response needs spin_orbit = true (spinor wavefunctions)")
    dfpt = dataclasses.replace(settings, nband=valence_electrons(atoms, settings))
    return "\n".join([
        "# DFPT response to a uniform electric field, with Born charges and epsilon_inf (written by phonomag)",
        "ndtset 2", structure_block(atoms, dfpt), electron_block(atoms, dfpt),
        "nsym 1 kptopt 3 istwfk *1 iomode 3", f'getwfk_filepath "{Path(wfk).resolve()}"',
        f"nqpt 1 qpt 0 0 0 tolvrs {settings.tolvrs_dfpt:g} prtden 1",
        "rfelfd1 2 rfdir1 1 1 1 iscf1 -3 tolwfr1 1e-20",
        f"rfelfd2 3 rfphon2 1 rfatpol2 1 {len(atoms)} rfdir2 1 1 1 getddk2 1", ""])


def on_kgrid(qpoint, kgrid) -> bool:
    """True if k + q lies on the Γ-centred ``kgrid`` for every grid point k (q in reduced coordinates)."""
    steps = np.asarray(qpoint, float) * np.asarray(kgrid)
    return bool(np.abs(steps - np.rint(steps)).max() <= 1e-8)


def check_finite_q(qpoint) -> np.ndarray:
    """q as an array of three finite reduced coordinates; an error otherwise."""
    q = np.asarray(qpoint, float)
    if q.shape != (3,) or not np.all(np.isfinite(q)):
        raise AbinitInputError(f"q = {np.asarray(qpoint).tolist()} must be three finite reduced coordinates")
    return q


def check_on_kgrid(qpoint, settings: AbinitSettings) -> np.ndarray:
    """q as an array; an error unless k + q lies on the k grid for every k."""
    q = np.asarray(qpoint, float)
    kgrid = np.array(settings.kgrid)
    if not on_kgrid(q, kgrid):
        raise AbinitInputError(f"q = {np.round(q, 6).tolist()} is not on the k grid {kgrid.tolist()}")
    return q


def split_perturbations(natoms: int, workers: int) -> list[list[tuple[int, tuple[int, int, int]]]]:
    """The 3 natoms (atom, direction) perturbations in ``workers`` near-equal contiguous groups,
    each as datasets [(atom 1-based, direction mask)]."""
    perts = [(atom, d) for atom in range(1, natoms + 1) for d in range(3)]
    chunks = [list(chunk) for chunk in np.array_split(np.arange(len(perts)), min(workers, len(perts)))]
    out = []
    for chunk in chunks:
        datasets: dict[int, list[int]] = {}
        for index in chunk:
            atom, d = perts[index]
            datasets.setdefault(atom, [0, 0, 0])[d] = 1
        out.append([(atom, tuple(mask)) for atom, mask in datasets.items()])
    return out
