"""Model against first principles (DFPT): the two RMS parts of the magnetization of every mode, per q (a layer's
in-plane and out-of-plane M, a bulk crystal's M along and across q)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.outputs.plotting.style import plt, save_figure
from phonomag.response.observables import MagnetizationParts

#: Lowest value of the log panels of :func:`plot_dispersion_overlay`, relative to the largest.
LOG_SPAN = 1e-4


def plot_model_vs_dfpt(rows, output: Path, engines: tuple[str, str], parts: MagnetizationParts) -> list[Path]:
    """One panel per q: the two RMS parts of M named by ``parts`` (electrons per cell, log scale) of each mode from
    the two engines named in ``engines`` (:class:`~phonomag.response.comparison.ModeComparison` rows: first,
    second)."""
    labels = list(dict.fromkeys(r.label for r in rows))
    fig, axes = plt.subplots(1, len(labels), figsize=(5.2 * len(labels), 3.6), squeeze=False)
    width = 0.2
    for ax, label in zip(axes[0], labels, strict=True):
        sel = [r for r in rows if r.label == label]
        x = np.arange(len(sel))
        one, two = parts.labels
        series = [
            (f"{one} {engines[0]}", [r.part_one[0] for r in sel], "tab:blue", ""),
            (f"{one} {engines[1]}", [r.part_one[1] for r in sel], "tab:blue", "//"),
            (f"{two} {engines[0]}", [r.part_two[0] for r in sel], "tab:red", ""),
            (f"{two} {engines[1]}", [r.part_two[1] for r in sel], "tab:red", "//"),
        ]
        for n, (name, values, colour, hatch) in enumerate(series):
            ax.bar(x + (n - 1.5) * width, np.maximum(values, 1e-12), width, label=name, color=colour,
                   alpha=0.45 if hatch else 0.9, hatch=hatch, edgecolor=colour)
        ax.set_yscale("log")
        tallest = max(max(values) for _, values, _, _ in series)
        ax.set_ylim(1e-9, 50 * tallest)  # headroom above the bars for the legend
        ax.set_xticks(x, [f"{r.index}\n{'+' if r.parity > 0 else '−'}" for r in sel])
        ax.set_xlabel(f"{engines[0]} mode ν (σ_h parity); {engines[1]}: same parity and rank")
        ax.set_ylabel("RMS magnetization (electrons/cell)")
        ax.set_title(f"q = {label}, zero-point amplitude")
    axes[0][0].legend(fontsize=7, ncol=4, loc="upper center")
    return save_figure(fig, output)


def plot_dispersion_overlay(first, second, distances, ticks, tick_labels, output: Path) -> list[Path]:
    """Fig. 3 of two engines on one path: (a) ħω (meV), (b), (c) the two RMS parts of m (μ_B per cell, log; a
    layer's m∥ and m_z, a bulk crystal's m_L and m_T).

    ``first`` and ``second`` are :class:`~phonomag.response.modes.ModeResponse` at the same q-points
    (distances (nq,) 1/Å; ticks and tick_labels the high-symmetry points). Modes are paired per q by
    σ_h parity and rank (:func:`~phonomag.response.comparison.pair_modes`) and drawn as the branches of
    ``first`` (:func:`~phonomag.outputs.plotting.dispersion.branch_order`): one colour per branch,
    ``first`` solid, ``second`` dashed. The log panels span four decades below their largest
    value; smaller values (zero by symmetry) are left out. Writes ``output`` .png and .pdf; returns the paths.
    """
    from phonomag.outputs.plotting.dispersion import MU_B_PER_M, branch_order
    from phonomag.response.comparison import pair_modes

    if first.qpoints.shape != second.qpoints.shape or not np.allclose(first.qpoints, second.qpoints, atol=1e-8):
        raise ValueError("plot_dispersion_overlay: the two responses are not at the same q-points")
    order = branch_order(first.frequencies, first.parity)
    partner = np.array([pair_modes(a, b) for a, b in zip(first.parity, second.parity, strict=True)])
    second_order = np.take_along_axis(partner, order, axis=1)
    series = {}
    for name, data, index in ((first.engine, first, order), (second.engine, second, second_order)):
        series[name] = [np.take_along_axis(values, index, axis=1) for values in
                        (data.frequencies, *(MU_B_PER_M * part for part in data.m_parts))]
    fig, axes = plt.subplots(3, 1, figsize=(6.0, 7.2), sharex=True, layout="constrained",
                             height_ratios=[1.2, 1.0, 1.0])
    colours = [plt.get_cmap("tab10")(n % 10) for n in range(order.shape[1])]
    styles = dict(zip(series, ("-", "--"), strict=True))
    for panel, ax in enumerate(axes):
        top = max(values[panel].max() for values in series.values())
        for name, values in series.items():
            for branch, colour in enumerate(colours):
                y = values[panel][:, branch]
                if panel:
                    y = np.where(y > LOG_SPAN * top, y, np.nan)
                ax.plot(distances, y, color=colour, ls=styles[name], lw=1.1)
        if panel:
            ax.set_yscale("log")
            ax.set_ylim(LOG_SPAN * top, 2.0 * top)
        for x in ticks:
            ax.axvline(x, color="0.75", lw=0.6, zorder=0)
    axes[0].set_ylabel("ħω (meV)")
    for ax, text in zip(axes[1:], first.parts.math, strict=True):
        ax.set_ylabel(f"RMS {text} ($\\mu_B$/cell)")
    handles = [plt.Line2D([], [], color="0.2", ls=style, label=name) for name, style in styles.items()]
    fig.legend(handles=handles, fontsize=7, loc="outside upper center", ncol=2, frameon=False)
    axes[2].set_xticks(ticks, tick_labels)
    axes[2].set_xlim(distances[0], distances[-1])
    axes[2].set_xlabel("wavevector")
    axes[0].set_title(f"RMS magnetization per branch, zero-point: {first.engine} (solid), {second.engine} (dashed)",
                      fontsize=8)
    return save_figure(fig, output)
