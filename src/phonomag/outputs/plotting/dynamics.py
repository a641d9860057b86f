"""Figure: phonon angular momentum beside the magnetization, and the non-adiabatic net magnetization.

Reads arrays only. Branches follow :func:`phonomag.outputs.plotting.dispersion.branch_order`
(n-th mode of one σ_h parity), one colour per branch in every panel.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from phonomag.outputs.plotting.dispersion import MU_B_PER_M, branch_order  # noqa: E402
from phonomag.outputs.plotting.style import save_figure  # noqa: E402


def plot_dynamics(
    distances: np.ndarray,
    ticks: list[float],
    tick_labels: list[str],
    frequencies: np.ndarray,
    parity: np.ndarray,
    angular_momentum_z: np.ndarray,
    static_rms: np.ndarray,
    dynamic_rms: np.ndarray,
    output: Path,
) -> list[Path]:
    """Four panels along the path, per branch: ħω (meV); l_z (ħ); RMS |m| of the one-sided
    static response; the ratio of the net non-adiabatic |m| (full response at ħω_qν) to it.

    static_rms, dynamic_rms (nq, nmodes): RMS |M| = √(Σ_a RMS_a²) in electrons per cell;
    drawn as the spin moment m ≈ −2 μ_B M.
    """
    order = branch_order(frequencies, parity)

    def by_branch(values):
        return np.take_along_axis(values, order, axis=1)

    omega, l_z = by_branch(frequencies), by_branch(angular_momentum_z)
    static, dynamic = by_branch(static_rms), by_branch(dynamic_rms)
    ratio = np.divide(dynamic, static, out=np.full_like(static, np.nan), where=static > 1e-6 * static.max())
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(5.2, 7.6), layout="constrained",
                             height_ratios=[1.2, 1, 1, 1])
    colours = plt.get_cmap("tab10")(np.arange(omega.shape[1]) % 10)
    styles = {1: "-", -1: "--", 0: ":"}
    for b, colour in enumerate(colours):
        style = styles[int(np.take_along_axis(parity, order, axis=1)[0, b])]
        axes[0].plot(distances, omega[:, b], color=colour, ls=style, lw=1.1)
        axes[1].plot(distances, l_z[:, b], color=colour, ls=style, lw=1.1)
        axes[2].plot(distances, 1e4 * MU_B_PER_M * static[:, b], color=colour, ls=style, lw=1.1)
        axes[3].plot(distances, ratio[:, b], color=colour, ls=style, lw=1.1)
    axes[0].set_ylabel("ħω (meV)")
    axes[1].set_ylabel(r"$l_z$ ($\hbar$)")
    axes[1].axhline(0, color="0.6", lw=0.6)
    axes[2].set_ylabel(r"RMS $|m|$ ($10^{-4}\,\mu_B$/cell)")
    axes[3].set_ylabel("net $|m|$ at $\\hbar\\omega_{q\\nu}$\n/ one-sided $|m|$")
    axes[3].set_yscale("log")
    for ax, letter in zip(axes, "abcd", strict=True):
        for x in ticks:
            ax.axvline(x, color="0.75", lw=0.6, zorder=0)
        ax.text(0.01, 0.95, f"({letter})", transform=ax.transAxes, va="top", fontweight="bold")
    axes[-1].set_xticks(ticks, tick_labels)
    axes[-1].set_xlim(distances[0], distances[-1])
    axes[0].set_title("solid: σ_h even, dashed: odd; (b) Zhang–Niu angular momentum,\n"
                      "(c) static one-sided magnetization, (d) non-adiabatic net / one-sided", fontsize=8)
    return save_figure(fig, output)
