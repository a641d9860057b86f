"""Reader of ABINIT's text derivative database (DDB): phonon blocks at each q.

The DDB (ABINIT's ``*_DDB`` files, format of ABINIT 9) holds, per data block, the
second derivatives of the total energy with respect to two perturbations
(idir1, ipert1; idir2, ipert2). Perturbations ipert = 1..natom are displacements
of atom ipert along the *reduced* direction idir (along primitive vector idir),
so the block at q is, in Hartree,

    D^red_{κi,κ'j}(q) = Σ_b ∂²E / ∂x_{κi}(0) ∂x_{κ'j}(b) exp(i q·R_b),

with x the displacement in reduced coordinates and the phase on the cell vector
R_b only (X. Gonze, C. Lee, PRB 55, 10355 (1997), eq. 4: no atomic positions in
the phase). :func:`read_phonon_blocks` turns it into Cartesian eV/Å² in the
position convention of phonopy and docs/physics.md §5,

    C_{κα,κ'β}(q) = Σ_b Φ_{κα,κ'β}(0, b) exp(i q·(R_b + τ_κ' − τ_κ)).

Other perturbations (strain) in the blocks are skipped; those of a uniform electric field (ipert = natom + 2)
give the Born charges and ε∞ (:func:`read_dielectric`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import units

from phonomag.errors import PhononSourceError, read_text

_BLOCK = re.compile(r"^\s*2nd derivatives \((?:non-stat\.|stationary)\)\s*- # elements\s*:\s*(\d+)")
#: Largest relative disagreement of one element given by two (partial) blocks of the same q.
MERGE_TOL = 1e-3
_HEADER_KEYS = ("natom", "acell", "rprim", "xred", "amu", "typat", "znucl")


@dataclass
class DDBPhonons:
    """Phonon data of one or more DDB files.

    cell (3, 3) Å, rows = lattice vectors; fractional (natom, 3) positions;
    numbers (natom,) atomic numbers; masses (natom,) amu as ABINIT used them; qpoints (nq, 3) reduced;
    matrices (nq, 3 natom, 3 natom) C(q) in eV/Å², position convention.
    """

    cell: np.ndarray
    fractional: np.ndarray
    numbers: np.ndarray
    masses: np.ndarray
    qpoints: np.ndarray
    matrices: np.ndarray


def _fortran_floats(text: str) -> list[float]:
    return [float(x.replace("D", "E").replace("d", "e")) for x in text.split()]


def _header_arrays(lines: list[str], path: Path) -> dict[str, np.ndarray]:
    """The header variables natom, acell, rprim, xred, amu, typat (values may run over lines)."""
    values: dict[str, list[float]] = {}
    current = None
    for line in lines:
        if "Database of total energy derivatives" in line:
            break
        words = line.split()
        if words and re.fullmatch(r"[a-z_0-9]+", words[0]):
            current = words[0] if words[0] in _HEADER_KEYS else None
            if current:
                values[current] = _fortran_floats(" ".join(words[1:]))
        elif current and words:
            try:
                values[current].extend(_fortran_floats(line))
            except ValueError:
                current = None
    missing = [key for key in _HEADER_KEYS if key not in values]
    if missing:
        raise PhononSourceError(f"{path} is not an ABINIT DDB: header lacks {', '.join(missing)}")
    return {key: np.array(val) for key, val in values.items()}


def read_phonon_blocks(paths) -> DDBPhonons:
    """Phonon blocks of the DDB file(s) ``paths`` (one path or several with the same crystal)."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    crystal = None
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    for path in paths:
        if not path.is_file():
            raise PhononSourceError(f"DDB file {path} does not exist")
        lines = read_text(path, PhononSourceError, "DDB file").splitlines()
        try:
            cell, fractional, numbers, amu, file_blocks = _parse(lines, path)
        except (ValueError, IndexError, OverflowError) as exc:
            raise PhononSourceError(f"DDB file {path} is malformed ({type(exc).__name__}: {exc})") from None
        if crystal is None:
            crystal = (cell, fractional, numbers, amu)
        elif not (np.allclose(crystal[0], cell, atol=1e-6) and np.allclose(crystal[1], fractional, atol=1e-8)
                  and np.array_equal(crystal[2], numbers)):
            raise PhononSourceError(f"{path} describes another crystal than {paths[0]}")
        for q, block in file_blocks:
            _merge(blocks, q, block)
    if not blocks:
        raise PhononSourceError(f"no phonon (2nd-derivative) blocks in {', '.join(map(str, paths))}")
    for q, block in blocks:
        if np.isnan(block).any():
            raise PhononSourceError(
                f"the 2nd derivatives at q = {np.round(q, 6).tolist()} lack phonon elements in "
                f"{', '.join(map(str, paths))} (ABINIT completes blocks by symmetry; without symmetry every "
                "atom and direction must be computed, possibly split over several files)")
    cell, fractional, numbers, amu = crystal
    qpoints = np.array([q for q, _ in blocks])
    matrices = np.array([_cartesian_position_convention(b, cell, fractional, q) for q, b in blocks])
    return DDBPhonons(cell, fractional, numbers, amu, qpoints, matrices)


def _parse(lines: list[str], path: Path):
    """(cell Å, fractional positions, atomic numbers, masses amu, [(q, block)]) of one DDB file's lines."""
    header = _header_arrays(lines, path)
    natom = int(header["natom"][0])
    rprim = header["rprim"].reshape(3, 3)
    cell = rprim * header["acell"][:, None] * units.Bohr  # rows: a_i = acell_i · rprim_i
    types = header["typat"].astype(int) - 1
    amu = header["amu"][types]
    numbers = np.rint(header["znucl"][types]).astype(int)
    fractional = header["xred"].reshape(natom, 3)
    blocks = list(_blocks(lines, natom, path))
    for q, block in blocks:
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(block) | np.isnan(block))):
            raise ValueError(f"a non-finite number in the block at q = {q.tolist()}")
    return cell, fractional, numbers, amu, blocks


def _merge(blocks: list, q: np.ndarray, block: np.ndarray) -> None:
    """Add a (possibly partial) block: elements of blocks at the same q are combined."""
    for known_q, known in blocks:
        if np.allclose(known_q, q, atol=1e-8):
            new = ~np.isnan(block)
            both = new & ~np.isnan(known)
            scale = max(np.nanmax(np.abs(known)), np.nanmax(np.abs(block)), 1e-12)
            if both.any() and np.abs(known[both] - block[both]).max() > MERGE_TOL * scale:
                raise PhononSourceError(f"two DDB blocks at q = {np.round(q, 6).tolist()} disagree")
            # elements computed twice (the row of one run, the Hermitian column of another) agree to
            # the SCF accuracy of the two runs: keep their mean
            known[both] = 0.5 * (known[both] + block[both])
            known[new & ~both] = block[new & ~both]
            return
    blocks.append((q, block.copy()))


@dataclass
class DielectricTensors:
    """Born effective charges and the electronic dielectric tensor from the field blocks of a DDB at q = 0.

    born (natom, 3, 3): Z*_{κ,βα} = Ω ∂P_β/∂u_{κα} (e; β the field or polarization direction, α the
    displacement: phonopy's BORN order), as ABINIT computes them, before any charge-neutrality correction;
    epsilon (3, 3): ε∞ (clamped ions). Cartesian axes of the DDB's cell.
    """

    born: np.ndarray
    epsilon: np.ndarray

    def neutrality_violation(self) -> np.ndarray:
        """Σ_κ Z*_κ (3, 3), zero in an exact calculation (the acoustic sum rule of the Born charges)."""
        return self.born.sum(axis=0)

    def charge_neutral(self) -> DielectricTensors:
        """The charges with Σ_κ Z*_κ = 0 imposed as anaddb does by default (``chneut 1``): the violation
        shared equally by the atoms, Z*_κ − (1/N) Σ_κ′ Z*_κ′."""
        return DielectricTensors(self.born - self.neutrality_violation() / len(self.born), self.epsilon.copy())


def read_dielectric(paths) -> DielectricTensors | None:
    """Z* and ε∞ from the electric-field elements of the DDB file(s) ``paths`` (None when they hold none, or only
    zeros: no dielectric run).

    In the DDB the field is in reduced coordinates, E_i = a_i·E/2π in ABINIT's convention, and the
    displacements along a_i: with A the rows a_i (bohr), ε∞ = 1 − (4π/Ω) (Aᵀ/2π) D_EE (A/2π) and
    Z*_κ = Z_ion,κ 1 + (Aᵀ/2π) D_{Eκ} A⁻ᵀ (the transformations of ABINIT's own output, which the tests
    compare against anaddb).
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    field_field = field_atom = None
    for path in paths:
        lines = read_text(path, PhononSourceError, "DDB file").splitlines()
        header = _header_arrays(lines, path)
        natom = int(header["natom"][0])
        elements = list(_field_elements(lines, natom, path))
        if not elements:
            continue
        if field_field is None:
            field_field = np.full((3, 3), np.nan)
            field_atom = np.full((natom, 3, 3), np.nan)  # (κ, displacement i, field j), reduced
            cell = header["rprim"].reshape(3, 3) * header["acell"][:, None]  # bohr
            zion = _zion(lines, header, path)
        field = natom + 2
        for d1, p1, d2, p2, value in elements:
            if p1 == field and p2 == field:
                field_field[d1 - 1, d2 - 1] = value
            elif p1 <= natom and p2 == field:
                field_atom[p1 - 1, d1 - 1, d2 - 1] = value
    known = np.concatenate([field_field.ravel(), field_atom.ravel()]) if field_field is not None else np.zeros(0)
    if not np.any(known[~np.isnan(known)]):
        return None  # no dielectric run: ABINIT writes the symmetry zeros of the field elements without one
    if np.isnan(field_field).any() or np.isnan(field_atom).any():
        raise PhononSourceError(f"the electric-field elements of {', '.join(map(str, paths))} are incomplete "
                                "(every field direction with every atom and direction is needed)")
    to_field = cell.T / (2 * np.pi)
    volume = abs(np.linalg.det(cell))
    epsilon = np.eye(3) - 4 * np.pi / volume * to_field @ field_field @ to_field.T
    inverse = np.linalg.inv(cell)  # d/du_α = Σ_i (A⁻¹)_{αi} d/dx_i
    born = zion[:, None, None] * np.eye(3) + np.einsum("bj,kij,ai->kba", to_field, field_atom, inverse)
    return DielectricTensors(born, epsilon)


def _zion(lines, header, path) -> np.ndarray:
    """Valence charge of every atom (the DDB header's zion per type)."""
    for line in lines:
        words = line.split()
        if words and words[0] == "zion":
            types = header["typat"].astype(int) - 1
            return np.array(_fortran_floats(" ".join(words[1:])))[types]
    raise PhononSourceError(f"{path}: the DDB header has no zion (needed for the Born charges)")


def _raw_blocks(lines, path):
    """Yield (q reduced, [(d1, p1, d2, p2, complex value)]) for each block of second derivatives."""
    i = 0
    while i < len(lines):
        match = _BLOCK.match(lines[i])
        if not match:
            i += 1
            continue
        count = int(match.group(1))
        q_words = lines[i + 1].split()
        if q_words[0] != "qpt":
            raise PhononSourceError(f"{path}: line {i + 2} should give the block's qpt")
        q_and_norm = _fortran_floats(" ".join(q_words[1:5]))
        elements = []
        for line in lines[i + 2:i + 2 + count]:
            words = line.split()
            re_im = _fortran_floats(" ".join(words[4:6]))
            elements.append((*(int(w) for w in words[:4]), re_im[0] + 1j * re_im[1]))
        i += 2 + count
        yield np.array(q_and_norm[:3]) / q_and_norm[3], elements


def _field_elements(lines, natom, path=None):
    """(d1, p1, d2, p2, real value) of every element at q = 0 that involves the electric field."""
    field = natom + 2
    for q, elements in _raw_blocks(lines, path):
        if np.abs(q).max() <= 1e-12:
            for d1, p1, d2, p2, value in elements:
                if field in (p1, p2) and max(p1, p2) <= field and d1 <= 3 and d2 <= 3:
                    yield d1, p1, d2, p2, value.real


def _blocks(lines, natom, path):
    """Yield (q reduced, D^red (natom, 3, natom, 3) Hartree, NaN where absent) for each phonon block."""
    for q, elements in _raw_blocks(lines, path):
        block = np.full((natom, 3, natom, 3), np.nan, dtype=complex)
        for d1, p1, d2, p2, value in elements:
            if p1 <= natom and p2 <= natom:
                block[p1 - 1, d1 - 1, p2 - 1, d2 - 1] = value
        yield q, block


def _cartesian_position_convention(block, cell, fractional, q) -> np.ndarray:
    """D^red (Ha, reduced directions, cell-vector phase) → C (eV/Å², Cartesian, τ phase)."""
    natom = len(fractional)
    # u_cart = Σ_i x_i a_i, so D^red = A Φ Aᵀ with A the rows a_i (in Å): Φ = A⁻¹ D^red A⁻ᵀ
    inverse = np.linalg.inv(cell)
    cart = np.einsum("ai,kilj,bj->kalb", inverse, block, inverse) * units.Hartree
    phase = np.exp(2j * np.pi * (fractional @ q))  # exp(i q·τ_κ)
    cart = cart * phase.conj()[:, None, None, None] * phase[None, None, :, None]
    return cart.reshape(3 * natom, 3 * natom)
