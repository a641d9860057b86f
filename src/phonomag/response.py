"""Charge–spin density response of the electrons to a lattice displacement pattern.

Implements DESIGN.md §1 (the paper's eq. 1) by sum over states, batched over k:

    N⁺(q) = (1/N_k) Σ_{k, v occ, c empty} |ψ_{c,k+q}⟩ g_cv(k,q) / (ε_{v,k} − ε_{c,k+q}) ⟨ψ_{v,k}|
    N⁻(q) = (1/N_k) Σ_{k, v occ, c empty} |ψ_{v,k+q}⟩ g_vc(k,q) / (ε_{v,k+q} − ε_{c,k}) ⟨ψ_{c,k}|

(one-sided = N⁺, full = N⁺ + N⁻), with g_mn = ⟨ψ_{m,k+q}|∂H/∂u|ψ_{n,k}⟩.

The response is linear in the displacement pattern, so it is computed once per q
for the 3·n_atoms unit patterns u_κ(R) = ε̂_α e^{iq·(R+τ_κ)} (per Å of
displacement) as an *orbital-resolved response tensor*; a phonon mode with
displacement amplitudes u_κα = A e_κα/√M_κ is a contraction of it.

Cell-integrated values (DESIGN.md §1) use the orthonormal tight-binding basis:
∫_cell δñ_ss′ d³r = Σ_μ N_{sμ,s′μ} (site-diagonal, "Mulliken" charges and
moments; the form factor of the orbitals at wavevector q is neglected). They
are resolved by atom. Pauli components n^α = ½ Tr[N σ_α], α = 0, x, y, z
(σ_0 = 1): induced electrons 2 n⁰, spin polarisation 2 M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from phonomag.electrons.orbitals import PAULI
from phonomag.electrons.tightbinding import TightBindingModel

Kind = Literal["one-sided", "full"]
KINDS: tuple[str, ...] = ("one-sided", "full")

#: σ_0, σ_x, σ_y, σ_z, shape (4, 2, 2).
PAULI4 = np.concatenate([np.eye(2, dtype=complex)[None], PAULI])


def monkhorst_pack(kgrid: tuple[int, int, int]) -> np.ndarray:
    """Γ-centred uniform grid, reduced coordinates (n1·n2·n3, 3)."""
    axes = [np.arange(n) / n for n in kgrid]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


@dataclass(frozen=True)
class DisplacementResponse:
    """Cell-integrated response to the unit displacement patterns at one q.

    tensor : (natoms_pattern=κ, 3=α, natoms_site, 4) complex — n̄^β on each site (β = 0,x,y,z,
        Pauli components, electrons per Å of displacement) for the pattern of atom κ along α.
    q : reduced wavevector; kind : "one-sided" or "full".
    """

    q: np.ndarray
    kind: str
    tensor: np.ndarray

    def for_displacements(self, displacements: np.ndarray) -> np.ndarray:
        """Site-resolved n̄^β (…, natoms_site, 4) for complex displacement amplitudes (…, natoms, 3) Å."""
        return np.einsum("...ka,kasb->...sb", displacements, self.tensor)


def _pauli_components(block: np.ndarray) -> np.ndarray:
    """n^β = ½ Tr[N σ_β] of 2×2 blocks (…, 2, 2) → (…, 4)."""
    return 0.5 * np.einsum("...st,bts->...b", block, PAULI4)


def _half_response(
    model: TightBindingModel,
    vertex: np.ndarray,
    vec_kq: np.ndarray,
    vec_k: np.ndarray,
    energies_kq: np.ndarray,
    energies_k: np.ndarray,
    left: slice,
    right: slice,
    occupation_difference: float,
) -> np.ndarray:
    """Σ_k Σ_{l,r} |l,k+q⟩ ⟨l,k+q|W|r,k⟩ (f_r − f_l)/(ε_{r,k} − ε_{l,k+q}) ⟨r,k|, site-diagonal part.

    ``occupation_difference`` is f_r − f_l: +1 for N⁺ (l empty, r occupied), −1 for N⁻.

    Returns (natoms, 3, natoms_site, 2, 2), summed (not averaged) over k.
    """
    n_orb = model.n_orbitals
    x = vec_kq[:, :, left].reshape(len(vec_kq), 2, n_orb, -1)  # (nk, s, μ, l)
    y = vec_k[:, :, right].reshape(len(vec_k), 2, n_orb, -1)  # (nk, s, μ, r)
    # band-basis vertex: Σ_s Σ_μν x*[s μ l] g[μν] y[s ν r]  (spinor vertex is 1₂ ⊗ g)
    g_band = np.einsum("ksml,kjamn,ksnr->kjalr", x.conj(), vertex, y, optimize=True)
    denom = energies_k[:, None, right] - energies_kq[:, left, None]  # (nk, l, r)
    amplitude = g_band * (occupation_difference / denom)[:, None, None]
    # site-diagonal projection: Σ_{μ∈site} x[s μ l] y*[s' μ r]
    site_of = np.eye(len(model.atoms))[model.orbital_atom]  # (μ, site)
    overlap = np.einsum("ksml,mi,ktmr->kistlr", x, site_of, y.conj(), optimize=True)
    return np.einsum("kjalr,kistlr->jaist", amplitude, overlap, optimize=True)


def displacement_response(
    model: TightBindingModel,
    q_reduced: np.ndarray,
    kgrid: tuple[int, int, int],
    kind: str = "one-sided",
    k_batch: int = 2048,
) -> DisplacementResponse:
    """Cell-integrated, site-resolved charge–spin response to unit displacement patterns at q.

    Parameters
    ----------
    model : electronic model (insulating; ``occupied_bands`` filled).
    q_reduced : (3,) phonon wavevector, reduced coordinates.
    kgrid : Γ-centred k grid (n1, n2, n3) for the Brillouin-zone average.
    kind : "one-sided" (N⁺, the paper's eq. 1) or "full" (N⁺ + N⁻).
    k_batch : k-points per vectorised batch (bounds memory, not the result).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    q_reduced = np.asarray(q_reduced, dtype=float)
    kpoints = monkhorst_pack(kgrid)
    occ = slice(0, model.occupied_bands)
    emp = slice(model.occupied_bands, model.n_basis)
    total = np.zeros((len(model.atoms), 3, len(model.atoms), 2, 2), dtype=complex)
    for start in range(0, len(kpoints), k_batch):
        k = kpoints[start : start + k_batch]
        e_k, v_k = model.eigh(k)
        e_kq, v_kq = model.eigh(k + q_reduced)
        vertex = model.vertex(k, q_reduced)
        total += _half_response(model, vertex, v_kq, v_k, e_kq, e_k, emp, occ, +1.0)
        if kind == "full":
            total += _half_response(model, vertex, v_kq, v_k, e_kq, e_k, occ, emp, -1.0)
    total /= len(kpoints)
    return DisplacementResponse(q_reduced, kind, _pauli_components(total))
