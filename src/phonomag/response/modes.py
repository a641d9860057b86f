"""Mode- and q-resolved induced charge and magnetization (the paper's Fig. 3 data).

:func:`mode_magnetization` combines a phonon engine and an electronic model:
for every q it computes the cell-integrated response to unit displacement
patterns once (:func:`phonomag.engines.tightbinding.response.displacement_response`) and contracts it
with the displacement amplitudes of all modes. Conventions: DESIGN.md §1, §3 and
:mod:`phonomag.response.observables`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.response.observables import in_plane_out_of_plane, mode_displacements, rms_components
from phonomag.engines.tightbinding.response import displacement_response, energy_responses

COMPONENTS = ("n0", "Mx", "My", "Mz")


@dataclass(frozen=True)
class ModeMagnetization:
    """Induced charge and magnetization of every mode at every q.

    qpoints (nq, 3) reduced; frequencies (nq, nmodes) meV; parity (nq, nmodes) σ_h ±1 (0: none);
    displacements (nq, nmodes, natoms, 3) complex Å;
    site_moments (nq, nmodes, natoms, 4) complex: cell-integrated Pauli components
    (n⁰, M_x, M_y, M_z) on each site, electrons per cell (induced electrons 2n⁰, ⟨σ⟩ = 2M);
    kind: "one-sided" or "full"; amplitude: "zero-point" or a maximal displacement (Å);
    kgrid: k grid of the Brillouin-zone sums.
    """

    qpoints: np.ndarray
    frequencies: np.ndarray
    parity: np.ndarray
    displacements: np.ndarray
    site_moments: np.ndarray
    kind: str
    amplitude: str | float
    kgrid: tuple[int, int, int]

    @classmethod
    def of_modes(cls, modes, displacements, site_moments, kind, amplitude, kgrid) -> "ModeMagnetization":
        """Bundle the response of a :class:`~phonomag.phonons.modes.PhononModes` set."""
        return cls(np.asarray(modes.qpoints), np.asarray(modes.frequencies), np.asarray(modes.parity),
                   displacements, site_moments, kind, amplitude, tuple(kgrid))

    @property
    def cell_moments(self) -> np.ndarray:
        """n̄^α summed over the cell, (nq, nmodes, 4) complex."""
        return self.site_moments.sum(axis=-2)

    @property
    def rms(self) -> np.ndarray:
        """RMS_α = |n̄^α|/√2, (nq, nmodes, 4) (paper eq. 3)."""
        return rms_components(self.cell_moments)

    @property
    def in_plane(self) -> np.ndarray:
        """√(RMS_x² + RMS_y²), (nq, nmodes)."""
        return in_plane_out_of_plane(self.rms)[0]

    @property
    def out_of_plane(self) -> np.ndarray:
        """RMS_z, (nq, nmodes)."""
        return in_plane_out_of_plane(self.rms)[1]

    @property
    def magnetization_to_charge(self) -> np.ndarray:
        """(Σ_κ |M̄_κ|²)^½ / (Σ_κ |n̄⁰_κ|²)^½ from the site-resolved moments, (nq, nmodes).

        Site-resolved, because for σ_h-odd modes the cell-integrated charge vanishes by
        symmetry while the charges of the two chalcogen layers do not. 0 where the ratio is
        undefined: the site charges are below 10⁻⁶ of the largest in the data set (rigid
        translations at Γ, modes whose charge vanishes by symmetry).
        """
        charge = np.linalg.norm(self.site_moments[..., 0], axis=-1)
        magnet = np.linalg.norm(self.site_moments[..., 1:], axis=(-2, -1))
        defined = charge > 1e-6 * max(charge.max(), 1e-300)
        return np.divide(magnet, charge, out=np.zeros_like(charge), where=defined)


def mode_magnetization(
    model: TightBindingModel,
    modes,
    kgrid: tuple[int, int, int],
    kind: str = "one-sided",
    amplitude: str | float = "zero-point",
    progress: bool = True,
) -> ModeMagnetization:
    """Charge and magnetization for all modes of a :class:`~phonomag.phonons.modes.PhononModes`."""
    displacements = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, amplitude)
    natoms = len(model.atoms)
    site = np.zeros((len(modes.qpoints), modes.frequencies.shape[1], natoms, 4), dtype=complex)
    # disable=None: a bar on terminals, silent in logs and pipes
    for iq in tqdm(range(len(modes.qpoints)), desc="response", unit="q", disable=None if progress else True):
        response = displacement_response(model, modes.qpoints[iq], kgrid, kind)
        site[iq] = response.for_displacements(displacements[iq])
    return ModeMagnetization.of_modes(modes, displacements, site, kind, amplitude, kgrid)


def finite_frequency_magnetization(
    model: TightBindingModel,
    modes,
    kgrid: tuple[int, int, int],
    amplitude: str | float = "zero-point",
    progress: bool = True,
) -> ModeMagnetization:
    """Full (N⁺ + N⁻) response of every mode at its own frequency: ħω = ħω_qν (DESIGN.md §2.2).

    The static full response has no net magnetization; at finite ω the two halves have
    denominators ε_v − ε_c ± ħω and a magnetization odd in ω survives. Its ratio to the
    one-sided value measures how much of the paper's N⁺ magnetization is a net physical one.
    """
    displacements = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, amplitude)
    natoms = len(model.atoms)
    nq, nmodes = modes.frequencies.shape
    site = np.zeros((nq, nmodes, natoms, 4), dtype=complex)
    for iq in tqdm(range(nq), desc="ω-response", unit="q", disable=None if progress else True):
        energies = tuple(np.maximum(modes.frequencies[iq], 0.0) * 1e-3)
        responses = energy_responses(model, modes.qpoints[iq], kgrid, energies, "full")
        for nu, response in enumerate(responses):
            site[iq, nu] = response.for_displacements(displacements[iq, nu])
    return ModeMagnetization.of_modes(modes, displacements, site, "full, ħω = ħω_qν", amplitude, kgrid)
