"""Stillinger–Weber potential for MX₂ monolayers (M = Mo, W; X = S, Se) as an ASE calculator.

Functional form and conventions of J.-W. Jiang and Y.-P. Zhou, arXiv:1704.03147
(LAMMPS ``sw`` form with ε = 1, p = 4, q = 0, γ = 1; energies in eV, lengths in Å):

    E = Σ_{M–X bonds} φ₂(r) + Σ_{angles j–i–k} φ₃(r_ij, r_ik, θ_jik)
    φ₂(r) = A [B (σ/r)⁴ − 1] exp(σ / (r − r_c)),                   r < r_c = aσ
    φ₃    = λ exp(σ/(r_ij − r_c) + σ/(r_ik − r_c)) (cos θ_jik − cos θ₀)²

Each angle (unordered neighbour pair j, k of a centre i, both within r_c) counts
once. Three kinds of angles carry a term:

* ``mxx_same``: centre M, both X in the same sublayer (same sign of z_X − z_M);
* ``mxx_vertical``: centre M, a top X and the bottom X below it. Jiang encodes this
  with twelve atom types; here a cross-sublayer pair counts when its angle is below
  ``VERTICAL_ANGLE_MAX`` (the vertical pair subtends ≈ 83°, the others ≈ 136°);
* ``xmm``: centre X, two M neighbours.

The sublayer normal is the Cartesian z axis. Parameters come from TOML files
(``phonomag/data/potentials/sw_<name>.toml``), read by :func:`load_sw_parameters`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list

from phonomag.errors import PhononSourceError

#: Cross-sublayer X–M–X angles below this (degrees) are the vertical pairs.
VERTICAL_ANGLE_MAX = 110.0
_ANGLE_KINDS = ("mxx_same", "mxx_vertical", "xmm")
_POTENTIALS = resources.files("phonomag") / "data" / "potentials"


@dataclass(frozen=True)
class SWParameters:
    """One MX₂ Stillinger–Weber parameter set (LAMMPS convention, see module docstring).

    A, lambdas in eV; sigma in Å; B and a dimensionless; r_c = a σ (Å).
    angles: kind ("mxx_same", "mxx_vertical", "xmm") → (λ in eV, cos θ₀).
    equilibrium: (lattice constant a, X height above/below the M plane), Å.
    """

    name: str
    metal: str
    chalcogen: str
    A: float
    B: float
    sigma: float
    a: float
    angles: dict[str, tuple[float, float]]
    equilibrium: tuple[float, float]
    reference: str
    source: str

    @property
    def cutoff(self) -> float:
        """r_c = a σ in Å."""
        return self.a * self.sigma


def load_sw_parameters(potential: str | Path, base_dir: Path | None = None) -> SWParameters:
    """Read a built-in parameter set by name ("WSe2") or a ``sw_*.toml`` file by path.

    A relative path is taken relative to ``base_dir``. Raises PhononSourceError
    naming the file and key for missing or malformed entries.
    """
    text, source = _read_potential_text(str(potential), base_dir)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PhononSourceError(f"potential file {source} is not valid TOML: {exc}") from None
    try:
        head, two, three, eq = (data[k] for k in ("potential", "two_body", "three_body", "equilibrium"))
        angles = {kind: (_number(three[kind], "lambda", source), _number(three[kind], "cos_theta0", source))
                  for kind in _ANGLE_KINDS}
        params = SWParameters(
            name=str(head["name"]), metal=str(head["metal"]), chalcogen=str(head["chalcogen"]),
            A=_number(two, "A", source), B=_number(two, "B", source),
            sigma=_number(two, "sigma", source), a=_number(two, "a", source),
            angles=angles,
            equilibrium=(_number(eq, "a", source), _number(eq, "height", source)),
            reference=str(head.get("reference", "")), source=source,
        )
    except KeyError as exc:
        raise PhononSourceError(f"potential file {source} lacks the entry {exc.args[0]!r}") from None
    if params.sigma <= 0 or params.a <= 0:
        raise PhononSourceError(
            f"potential file {source}: sigma = {params.sigma} and a = {params.a} must be positive")
    return params


def _read_potential_text(potential: str, base_dir: Path | None) -> tuple[str, str]:
    if potential.endswith(".toml") or "/" in potential:
        path = Path(potential)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise PhononSourceError(f"potential file {path} does not exist")
        return path.read_text(), str(path)
    entry = _POTENTIALS / f"sw_{potential}.toml"
    if not entry.is_file():
        raise PhononSourceError(
            f"unknown built-in potential {potential!r}; built-in: {', '.join(builtin_potentials())} "
            "(or give the path of a sw_*.toml file)")
    return entry.read_text(), f"built-in potential {potential!r}"


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
    rc = params.cutoff
    i, j, D = neighbor_list("ijD", atoms, {(params.metal, params.chalcogen): rc})
    r = np.linalg.norm(D, axis=1)
    grad = np.zeros_like(D)  # ∂E/∂D for every directed neighbour entry (D = r_j − r_i)

    # two-body, each M–X bond once (entries with an M centre)
    bond = is_m[i]
    rb = r[bond]
    s4 = (params.sigma / rb) ** 4
    ex = np.exp(params.sigma / (rb - rc))
    energy = float(np.sum(params.A * (params.B * s4 - 1.0) * ex))
    dphi = params.A * ex * (-4.0 * params.B * s4 / rb - (params.B * s4 - 1.0) * params.sigma / (rb - rc) ** 2)
    grad[bond] += (dphi / rb)[:, None] * D[bond]

    # three-body: all unordered pairs of neighbour entries that share a centre
    e1, e2 = _neighbour_pairs(i, len(atoms))
    centre = i[e1]
    lam, cos0 = _angle_parameters(params, is_m[centre], D[e1], D[e2], r[e1], r[e2])
    keep = lam != 0.0
    e1, e2, lam, cos0 = e1[keep], e2[keep], lam[keep], cos0[keep]
    d1, d2, r1, r2 = D[e1], D[e2], r[e1], r[e2]
    cos = np.einsum("ij,ij->i", d1, d2) / (r1 * r2)
    radial = lam * np.exp(params.sigma / (r1 - rc) + params.sigma / (r2 - rc))
    dcos = cos - cos0
    energy += float(np.sum(radial * dcos**2))
    de_dr1 = -radial * dcos**2 * params.sigma / (r1 - rc) ** 2
    de_dr2 = -radial * dcos**2 * params.sigma / (r2 - rc) ** 2
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


def _neighbour_pairs(centres: np.ndarray, natoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (e1, e2), e1 < e2, of all pairs of neighbour entries with the same centre.

    ``centres`` is the sorted centre column of an ASE neighbour list.
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
    """(λ, cos θ₀) per angle; λ = 0 for angles without a term.

    The neighbour list holds only M–X entries, so an M centre has two X neighbours
    and an X centre two M neighbours.
    """
    lam = np.zeros(len(centre_is_m))
    cos0 = np.zeros(len(centre_is_m))
    same_layer = np.sign(d1[:, 2]) == np.sign(d2[:, 2])
    cos = np.einsum("ij,ij->i", d1, d2) / (r1 * r2)
    vertical = ~same_layer & (cos > np.cos(np.radians(VERTICAL_ANGLE_MAX)))
    for kind, mask in (("mxx_same", centre_is_m & same_layer),
                       ("mxx_vertical", centre_is_m & vertical),
                       ("xmm", ~centre_is_m)):
        lam[mask], cos0[mask] = params.angles[kind]
    return lam, cos0
