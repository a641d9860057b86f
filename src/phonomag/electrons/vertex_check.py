"""Independent check of the analytic vertex: finite differences in a supercell.

For q commensurate with an n1×n2×n3 supercell, the complex pattern
u_κ(R) = ε̂_α e^{iq·(R+τ_κ)} is periodic on the supercell. Its derivative of the
supercell Hamiltonian, ∂H_SC = ∂H_SC/∂(Re u) + i ∂H_SC/∂(Im u), taken by
fourth-order central differences of the displaced supercell Hamiltonian at
wavevector k, is projected on primitive Bloch orbitals at k and k+q. In the
τ-including gauge the primitive Bloch orbital φ_{k,μ} is the sum over the
supercell images L of the supercell Bloch orbitals, with weights N_c^{-1/2}
(at k) and N_c^{-1/2} e^{iq·(L+τ_μ)} (at k+q).
"""

from __future__ import annotations

import numpy as np

from phonomag.electrons.tightbinding import TightBindingModel
from phonomag.qpoints import check_commensurate


def finite_difference_vertex(
    model: TightBindingModel,
    k_reduced: np.ndarray,
    q_reduced: np.ndarray,
    repeats: tuple[int, int, int],
    step: float = 1e-3,
) -> np.ndarray:
    """g_{μν}(k, q; κα) from finite differences, (natoms, 3, n_orb, n_orb) eV/Å."""
    check_commensurate(q_reduced, repeats)
    supercell = model.supercell(repeats)
    natoms = len(model.atoms)
    n_cells = int(np.prod(repeats))
    primitive = np.arange(len(supercell.atoms)) % natoms
    positions = supercell.atoms.positions  # L + τ for every supercell atom
    q_cart = model.cartesian(q_reduced)
    k_cart = model.cartesian(k_reduced)
    k_super = k_cart @ np.asarray(supercell.atoms.cell).T / (2 * np.pi)
    pattern_phase = np.exp(1j * positions @ q_cart)

    orbital_atom = supercell.orbital_atom
    local = np.arange(supercell.n_orbitals) - supercell.orbital_offset[orbital_atom]
    column = model.orbital_offset[primitive[orbital_atom]] + local
    bloch_k = np.zeros((supercell.n_orbitals, model.n_orbitals), dtype=complex)
    bloch_k[np.arange(supercell.n_orbitals), column] = 1 / np.sqrt(n_cells)
    bloch_kq = bloch_k * pattern_phase[orbital_atom][:, None]

    def derivative(direction: np.ndarray) -> np.ndarray:
        def h(s: float) -> np.ndarray:
            return supercell.orbital_hamiltonian(k_super, displacements=s * direction)[0]

        return (8 * (h(step) - h(-step)) - (h(2 * step) - h(-2 * step))) / (12 * step)

    result = np.zeros((natoms, 3, model.n_orbitals, model.n_orbitals), dtype=complex)
    for kappa in range(natoms):
        for alpha in range(3):
            pattern = np.zeros((len(supercell.atoms), 3), dtype=complex)
            mask = primitive == kappa
            pattern[mask, alpha] = pattern_phase[mask]
            d_h = derivative(pattern.real) + 1j * derivative(pattern.imag)
            result[kappa, alpha] = bloch_kq.conj().T @ d_h @ bloch_k
    return result
