"""Real-space charge–spin density of a phonon's electronic response (the paper's Figs. 1–2).

The response of one mode is known as real-space orbital density matrices P(L)
(:func:`phonomag.engines.tightbinding.response.orbital_response` contracted with the mode's displacement
amplitudes). On a grid it reads (docs/physics.md §3)

    N(r)  = Σ_{R,R′} e^{iq·(R+τ_μ)} P(R − R′)[sμ, s′ν] χ_μ(r − R − τ_μ) χ_ν(r − R′ − τ_ν),
    δñ(r) = e^{−iq·r} N(r)                   (cell periodic),
    δñ^α  = ½ Tr[δñ σ_α],  α = 0, x, y, z    (Pauli components).

Units and readings
------------------
* Lengths Å, wavevectors 1/Å (Cartesian) or reduced (k·a_i = 2π k_i).
* P of a mode (displacements in Å contracted with P per Å) is dimensionless, the
  orbitals χ are in Å^{-3/2}, so δñ^α is in electrons/Å³ (Pauli component):
  induced electrons 2 n⁰, spin polarisation ⟨σ⟩ = 2 M, spin moment m ≈ −2 μ_B M, all per Å³.
* Time dependence of one coherent mode (phase φ = ωt):
  n^α(r, t) = Re[δñ^α(r) e^{i(q·r − φ)}],  u_κ(R, t) = Re[u_κ e^{i(q·(R+τ_κ) − φ)}].

Orbitals
--------
Slater-type orbitals χ_μ = R_n(r) Y_μ(r̂) with the normalised radial function and the
real harmonics of :mod:`phonomag.engines.tightbinding.form_factors` (the angular shapes of
:mod:`phonomag.crystal.orbitals`, so phases agree with the Hamiltonian); n and ζ
(1/bohr) come from the model file's ``slater`` tables. Each orbital is cut off at the
radius r_c outside which it carries a fraction ``tolerance`` (default 1e-10) of its norm,
∫_{r_c}^∞ R² r² dr = Q(2n+1, 2ζ r_c) (regularised upper incomplete gamma).

Which lattice vectors and images
--------------------------------
A product χ_μ χ_ν vanishes unless the two orbitals overlap, |L + τ_μ − τ_ν| ≤ r_c,μ + r_c,ν,
which bounds the lattice vectors L that P is needed at (:func:`response_lattice_vectors`).
P of an insulator decays with |L|; blocks P(L) smaller than ``density_tolerance`` (default
1e-8) times the largest block are dropped, as are L absent from the list given. The image
sites around the grid points are found from the orbital cut-offs. The k grid that P comes
from must be large enough that its supercell exceeds twice the largest |L| (P(L) is
periodic over that supercell).

Grids
-----
Amplitudes are evaluated on ONE cell: in-plane fractional coordinates i/n₁, j/n₂ (the
end point excluded, the grid is periodic) and, for volumes, n₃ heights from z_min to
z_max inclusive (the layer's orbitals vanish at both ends). Maps over c₁×c₂ cells tile
the periodic amplitude and multiply by the Bloch phase (:meth:`CellField.wave`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase.units import Bohr
from scipy.special import gammainccinv

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.orbitals import ORBITAL_INDEX
from phonomag.engines.tightbinding.form_factors import angular_values, slater_radial
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.engines.tightbinding.response import PAULI4, orbital_response
from phonomag.errors import ModelFileError
from phonomag.response.fields import CellField, in_plane_grid

#: Fraction of an orbital's norm outside its cut-off radius.
ORBITAL_TOLERANCE = 1e-10
#: Blocks P(L) below this fraction of the largest block are dropped.
DENSITY_TOLERANCE = 1e-8
_BATCH = 2048


# ------------------------------------------------------------------ orbitals
def cutoff_radius(n: int, zeta_per_bohr: float, tolerance: float = ORBITAL_TOLERANCE) -> float:
    """Radius (Å) outside which the normalised Slater function r^(n−1) e^(−ζr) holds ``tolerance`` of its norm."""
    return float(gammainccinv(2 * n + 1, tolerance) / (2 * zeta_per_bohr / Bohr))


def slater_orbitals(names: tuple[str, ...], n: int, zeta_per_bohr: float, vectors: np.ndarray,
                    tolerance: float = ORBITAL_TOLERANCE) -> np.ndarray:
    """Normalised Slater orbitals χ_μ(r) (Å^{-3/2}) of one shell at vectors r (…, 3) Å → (…, n_orb).

    χ_μ = R_n(r) Y_μ(r̂), zero beyond :func:`cutoff_radius`; Y_μ are the real harmonics of
    :mod:`phonomag.crystal.orbitals` normalised on the sphere.
    """
    vectors = np.asarray(vectors, dtype=float)
    flat = vectors.reshape(-1, 3)
    r = np.linalg.norm(flat, axis=1)
    directions = flat / np.where(r > 0, r, 1.0)[:, None]
    radial = np.where(r <= cutoff_radius(n, zeta_per_bohr, tolerance), slater_radial(n, zeta_per_bohr, r), 0.0)
    values = angular_values(tuple(names), directions) * radial
    return values.T.reshape(*vectors.shape[:-1], len(names))


@dataclass(frozen=True)
class _Basis:
    """Real-space description of the model's orbitals (one spin block)."""

    atom_cutoff: np.ndarray  # (natoms,) Å, largest cut-off of the atom's orbitals
    shells: tuple  # per atom: list of (orbital indices within the atom, names, n, ζ/bohr)
    tolerance: float  # norm fraction outside the cut-off


def _basis(model: TightBindingModel, tolerance: float) -> _Basis:
    symbols = model.atoms.get_chemical_symbols()
    atom_cutoff = np.zeros(len(model.atoms))
    shells = []
    for a, orbs in enumerate(model.atom_orbitals):
        radial = model.species[symbols[a]].slater
        letters = ["spd"[ORBITAL_INDEX[o][0]] for o in orbs]
        missing = sorted(set(letters) - set(radial))
        if missing:
            raise ModelFileError(
                f"species {symbols[a]} has no Slater radial function for shell(s) {', '.join(missing)}; "
                "add a 'slater' table to the model file to draw densities in real space"
            )
        atom_shells = []
        for letter in sorted(set(letters)):
            local = np.array([i for i, x in enumerate(letters) if x == letter])
            n, zeta = radial[letter]
            atom_cutoff[a] = max(atom_cutoff[a], cutoff_radius(n, zeta, tolerance))
            atom_shells.append((local, tuple(orbs[i] for i in local), n, zeta))
        shells.append(atom_shells)
    return _Basis(atom_cutoff, tuple(shells), tolerance)


# ------------------------------------------------------- density matrices, L
def response_lattice_vectors(model: TightBindingModel, tolerance: float = ORBITAL_TOLERANCE) -> np.ndarray:
    """Cartesian lattice vectors L (nL, 3) Å at which P(L) can reach a grid point.

    Those with |L + τ_a − τ_b| ≤ r_c,a + r_c,b for some atoms a, b (orbital overlap, see the
    module docstring); only periodic directions of ``model.atoms`` are enumerated.
    """
    basis = _basis(model, tolerance)
    cell = model.atoms.cell.array
    tau = model.atoms.positions
    reach = 2 * basis.atom_cutoff.max() + np.linalg.norm(np.ptp(tau, axis=0))
    recip = model.reciprocal_cell / (2 * np.pi)
    bounds = [int(np.ceil(reach * np.linalg.norm(recip[i]))) if model.atoms.pbc[i] else 0 for i in range(3)]
    axes = [np.arange(-b, b + 1) for b in bounds]
    integers = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    vectors = integers @ cell
    separation = np.linalg.norm(vectors[:, None, None] + tau[None, :, None] - tau[None, None, :], axis=-1)
    limit = basis.atom_cutoff[:, None] + basis.atom_cutoff[None, :]
    return vectors[np.any(separation <= limit, axis=(1, 2))]


def mode_density_matrices(response: np.ndarray, displacements: np.ndarray) -> np.ndarray:
    """P_mode(L) = Σ_κα u_κα P_κα(L): (nL, natoms, 3, 2n, 2n) with u (natoms, 3) Å → (nL, 2n, 2n)."""
    return np.einsum("lkamn,ka->lmn", response, np.asarray(displacements))


def mode_density_response(model: TightBindingModel, q_reduced: np.ndarray, kgrid: tuple[int, int, int],
                  displacements: np.ndarray, kind: str = "one-sided",
                  tolerance: float = ORBITAL_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """(lattice vectors (nL, 3) Å, P_mode (nL, 2n, 2n)) of one mode, the input of the field evaluators."""
    lattice = response_lattice_vectors(model, tolerance)
    response = orbital_response(model, np.asarray(q_reduced, dtype=float), kgrid, lattice, kind)
    return lattice, mode_density_matrices(response, displacements)


def pauli_density_matrices(density_matrices: np.ndarray) -> np.ndarray:
    """Pauli components ½ Σ_{ss′} P[sμ, s′ν] σ_α[s′, s]: (nL, 2n, 2n) → (nL, 4, n, n), α = 0, x, y, z."""
    nl, nb, _ = density_matrices.shape
    blocks = density_matrices.reshape(nl, 2, nb // 2, 2, nb // 2)
    return 0.5 * np.einsum("lsmtn,ats->lamn", blocks, PAULI4)


# ------------------------------------------------------------- evaluation
def periodic_amplitude(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    density_matrices: np.ndarray,
    lattice_vectors: np.ndarray,
    points: np.ndarray,
    onsite_only: bool = False,
    tolerance: float = ORBITAL_TOLERANCE,
    density_tolerance: float = DENSITY_TOLERANCE,
) -> np.ndarray:
    """Pauli components δñ^α(r) of the cell-periodic response amplitude at arbitrary points.

    Parameters
    ----------
    model : model with ``slater`` radial functions for every shell.
    q_reduced : (3,) phonon wavevector, reduced coordinates.
    density_matrices : (nL, 2n, 2n) P_mode(L) of one mode (dimensionless, see module docstring).
    lattice_vectors : (nL, 3) Cartesian L (Å) of ``density_matrices``.
    points : (…, 3) Cartesian positions (Å), anywhere (not only in the first cell).
    onsite_only : keep only products of orbitals on the same site (R = R′, same atom).

    Returns (4, …) complex, electrons/Å³, α = 0, x, y, z.
    """
    points = np.asarray(points, dtype=float)
    flat = points.reshape(-1, 3)
    basis = _basis(model, tolerance)
    cell = model.atoms.cell.array
    q_cart = model.cartesian(np.asarray(q_reduced, dtype=float))

    pauli = pauli_density_matrices(np.asarray(density_matrices))
    integers = np.rint(np.asarray(lattice_vectors, dtype=float) @ np.linalg.inv(cell)).astype(int)
    if not np.allclose(integers @ cell, lattice_vectors, atol=1e-6):
        raise ValueError("lattice_vectors must be integer combinations of the model's cell vectors (Å)")
    size = np.abs(pauli).max(axis=(1, 2, 3))
    keep = size > density_tolerance * size.max() if size.max() > 0 else np.zeros(len(size), bool)
    pauli, integers = pauli[keep], integers[keep]

    sites_atom, sites_cell = _image_sites(model, basis, flat)
    table, offset = _lattice_table(integers, sites_cell)
    blocks = np.concatenate([pauli, np.zeros((1, *pauli.shape[1:]))])  # index len(pauli) is P = 0
    site_pos = sites_cell @ cell + model.atoms.positions[sites_atom]

    order = np.argsort(flat[:, 2], kind="stable")  # height-sorted batches touch few images
    result = np.zeros((4, len(flat)), dtype=complex)
    for start in range(0, len(flat), _BATCH):
        index = order[start:start + _BATCH]
        batch = flat[index]
        dist = np.linalg.norm(batch[:, None, :] - site_pos[None, :, :], axis=-1)
        active = np.flatnonzero(np.any(dist <= basis.atom_cutoff[sites_atom][None, :], axis=0))
        x, img_site, img_orb = _image_orbitals(model, basis, batch, site_pos, sites_atom, active)
        if x.shape[1] == 0:
            continue
        img_cell = sites_cell[img_site]
        diff = img_cell[:, None, :] - img_cell[None, :, :] + offset
        lidx = table[diff[..., 0], diff[..., 1], diff[..., 2]]
        big = blocks[lidx, :, img_orb[:, None], img_orb[None, :]]  # (i, j, α)
        if onsite_only:
            big = big * (img_site[:, None] == img_site[None, :])[..., None]
        phase = np.exp(1j * site_pos[img_site] @ q_cart)
        big = (phase[:, None, None] * big).transpose(0, 2, 1).reshape(len(img_site), -1)
        left = (x @ big.real + 1j * (x @ big.imag)).reshape(len(batch), 4, -1)
        result[:, index] = np.einsum("gaj,gj->ag", left, x) * np.exp(-1j * batch @ q_cart)[None]
    return result.reshape(4, *points.shape[:-1])


def _image_sites(model: TightBindingModel, basis: _Basis, points: np.ndarray):
    """Candidate image sites whose orbitals may reach the points: (atom (ns,), cell integers (ns, 3))."""
    cell = model.atoms.cell.array
    frac = points @ np.linalg.inv(cell)
    tau_frac = model.atoms.get_scaled_positions(wrap=False)
    recip = model.reciprocal_cell / (2 * np.pi)
    axes = []
    for i in range(3):
        if not model.atoms.pbc[i]:
            axes.append(np.zeros(1, dtype=int))
            continue
        ext = basis.atom_cutoff.max() * np.linalg.norm(recip[i])
        lo = int(np.floor(frac[:, i].min() - tau_frac[:, i].max() - ext))
        hi = int(np.ceil(frac[:, i].max() - tau_frac[:, i].min() + ext))
        axes.append(np.arange(lo, hi + 1))
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    natoms = len(model.atoms)
    sites_atom = np.tile(np.arange(natoms), len(cells))
    sites_cell = np.repeat(cells, natoms, axis=0)
    return sites_atom, sites_cell


def _lattice_table(integers: np.ndarray, sites_cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lookup table cell difference → index into the P blocks (len(integers) for P = 0)."""
    span = sites_cell.max(axis=0) - sites_cell.min(axis=0)
    table = np.full(2 * span + 1, len(integers), dtype=int)
    inside = np.all(np.abs(integers) <= span, axis=1)
    shifted = integers[inside] + span
    table[shifted[:, 0], shifted[:, 1], shifted[:, 2]] = np.flatnonzero(inside)
    return table, span


def _image_orbitals(model, basis, batch, site_pos, sites_atom, active):
    """Orbital values X (B, n_img) of the active image sites and each column's site and orbital."""
    columns, img_site, img_orb = [], [], []
    for a, shells in enumerate(basis.shells):
        sites = active[sites_atom[active] == a]
        if len(sites) == 0:
            continue
        vectors = batch[:, None, :] - site_pos[sites][None, :, :]  # (B, ns, 3)
        values = np.zeros((len(batch), len(sites), len(model.atom_orbitals[a])))
        for local, names, n, zeta in shells:
            values[:, :, local] = slater_orbitals(names, n, zeta, vectors, basis.tolerance)
        columns.append(values.reshape(len(batch), -1))
        img_site.append(np.repeat(sites, values.shape[2]))
        img_orb.append(np.tile(model.orbital_offset[a] + np.arange(values.shape[2]), len(sites)))
    if not columns:
        return np.zeros((len(batch), 0)), np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(columns, axis=1), np.concatenate(img_site), np.concatenate(img_orb)


def plane_field(model: TightBindingModel, q_reduced: np.ndarray, density_matrices: np.ndarray,
                lattice_vectors: np.ndarray, plane: LatticePlane, points: int = 60, **options) -> CellField:
    """δñ^α on the lattice ``plane`` over one of its cells, points × points (Cartesian Å, the orbitals summed
    at each point).

    ``options`` go to :func:`periodic_amplitude` (onsite_only, tolerance, density_tolerance).
    """
    grid = plane.grid(points)
    amplitude = periodic_amplitude(model, q_reduced, density_matrices, lattice_vectors, grid, **options)
    return CellField(grid, amplitude, np.array([plane.height]), model.cartesian(q_reduced), plane.basis)


def layer_height_range(model: TightBindingModel, tolerance: float = ORBITAL_TOLERANCE) -> tuple[float, float]:
    """(z_min, z_max) Å outside which every orbital of the layer vanishes (cut-off radii)."""
    basis = _basis(model, tolerance)
    z = model.atoms.positions[:, 2]
    return float((z - basis.atom_cutoff).min()), float((z + basis.atom_cutoff).max())


def cell_field(model: TightBindingModel, q_reduced: np.ndarray, density_matrices: np.ndarray,
               lattice_vectors: np.ndarray, shape: tuple[int, int, int] = (24, 24, 96),
               z_range: tuple[float, float] | None = None, **options) -> CellField:
    """δñ^α on a volume grid of one cell: (n₁, n₂) fractional in-plane points × n₃ heights.

    Heights run from z_min to z_max inclusive (default :func:`layer_height_range`); the
    grid is for layers (non-periodic along z). ``options`` as in :func:`plane_field`.
    """
    cell = model.atoms.cell.array
    if z_range is None:
        z_range = layer_height_range(model, options.get("tolerance", ORBITAL_TOLERANCE))
    heights = np.linspace(z_range[0], z_range[1], shape[2])
    points = in_plane_grid(cell, shape[:2])[:, :, None, :] + heights[None, None, :, None] * np.array([0.0, 0.0, 1.0])
    amplitude = periodic_amplitude(model, q_reduced, density_matrices, lattice_vectors, points, **options)
    return CellField(points, amplitude, heights, model.cartesian(q_reduced), cell)
