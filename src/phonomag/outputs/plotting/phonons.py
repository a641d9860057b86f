"""Phonon dispersion figure with σ_h-even and σ_h-odd branches told apart.

Plotting only reads :class:`~phonomag.phonons.modes.PhononModes`; it computes no physics.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from phonomag.outputs.plotting.style import save_figure  # noqa: E402
from phonomag.phonons.modes import PhononModes  # noqa: E402

_STYLE = {
    1: dict(color="tab:red", linestyle="-", label="even under σ$_h$"),
    -1: dict(color="tab:blue", linestyle="--", label="odd under σ$_h$"),
    0: dict(color="black", linestyle="-", label="modes"),
}


def plot_dispersion(
    modes: PhononModes,
    distances: np.ndarray,
    ticks: list[float],
    tick_labels: list[str],
    output: Path,
    title: str = "",
) -> list[Path]:
    """Dispersion ħω (meV) along a path, even and odd branches in two colours and line styles.

    distances (nq,) cumulative path length in 1/Å (see :func:`phonomag.crystal.kpath.path_from_labels`),
    ticks and tick_labels the high-symmetry points. Within one parity the n-th
    lowest frequency at each q forms a branch, so lines never join modes of
    opposite parity where branches cross. Writes ``output`` .png and .pdf; returns the paths.
    """
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    for sign in (1, -1, 0):
        mask = modes.parity == sign
        if not mask.any():
            continue
        counts = mask.sum(axis=1)
        if np.any(counts != counts[0]):
            raise ValueError(f"the number of modes of parity {sign} changes along the path; plot per segment")
        branches = modes.frequencies[mask].reshape(len(distances), counts[0])
        for n in range(branches.shape[1]):
            style = dict(_STYLE[sign])
            if n:
                style.pop("label")
            ax.plot(distances, branches[:, n], lw=1.2, **style)
    for x in ticks:
        ax.axvline(x, color="0.7", lw=0.6, zorder=0)
    ax.axhline(0.0, color="0.7", lw=0.6, zorder=0)
    ax.set_xticks(ticks, tick_labels)
    ax.set_xlim(distances[0], distances[-1])
    ax.set_ylim(min(0.0, modes.frequencies.min() * 1.05), modes.frequencies.max() * 1.08)
    ax.set_ylabel("ħω (meV)")
    ax.set_xlabel("wavevector")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, output)
