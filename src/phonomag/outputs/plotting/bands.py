"""Figures of the electronic model: spin-coloured bands and spin texture.

Plotting only reads arrays computed elsewhere; it computes no physics.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from phonomag.outputs.plotting.style import save_figure  # noqa: E402


def plot_spin_bands(
    distances: np.ndarray,
    energies: np.ndarray,
    spin_z: np.ndarray,
    ticks: list[float],
    tick_labels: list[str],
    fermi_level: float,
    output: Path,
    title: str = "",
    window: tuple[float, float] = (-3.0, 3.0),
) -> list[Path]:
    """Band structure coloured by ⟨σ_z⟩, energies relative to ``fermi_level`` (eV).

    distances (nk,) 1/Å along the path; energies and spin_z (nk, nbands).
    Writes ``output`` with suffixes .png and .pdf; returns the paths.
    """
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    norm = plt.Normalize(-1, 1)
    for band in range(energies.shape[1]):
        points = np.stack([distances, energies[:, band] - fermi_level], axis=1)
        segments = np.stack([points[:-1], points[1:]], axis=1)
        colour = 0.5 * (spin_z[:-1, band] + spin_z[1:, band])
        lines = LineCollection(segments, cmap="coolwarm", norm=norm, linewidths=1.6)
        lines.set_array(colour)
        ax.add_collection(lines)
    for x in ticks:
        ax.axvline(x, color="0.7", lw=0.6)
    ax.axhline(0.0, color="0.4", lw=0.6, ls="--")
    ax.set_xlim(distances[0], distances[-1])
    ax.set_ylim(*window)
    ax.set_xticks(ticks, tick_labels)
    ax.set_ylabel(r"$E - E_\mathrm{mid\,gap}$ (eV)")
    if title:
        ax.set_title(title)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="coolwarm"), ax=ax, pad=0.02)
    bar.set_label(r"$\langle\sigma_z\rangle$")
    return save_figure(fig, output)


def plot_spin_texture(
    k_cartesian: np.ndarray,
    spin: np.ndarray,
    zone_corners: np.ndarray,
    output: Path,
    title: str = "",
) -> list[Path]:
    """In-plane spin texture (arrows ⟨σ_x⟩, ⟨σ_y⟩) over ⟨σ_z⟩ colour for one band.

    k_cartesian (nk, 3) 1/Å; spin (nk, 3); zone_corners (nc, 2) outline of the zone.
    The largest in-plane ⟨σ⟩ is printed on the figure: in a σ_h-symmetric
    monolayer it vanishes by symmetry and the arrows have zero length.
    """
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    sc = ax.scatter(k_cartesian[:, 0], k_cartesian[:, 1], c=spin[:, 2], cmap="coolwarm",
                    vmin=-1, vmax=1, s=14, marker="h", linewidths=0)
    in_plane = np.hypot(spin[:, 0], spin[:, 1])
    ax.quiver(k_cartesian[:, 0], k_cartesian[:, 1], spin[:, 0], spin[:, 1], angles="xy",
              scale_units="xy", scale=4.0 / np.ptp(k_cartesian[:, 0]), width=0.004, color="k")
    outline = np.vstack([zone_corners, zone_corners[:1]])
    ax.plot(outline[:, 0], outline[:, 1], color="0.3", lw=0.8)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$k_x$ (1/Å)")
    ax.set_ylabel(r"$k_y$ (1/Å)")
    ax.text(0.02, 0.02, rf"max $|\langle\sigma_\parallel\rangle|$ = {in_plane.max():.2e}",
            transform=ax.transAxes, fontsize=8)
    if title:
        ax.set_title(title)
    bar = fig.colorbar(sc, ax=ax, pad=0.02)
    bar.set_label(r"$\langle\sigma_z\rangle$")
    return save_figure(fig, output)
