"""The long-range part of the pattern responses of a polar crystal (docs/physics.md §12).

A unit pattern (κ, α) at small q + G (docs/physics.md §10) carries the dipoles Z*_κ ε̂_α e^{iq·(R+τ_κ)}, whose
screened macroscopic field is, per unit displacement (atomic units, the physical field: an electron feels −E),

    E_β(Q) = −(4π/Ω) Q_β (Q·Z*_κ)_α / (Q·ε∞·Q),    Q = q + G,   (Q·Z*_κ)_α = Σ_γ Q_γ Z*_{κ,γα},

a function of the direction of Q only: finite and direction dependent as Q → 0, non-analytic at Γ. Its
one-sided response is Σ_β E_β X_β(r) with X_β = ∂ñ/∂E_β, the cell-periodic response to a uniform field (the
DFPT electric-field perturbation). Summed over G with the phases of the pattern (the comb of dipoles at
R + τ_κ has the components e^{−iG·τ_κ}/Ω at q + G) and a Gaussian cut-off,

    ñ^L_{q,κα}(r) = Σ_G e^{iG·(r − τ_κ)} w(Q) Σ_β E_β(Q) X_β(r),    w(Q) = exp(−Q·ε∞·Q / (4λ²)),

with the term Q = 0 left out (at Γ itself DFPT has no macroscopic field). X is the response to a perturbation
even under time reversal at q = 0, so n⁰ is real and M imaginary in real space (X_G = ±X*₋G, docs/physics.md §6.1);
the kernel keeps that part of the stored X (:func:`time_reversal_part`), as anaddb imposes charge neutrality on
Z*, and :func:`time_reversal_violation` states what it removed. ñ^L has the kernel's periodicity,
ñ^L_{q+G₀} = e^{−iG₀·(r−τ_κ)} ñ^L_q, and at every image of Γ the non-analytic part of the DFPT response. The
kernel (:class:`~phonomag.engines.kernel.interpolation.ResponseKernel`) subtracts it at its grid q, interpolates
the rest and adds it back at any q with the same λ (Gonze & Lee, PRB 55, 10355 (1997) do the same for the
force constants; Verdi & Giustino, PRL 115, 176401 (2015) for the electron–phonon vertex). Terms with
w(Q) < e^{−25} are dropped. Units: fields in electrons/Å³ per Å of displacement, as the patterns'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms, units

from phonomag.response.band_limited import box_spectrum, grid_values, time_reversed

#: Terms of the G sum whose Gaussian weight exponent exceeds this are dropped (weight < e^{−25} ≈ 1e-11).
EXPONENT_CUTOFF = 25.0


@dataclass(frozen=True)
class LongRange:
    """ñ^L of every pattern (module docstring).

    atoms: the crystal (cell rows, Å; τ_κ); born (natoms, 3, 3): Z*_{κ,βα} (e; β field, α displacement), charge
    neutral; epsilon (3, 3): ε∞; spectrum (3, 4, n₁, n₂, n₃): the Fourier coefficients of X_β on the kernel's
    box (:class:`~phonomag.engines.kernel.symmetry.FourierBox`), electrons/Å³ per atomic unit of field;
    lam: λ of the cut-off (1/bohr; :func:`default_lambda`); removed: the time-reversal violation of the stored X
    that the kernel left out (n⁰, M; :func:`time_reversal_violation`).
    """

    atoms: Atoms
    born: np.ndarray
    epsilon: np.ndarray
    spectrum: np.ndarray
    lam: float
    removed: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def from_coefficients(cls, atoms: Atoms, born, epsilon, coefficients, gvectors, shape,
                          lam: float | None = None) -> LongRange:
        """From X's coefficients (3, 4, nG) at the integer G (nG, 3) of the reduced field file, on the box
        ``shape``; ``lam`` None: :func:`default_lambda`."""
        epsilon = np.asarray(epsilon, float)
        stored = box_spectrum(np.asarray(coefficients), np.asarray(gvectors), shape)
        lam = default_lambda(atoms, epsilon) if lam is None else float(lam)
        return cls(atoms, np.asarray(born, float), epsilon, time_reversal_part(stored), lam,
                   time_reversal_violation(stored))

    def _reciprocal_bohr(self) -> np.ndarray:
        """Rows b_i in 1/bohr."""
        return 2 * np.pi * np.linalg.inv(self.atoms.cell.array).T * units.Bohr

    def _candidates(self) -> np.ndarray:
        """Integer G (n, 3) around 0 that reach every Q = q + G with a weight above the cut-off, for q within
        half a grid step of the origin (:meth:`amplitudes` centres them on the image of Γ nearest q)."""
        reach = np.sqrt(EXPONENT_CUTOFF * 4 * self.lam**2 / np.linalg.eigvalsh(self.epsilon).min())  # 1/bohr
        cell_bohr = self.atoms.cell.array / units.Bohr
        steps = np.ceil(reach * np.linalg.norm(cell_bohr, axis=1) / (2 * np.pi)).astype(int) + 1
        axes = [np.arange(-s, s + 1) for s in steps]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)

    def amplitudes(self, qpoints) -> tuple[np.ndarray, np.ndarray]:
        """(G (nq, nG, 3) integer, A (nq, nG, natoms, 3, 3)): A_{κα,β} = w(Q) E_β(Q) e^{−iG·τ_κ} per Å of
        displacement, Q = q + G, for reduced q (nq, 3); zero for Q = 0 and where w is below the cut-off."""
        q = np.atleast_2d(np.asarray(qpoints, float))
        g = self._candidates()[None] - np.rint(q)[:, None, :].astype(int)  # centred on the image of Γ nearest q
        big_q = (q[:, None, :] + g) @ self._reciprocal_bohr()  # (nq, nG, 3), 1/bohr
        screened = np.einsum("ngi,ij,ngj->ng", big_q, self.epsilon, big_q)
        exponent = screened / (4 * self.lam**2)
        keep = (screened > 1e-20) & (exponent <= EXPONENT_CUTOFF)
        safe = np.where(keep, screened, 1.0)
        volume_bohr3 = abs(np.linalg.det(self.atoms.cell.array)) / units.Bohr**3
        charge = np.einsum("ngc,kca->ngka", big_q, self.born)  # (Q·Z*_κ)_α
        field = -(4 * np.pi / volume_bohr3) * np.einsum("ngb,ngka->ngkab", big_q, charge) / safe[..., None, None, None]
        weight = np.where(keep, np.exp(-np.minimum(exponent, EXPONENT_CUTOFF)), 0.0)
        phase = np.exp(-2j * np.pi * g @ self.atoms.get_scaled_positions(wrap=False).T)  # (nq, nG, κ)
        per_angstrom = 1.0 / units.Bohr  # the field per bohr of displacement → per Å
        return g, field * (weight * per_angstrom)[..., None, None, None] * phase[..., None, None]

    def fields(self, qpoints) -> np.ndarray:
        """ñ^L (nq, natoms, 3, n₃, 4, n₁, n₂) on the box's grid r = Σ jᵢ/nᵢ aᵢ, in the layout of the kernel's
        layers (the planes x₃ = j₃/n₃)."""
        shape = self.spectrum.shape[-3:]
        x = np.moveaxis(grid_values(self.spectrum), -1, 1)  # X (β, n3, 4, n1, n2)
        g, amplitude = self.amplitudes(qpoints)
        outside = (np.abs(g) > (np.array(shape) - 1) // 2).any(axis=-1)  # (nq, nG): would alias on the grid
        if outside.any() and np.abs(amplitude[outside]).max() > 1e-10 * np.abs(amplitude).max():
            raise ValueError(f"the cut-off λ = {self.lam:.3g}/bohr reaches beyond the {'×'.join(map(str, shape))} box "
                             "of the fields: choose a smaller λ")
        amplitude = np.where(outside[..., None, None, None], 0.0, amplitude)
        out = []
        for gq, aq in zip(g, amplitude, strict=True):
            # f_{κα,β}(r) = Σ_G A e^{iG·r}: the G are inside the box, so one inverse FFT gives it exactly;
            # (κ, α, n3, β, n1, n2)
            f = np.moveaxis(grid_values(box_spectrum(np.moveaxis(aq, 0, -1), gq, shape)), -1, 2)
            out.append(np.einsum("kalbxy,blcxy->kalcxy", f, x))
        return np.array(out)

    def cell_integrals(self, qpoints) -> np.ndarray:
        """∫_cell ñ^L d³r (nq, natoms, 3, 4) = Ω Σ_G A(G)·X(−G), electrons per cell per Å of displacement."""
        shape = np.array(self.spectrum.shape[-3:])
        g, amplitude = self.amplitudes(qpoints)
        inside = (np.abs(g) <= (shape - 1) // 2).all(axis=-1)  # X is zero beyond its box
        index = (-g) % shape
        x = self.spectrum[:, :, index[..., 0], index[..., 1], index[..., 2]] * inside  # (β, 4, nq, nG)
        return abs(np.linalg.det(self.atoms.cell.array)) * np.einsum("ngkab,bcng->nkac", amplitude, x)


def time_reversal_part(spectrum: np.ndarray) -> np.ndarray:
    """The part of X (…, 4, n₁, n₂, n₃) that time reversal allows, (X ± X*₋G)/2 (module docstring)."""
    return (spectrum + time_reversed(spectrum)) / 2


def time_reversal_violation(spectrum: np.ndarray) -> tuple[float, float]:
    """‖X − X_TR‖/‖X‖ of n⁰ and of M (:func:`time_reversal_part`): what the kernel leaves out of a stored X."""
    forbidden = spectrum - time_reversal_part(spectrum)
    return tuple(float(np.linalg.norm(forbidden[:, part]) / np.linalg.norm(spectrum[:, part]))
                 for part in (slice(0, 1), slice(1, 4)))


def default_lambda(atoms: Atoms, epsilon) -> float:
    """λ (1/bohr) with Q·ε∞·Q/(4λ²) = 4 |Q|²/|b_min|² (ε∞ isotropic): the weight is e^{−1} half way to the
    nearest reciprocal lattice vector b_min, e^{−4} at b_min."""
    reciprocal = 2 * np.pi * np.linalg.inv(atoms.cell.array).T * units.Bohr
    shortest = np.linalg.norm(reciprocal, axis=1).min()
    return float(np.sqrt(np.trace(np.asarray(epsilon, float)) / 3) * shortest / 4)
