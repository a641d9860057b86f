"""Mode-resolved observables: cell moments and RMS (docs/physics.md §4, eq. 3 of the paper).

n̄^α (α = 0, x, y, z): cell-integrated Pauli components of δñ, electrons per cell;
RMS_α = |n̄^α|/√2; in-plane √(RMS_x² + RMS_y²), out-of-plane RMS_z.
Spin magnetic moment m = −g_s μ_B S with S = M (units of ħ) and g_s = 2: m = −2 μ_B M.
"""

from __future__ import annotations

import numpy as np

#: Spin magnetic moment per unit of the Pauli component M, μ_B: m = −g_s μ_B M with g_s = 2.
SPIN_MOMENT_PER_M = -2.0


def rms_components(cell_moments: np.ndarray) -> np.ndarray:
    """RMS_α = |n̄^α|/√2 of cell-integrated Pauli components (…, 4) → (…, 4)."""
    return np.abs(cell_moments) / np.sqrt(2.0)


def in_plane_out_of_plane(rms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(√(RMS_x² + RMS_y²), RMS_z) from (…, 4) RMS components."""
    return np.hypot(rms[..., 1], rms[..., 2]), rms[..., 3]


def spin_magnetic_moment(cell_moments: np.ndarray) -> np.ndarray:
    """m = −2 μ_B M (…, 3) in μ_B from Pauli components (…, 4) (n⁰, M_x, M_y, M_z)."""
    return SPIN_MOMENT_PER_M * np.asarray(cell_moments)[..., 1:]
