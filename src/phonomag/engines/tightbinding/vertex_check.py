"""Independent checks in a commensurate supercell: finite differences of H and of projectors.

For q commensurate with an n1×n2×n3 supercell, the complex pattern
u_κ(R) = ε̂_α e^{iq·(R+τ_κ)} is periodic on the supercell. The derivative of any
supercell quantity f(u) along it, ∂f = ∂f/∂(Re u) + i ∂f/∂(Im u), is taken by
fourth-order central differences. Supercell matrices at wavevector k are
projected on primitive Bloch orbitals at k and k+q: in the τ-including gauge
φ_{k,μ} is the sum over supercell images L of the supercell Bloch orbitals with
weights N_c^{-1/2} (at k) and N_c^{-1/2} e^{iq·(L+τ_μ)} (at k+q).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from phonomag.crystal.qpoints import check_commensurate
from phonomag.engines.tightbinding.model import TightBindingModel


class CommensurateSupercell:
    """A supercell of ``model`` carrying the phonon wavevector q, seen from primitive k."""

    def __init__(self, model: TightBindingModel, k_reduced, q_reduced, repeats: tuple[int, int, int]):
        check_commensurate(q_reduced, repeats)
        self.model = model
        self.supercell = model.supercell(repeats)
        natoms = len(model.atoms)
        self.primitive = np.arange(len(self.supercell.atoms)) % natoms
        n_cells = int(np.prod(repeats))
        positions = self.supercell.atoms.positions  # L + τ for every supercell atom
        self.pattern_phase = np.exp(1j * positions @ model.cartesian(q_reduced))
        self.k_super = model.cartesian(k_reduced) @ np.asarray(self.supercell.atoms.cell).T / (2 * np.pi)
        sc = self.supercell
        local = np.arange(sc.n_orbitals) - sc.orbital_offset[sc.orbital_atom]
        column = model.orbital_offset[self.primitive[sc.orbital_atom]] + local
        bloch_k = np.zeros((sc.n_orbitals, model.n_orbitals), dtype=complex)
        bloch_k[np.arange(sc.n_orbitals), column] = 1 / np.sqrt(n_cells)
        #: primitive Bloch orbitals at k and k+q in the supercell basis (one spin block)
        self.bloch_k = bloch_k
        self.bloch_kq = bloch_k * self.pattern_phase[sc.orbital_atom][:, None]

    def pattern(self, kappa: int, alpha: int) -> np.ndarray:
        """Complex displacements (n_supercell_atoms, 3) of the unit pattern of atom κ along α."""
        result = np.zeros((len(self.supercell.atoms), 3), dtype=complex)
        mask = self.primitive == kappa
        result[mask, alpha] = self.pattern_phase[mask]
        return result

    def derivative(self, function: Callable[[np.ndarray], np.ndarray], kappa: int, alpha: int,
                   step: float) -> np.ndarray:
        """∂f/∂(Re u) + i ∂f/∂(Im u) along the pattern of κα, fourth-order central differences."""
        pattern = self.pattern(kappa, alpha)

        def along(direction: np.ndarray) -> np.ndarray:
            f = {s: function(s * direction) for s in (-2, -1, 1, 2)}
            return (8 * (f[1] - f[-1]) - (f[2] - f[-2])) / (12 * step)

        return along(step * pattern.real) + 1j * along(step * pattern.imag)

    def project(self, matrix: np.ndarray) -> np.ndarray:
        """⟨φ_{k+q}| X |φ_k⟩ of a supercell matrix, orbital (n_sc) or spinor (2 n_sc) sized."""
        left, right = self.bloch_kq, self.bloch_k
        if matrix.shape[0] == 2 * self.supercell.n_orbitals:
            left, right = np.kron(np.eye(2), left), np.kron(np.eye(2), right)
        return left.conj().T @ matrix @ right


def finite_difference_vertex(
    model: TightBindingModel,
    k_reduced: np.ndarray,
    q_reduced: np.ndarray,
    repeats: tuple[int, int, int],
    step: float = 1e-3,
) -> np.ndarray:
    """g_{μν}(k, q; κα) from finite differences of H_SC, (natoms, 3, n_orb, n_orb) eV/Å."""
    cell = CommensurateSupercell(model, k_reduced, q_reduced, repeats)

    def hamiltonian(u: np.ndarray) -> np.ndarray:
        return cell.supercell.orbital_hamiltonian(cell.k_super, displacements=u)[0]

    natoms = len(model.atoms)
    result = np.zeros((natoms, 3, model.n_orbitals, model.n_orbitals), dtype=complex)
    for kappa in range(natoms):
        for alpha in range(3):
            result[kappa, alpha] = cell.project(cell.derivative(hamiltonian, kappa, alpha, step))
    return result
