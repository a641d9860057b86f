"""Mode-resolved observables: cell moments and RMS (DESIGN.md §1, eq. 3 of the paper).

n̄^α (α = 0, x, y, z): cell-integrated Pauli components of δñ, electrons per cell;
RMS_α = |n̄^α|/√2; in-plane √(RMS_x² + RMS_y²), out-of-plane RMS_z.
"""

from __future__ import annotations

import numpy as np


def rms_components(cell_moments: np.ndarray) -> np.ndarray:
    """RMS_α = |n̄^α|/√2 of cell-integrated Pauli components (…, 4) → (…, 4)."""
    return np.abs(cell_moments) / np.sqrt(2.0)


def in_plane_out_of_plane(rms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(√(RMS_x² + RMS_y²), RMS_z) from (…, 4) RMS components."""
    return np.hypot(rms[..., 1], rms[..., 2]), rms[..., 3]
