"""Figures of the dynamic charge–spin structure factor S^{αβ}(Q, ω) (paper eq. 5).

Reads arrays only (:mod:`phonomag.response.structure_factor` computes them). All intensities are in
(electrons per cell)² per meV; ħω is the energy transferred to the sample (ω > 0: phonon
created, Stokes; ω < 0: phonon absorbed, anti-Stokes). Charge–charge S^{00} and the
spin–spin trace Σ_a S^{aa} are drawn on logarithmic colour scales spanning ``decades``
below their maxima; the charge–spin term Re S^{0a} is signed, on a diverging linear scale.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import CenteredNorm, LogNorm  # noqa: E402

from phonomag.outputs.plotting.style import save_figure  # noqa: E402

UNITS = r"(e/cell)$^2$/meV"
AXES = "xyz"


def _log_norm(values: np.ndarray, decades: float) -> LogNorm:
    top = max(float(np.max(values)), 1e-300)
    return LogNorm(vmin=top * 10.0 ** -decades, vmax=top, clip=True)


def _panels(axis: str) -> list[tuple[str, str]]:
    """(title, colour map) of the three sectors."""
    return [("charge–charge $S^{00}$", "magma"), (r"spin–spin $\sum_a S^{aa}$", "viridis"),
            (f"charge–spin Re $S^{{0{axis}}}$", "RdBu_r")]


def plot_sqw_maps(
    distances: np.ndarray,
    omega: np.ndarray,
    charge: np.ndarray,
    spin_trace: np.ndarray,
    cross: np.ndarray,
    cross_axis: int,
    ticks: list[float],
    tick_labels: list[str],
    output: Path,
    title: str,
    decades: float = 4.0,
) -> list[Path]:
    """Three maps along the path (x, 1/Å) against ħω (meV), shared ω axis.

    charge, spin_trace, cross (nQ, nω): S^{00}, Σ_a S^{aa} and Re S^{0a} with a = ``cross_axis``
    (0, 1, 2 for x, y, z).
    """
    fig, axes = plt.subplots(1, 3, sharey=True, figsize=(12.5, 4.6), layout="constrained")
    for ax, values, (name, cmap) in zip(axes, (charge, spin_trace, cross), _panels(AXES[cross_axis]), strict=True):
        norm = CenteredNorm(halfrange=max(np.abs(values).max(), 1e-300)) if cmap == "RdBu_r" \
            else _log_norm(values, decades)
        mesh = ax.pcolormesh(distances, omega, values.T, shading="nearest", cmap=cmap, norm=norm, rasterized=True)
        fig.colorbar(mesh, ax=ax, label=UNITS, pad=0.02, aspect=30)
        for x in ticks:
            ax.axvline(x, color="0.7", lw=0.5)
        ax.axhline(0, color="0.7", lw=0.5)
        ax.set_xticks(ticks, tick_labels)
        ax.set_xlim(distances[0], distances[-1])
        ax.set_title(name, fontsize=10)
    axes[0].set_ylabel(r"$\hbar\omega$ (meV)  (> 0: phonon created)")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, output)


def plot_sqw_cuts(
    omega: np.ndarray,
    labels: list[str],
    charge: np.ndarray,
    spin_trace: np.ndarray,
    cross: np.ndarray,
    cross_axis: int,
    output: Path,
    title: str,
) -> list[Path]:
    """S(ω) at fixed Q, one panel per sector, one line per Q.

    labels (nc,); charge, spin_trace, cross (nc, nω) as in :func:`plot_sqw_maps`.
    """
    fig, axes = plt.subplots(3, 1, sharex=True, figsize=(6.4, 7.2), layout="constrained")
    colours = plt.get_cmap("tab10")(np.arange(len(labels)) % 10)
    for ax, values, (name, _) in zip(axes, (charge, spin_trace, cross), _panels(AXES[cross_axis]), strict=True):
        for label, line, colour in zip(labels, values, colours, strict=True):
            ax.plot(omega, line, color=colour, lw=1.0, label=label)
        ax.axvline(0, color="0.7", lw=0.5)
        ax.set_ylabel(f"{name}\n{UNITS}", fontsize=9)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    axes[2].axhline(0, color="0.7", lw=0.5)
    axes[0].legend(title="Q", fontsize=8, frameon=False)
    axes[-1].set_xlabel(r"$\hbar\omega$ (meV)  (> 0: phonon created)")
    axes[-1].set_xlim(omega[0], omega[-1])
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, output)


def plot_sqw_plane(
    corners: np.ndarray,
    charge: np.ndarray,
    spin_trace: np.ndarray,
    cross: np.ndarray,
    cross_axis: int,
    zone_centres: np.ndarray,
    zone_corners: np.ndarray,
    view: np.ndarray,
    output: Path,
    title: str,
    decades: float = 4.0,
) -> list[Path]:
    """Maps of S(Q, ω₀) on a plane of Q, Cartesian axes in 1/Å.

    corners (nh+1, nk+1, 2): Cartesian corners of the cells around each Q; charge, spin_trace,
    cross (nh, nk); zone_centres (nG, 2) reciprocal lattice points whose zone outlines are
    drawn; zone_corners (6, 2) the hexagon around Γ; view [[x0, x1], [y0, y1]] the shown region (1/Å).
    """
    aspect = (view[1, 1] - view[1, 0]) / (view[0, 1] - view[0, 0])
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.4 * aspect + 1.3), layout="constrained")
    outline = np.vstack([zone_corners, zone_corners[:1]])
    for ax, values, (name, cmap) in zip(axes, (charge, spin_trace, cross), _panels(AXES[cross_axis]), strict=True):
        norm = CenteredNorm(halfrange=max(np.abs(values).max(), 1e-300)) if cmap == "RdBu_r" \
            else _log_norm(values, decades)
        mesh = ax.pcolormesh(corners[..., 0], corners[..., 1], values, cmap=cmap, norm=norm, rasterized=True)
        fig.colorbar(mesh, ax=ax, label=UNITS, pad=0.02, aspect=20)
        for centre in zone_centres:
            ax.plot(*(outline + centre).T, color="0.6", lw=0.5)
        ax.set_xlim(*view[0])
        ax.set_ylim(*view[1])
        ax.set_aspect("equal")
        ax.set_xlabel(r"$Q_x$ (1/Å)")
        ax.set_title(name, fontsize=10)
    axes[0].set_ylabel(r"$Q_y$ (1/Å)")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, output)
