"""Phonon modes of an ABINIT DFPT run at one q, and ABINIT's perturbations in phonomag's displacement patterns.

ABINIT perturbs one atom κ along one reduced direction i with the pattern e^{iq·R}
(cell vector only) and unit reduced amplitude, i.e. a Cartesian displacement
a_i e^{iq·R}. A mode of phonomag displaces atom κ of cell R by U_κ e^{iq·(R+τ_κ)}
(docs/physics.md §10), which is the superposition with coefficients

    x_{κi} = [(Aᵀ)⁻¹ U_κ]_i e^{iq·τ_κ}          (A: rows = lattice vectors, Å),

so the response to U is Σ_{κi} x_{κi} N_{κi} (linear response).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms, units

from phonomag.io.abinit.ddb import read_phonon_blocks
from phonomag.phonons.mirror import sigma_h_permutation
from phonomag.phonons.modes import PhononModes, modes_from_dynamical_matrices

#: √(eV/(Å² amu)) as ħω in meV.
SQRT_EV_A2_AMU_TO_MEV = units._hbar * np.sqrt(units._e / (1e-20 * units._amu)) / units._e * 1e3


def ddb_modes(ddb_path, atoms: Atoms) -> PhononModes:
    """Modes at the q of a one-q DDB file (ABINIT's masses), atoms in the order of ``atoms``."""
    data = read_phonon_blocks(ddb_path)
    masses = np.repeat(data.masses, 3)
    dyn = data.matrices / np.sqrt(np.outer(masses, masses))
    q_cart_z = data.qpoints @ atoms.cell.reciprocal()[:, 2]
    return modes_from_dynamical_matrices(
        data.qpoints, dyn, data.masses, to_mev=SQRT_EV_A2_AMU_TO_MEV,
        mirror_permutation=sigma_h_permutation(atoms), in_plane=np.abs(q_cart_z) < 1e-10)


def perturbation_coefficients(displacements: np.ndarray, atoms: Atoms, qpoint) -> np.ndarray:
    """x_{κi} (…, natoms, 3) of ABINIT's perturbations for displacements U_κ (…, natoms, 3) in Å."""
    to_reduced = np.linalg.inv(atoms.cell.array.T)  # U = Aᵀ x
    phase = np.exp(2j * np.pi * atoms.get_scaled_positions(wrap=False) @ np.asarray(qpoint, float))
    return np.einsum("ij,...kj->...ki", to_reduced, displacements) * phase[:, None]
