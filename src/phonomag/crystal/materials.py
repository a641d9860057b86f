"""Material (model) files: one TOML file describes a crystal for phonomag.

A material is a crystal plus optional parts. A model file holds the structure and, optionally, the
Slater–Koster spinor model of its electrons (``[species]`` orbitals and ``[electrons]``) and the source
of its phonons (``[phonons]``); without them the first-principles engines compute both. A structure
file that ASE reads (CIF, POSCAR, …) is a material too: the crystal alone. The built-in materials
(WSe₂, …) are model files in ``phonomag/data/materials``; the format is documented in
``docs/model-file.md``. :func:`load_material` accepts a built-in name (which wins over a file or folder
of the same name), a model file (*.toml) or a structure file, and returns a validated
:class:`MaterialSpec`; every problem is reported as a :class:`~phonomag.errors.ModelFileError` naming
the file, the key and the offending value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.orbitals import CHANNELS, ORBITAL_INDEX
from phonomag.errors import ModelFileError, UnknownMaterialError, read_text, read_toml

_L_LETTER = {0: "s", 1: "p", 2: "d"}
#: Vacuum (Å) a layer read from a structure file must have between itself and its image.
MIN_LAYER_VACUUM = 8.0
#: Bond-integral keys accepted in a hopping table, e.g. "pd_sigma", "dp_pi".
CHANNEL_KEYS: tuple[str, ...] = tuple(
    f"{_L_LETTER[a]}{_L_LETTER[b]}_{c}"
    for (l1, l2), chans in CHANNELS.items()
    for a, b in {(l1, l2), (l2, l1)}
    for c in chans
)


@dataclass(frozen=True)
class SpeciesSpec:
    """Electronic description of one chemical species.

    orbitals : orbital names (s, px, py, pz, dxy, dyz, dxz, dx2-y2, dz2) in basis order.
    onsite : on-site energies in eV, same order.
    soc : λ in eV of the on-site term λ L·S (S = σ/2, L in units of ħ).
    mass : atomic mass in amu.
    slater : shell letter (s, p, d) → (n, ζ): principal quantum number and exponent
        (1/bohr, as tabulated) of the Slater-type radial function r^(n−1) e^(−ζr)
        used to draw densities in real space; empty if the file gives none.
    """

    name: str
    orbitals: tuple[str, ...]
    onsite: tuple[float, ...]
    soc: float
    mass: float
    slater: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class HoppingSpec:
    """Two-centre bond integrals for bonds between two kinds of sites.

    pair : two site labels or species names; the first is the 'left' atom that
        ordered channel names such as "sp_sigma" refer to (s on the first, p on the second).
    distance : reference bond length d₀ (Å); bonds with | |d| − d₀ | ≤ tolerance match.
    integrals : channel key → V⁰ (eV) at d₀.
    exponents : channel key → η in V = V⁰ (d₀/d)^η.
    cutoff : optional bond length (Å) up to which every bond of the pair must be matched by a
        hopping table (this or another): makes the included bond shells explicit.
    """

    pair: tuple[str, str]
    distance: float
    tolerance: float
    integrals: dict[str, float]
    exponents: dict[str, float]
    cutoff: float | None = None


@dataclass(frozen=True)
class MaterialSpec:
    """Everything a model file says about one material: the crystal, and optionally a tight-binding model
    (``occupied_bands`` None and no ``hoppings`` without one), a ``[phonons]`` source (empty without) and the
    maps a run draws by default (``[[maps]]``, the tables of a run's ``[[maps.modes]]``, checked by the run)."""

    name: str
    description: str
    references: tuple[str, ...]
    atoms: Atoms
    labels: tuple[str, ...]
    species: dict[str, SpeciesSpec]
    occupied_bands: int | None
    hoppings: tuple[HoppingSpec, ...]
    phonons: dict[str, Any]
    source: str
    base_dir: Path
    raw: dict[str, Any]
    maps: tuple[dict[str, Any], ...] = ()

    @property
    def has_model(self) -> bool:
        """Whether the material has a tight-binding model (``[electrons]``)."""
        return bool(self.hoppings)

    @cached_property
    def crystal(self) -> Crystal:
        """The material's :class:`~phonomag.crystal.crystal.Crystal` (its lattice, dimensionality and symmetry)."""
        return Crystal.from_atoms(self.atoms)


def builtin_materials() -> list[str]:
    """Names of the materials shipped with phonomag."""
    folder = resources.files("phonomag") / "data" / "materials"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def names_a_file(name: str | Path) -> bool:
    """Whether a material given by ``name`` is a model file: a path (a ``Path``, a name ending in ``.toml`` or
    holding a folder separator); a bare name is a built-in material's, even where a file or folder of that
    name exists (write ``./WSe2`` for such a file)."""
    text = str(name)
    return isinstance(name, Path) or text.endswith(".toml") or "/" in text or os.sep in text


def load_material(name_or_path: str | Path) -> MaterialSpec:
    """Load a built-in material by its bare name (e.g. "WSe2", which wins over a file or folder of that name,
    :func:`names_a_file`), a model file (*.toml) or a structure file that ASE reads (CIF, POSCAR, …) by path."""
    path = Path(name_or_path)
    names = builtin_materials()
    if str(name_or_path) in names and not names_a_file(name_or_path):
        res = resources.files("phonomag") / "data" / "materials" / f"{name_or_path}.toml"
        text = res.read_text(encoding="utf-8")
        source, base_dir = f"built-in:{name_or_path}", Path(str(res)).parent
    elif path.is_dir():
        raise ModelFileError(f"material {str(path)!r} is a folder; give a model file (*.toml), a structure file or "
                             f"a built-in material by its bare name, one of {', '.join(names)}")
    elif path.suffix == ".toml":
        if not path.is_file():
            raise ModelFileError(f"model file {str(path)!r} does not exist")
        text = read_text(path, ModelFileError, "model file")
        source, base_dir = str(path), path.resolve().parent
    elif path.is_file() or path.suffix:
        return material_from_structure(path)
    else:
        raise UnknownMaterialError(
            f"unknown material {str(name_or_path)!r}; built-in materials are {', '.join(names)}, or give the path "
            "of a model file (*.toml) or of a structure file ASE reads (CIF, POSCAR, …)")
    return parse_material(read_toml(text, source, ModelFileError), source=source, base_dir=base_dir)


#: Largest size of a number in a model file, in its units (eV, Å, amu, 1/bohr): no parameter of a crystal is
#: physical beyond it, and values near the float limit overflow the model's matrices.
MAX_MAGNITUDE = 1e4
#: Largest distance exponent η of a bond integral and Slater exponent ζ (1/bohr): (d₀/d)^η and e^(−ζr)
#: stay finite over the bond lengths and cells drawn (tabulated values are below 20).
MAX_EXPONENT = 100.0


def _bounded(value: Any) -> bool:
    """A finite int or float (not a bool) of size at most :data:`MAX_MAGNITUDE`."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))
            and abs(value) <= MAX_MAGNITUDE)


class _Reader:
    """Typed access to a TOML table with errors that name file and key."""

    def __init__(self, table: Any, where: str, source: str):
        if not isinstance(table, dict):
            raise ModelFileError(f"{source}: [{where}] must be a table, got {table!r}")
        self.table, self.where, self.source = table, where, source

    def fail(self, key: str, message: str) -> ModelFileError:
        return ModelFileError(f"{self.source}: {self.where}.{key} {message}")

    def get(self, key: str, default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise ModelFileError(f"{self.source}: missing key {self.where}.{key}")
            return default
        return self.table[key]

    def number(self, key: str, default: Any = ..., positive: bool = False, limit: float = MAX_MAGNITUDE) -> float:
        value = self.get(key, default)
        if not (_bounded(value) and abs(value) <= limit):
            raise self.fail(key, f"must be a number of size at most {limit:g}, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be positive, got {value!r}")
        return float(value)

    def vector(self, key: str, length: int, default: Any = ...) -> np.ndarray:
        value = self.get(key, default)
        if not (isinstance(value, list) and len(value) == length and all(map(_bounded, value))):
            raise self.fail(key, f"must be a list of {length} numbers of size at most {MAX_MAGNITUDE:g}, got {value!r}")
        return np.array(value, dtype=float)

    def check_keys(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            raise ModelFileError(
                f"{self.source}: unknown key(s) {', '.join(unknown)} in [{self.where}]; "
                f"allowed: {', '.join(sorted(allowed))}"
            )


def parse_material(raw: dict[str, Any], source: str, base_dir: Path) -> MaterialSpec:
    """Validate a parsed model file and build a :class:`MaterialSpec`."""
    top = _Reader(raw, "<file>", source)
    top.check_keys({"material", "structure", "species", "electrons", "phonons", "maps"})
    mat = _Reader(top.get("material"), "material", source)
    mat.check_keys({"name", "description", "references"})
    name = str(mat.get("name"))
    structure = _Reader(top.get("structure"), "structure", source)
    if isinstance(structure.table, dict) and "file" in structure.table:
        atoms, labels = _structure_from_file(structure, source, base_dir)
    else:
        atoms, labels = _parse_structure(structure, source)
    has_model = "electrons" in raw
    species_table = _Reader(top.get("species", {}), "species", source)
    species = {
        sym: _parse_species(sym, _Reader(tab, f"species.{sym}", source), has_model)
        for sym in sorted(set(atoms.get_chemical_symbols()))
        for tab in [species_table.get(sym, {} if not has_model else ...)]
    }
    extra = sorted(set(species_table.table) - set(species))
    if extra:
        raise ModelFileError(f"{source}: [species] lists {', '.join(extra)}, which no site uses")
    atoms.set_masses([species[s].mass for s in atoms.get_chemical_symbols()])
    occupied, hoppings = _parse_electrons(top, source, atoms, labels, species) if has_model else (None, ())
    phonons = top.get("phonons", {})
    if not isinstance(phonons, dict):
        raise ModelFileError(f"{source}: [phonons] must be a table")
    maps = top.get("maps", [])
    if not isinstance(maps, list) or not all(isinstance(entry, dict) for entry in maps):
        raise ModelFileError(f"{source}: [[maps]] must be an array of tables (the keys of [[maps.modes]] of a run "
                             "configuration)")
    refs = mat.get("references", [])
    return MaterialSpec(
        name=name,
        description=str(mat.get("description", "")),
        references=tuple(str(r) for r in refs),
        atoms=atoms,
        labels=labels,
        species=species,
        occupied_bands=occupied,
        hoppings=hoppings,
        phonons=dict(phonons),
        source=source,
        base_dir=base_dir,
        raw=raw,
        maps=tuple(dict(entry) for entry in maps),
    )


def material_from_structure(path: Path) -> MaterialSpec:
    """A structure file (any format ASE reads) as a material: the crystal alone, named after the file, with
    ASE's atomic masses, no tight-binding model and no ``[phonons]`` (the first-principles engines compute
    both). A layer is centred at z = 0; a bulk crystal stays bulk (:func:`~phonomag.crystal.structure_file.
    read_crystal`)."""
    from phonomag.crystal.structure_file import StructureFileError, read_crystal

    try:
        atoms = read_crystal(path, MIN_LAYER_VACUUM)
    except StructureFileError as exc:
        raise ModelFileError(str(exc)) from None
    symbols = atoms.get_chemical_symbols()
    atoms.set_masses([atomic_masses[atomic_numbers[s]] for s in symbols])
    species = {s: SpeciesSpec(s, (), (), 0.0, float(atomic_masses[atomic_numbers[s]])) for s in sorted(set(symbols))}
    path = Path(path)
    return MaterialSpec(name=path.stem, description=f"crystal of {path.name}", references=(), atoms=atoms,
                        labels=default_labels(symbols), species=species, occupied_bands=None, hoppings=(),
                        phonons={}, source=str(path), base_dir=path.resolve().parent,
                        raw={"structure": {"file": str(path)}})


def default_labels(symbols) -> tuple[str, ...]:
    """Site labels: the symbol, numbered when it repeats (Se_1, Se_2)."""
    symbols = list(symbols)
    return tuple(s if symbols.count(s) == 1 else f"{s}_{symbols[:i + 1].count(s)}" for i, s in enumerate(symbols))


def _parse_electrons(top: _Reader, source: str, atoms: Atoms, labels, species) -> tuple[int, tuple]:
    """``[electrons]``: the occupied bands and the hoppings of the tight-binding model."""
    electrons = _Reader(top.get("electrons"), "electrons", source)
    electrons.check_keys({"occupied_bands", "hoppings"})
    n_basis = 2 * sum(len(species[s].orbitals) for s in atoms.get_chemical_symbols())
    occupied = electrons.get("occupied_bands")
    if isinstance(occupied, bool) or not isinstance(occupied, int) or not 0 < occupied < n_basis:
        raise electrons.fail(
            "occupied_bands",
            f"must be an integer between 1 and {n_basis - 1} (the spinor basis has "
            f"{n_basis} states), got {occupied!r}",
        )
    hop_list = electrons.get("hoppings")
    if not isinstance(hop_list, list) or not hop_list:
        raise electrons.fail("hoppings", "must be a non-empty array of tables [[electrons.hoppings]]")
    symbols = atoms.get_chemical_symbols()
    shells: dict[str, set[str]] = {}
    for label, symbol in zip(labels, symbols, strict=True):
        letters = {_L_LETTER[ORBITAL_INDEX[o][0]] for o in species[symbol].orbitals}
        for key in (label, symbol):
            shells.setdefault(key, set()).update(letters)
    return occupied, tuple(
        _parse_hopping(_Reader(h, f"electrons.hoppings[{i}]", source), shells)
        for i, h in enumerate(hop_list)
    )


def _structure_from_file(reader: _Reader, source: str, base_dir: Path) -> tuple[Atoms, tuple[str, ...]]:
    """``[structure] file = "crystal.cif"`` (any ASE-readable file: a layer with ≥ 8 Å of vacuum, centred, or a
    bulk crystal, :func:`phonomag.crystal.structure_file.read_crystal`) and optional ``labels`` (default: the
    symbol, numbered when repeated: Se_1, Se_2)."""
    from phonomag.crystal.structure_file import StructureFileError, read_crystal

    reader.check_keys({"file", "labels"})
    path = Path(str(reader.get("file")))
    try:
        atoms = read_crystal(path if path.is_absolute() else base_dir / path, MIN_LAYER_VACUUM)
    except StructureFileError as exc:
        raise reader.fail("file", str(exc)) from None
    symbols = atoms.get_chemical_symbols()
    labels = reader.get("labels", list(default_labels(symbols)))
    if not (isinstance(labels, list) and len(labels) == len(atoms) and all(isinstance(x, str) for x in labels)
            and len(set(labels)) == len(labels)):
        raise reader.fail("labels", f"must be {len(atoms)} distinct names, one per atom of {path} "
                                    f"({', '.join(symbols)}), got {labels!r}")
    return atoms, tuple(labels)


def _parse_structure(reader: _Reader, source: str) -> tuple[Atoms, tuple[str, ...]]:
    reader.check_keys({"cell", "pbc", "sites"})
    cell_value = reader.get("cell")
    try:
        cell = np.array(cell_value, dtype=float)
    except (TypeError, ValueError):
        cell = None
    if cell is None or cell.shape != (3, 3) or not np.all(np.isfinite(cell)) or np.abs(cell).max() > MAX_MAGNITUDE:
        raise reader.fail("cell", f"must be 3 lattice vectors (3×3 numbers, Å), got {cell_value!r}")
    if abs(np.linalg.det(cell)) < 1e-6:
        raise reader.fail("cell", "has (nearly) zero volume: the lattice vectors are not independent")
    pbc = reader.get("pbc", [True, True, True])
    if not (isinstance(pbc, list) and len(pbc) == 3 and all(isinstance(p, bool) for p in pbc)):
        raise reader.fail("pbc", f"must be three booleans, got {pbc!r}")
    sites = reader.get("sites")
    if not isinstance(sites, list) or not sites:
        raise reader.fail("sites", "must be a non-empty array of tables [[structure.sites]]")
    symbols, positions, labels = [], [], []
    for i, site in enumerate(sites):
        sr = _Reader(site, f"structure.sites[{i}]", source)
        sr.check_keys({"species", "label", "position", "fractional"})
        sym = str(sr.get("species"))
        if sym not in atomic_numbers:
            raise sr.fail("species", f"is not a chemical element: {sym!r}")
        if ("position" in site) == ("fractional" in site):
            raise ModelFileError(
                f"{source}: structure.sites[{i}] needs exactly one of 'position' (Cartesian Å) "
                "or 'fractional' (reduced coordinates)"
            )
        if "position" in site:
            positions.append(sr.vector("position", 3))
        else:
            positions.append(sr.vector("fractional", 3) @ cell)
        symbols.append(sym)
        labels.append(str(sr.get("label", sym)))
    if len(set(labels)) != len(labels):
        raise reader.fail("sites", f"site labels must be unique, got {labels}")
    atoms = Atoms(symbols=symbols, positions=np.array(positions), cell=cell, pbc=pbc)
    dist = atoms.get_all_distances(mic=True) + 1e3 * np.eye(len(atoms))
    if dist.min() < 0.5:
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        raise reader.fail("sites", f"{labels[i]} and {labels[j]} are only {dist.min():.3f} Å apart")
    return atoms, tuple(labels)


def _parse_species(symbol: str, reader: _Reader, has_model: bool) -> SpeciesSpec:
    """``[species.X]``: orbitals and on-site terms (required with ``[electrons]``), and the mass (amu, default
    ASE's)."""
    reader.check_keys({"orbitals", "onsite", "soc", "mass", "slater"})
    mass = reader.number("mass", float(atomic_masses[atomic_numbers[symbol]]), positive=True)
    if not has_model:
        model_keys = sorted(set(reader.table) - {"mass"})
        if model_keys:
            raise ModelFileError(f"{reader.source}: [{reader.where}] sets {', '.join(model_keys)}, which only a "
                                 "tight-binding model ([electrons]) uses; add [electrons] or keep only mass")
        return SpeciesSpec(name=symbol, orbitals=(), onsite=(), soc=0.0, mass=mass)
    orbitals = reader.get("orbitals")
    if not isinstance(orbitals, list) or not orbitals:
        raise reader.fail("orbitals", f"must be a non-empty list of orbital names, got {orbitals!r}")
    for orb in orbitals:
        if orb not in ORBITAL_INDEX:
            raise reader.fail(
                "orbitals", f"has unknown orbital {orb!r}; valid: {', '.join(ORBITAL_INDEX)}"
            )
    if len(set(orbitals)) != len(orbitals):
        raise reader.fail("orbitals", f"lists an orbital twice: {orbitals}")
    onsite = _Reader(reader.get("onsite"), f"{reader.where}.onsite", reader.source)
    onsite.check_keys(set(orbitals))
    energies = tuple(onsite.number(o) for o in orbitals)
    slater_table = _Reader(reader.get("slater", {}), f"{reader.where}.slater", reader.source)
    shells = {_L_LETTER[ORBITAL_INDEX[o][0]] for o in orbitals}
    slater_table.check_keys(shells)
    slater = {}
    for shell in slater_table.table:
        entry = _Reader(slater_table.get(shell), f"{reader.where}.slater.{shell}", reader.source)
        entry.check_keys({"n", "zeta"})
        n = entry.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n <= "spd".index(shell):
            raise entry.fail("n", f"must be an integer principal quantum number > l, got {n!r}")
        slater[shell] = (n, entry.number("zeta", positive=True, limit=MAX_EXPONENT))
    return SpeciesSpec(
        name=symbol,
        orbitals=tuple(orbitals),
        onsite=energies,
        soc=reader.number("soc", 0.0),
        mass=mass,
        slater=slater,
    )


def _parse_hopping(reader: _Reader, shells: dict[str, set[str]]) -> HoppingSpec:
    """One hopping table; ``shells`` maps every site label and species name to its shell letters."""
    reader.check_keys({"pair", "distance", "tolerance", "cutoff", "exponents", *CHANNEL_KEYS})
    pair = reader.get("pair")
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
        raise reader.fail("pair", f"must be two site labels or species, got {pair!r}")
    for p in pair:
        if p not in shells:
            raise reader.fail("pair", f"names {p!r}, which is neither a site label nor a species "
                              f"of the structure ({', '.join(sorted(shells))})")
    integrals = {k: reader.number(k) for k in CHANNEL_KEYS if k in reader.table}
    if not integrals:
        raise reader.fail("<integrals>", f"gives no bond integral; use keys such as {', '.join(CHANNEL_KEYS[:4])}")
    _check_spellings(reader, pair, integrals, shells[pair[0]], shells[pair[1]])
    exps = _Reader(reader.get("exponents", {}), f"{reader.where}.exponents", reader.source)
    exps.check_keys(set(integrals))
    distance = reader.number("distance", positive=True)
    cutoff = reader.number("cutoff", None, positive=True) if "cutoff" in reader.table else None
    if cutoff is not None and cutoff < distance:
        raise reader.fail("cutoff", f"= {cutoff} Å is shorter than the table's own distance {distance} Å; "
                          "it must be at least that long")
    return HoppingSpec(
        pair=(pair[0], pair[1]),
        distance=distance,
        tolerance=reader.number("tolerance", 0.05, positive=True),
        integrals=integrals,
        exponents={k: exps.number(k, limit=MAX_EXPONENT) for k in exps.table},
        cutoff=cutoff,
    )


def _check_spellings(reader: _Reader, pair: list[str], integrals: dict[str, float], first: set[str],
                     second: set[str]) -> None:
    """Every channel key must name orbitals the pair has; "ab" and "ba" of one channel may both be
    given only when they are different integrals (a on the first atom and b on the second, and b on
    the first and a on the second, both exist; never for a pair of identical names)."""
    for key in integrals:
        a, b = key[0], key[1]
        ordered = a in first and b in second
        reverse = b in first and a in second
        if not (ordered or reverse):
            raise reader.fail(key, f"couples {a} and {b} orbitals, but the pair {pair} has shells "
                              f"{''.join(sorted(first))} and {''.join(sorted(second))}: it would never be used")
        other = f"{b}{a}{key[2:]}"
        if key < other and other in integrals and (pair[0] == pair[1] or not (ordered and reverse)):
            raise reader.fail(key, f"and {other} are both given, but for the pair {pair} (shells "
                              f"{''.join(sorted(first))} and {''.join(sorted(second))}) they name the same "
                              "integral; keep one of the two spellings")
