"""Displacement amplitudes and angular momentum of phonon modes (docs/physics.md §5).

Conventions
-----------
* Displacement of atom κ in mode (q, ν): u_κ = A e_κ / √M_κ (Å), complex amplitude of
  u_κ(R, t) = Re[u_κ e^{i(q·(R+τ_κ) − ωt)}].
* Amplitude "zero-point": A = √(ħ/2ω), i.e. u_κ = √(ħ/(2 M_κ ω)) e_κ. A number instead
  is a maximal displacement in Å: the largest |u_κ| of the mode equals it.
* Modes with ω ≤ ``ACOUSTIC_CUTOFF_MEV`` (acoustic modes at Γ, rigid translations)
  get zero displacement and zero response — never NaN or ∞.
"""

from __future__ import annotations

import numpy as np
from ase import units

from phonomag.crystal.orbitals import angular_momentum

ACOUSTIC_CUTOFF_MEV = 1e-3
#: ħ²/(1 amu · 1 eV · 1 Å²), so that ħ/(2Mω) = HBAR2_OVER_AMU_EV_A2 / (2 M[amu] ħω[eV]) Å².
HBAR2_OVER_AMU_EV_A2 = units._hbar**2 / (units._amu * units._e * 1e-20)


def mode_displacements(
    frequencies_mev: np.ndarray,
    eigenvectors: np.ndarray,
    masses: np.ndarray,
    amplitude: str | float = "zero-point",
) -> np.ndarray:
    """Complex displacement amplitudes u_κα (…, nmodes, natoms, 3) in Å.

    frequencies_mev (…, nmodes); eigenvectors (…, nmodes, natoms, 3) with Σ|e|² = 1;
    masses (natoms,) amu; amplitude "zero-point" or a maximal displacement (Å, > 0).
    """
    omega = np.asarray(frequencies_mev, dtype=float)
    active = omega > ACOUSTIC_CUTOFF_MEV
    pattern = eigenvectors / np.sqrt(np.asarray(masses, dtype=float))[:, None]
    if isinstance(amplitude, str):
        if amplitude != "zero-point":
            raise ValueError(f"amplitude must be 'zero-point' or a displacement in Å, got {amplitude!r}")
        scale = np.sqrt(HBAR2_OVER_AMU_EV_A2 / (2.0 * np.where(active, omega, 1.0) * 1e-3))
    else:
        if not amplitude > 0:
            raise ValueError(f"maximal displacement must be positive (Å), got {amplitude!r}")
        largest = np.linalg.norm(pattern, axis=-1).max(axis=-1)
        scale = amplitude / np.where(largest > 0, largest, 1.0)
    return pattern * np.where(active, scale, 0.0)[..., None, None]


def phonon_angular_momentum(eigenvectors: np.ndarray) -> np.ndarray:
    """Angular momentum of each mode in units of ħ, l_a = Σ_κ e_κ† M_a e_κ, (…, nmodes, 3).

    Zhang & Niu, PRL 112, 085503 (2014): (M_a)_{bc} = −i ε_abc — the l = 1 angular-momentum
    matrices of a Cartesian vector — so l_z = 2 Σ_κ Im(e*_κx e_κy). eigenvectors
    (…, nmodes, natoms, 3) normalised to Σ|e|² = 1: a circular mode gives ±1, a linear one 0.
    """
    e = np.asarray(eigenvectors)
    return np.einsum("...ki,aij,...kj->...a", e.conj(), angular_momentum(1), e).real
