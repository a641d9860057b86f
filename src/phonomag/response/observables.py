"""Mode-resolved observables: cell moments and RMS (docs/physics.md §4, eq. 3 of the paper).

n̄^α (α = 0, x, y, z): cell-integrated Pauli components of δñ, electrons per cell;
RMS_α = |n̄^α|/√2. Two parts of M (:class:`MagnetizationParts`): for a layer, in plane √(RMS_x² + RMS_y²) and
out of plane RMS_z; for a bulk crystal, along q |q̂·M̄|/√2 (longitudinal, M_L) and across q
√(|M̄|² − |q̂·M̄|²)/√2 (transverse, M_T), q̂ from :func:`longitudinal_directions`.
Spin magnetic moment m = −g_s μ_B S with S = M (units of ħ) and g_s = 2: m = −2 μ_B M.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Spin magnetic moment per unit of the Pauli component M, μ_B: m = −g_s μ_B M with g_s = 2.
SPIN_MOMENT_PER_M = -2.0


def rms_components(cell_moments: np.ndarray) -> np.ndarray:
    """RMS_α = |n̄^α|/√2 of cell-integrated Pauli components (…, 4) → (…, 4)."""
    return np.abs(cell_moments) / np.sqrt(2.0)


@dataclass(frozen=True)
class MagnetizationParts:
    """The two parts of the cell's M that Fig. 3, the tables and results.nc show (docs/physics.md §4).

    variables: their results.nc names; labels: plain text ("M∥"); moments: the magnetic moment's text ("m∥");
    math: matplotlib text; words: adjectives ("in-plane"); descriptions: the long names of the variables.
    """

    variables: tuple[str, str]
    labels: tuple[str, str]
    moments: tuple[str, str]
    math: tuple[str, str]
    words: tuple[str, str]
    descriptions: tuple[str, str]


#: A layer: in plane (x, y) and out of plane (z, the normal).
LAYER_PARTS = MagnetizationParts(("rms_in_plane", "rms_out_of_plane"), ("M∥", "M_z"), ("m∥", "m_z"),
                                 (r"$m_\parallel$", "$m_z$"), ("in-plane", "out-of-plane"),
                                 ("sqrt(RMS_x^2 + RMS_y^2)", "RMS_z"))
#: A bulk crystal: along q (longitudinal) and across q (transverse).
BULK_PARTS = MagnetizationParts(("rms_along_q", "rms_across_q"), ("M_L", "M_T"), ("m_L", "m_T"),
                                ("$m_L$", "$m_T$"), ("longitudinal", "transverse"),
                                ("|q_hat . M|/sqrt(2), along q", "sqrt(|M|^2 - |q_hat . M|^2)/sqrt(2), across q"))


def magnetization_parts(cell_moments: np.ndarray, directions: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The two RMS parts of M (module docstring) from cell moments (nq, nmodes, 4) complex: a layer's
    (√(RMS_x² + RMS_y²), RMS_z) without ``directions``; with the unit vectors q̂ (nq, 3, Cartesian) of a bulk
    crystal, (|q̂·M̄|/√2, √(|M̄|² − |q̂·M̄|²)/√2)."""
    if directions is None:
        rms = rms_components(cell_moments)
        return np.hypot(rms[..., 1], rms[..., 2]), rms[..., 3]
    moments = np.asarray(cell_moments)[..., 1:]
    along = np.abs(np.einsum("qi,qmi->qm", np.asarray(directions, float), moments))
    total = np.linalg.norm(moments, axis=-1)
    return along / np.sqrt(2.0), np.sqrt(np.maximum(total**2 - along**2, 0.0)) / np.sqrt(2.0)


def longitudinal_directions(qpoints: np.ndarray, reciprocal: np.ndarray) -> np.ndarray:
    """q̂ (nq, 3, Cartesian unit vectors) of reduced q-points (nq, 3), ``reciprocal`` rows bᵢ (1/Å, with 2π), the
    q as given (a path's own points). At q = 0 the direction towards the next q of the list (along a path: the
    segment that leaves Γ), else from the previous one; a lone Γ takes ẑ."""
    cartesian = np.asarray(qpoints, float) @ np.asarray(reciprocal, float)
    length = np.linalg.norm(cartesian, axis=1)
    out = np.zeros_like(cartesian)
    moving = length > 1e-9
    out[moving] = cartesian[moving] / length[moving, None]
    for i in np.flatnonzero(~moving):
        steps = [cartesian[j] - cartesian[i] for j in (i + 1, i - 1) if 0 <= j < len(cartesian)]
        steps = [s for s in steps if np.linalg.norm(s) > 1e-9]
        out[i] = steps[0] / np.linalg.norm(steps[0]) if steps else np.array([0.0, 0.0, 1.0])
    return out


def spin_magnetic_moment(cell_moments: np.ndarray) -> np.ndarray:
    """m = −2 μ_B M (…, 3) in μ_B from Pauli components (…, 4) (n⁰, M_x, M_y, M_z)."""
    return SPIN_MOMENT_PER_M * np.asarray(cell_moments)[..., 1:]
