"""Phonon engine: force constants from a built-in potential or from phonopy files.

:func:`build_phonon_model` reads the ``[phonons]`` table of a material file:

    source = "stillinger-weber"     potential = "WSe2" | "path/sw_X.toml"
                                    supercell = [6, 6, 1]   displacement = 0.01 (Å)
    source = "phonopy"              phonopy_yaml = "phonopy_params.yaml"
                                    or force_constants = "FORCE_CONSTANTS" (text) or
                                       "force_constants.hdf5" (phonopy's HDF5) + supercell
                                    or force_sets = "FORCE_SETS" + supercell
                                    born = "BORN" (optional: Born charges, dielectric tensor)
    source = "abinit-ddb"           ddb = "file_DDB" or ["q1_DDB", "q2_DDB", ...]
                                    qgrid = [6, 6, 1]  (Γ-centred grid of the DFPT q-points)

Paths are relative to ``base_dir``. Force constants are computed (or read) once,
when the engine is built, symmetrised by phonopy (translational invariance, i.e.
the acoustic sum rule, and index permutation), and kept in the engine. Files
from phonopy must be in the units of the calculator they name (phonopy's
default: eV, Å, amu). The phonopy primitive cell is matched atom by atom to
``atoms``; modes are always given in the order of ``atoms``.

Non-analytic correction (phonopy sources): Born effective charges and the dielectric
tensor, from ``born`` or from the phonopy_params.yaml, are used when present (phonopy's
correction, the 3D form). When they are absent and the crystal has more than one species
(polar: its Born charges need not vanish), a warning says that the correction is left out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import phonopy
from ase import Atoms
from phonopy import Phonopy
from phonopy.file_IO import parse_FORCE_CONSTANTS, parse_FORCE_SETS, read_force_constants_hdf5
from phonopy.interface.calculator import get_calculator_physical_units
from phonopy.structure.atoms import PhonopyAtoms

from phonomag.errors import PhononSourceError, QPointError
from phonomag.io.abinit.ddb import read_phonon_blocks
from phonomag.phonons.born import set_born_charges, set_ddb_born_charges
from phonomag.phonons.grid_force_constants import expand_to_grid, supercell_force_constants
from phonomag.phonons.mirror import sigma_h_permutation
from phonomag.phonons.modes import THZ_TO_MEV, PhononModes, modes_from_dynamical_matrices
from phonomag.phonons.stillinger_weber import StillingerWeberMX2, load_sw_parameters, potential_path

_KEYS = {
    "stillinger-weber": {"source", "potential", "supercell", "displacement"},
    "phonopy": {"source", "phonopy_yaml", "force_constants", "force_sets", "supercell", "born"},
    "abinit-ddb": {"source", "ddb", "qgrid"},
}
_PHONOPY_FILES = ("phonopy_yaml", "force_constants", "force_sets")
#: Atoms of the phonopy primitive cell and of ``atoms`` must agree within this (Å).
_MATCH_TOL = 0.01
#: Most unit cells in a force-constant supercell (a 30×30×1 supercell of three atoms is 2700 atoms).
MAX_SUPERCELL = 1000
#: Residual forces above this (eV/Å) in the undisplaced supercell trigger a warning.
_RESIDUAL_FORCE_WARN = 0.01


@dataclass
class PhononModel:
    """Force constants of a crystal and the modes they give at any q.

    atoms : the primitive cell (order of the modes' atoms).
    phonopy : the Phonopy object holding the (symmetrised) force constants, in
        its own atom order and units; ``order[κ]`` is the phonopy primitive
        index of atom κ of ``atoms``.
    description : one line saying where the force constants come from.
    """

    atoms: Atoms
    phonopy: Phonopy
    order: np.ndarray
    description: str

    @classmethod
    def from_material(cls, spec) -> PhononModel:
        """The phonons of a material (:class:`~phonomag.crystal.materials.MaterialSpec`), from its ``[phonons]``
        table; PhononSourceError for a material without one (its phonons come from the same DFPT as its response:
        the first-principles kernel's own DDB files)."""
        if not spec.phonons:
            raise PhononSourceError(
                f"material {spec.name} ({spec.source}) has no [phonons]: its phonons come from the kernel's own DFPT "
                "([kernel] data with phonons = \"kernel\", the default for such a material)")
        return build_phonon_model(spec.atoms, spec.phonons, spec.base_dir)

    @property
    def masses(self) -> np.ndarray:
        """Masses (amu) used in the dynamical matrix, in the order of ``atoms``."""
        return np.asarray(self.phonopy.primitive.masses)[self.order]

    def modes(self, qpoints) -> PhononModes:
        """Frequencies, eigenvectors and σ_h parities at reduced wavevectors (nq, 3) or (3,)."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        if q.ndim != 2 or q.shape[1] != 3 or not np.all(np.isfinite(q)):
            raise QPointError(f"q-points must be an array of shape (nq, 3) of finite numbers, got shape {q.shape}")
        index = (3 * self.order[:, None] + np.arange(3)).ravel()
        dyn = np.empty((len(q), len(index), len(index)), dtype=complex)
        matrix = self.phonopy.dynamical_matrix
        for n, point in enumerate(q):
            matrix.run(point)
            dyn[n] = matrix.dynamical_matrix[np.ix_(index, index)]
        q_cart_z = q @ self.atoms.cell.reciprocal()[:, 2]
        return modes_from_dynamical_matrices(
            q, dyn, self.masses,
            to_mev=self.phonopy.unit_conversion_factor * THZ_TO_MEV,
            mirror_permutation=sigma_h_permutation(self.atoms),
            in_plane=np.abs(q_cart_z) < 1e-10,
        )


def build_phonon_model(atoms: Atoms, config: dict, base_dir: Path) -> PhononModel:
    """Phonon model of the primitive cell ``atoms`` (Å) from the ``[phonons]`` table ``config``
    (files named there are relative to ``base_dir``)."""
    source = config.get("source")
    if source not in _KEYS:
        raise PhononSourceError(
            f"[phonons] source = {source!r} is not known; use one of {', '.join(map(repr, _KEYS))}")
    unknown = sorted(set(config) - _KEYS[source])
    if unknown:
        raise PhononSourceError(
            f"[phonons] key(s) {', '.join(map(repr, unknown))} not understood for source = {source!r}; "
            f"allowed: {', '.join(sorted(_KEYS[source]))}")
    if atoms.cell.rank != 3:
        raise PhononSourceError(
            "the structure needs three cell vectors (give a 2D layer a vacuum cell vector along z)")
    base_dir = Path(base_dir)
    if source == "stillinger-weber":
        return _stillinger_weber_engine(atoms, config, base_dir)
    if source == "abinit-ddb":
        return _ddb_engine(atoms, config, base_dir)
    return _phonopy_file_engine(atoms, config, base_dir)


def phonon_input_files(config: dict, base_dir: Path) -> list[Path]:
    """Every data file the ``[phonons]`` table ``config`` names (DDB files, potential, phonopy files, BORN),
    resolved against ``base_dir``: what the phonons are computed from, for run records."""
    base_dir = Path(base_dir)
    files = []
    if config.get("source") == "stillinger-weber" and isinstance(config.get("potential"), str):
        files.append(potential_path(config["potential"], base_dir)[0])
    for key in ("ddb", *_PHONOPY_FILES, "born"):
        value = config.get(key)
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        files += [base_dir / name for name in names if isinstance(name, str)]
    return files


def _stillinger_weber_engine(atoms: Atoms, config: dict, base_dir: Path) -> PhononModel:
    if "potential" not in config:
        raise PhononSourceError("[phonons] source = 'stillinger-weber' needs potential = name or path")
    params = load_sw_parameters(config["potential"], base_dir)
    species = set(atoms.get_chemical_symbols())
    if species != {params.metal, params.chalcogen}:
        raise PhononSourceError(
            f"potential {params.name!r} is for {params.metal} and {params.chalcogen}, "
            f"the structure has {', '.join(sorted(species))}")
    vacuum = atoms.cell[2, 2] - np.ptp(atoms.positions[:, 2])
    if vacuum <= params.cutoff:
        raise PhononSourceError(
            f"the vacuum along c ({vacuum:.3g} Å) must exceed the cutoff of the potential "
            f"({params.cutoff:.3g} Å): the layer is treated as periodic along c")
    displacement = config.get("displacement", 0.01)
    if isinstance(displacement, bool) or not isinstance(displacement, (int, float)) or not 0 < displacement <= 0.1:
        raise PhononSourceError(f"[phonons] displacement = {displacement!r} must be a number in (0, 0.1] Å")
    ph = Phonopy(_phonopy_atoms(atoms), _supercell_matrix(config), primitive_matrix="P")
    ph.generate_displacements(distance=float(displacement), is_plusminus=True)
    calc = StillingerWeberMX2(params)
    residual = _forces(ph.supercell, calc)
    if np.abs(residual).max() > _RESIDUAL_FORCE_WARN:
        warnings.warn(
            f"the structure is not at the minimum of the {params.name} potential (largest force "
            f"{np.abs(residual).max():.3g} eV/Å); its equilibrium is a = {params.equilibrium[0]} Å, "
            f"chalcogen height {params.equilibrium[1]} Å", stacklevel=3)
    ph.forces = np.array([_forces(cell, calc) - residual for cell in ph.supercells_with_displacements])
    ph.produce_force_constants()
    ph.symmetrize_force_constants(show_drift=False)
    size = "×".join(str(n) for n in np.diag(ph.supercell_matrix))
    return PhononModel(
        atoms.copy(), ph, np.arange(len(atoms)),
        f"Stillinger–Weber {params.name} ({params.reference}), {size} supercell, "
        f"displacement {float(displacement)} Å")


def _phonopy_file_engine(atoms: Atoms, config: dict, base_dir: Path) -> PhononModel:
    given = [key for key in _PHONOPY_FILES if key in config]
    if len(given) != 1:
        raise PhononSourceError(
            "[phonons] source = 'phonopy' needs exactly one of phonopy_yaml, force_constants, force_sets; "
            f"got {', '.join(given) or 'none'}")
    key = given[0]
    path = base_dir / str(config[key])
    if not path.is_file():
        raise PhononSourceError(f"[phonons] {key} = {config[key]!r}: file {path} does not exist")
    if key == "phonopy_yaml":
        ph = _load_phonopy_yaml(path)
        if "supercell" in config and not np.array_equal(_supercell_matrix(config), ph.supercell_matrix):
            raise PhononSourceError(
                f"[phonons] supercell = {config['supercell']} disagrees with the supercell matrix "
                f"{ph.supercell_matrix.tolist()} of {path}; remove the key or make them agree")
    else:
        if "supercell" not in config:
            raise PhononSourceError(f"[phonons] {key} = {config[key]!r} needs supercell = [n1, n2, n3]")
        ph = Phonopy(_phonopy_atoms(atoms), _supercell_matrix(config), primitive_matrix="P")
        _read_force_file(ph, key, path)
    ph.symmetrize_force_constants(show_drift=False)
    order = _match_atoms(ph, atoms, path)
    nac = set_born_charges(ph, config, base_dir, path)
    return PhononModel(atoms.copy(), ph, order, f"phonopy force constants from {path}{nac}")


def _ddb_engine(atoms: Atoms, config: dict, base_dir: Path) -> PhononModel:
    """Force constants of the q-grid supercell from DFPT blocks at the irreducible q (ABINIT DDB).

    The DDB crystal must be ``atoms`` (Cartesian positions and in-plane cell within
    0.01 Å; for a layer, not periodic along c, the vacuum along c may differ).
    """
    files = config.get("ddb")
    files = [files] if isinstance(files, str) else files
    if not files or not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise PhononSourceError(
            f"[phonons] ddb = {config.get('ddb')!r} must be a DDB file name or a list of them")
    qgrid = _supercell_matrix({"supercell": config.get("qgrid")})
    if not np.array_equal(qgrid, np.diag(np.diag(qgrid))):
        raise PhononSourceError(f"[phonons] qgrid = {config.get('qgrid')!r} must be three integers")
    paths = [base_dir / f for f in files]
    data = read_phonon_blocks(paths)
    _check_same_crystal(atoms, data, paths[0])
    ph = Phonopy(_phonopy_atoms(atoms), qgrid, primitive_matrix="P")
    mesh = np.diag(qgrid)
    grid = expand_to_grid(atoms, mesh, data.qpoints, data.matrices)
    ph.force_constants = supercell_force_constants(ph, mesh, grid)
    ph.symmetrize_force_constants(show_drift=False)
    names = ", ".join(p.name for p in paths[:3]) + (", …" if len(paths) > 3 else "")
    return PhononModel(
        atoms.copy(), ph, np.arange(len(atoms)),
        f"ABINIT DFPT, {len(data.qpoints)} irreducible q of the {'×'.join(map(str, mesh))} grid ({names})"
        f"{set_ddb_born_charges(ph, paths)}")



def _check_same_crystal(atoms: Atoms, data, path: Path) -> None:
    """Raise unless the DDB crystal ``data`` is ``atoms``, species included (see _ddb_engine)."""
    cell, fractional = data.cell, data.fractional
    if len(data.numbers) != len(atoms) or not np.array_equal(data.numbers, atoms.numbers):
        raise PhononSourceError(
            f"{path} holds atoms with atomic numbers {data.numbers.tolist()}, the structure "
            f"{atoms.numbers.tolist()} (same atoms in the same order are needed)")
    periodic = np.array(atoms.pbc, dtype=bool)
    compare = periodic if not periodic.all() else np.ones(3, dtype=bool)
    positions = fractional @ cell
    cell_ok = np.abs(cell[compare] - atoms.cell.array[compare]).max() <= _MATCH_TOL
    same = len(positions) == len(atoms) and cell_ok and np.abs(positions - atoms.positions).max() <= _MATCH_TOL
    if not same:
        raise PhononSourceError(
            f"the crystal of {path} (cell {np.round(cell, 4).tolist()} Å, positions "
            f"{np.round(positions, 4).tolist()} Å) is not the structure's (cell "
            f"{np.round(atoms.cell.array, 4).tolist()} Å, positions {np.round(atoms.positions, 4).tolist()} Å)")


def _load_phonopy_yaml(path: Path) -> Phonopy:
    try:
        ph = phonopy.load(path, produce_fc=True, symmetrize_fc=False, is_nac=False, log_level=0)
    except Exception as exc:  # phonopy raises many kinds for a bad file
        raise PhononSourceError(f"could not read phonopy file {path}: {type(exc).__name__}: {exc}") from None
    if ph.force_constants is None:
        raise PhononSourceError(f"phonopy file {path} holds neither force constants nor forces")
    return ph


def _read_force_file(ph: Phonopy, key: str, path: Path) -> None:
    nsuper = len(ph.supercell)
    try:
        if key == "force_constants" and path.suffix in (".hdf5", ".h5"):
            fc = read_force_constants_hdf5(path, p2s_map=ph.primitive.p2s_map)
        elif key == "force_constants":
            fc = parse_FORCE_CONSTANTS(path)
        else:
            ph.dataset = parse_FORCE_SETS(path, natom=nsuper)
            ph.produce_force_constants()
            return
    except Exception as exc:  # phonopy's parsers raise many kinds for a bad file
        raise PhononSourceError(f"could not read {key} file {path}: {type(exc).__name__}: {exc}") from None
    if fc.shape[1:] != (nsuper, 3, 3) or fc.shape[0] not in (nsuper, len(ph.primitive)):
        raise PhononSourceError(
            f"{path} holds force constants of shape {fc.shape}, but the "
            f"{'×'.join(map(str, np.diag(ph.supercell_matrix)))} supercell of this structure has "
            f"{nsuper} atoms (expected ({nsuper}, {nsuper}, 3, 3) or ({len(ph.primitive)}, {nsuper}, 3, 3))")
    ph.force_constants = fc


def _match_atoms(ph: Phonopy, atoms: Atoms, path: Path) -> np.ndarray:
    """order[κ] = index in the phonopy primitive cell of atom κ of ``atoms``."""
    to_angstrom = get_calculator_physical_units(ph.calculator).distance_to_A
    prim = ph.primitive
    cell = np.asarray(prim.cell) * to_angstrom
    if len(prim) != len(atoms) or np.abs(cell - atoms.cell.array).max() > _MATCH_TOL:
        raise PhononSourceError(
            f"the primitive cell of {path} ({len(prim)} atoms, cell {np.round(cell, 4).tolist()} Å) "
            f"is not the structure's ({len(atoms)} atoms, cell {np.round(atoms.cell.array, 4).tolist()} Å)")
    diff = atoms.get_scaled_positions()[:, None, :] - np.asarray(prim.scaled_positions)[None, :, :]
    diff -= np.round(diff)
    distance = np.linalg.norm(diff @ atoms.cell.array, axis=-1)
    same = np.array(atoms.get_chemical_symbols())[:, None] == np.array(prim.symbols)[None, :]
    match = (distance < _MATCH_TOL) & same
    unmatched = np.flatnonzero(match.sum(axis=1) != 1)
    if unmatched.size:
        k = unmatched[0]
        raise PhononSourceError(
            f"atom {k} ({atoms[k].symbol} at {np.round(atoms.positions[k], 4).tolist()} Å) of the structure "
            f"has no single counterpart in the primitive cell of {path}")
    return np.argmax(match, axis=1)


def _supercell_matrix(config: dict) -> np.ndarray:
    value = config.get("supercell")
    array = np.array(value, dtype=object)
    good = array.shape in ((3,), (3, 3)) and all(
        isinstance(x, int) and not isinstance(x, bool) for x in array.ravel())
    if not good:
        raise PhononSourceError(
            f"[phonons] supercell = {value!r} must be three integers [n1, n2, n3] or a 3×3 integer matrix")
    matrix = np.diag(array.astype(int)) if array.shape == (3,) else array.astype(int)
    cells = round(np.linalg.det(matrix.astype(float)))
    if not 1 <= cells <= MAX_SUPERCELL:
        raise PhononSourceError(f"[phonons] supercell = {value!r} must have a positive determinant of at most "
                                f"{MAX_SUPERCELL} (unit cells in the supercell), got {cells}")
    return matrix


def _phonopy_atoms(atoms: Atoms) -> PhonopyAtoms:
    return PhonopyAtoms(
        symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array,
        scaled_positions=atoms.get_scaled_positions(wrap=False), masses=atoms.get_masses())


def _forces(cell: PhonopyAtoms, calc: StillingerWeberMX2) -> np.ndarray:
    """Forces (eV/Å) on a phonopy supercell, periodic in all three directions."""
    structure = Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)
    structure.calc = calc
    return structure.get_forces()
