"""Charge–spin density response of the electrons to a lattice displacement pattern.

Implements docs/physics.md §2 (the paper's eq. 1) by sum over states, batched over k:

    N⁺(q) = (1/N_k) Σ_{k, v occ, c empty} |ψ_{c,k+q}⟩ g_cv(k,q) / (ε_{v,k} − ε_{c,k+q}) ⟨ψ_{v,k}|
    N⁻(q) = (1/N_k) Σ_{k, v occ, c empty} |ψ_{v,k+q}⟩ g_vc(k,q) / (ε_{v,k+q} − ε_{c,k}) ⟨ψ_{c,k}|

(one-sided = N⁺, full = N⁺ + N⁻), with g_mn = ⟨ψ_{m,k+q}|∂H/∂u|ψ_{n,k}⟩.

The response is linear in the displacement pattern, so it is computed once per q
for the 3·n_atoms unit patterns u_κ(R) = ε̂_α e^{iq·(R+τ_κ)} (per Å of
displacement) as an *orbital-resolved response tensor*; a phonon mode with
displacement amplitudes u_κα = A e_κα/√M_κ is a contraction of it.

Cell-integrated values (docs/physics.md §4) ∫_cell δñ_ss′ d³r keep the on-site orbital
products with their form factors, n̄_κ = Σ_{μ,ν∈κ} N_{sμ,s′ν} F_μν(q)
(:mod:`phonomag.engines.tightbinding.form_factors`), and neglect two-centre products
(orthonormal tight-binding basis); without radial functions in the model F = 1
(site-diagonal "Mulliken" sums). They are resolved by atom. Pauli components n^α = ½ Tr[N σ_α], α = 0, x, y, z
(σ_0 = 1): induced electrons 2 n⁰, spin polarisation 2 M.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np

from phonomag.crystal.orbitals import PAULI
from phonomag.engines.base import single_blas_thread
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.response.modes import KINDS, PatternResponse

Kind = Literal["one-sided", "full"]



#: σ_0, σ_x, σ_y, σ_z, shape (4, 2, 2).
PAULI4 = np.concatenate([np.eye(2, dtype=complex)[None], PAULI])


def monkhorst_pack(kgrid: tuple[int, int, int]) -> np.ndarray:
    """Γ-centred uniform grid, reduced coordinates (n1·n2·n3, 3)."""
    axes = [np.arange(n) / n for n in kgrid]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def _pauli_components(block: np.ndarray) -> np.ndarray:
    """n^β = ½ Tr[N σ_β] of 2×2 blocks (…, 2, 2) → (…, 4)."""
    return 0.5 * np.einsum("...st,bts->...b", block, PAULI4)


def _amplitudes(
    model: TightBindingModel,
    vertex: np.ndarray,
    vec_kq: np.ndarray,
    vec_k: np.ndarray,
    energies_kq: np.ndarray,
    energies_k: np.ndarray,
    left: slice,
    right: slice,
    occupation_difference: float,
    energy: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band amplitudes ⟨l,k+q|W|r,k⟩ (f_r − f_l)/(ε_{r,k} − ε_{l,k+q} + ħω) of one half of the response.

    ``occupation_difference`` is f_r − f_l: +1 for N⁺ (l empty at k+q, r occupied at k),
    −1 for N⁻ (l occupied, r empty). ``energy`` = ħω (eV) of a perturbation W e^{−iωt}
    (first-order time-dependent perturbation theory; 0 gives the static response, docs/physics.md
    §6.2: N⁺ has ε_v − ε_c + ħω, N⁻ has ε_v − ε_c − ħω). Returns the eigenvector columns x (k, 2n, l) at k+q,
    y (k, 2n, r) at k, and the amplitudes (k, κα, l, r) for every unit pattern κα.
    """
    n_orb, nk = model.n_orbitals, len(vec_k)
    x = vec_kq[:, :, left]
    y = vec_k[:, :, right]
    n_left, n_right = x.shape[-1], y.shape[-1]
    n_patterns = vertex.shape[1] * vertex.shape[2]
    # band-basis vertex Σ_s x†[s] g y[s] (the spinor vertex is 1₂ ⊗ g), as two batched products
    # contracting the smaller band set first
    x_dagger = x.reshape(nk, 2, n_orb, n_left).conj().transpose(0, 1, 3, 2)  # (k, s, l, μ)
    if n_left < n_right:
        # (k, s, l, μ) @ (k, μ, (κα ν)), then ((l κα), (s ν)) @ (k, (s ν), r)
        g = vertex.reshape(nk, n_patterns, n_orb, n_orb).transpose(0, 2, 1, 3)
        xg = (x_dagger @ g.reshape(nk, 1, n_orb, n_patterns * n_orb)).reshape(nk, 2, n_left, n_patterns, n_orb)
        xg = xg.transpose(0, 2, 3, 1, 4).reshape(nk, n_left * n_patterns, 2 * n_orb)
        g_band = (xg @ y).reshape(nk, n_left, n_patterns, n_right).transpose(0, 2, 1, 3)  # (k, κα, l, r)
    else:
        # (k, (κα μ), ν) @ (k, ν, (s r)) with the spin folded into the columns, then (k, s, l, μ) @ (k, s, μ, (κα r))
        y_fold = y.reshape(nk, 2, n_orb, n_right).transpose(0, 2, 1, 3).reshape(nk, n_orb, 2 * n_right)
        gy = vertex.reshape(nk, n_patterns * n_orb, n_orb) @ y_fold
        gy = gy.reshape(nk, n_patterns, n_orb, 2, n_right).transpose(0, 3, 2, 1, 4)
        g_band = (x_dagger @ gy.reshape(nk, 2, n_orb, n_patterns * n_right)).sum(axis=1)
        g_band = g_band.reshape(nk, n_left, n_patterns, n_right).transpose(0, 2, 1, 3)  # (k, κα, l, r)
    denom = energies_k[:, None, right] - energies_kq[:, left, None] + energy  # (k, l, r)
    return x, y, g_band * (occupation_difference / denom)[:, None]


def _site_diagonal_sum(model: TightBindingModel, x: np.ndarray, y: np.ndarray, amplitude: np.ndarray,
                       form_factors: np.ndarray | None) -> np.ndarray:
    """Σ_k Σ_{μ,ν∈site} (x A y†)[sμ, tν] F_μν → (κ, α, site, s, t), summed (not averaged) over k.

    ``form_factors`` is the block-diagonal (n_orb, n_orb) matrix of on-site form factors F(q),
    or None for F = 1 (site-diagonal Mulliken sums, the q → 0 limit).
    """
    n_orb, nk = model.n_orbitals, len(x)
    natoms = len(model.atoms)
    xs = x.reshape(nk, 2, n_orb, -1)
    ys = y.reshape(nk, 2, n_orb, -1)
    n_left, n_right = xs.shape[-1], ys.shape[-1]
    # O[k, site, s, t, l, r] = Σ_{μ,ν∈site} x[s μ l] F_μν y*[t ν r]
    overlap = np.empty((nk, natoms, 2, 2, n_left, n_right), dtype=complex)
    for site in range(natoms):
        sl = slice(model.orbital_offset[site], model.orbital_offset[site + 1])
        right = ys[:, :, sl].conj()
        if form_factors is not None:
            right = form_factors[sl, sl] @ right
        overlap[:, site] = np.swapaxes(xs[:, :, sl], -1, -2)[:, :, None] @ right[:, None]
    # Σ_{k,l,r} amplitude[k, κα, l, r] O[k, site, s, t, l, r] as one matrix product
    a = np.moveaxis(amplitude, 1, 0).reshape(amplitude.shape[1], -1)
    o = np.moveaxis(overlap, (2, 3), (4, 5)).reshape(nk, natoms, n_left * n_right, 4)
    o = np.moveaxis(o, 1, 2).reshape(nk * n_left * n_right, natoms * 4)
    return (a @ o).reshape(natoms, 3, natoms, 2, 2)


def sampling_grid(kgrid: tuple[int, int, int], q_reduced: np.ndarray) -> np.ndarray:
    """k-points of the Brillouin-zone sum at q: the uniform grid shifted by −q/2.

    This grid maps onto itself under k → −k − q. N⁻ at k is the time-reversed partner of
    N⁺ at −k − q, so on it the static cancellation of their magnetization and the equality
    of their charges (docs/physics.md §6.2) are exact for every q, not only for q on the grid;
    and the grid of −q is the inversion of the grid of q (time reversal, §2.1).
    """
    return monkhorst_pack(kgrid) - 0.5 * np.asarray(q_reduced, dtype=float)


Eigensolver = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
Bands = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _bands(model: TightBindingModel, q_reduced: np.ndarray, kpoints: np.ndarray,
           eigensolver: Eigensolver | None) -> Bands:
    """(ε_k, ψ_k, ε_{k+q}, ψ_{k+q}) at the given k-points, two diagonalisations."""
    solve = eigensolver or model.eigh
    return (*solve(kpoints), *solve(kpoints + q_reduced))


def _grid_bands(model: TightBindingModel, q_reduced: np.ndarray, kgrid: tuple[int, int, int],
                eigensolver: Eigensolver | None) -> Bands:
    """:func:`_bands` on the :func:`sampling_grid`, the k+q states by time reversal.

    On that grid k_i + q = −k_j + G with k_j the grid point of the inverted Monkhorst–Pack
    point and G a reciprocal lattice vector, for every q. The model is time-reversal
    symmetric (real hoppings, atomic SOC): H(−k) = Θ H(k) Θ⁻¹ with Θ = (iσ_y ⊗ 1) K, so
    ψ(−k) = (iσ_y ⊗ 1) ψ(k)* at the same energies; and H(k + G) = U† H(k) U with
    U = diag e^{iG·τ_μ} (Bloch phases at the orbital positions), so ψ(k + G) = U† ψ(−k).
    One diagonalisation instead of two. With an explicit ``eigensolver`` both sets are solved.
    """
    kpoints = sampling_grid(kgrid, q_reduced)
    if eigensolver is not None:
        return _bands(model, q_reduced, kpoints, eigensolver)
    e_k, v_k = model.eigh(kpoints)
    shape = np.array(kgrid)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in kgrid], indexing="ij"), axis=-1).reshape(-1, 3)
    inverted = -index % shape
    partner = np.ravel_multi_index(tuple(inverted.T), tuple(kgrid))
    g_reduced = (index + inverted) / shape  # integers: k_i + q = −k_partner + G
    tau = np.tile(model.atoms.positions[model.orbital_atom], (2, 1))  # (2n, 3)
    gauge = np.exp(-1j * model.cartesian(g_reduced) @ tau.T)  # (nk, 2n)
    spins = v_k[partner].conj().reshape(len(kpoints), 2, model.n_orbitals, -1)
    reversed_ = np.concatenate([spins[:, 1], -spins[:, 0]], axis=1)  # (iσ_y ⊗ 1) ψ*
    return e_k, v_k, e_k[partner], gauge[:, :, None] * reversed_


def _halves(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kpoints: np.ndarray,
    bands: Bands,
    kind: str,
    energies: tuple[float, ...] = (0.0,),
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(energy index, x, y, amplitude) of N⁺ and, for kind "full", of N⁻ at the given k-points.

    ``bands`` = (ε_k, ψ_k, ε_{k+q}, ψ_{k+q}) at those k-points (:func:`_bands`);
    ``energies`` are ħω (eV) of a perturbation e^{−iωt}; bands and vertex are shared by all.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    e_k, v_k, e_kq, v_kq = bands
    vertex = model.vertex(kpoints, q_reduced)
    occ = slice(0, model.occupied_bands)
    emp = slice(model.occupied_bands, model.n_basis)
    halves = [(emp, occ, +1.0)] + ([(occ, emp, -1.0)] if kind == "full" else [])
    for index, energy in enumerate(energies):
        for left, right, sign in halves:
            yield (index, *_amplitudes(model, vertex, v_kq, v_k, e_kq, e_k, left, right, sign, energy))


def displacement_response(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kgrid: tuple[int, int, int],
    kind: str = "one-sided",
    k_batch: int = 2048,
    eigensolver: Eigensolver | None = None,
    form_factors: bool = True,
    energy: float = 0.0,
) -> PatternResponse:
    """Cell-integrated, site-resolved charge–spin response to unit displacement patterns at q.

    Parameters
    ----------
    model : electronic model (insulating; ``occupied_bands`` filled).
    q_reduced : (3,) phonon wavevector, reduced coordinates.
    kgrid : k grid (n1, n2, n3) for the Brillouin-zone average (:func:`sampling_grid`).
    kind : "one-sided" (N⁺, the paper's eq. 1) or "full" (N⁺ + N⁻).
    k_batch : k-points per vectorised batch (bounds memory, not the result).
    eigensolver : k (nk, 3) → (energies, eigenvector columns); default ``model.eigh``
        (another gauge of the same states must give the same result).
    form_factors : weight the on-site orbital products with their form factors F_μν(q)
        (the exact cell integral of the on-site densities) when the model has radial
        functions; False, or a model without them, gives the site-diagonal sums (F = 1).
    energy : ħω in eV of the perturbation e^{−iωt} (0 = static, adiabatic response).
    """
    return fourier_responses(model, q_reduced, kgrid, np.zeros((1, 3)), kind, k_batch, eigensolver,
                             form_factors, energy)[0]


def fourier_responses(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kgrid: tuple[int, int, int],
    g_reduced: np.ndarray,
    kind: str = "one-sided",
    k_batch: int = 2048,
    eigensolver: Eigensolver | None = None,
    form_factors: bool = True,
    energy: float = 0.0,
) -> list[PatternResponse]:
    """Fourier components ∫_cell δñ e^{−iG·r} d³r of the response at Q = q + G, one per G.

    g_reduced : (nG, 3) reciprocal lattice vectors, reduced coordinates. Site κ contributes
    e^{−iG·τ_κ} Σ_{μν∈κ} N_μν F_μν(q+G) (on-site form factors, see module docstring), so
    G = 0 gives :func:`displacement_response`. Other parameters as there; the band
    structure and amplitudes are computed once for all G.
    """
    return _response_tensors(model, q_reduced, kgrid, g_reduced, (energy,), kind, k_batch, eigensolver,
                             form_factors)[0]


def energy_responses(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kgrid: tuple[int, int, int],
    energies: tuple[float, ...],
    kind: str = "full",
    form_factors: bool = True,
) -> list[PatternResponse]:
    """Cell-integrated responses to a perturbation e^{−iωt} at several ħω (eV), one per energy.

    The non-adiabatic response of docs/physics.md §6.2: the full response keeps a net
    magnetization that is odd in ω (zero in the static limit). Bands and vertex are shared.
    """
    tensors = _response_tensors(model, q_reduced, kgrid, np.zeros((1, 3)), tuple(energies), kind, 2048,
                                None, form_factors)
    return [per_g[0] for per_g in tensors]


@single_blas_thread
def _response_tensors(model, q_reduced, kgrid, g_reduced, energies, kind, k_batch, eigensolver,
                      form_factors) -> list[list[PatternResponse]]:
    """Site-resolved Fourier components for every energy (outer list) and G (inner list)."""
    q_reduced = np.asarray(q_reduced, dtype=float)
    g_reduced = np.atleast_2d(np.asarray(g_reduced, dtype=float))
    kpoints = sampling_grid(kgrid, q_reduced)
    bands = _grid_bands(model, q_reduced, kgrid, eigensolver)
    weights = [model.onsite_form_factors(q_reduced + g) if form_factors else None for g in g_reduced]
    natoms = len(model.atoms)
    total = np.zeros((len(energies), len(g_reduced), natoms, 3, natoms, 2, 2), dtype=complex)
    for start in range(0, len(kpoints), k_batch):
        batch = slice(start, start + k_batch)
        in_batch = tuple(b[batch] for b in bands)
        for e, x, y, amplitude in _halves(model, q_reduced, kpoints[batch], in_batch, kind, energies):
            for n, weight in enumerate(weights):
                total[e, n] += _site_diagonal_sum(model, x, y, amplitude, weight)
    total /= len(kpoints)
    site_phase = np.exp(-1j * model.cartesian(g_reduced) @ model.atoms.positions.T)  # (nG, site)
    total *= site_phase[None, :, None, None, :, None, None]
    return [
        [
            PatternResponse(q_reduced + g, kind, _pauli_components(t), model.labels)
            for g, t in zip(g_reduced, per_e, strict=True)
        ]
        for per_e in total
    ]


@single_blas_thread
def response_matrices(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kpoints: np.ndarray,
    kind: str = "one-sided",
    eigensolver: Eigensolver | None = None,
) -> np.ndarray:
    """Orbital-basis response D_k = Σ |l,k+q⟩ amplitude ⟨r,k| per unit pattern, (nk, natoms, 3, 2n, 2n).

    D_k[sμ, s′ν] = ⟨φ_{k+q,μ} s| N_k |φ_{k,ν} s′⟩ in the Bloch-orbital basis (not divided by N_k).
    """
    q_reduced = np.asarray(q_reduced, dtype=float)
    kpoints = np.atleast_2d(kpoints)
    d = 0
    for _, x, y, amplitude in _halves(model, q_reduced, kpoints, _bands(model, q_reduced, kpoints, eigensolver), kind):
        d = d + x[:, None] @ amplitude @ np.swapaxes(y.conj(), -1, -2)[:, None]
    return d.reshape(len(kpoints), len(model.atoms), 3, model.n_basis, model.n_basis)


#: k-points per batch of the real-space response (its per-k matrices are 3·natoms times larger than
#: those of the cell-integrated response, so the batches are smaller).
ORBITAL_K_BATCH = 256


def orbital_response(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kgrid: tuple[int, int, int],
    lattice_vectors: np.ndarray,
    kind: str = "one-sided",
    k_batch: int = ORBITAL_K_BATCH,
) -> np.ndarray:
    """Real-space orbital density matrices of the response to unit displacement patterns.

    P_{κα}(L)[sμ, s′ν] = (1/N_k) Σ_k D_k[κα][sμ, s′ν] e^{ik·(L + τ_μ − τ_ν)}, so that the
    response density is N(r) = Σ_{R,R′} e^{iq·(R+τ_μ)} P(R − R′)[sμ, s′ν] χ_μ(r−R−τ_μ) χ_ν(r−R′−τ_ν).

    lattice_vectors : (nL, 3) Cartesian lattice vectors L (Å).
    k_batch : k-points per batch (bounds memory, not the result).
    Returns (nL, natoms, 3, 2n, 2n) complex, electrons per Å of displacement.
    """
    kpoints = sampling_grid(kgrid, q_reduced)
    lattice = np.asarray(lattice_vectors, dtype=float)
    tau = np.tile(model.atoms.positions[model.orbital_atom], (2, 1))  # (2n, 3)
    total = np.zeros((len(lattice), len(model.atoms), 3, model.n_basis, model.n_basis), dtype=complex)
    for start in range(0, len(kpoints), k_batch):
        batch = kpoints[start:start + k_batch]
        d = response_matrices(model, q_reduced, batch, kind)
        k_cart = model.cartesian(batch)
        phase_l = np.exp(1j * k_cart @ lattice.T)  # (k, L)
        phase_tau = np.exp(1j * k_cart @ tau.T)  # (k, 2n)
        weighted = d * phase_tau[:, None, None, :, None] * phase_tau.conj()[:, None, None, None, :]
        total += np.einsum("kl,kjamn->ljamn", phase_l, weighted)
    return total / len(kpoints)


def memory_estimate(model: TightBindingModel, kgrid: tuple[int, int, int], k_batch: int = 2048,
                    maps: bool = False) -> int:
    """Bytes the response of one q needs at its peak: while the bands of the whole grid are found
    (:func:`_grid_bands`: up to five arrays of the size of ψ_k alive at once), or afterwards ψ_k and
    ψ_{k+q} plus the arrays of one k batch; with ``maps`` also the batches of :func:`orbital_response`.
    The estimate counts arrays, not Python overhead."""
    nk = int(np.prod(kgrid))
    nb, n_orb = model.n_basis, model.n_orbitals
    patterns = 3 * len(model.atoms)
    occupied = model.occupied_bands
    empty = nb - occupied
    complex_bytes = 16
    state = nk * nb * nb * complex_bytes
    # per k: the vertex in two layouts, the half-contracted vertex in two layouts (the smaller band set
    # first, :func:`_amplitudes`), band vertex and amplitudes, the site overlaps in two layouts
    per_k = (2 * patterns * n_orb * n_orb + 2 * 2 * min(occupied, empty) * patterns * n_orb
             + 2 * patterns * occupied * empty + 2 * 4 * len(model.atoms) * occupied * empty) * complex_bytes
    peak = max(5 * state, 2 * state + min(nk, k_batch) * per_k)
    if maps:
        # D_k and its phase-weighted copy per k of the batch, and the vertex of the two band sets
        orbital = min(nk, ORBITAL_K_BATCH) * (2 * patterns * nb * nb + patterns * n_orb * n_orb) * complex_bytes
        peak = max(peak, orbital + min(nk, ORBITAL_K_BATCH) * per_k)
    return int(peak)
