"""Model against first principles (DFPT): RMS in-plane and out-of-plane magnetization of every mode, per q."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.outputs.plotting.style import plt, save_figure


def plot_model_vs_dfpt(rows, output: Path, engines: tuple[str, str] = ("model", "DFPT")) -> list[Path]:
    """One panel per q: RMS M∥ and M_z (electrons per cell, log scale) of each mode from the two engines
    named in ``engines`` (:class:`~phonomag.response.comparison.ModeComparison` rows: first, second)."""
    labels = list(dict.fromkeys(r.label for r in rows))
    fig, axes = plt.subplots(1, len(labels), figsize=(5.2 * len(labels), 3.6), squeeze=False)
    width = 0.2
    for ax, label in zip(axes[0], labels):
        sel = [r for r in rows if r.label == label]
        x = np.arange(len(sel))
        series = [
            (f"M∥ {engines[0]}", [r.in_plane[0] for r in sel], "tab:blue", ""),
            (f"M∥ {engines[1]}", [r.in_plane[1] for r in sel], "tab:blue", "//"),
            (f"M_z {engines[0]}", [r.out_of_plane[0] for r in sel], "tab:red", ""),
            (f"M_z {engines[1]}", [r.out_of_plane[1] for r in sel], "tab:red", "//"),
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
