"""Stillinger–Weber potentials for MX₂ monolayers (M = Mo, W; X = S, Se) as an ASE calculator.

The LAMMPS ``sw`` functional form (energies in eV, lengths in Å), with the
energy scale ε folded into A and λ:

    E = Σ_{pairs} φ₂(r) + Σ_{angles j–i–k} φ₃(r_ij, r_ik, θ_jik)
    φ₂(r) = A [B (σ/r)^p − (σ/r)^q] exp(σ / (r − r_c)),                   r < r_c = aσ
    φ₃    = λ exp(γσ/(r_ij − r_c) + γσ/(r_ik − r_c)) (cos θ_jik − cos θ₀)²

Two-body terms act between M–X pairs and, where a parameter set has them,
between M–M and X–X pairs (``mx``, ``mm``, ``xx``). Three-body terms act on the
angles between two M–X bonds of a centre i (both within the M–X cutoff); σ and
r_c in φ₃ are those of the M–X pair, λ, γ and θ₀ those of the angle's kind.
Each angle (unordered neighbour pair j, k of i) counts once and has one kind:

* ``mxx_same``: centre M, both X in the same sublayer (same sign of z_X − z_M);
* ``mxx_vertical``: centre M, a top X and the bottom X below it (≈ 83°);
* ``mxx_cross``: centre M, a top X and a bottom X not below it (≈ 136°);
* ``xmm``: centre X, two M neighbours.

A cross-sublayer pair is vertical when its angle is below ``VERTICAL_ANGLE_MAX``.
A kind a parameter set does not list carries no term. This covers the form of
J.-W. Jiang and Y.-P. Zhou, arXiv:1704.03147 (p = 4, q = 0, γ = 1, M–X pairs
only, no ``mxx_cross``; their twelve LAMMPS atom types encode the same angle
kinds) and of the particle-swarm fits of Kandemir, Mobaraki et al. (M–M and X–X
pairs, γ ≠ 1). The sublayer normal is the Cartesian z axis. Parameters come from
TOML files (``phonomag/data/potentials/sw_<name>.toml``), read by
:func:`load_sw_parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list

from phonomag.errors import PhononSourceError, read_text, read_toml

#: Cross-sublayer X–M–X angles below this (degrees) are the vertical pairs.
VERTICAL_ANGLE_MAX = 110.0
ANGLE_KINDS = ("mxx_same", "mxx_vertical", "mxx_cross", "xmm")
#: TOML table of each pair kind; [two_body] is the M–X pair.
_PAIR_TABLES = {"mx": "two_body", "mm": "two_body_mm", "xx": "two_body_xx"}
_POTENTIALS = resources.files("phonomag") / "data" / "potentials"


@dataclass(frozen=True)
class PairTerm:
    """Two-body parameters of one pair kind (LAMMPS convention, ε folded into A).

    A in eV; sigma in Å; B, a, p and q dimensionless.
    """

    A: float
    B: float
    sigma: float
    a: float
    p: float = 4.0
    q: float = 0.0

    @property
    def cutoff(self) -> float:
        """r_c = a σ in Å."""
        return self.a * self.sigma


@dataclass(frozen=True)
class SWParameters:
    """One MX₂ Stillinger–Weber parameter set (see the module docstring).

    pairs: pair kind ("mx", "mm", "xx") → PairTerm; "mx" is always present.
    angles: angle kind (see ``ANGLE_KINDS``) → (λ in eV, γ, cos θ₀); kinds not
    listed carry no term.
    equilibrium: (lattice constant a, X height above/below the M plane), Å.
    """

    name: str
    metal: str
    chalcogen: str
    pairs: dict[str, PairTerm]
    angles: dict[str, tuple[float, float, float]]
    equilibrium: tuple[float, float]
    reference: str
    source: str

    @property
    def cutoff(self) -> float:
        """Largest pair cutoff in Å."""
        return max(term.cutoff for term in self.pairs.values())


def load_sw_parameters(potential: str | Path, base_dir: Path | None = None) -> SWParameters:
    """Read a built-in parameter set by name ("WSe2") or a ``sw_*.toml`` file by path.

    A relative path is taken relative to ``base_dir``. Raises PhononSourceError
    naming the file and key for missing or malformed entries.
    """
    text, source = _read_potential_text(str(potential), base_dir)
    data = read_toml(text, f"potential file {source}", PhononSourceError)
    try:
        head, three, eq = data["potential"], data["three_body"], data["equilibrium"]
        unknown = sorted(set(three) - set(ANGLE_KINDS))
        if unknown:
            raise PhononSourceError(
                f"potential file {source}: unknown angle kind(s) {', '.join(unknown)} in [three_body]; "
                f"known: {', '.join(ANGLE_KINDS)}")
        pairs = {kind: _pair_term(data[table], source)
                 for kind, table in _PAIR_TABLES.items() if kind == "mx" or table in data}
        angles = {kind: (_number(entry, "lambda", source), _number({"gamma": 1.0} | entry, "gamma", source),
                         _number(entry, "cos_theta0", source))
                  for kind, entry in three.items()}
        params = SWParameters(
            name=str(head["name"]), metal=str(head["metal"]), chalcogen=str(head["chalcogen"]),
            pairs=pairs, angles=angles,
            equilibrium=(_number(eq, "a", source), _number(eq, "height", source)),
            reference=str(head.get("reference", "")), source=source,
        )
    except KeyError as exc:
        raise PhononSourceError(f"potential file {source} lacks the entry {exc.args[0]!r}") from None
    return params


def _pair_term(table: dict, source: str) -> PairTerm:
    optional = {key: _number(table, key, source) for key in ("p", "q") if key in table}
    term = PairTerm(A=_number(table, "A", source), B=_number(table, "B", source),
                    sigma=_number(table, "sigma", source), a=_number(table, "a", source), **optional)
    if term.sigma <= 0 or term.a <= 0:
        raise PhononSourceError(f"potential file {source}: sigma = {term.sigma} and a = {term.a} must be positive")
    return term


def potential_path(potential: str, base_dir: Path | None = None) -> tuple[Path, str]:
    """(file, description) of a potential given by built-in name ("WSe2") or by path (relative to ``base_dir``)."""
    if potential.endswith(".toml") or "/" in potential:
        path = Path(potential)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise PhononSourceError(f"potential file {path} does not exist")
        return path, str(path)
    entry = _POTENTIALS / f"sw_{potential}.toml"
    if not entry.is_file():
        raise PhononSourceError(
            f"unknown built-in potential {potential!r}; built-in: {', '.join(builtin_potentials())} "
            "(or give the path of a sw_*.toml file)")
    return Path(str(entry)), f"built-in potential {potential!r}"


def _read_potential_text(potential: str, base_dir: Path | None) -> tuple[str, str]:
    path, source = potential_path(potential, base_dir)
    return read_text(path, PhononSourceError, "potential file"), source


def builtin_potentials() -> list[str]:
    """Names of the parameter files shipped in ``phonomag/data/potentials``."""
    return sorted(p.name[3:-5] for p in _POTENTIALS.iterdir() if p.name.startswith("sw_") and p.name.endswith(".toml"))


def _number(table: dict, key: str, source: str) -> float:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PhononSourceError(f"potential file {source}: {key} = {value!r} is not a number")
    return float(value)


def mx2_cell(params: SWParameters, vacuum: float = 20.0, a: float | None = None,
             height: float | None = None) -> Atoms:
    """Primitive MX₂ cell (M, X_top, X_bottom), by default at the potential's equilibrium.

    Cell [[a, 0, 0], [−a/2, a√3/2, 0], [0, 0, vacuum]] (Å), M at the origin, X at
    (0, a/√3, ±height): the layout of ``phonomag/data/materials/WSe2.toml``.
    pbc = (True, True, False).
    """
    a = params.equilibrium[0] if a is None else a
    height = params.equilibrium[1] if height is None else height
    y = a / np.sqrt(3.0)
    return Atoms(
        symbols=[params.metal, params.chalcogen, params.chalcogen],
        positions=[[0.0, 0.0, 0.0], [0.0, y, height], [0.0, y, -height]],
        cell=[[a, 0.0, 0.0], [-a / 2, a * np.sqrt(3.0) / 2, 0.0], [0.0, 0.0, vacuum]],
        pbc=[True, True, False],
    )


class StillingerWeberMX2(Calculator):
    """ASE calculator: energy (eV), forces (eV/Å) and stress (eV/Å³), all analytic."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, params: SWParameters, **kwargs):
        super().__init__(**kwargs)
        self.params = params

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        energy, forces, virial = sw_energy_forces(self.atoms, self.params)
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["forces"] = forces
        if self.atoms.cell.rank == 3:
            stress = virial / self.atoms.get_volume()
            self.results["stress"] = stress.flat[[0, 4, 8, 5, 2, 1]]


def sw_energy_forces(atoms: Atoms, params: SWParameters) -> tuple[float, np.ndarray, np.ndarray]:
    """Energy (eV), forces (natoms, 3) eV/Å and virial Σ D ⊗ ∂E/∂D (3, 3) eV of ``atoms``."""
    symbols = np.array(atoms.get_chemical_symbols())
    is_m, is_x = symbols == params.metal, symbols == params.chalcogen
    unknown = sorted(set(symbols[~(is_m | is_x)]))
    if unknown:
        raise PhononSourceError(
            f"the {params.name} potential describes {params.metal} and {params.chalcogen} only, "
            f"not {', '.join(unknown)}")
    species = {"mx": (params.metal, params.chalcogen), "mm": (params.metal, params.metal),
               "xx": (params.chalcogen, params.chalcogen)}
    i, j, D = neighbor_list("ijD", atoms, {species[k]: term.cutoff for k, term in params.pairs.items()})
    r = np.linalg.norm(D, axis=1)
    kind = np.where(is_m[i] & is_m[j], "mm", np.where(is_x[i] & is_x[j], "xx", "mx"))
    grad = np.zeros_like(D)  # ∂E/∂D for every directed neighbour entry (D = r_j − r_i)

    # two-body: every pair has two directed entries (also a pair of periodic images
    # of one atom, i = j), each carrying half of φ₂
    energy = 0.0
    for name, term in params.pairs.items():
        sel = kind == name
        phi, dphi = _pair_energy(r[sel], term)
        energy += 0.5 * float(np.sum(phi))
        grad[sel] += (0.5 * dphi / r[sel])[:, None] * D[sel]

    # three-body: all unordered pairs of M–X entries that share a centre
    mx = np.flatnonzero(kind == "mx")
    e1, e2 = (mx[e] for e in _neighbour_pairs(i[mx], len(atoms)))
    lam, gamma, cos0 = _angle_parameters(params, is_m[i[e1]], D[e1], D[e2], r[e1], r[e2])
    keep = lam != 0.0
    e1, e2, lam, gamma, cos0 = e1[keep], e2[keep], lam[keep], gamma[keep], cos0[keep]
    d1, d2, r1, r2 = D[e1], D[e2], r[e1], r[e2]
    rho, rc = gamma * params.pairs["mx"].sigma, params.pairs["mx"].cutoff
    cos = np.einsum("ij,ij->i", d1, d2) / (r1 * r2)
    radial = lam * np.exp(rho / (r1 - rc) + rho / (r2 - rc))
    dcos = cos - cos0
    energy += float(np.sum(radial * dcos**2))
    de_dr1 = -radial * dcos**2 * rho / (r1 - rc) ** 2
    de_dr2 = -radial * dcos**2 * rho / (r2 - rc) ** 2
    de_dcos = 2.0 * radial * dcos
    g1 = (de_dr1 / r1)[:, None] * d1 + de_dcos[:, None] * (d2 / (r1 * r2)[:, None] - (cos / r1**2)[:, None] * d1)
    g2 = (de_dr2 / r2)[:, None] * d2 + de_dcos[:, None] * (d1 / (r1 * r2)[:, None] - (cos / r2**2)[:, None] * d2)
    np.add.at(grad, e1, g1)
    np.add.at(grad, e2, g2)

    # D = r_j − r_i: ∂E/∂r_j = +grad, ∂E/∂r_i = −grad
    forces = np.zeros((len(atoms), 3))
    for axis in range(3):
        forces[:, axis] = np.bincount(i, grad[:, axis], len(atoms)) - np.bincount(j, grad[:, axis], len(atoms))
    virial = D.T @ grad
    return energy, forces, virial


def _pair_energy(r: np.ndarray, term: PairTerm) -> tuple[np.ndarray, np.ndarray]:
    """φ₂(r) (eV) and dφ₂/dr (eV/Å) of one pair kind, r < r_c (Å)."""
    sp, sq = (term.sigma / r) ** term.p, (term.sigma / r) ** term.q
    shape = term.B * sp - sq
    ex = term.A * np.exp(term.sigma / (r - term.cutoff))
    dshape = (-term.p * term.B * sp + term.q * sq) / r
    return ex * shape, ex * (dshape - shape * term.sigma / (r - term.cutoff) ** 2)


def _neighbour_pairs(centres: np.ndarray, natoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (e1, e2), e1 < e2, into ``centres`` of all pairs of entries with the same centre.

    ``centres`` is sorted (a subset of the centre column of an ASE neighbour list).
    """
    counts = np.bincount(centres, minlength=natoms)
    if counts.size == 0 or counts.max() < 2:
        return np.zeros(0, int), np.zeros(0, int)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    a, b = np.triu_indices(int(counts.max()), k=1)
    valid = b[None, :] < counts[:, None]
    e1 = (first[:, None] + a[None, :])[valid]
    e2 = (first[:, None] + b[None, :])[valid]
    return e1, e2


def _angle_parameters(params, centre_is_m, d1, d2, r1, r2):
    """(λ, γ, cos θ₀) per angle; λ = 0 for angles without a term.

    The angles are between M–X entries only, so an M centre has two X
    neighbours and an X centre two M neighbours.
    """
    lam, gamma, cos0 = np.zeros((3, len(centre_is_m)))
    same_layer = np.sign(d1[:, 2]) == np.sign(d2[:, 2])
    cos = np.einsum("ij,ij->i", d1, d2) / (r1 * r2)
    vertical = cos > np.cos(np.radians(VERTICAL_ANGLE_MAX))
    masks = {"mxx_same": centre_is_m & same_layer,
             "mxx_vertical": centre_is_m & ~same_layer & vertical,
             "mxx_cross": centre_is_m & ~same_layer & ~vertical,
             "xmm": ~centre_is_m}
    for kind, values in params.angles.items():
        lam[masks[kind]], gamma[masks[kind]], cos0[masks[kind]] = values
    return lam, gamma, cos0
