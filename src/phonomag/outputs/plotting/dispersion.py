"""The paper's Fig. 3: phonon branches with the RMS magnetization of every mode, and the modes at K.

Plotting only reads a :class:`~phonomag.response.modes.ModeResponse`; it computes no physics.

Magnetization unit: the spin magnetic moment per unit cell, m ≈ −2 μ_B M (g_s ≈ 2,
docs/physics.md §3), so RMS |m| = 2 RMS(M) μ_B per cell, shown as a multiple of a power of ten
chosen from the data. Numerically this equals the RMS spin polarisation 2 RMS(M) per cell.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle, Patch  # noqa: E402

from phonomag.outputs.plotting.style import save_figure  # noqa: E402
from phonomag.response.modes import ModeResponse  # noqa: E402
from phonomag.response.observables import SPIN_MOMENT_PER_M  # noqa: E402

#: Spin moment per unit of the Pauli component M: |m| = 2 μ_B |M|.
MU_B_PER_M = abs(SPIN_MOMENT_PER_M)
#: Line style of each σ_h parity (1 even, −1 odd, 0 none).
PARITY_STYLE = {1: ("-", "σ$_h$ even"), -1: ("--", "σ$_h$ odd"), 0: (":", "no σ$_h$ parity")}
#: Largest fat-band half-width in panel (a), as a fraction of the frequency range.
FAT_BAND = 0.035
#: Oblique view of the in-plane "depth" axis in the mode schematics: foreshortening and angle.
DEPTH_SCALE, DEPTH_ANGLE = 0.5, np.deg2rad(35.0)
#: Longest drawn displacement in a schematic (Å of the drawing) and the drawn atom radius.
ARROW_REACH, ATOM_RADIUS = 1.2, 0.24
#: In-plane motion with circularity 2|Im(u_x* u_y)|/|u_∥|² below this is drawn as a line, else as an arc.
LINEAR_BELOW = 0.2
#: Atom colours of the schematics by species, in order of appearance (name used in the caption: colour).
ATOM_COLOURS = {"grey": "0.45", "orange": "#f2b134", "blue": "#5fa8d3", "green": "#9bc53d", "red": "#c3423f"}


def _check(data: ModeResponse, distances, ticks, tick_labels, site_labels, positions, k_index) -> None:
    nq, nmodes, natoms = data.displacements.shape[:3]
    problems = []
    if np.shape(distances) != (nq,):
        problems.append(f"distances has shape {np.shape(distances)}, expected ({nq},) for {nq} q-points")
    if data.frequencies.shape != (nq, nmodes) or data.parity.shape != (nq, nmodes):
        problems.append(f"frequencies {data.frequencies.shape} and parity {data.parity.shape} must be ({nq}, {nmodes})")
    if len(ticks) != len(tick_labels):
        problems.append(f"{len(ticks)} ticks but {len(tick_labels)} tick labels")
    if len(site_labels) != natoms:
        problems.append(f"{len(site_labels)} site labels for {natoms} atoms")
    if np.shape(positions) != (natoms, 3):
        problems.append(f"positions has shape {np.shape(positions)}, expected ({natoms}, 3)")
    if not -nq <= k_index < nq:
        problems.append(f"k_index {k_index} out of range for {nq} q-points")
    if problems:
        raise ValueError("plot_magnetization_dispersion: " + "; ".join(problems))


def _parity_runs(parity: np.ndarray) -> list[tuple[slice, int]]:
    """(slice, parity) of the runs of constant parity along one branch; each run reaches into the next point."""
    starts = np.concatenate([[0], np.flatnonzero(np.diff(parity)) + 1])
    ends = np.append(starts[1:] + 1, len(parity))
    return [(slice(s, e), int(parity[s])) for s, e in zip(starts, ends, strict=True)]


def _power_of_ten(values: np.ndarray) -> int:
    """Exponent n such that the largest value is between 1 and 10 × 10ⁿ (0 for all-zero data)."""
    top = np.max(values)
    return int(np.floor(np.log10(top))) if top > 0 else 0


def branch_order(frequencies: np.ndarray, parity: np.ndarray) -> np.ndarray:
    """Mode index of each branch at each q, (nq, nmodes).

    With σ_h parities everywhere, a branch is the n-th lowest mode of one parity (even
    branches first): branches of one parity do not cross, so each branch is a smooth line
    and stays in one of panels (b), (c). Without parities, branch = column ν.
    """
    nq, nmodes = frequencies.shape
    if not np.all(parity != 0) or len({int(np.sum(p == 1)) for p in parity}) != 1:
        return np.tile(np.arange(nmodes), (nq, 1))
    # stable sort on −parity keeps the frequency order inside each parity
    return np.argsort(-parity, axis=1, kind="stable")


def _branch_panels(axes, data, distances, ticks, tick_labels, colours, order) -> None:
    """Panels (a) ω with fat bands, (b), (c) the two RMS parts of |m| (a layer's in-plane and out-of-plane, a bulk
    crystal's along and across q), per branch."""
    one, two = (np.take_along_axis(MU_B_PER_M * part, order, axis=1) for part in data.m_parts)
    frequencies = np.take_along_axis(data.frequencies, order, axis=1)
    parity = np.take_along_axis(data.parity, order, axis=1)
    total = np.hypot(one, two)
    exponent = _power_of_ten(np.maximum(one, two))
    span = np.ptp(data.frequencies) or 1.0
    half_width = FAT_BAND * span * total / (total.max() or 1.0)
    top, middle, bottom = axes
    for nu, colour in enumerate(colours):
        omega = frequencies[:, nu]
        top.fill_between(distances, omega - half_width[:, nu], omega + half_width[:, nu], color=colour,
                         alpha=0.3, lw=0)
        for run, sign in _parity_runs(parity[:, nu]):
            style = PARITY_STYLE[sign][0]
            top.plot(distances[run], omega[run], color=colour, ls=style, lw=1.1)
            middle.plot(distances[run], one[run, nu] / 10.0**exponent, color=colour, ls=style, lw=1.2)
            bottom.plot(distances[run], two[run, nu] / 10.0**exponent, color=colour, ls=style, lw=1.2)
    unit = rf"$10^{{{exponent}}}\,\mu_B$/cell"
    top.set_ylabel("ħω (meV)")
    middle.set_ylabel(f"RMS {data.parts.math[0]} ({unit})")
    bottom.set_ylabel(f"RMS {data.parts.math[1]} ({unit})")
    top.set_ylim(min(0.0, data.frequencies.min()) - 0.02 * span, data.frequencies.max() + 0.1 * span)
    for ax, letter in zip(axes, "abc", strict=True):
        for x in ticks:
            ax.axvline(x, color="0.75", lw=0.6, zorder=0)
        ax.text(0.012, 0.96, f"({letter})", transform=ax.transAxes, va="top", fontweight="bold")
    for ax in (middle, bottom):
        ax.set_ylim(bottom=0.0)
    present = [sign for sign in PARITY_STYLE if np.any(data.parity == sign)]
    handles = [Line2D([], [], color="0.2", ls=PARITY_STYLE[s][0], lw=1.1, label=PARITY_STYLE[s][1]) for s in present]
    handles.append(Patch(color="0.5", alpha=0.3, lw=0, label="width ∝ RMS |m|"))
    top.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=7, frameon=False,
               handlelength=2.2, columnspacing=1.2, bbox_to_anchor=(0.5, 1.0))
    bottom.set_xticks(ticks, tick_labels)
    bottom.set_xlim(distances[0], distances[-1])
    bottom.set_xlabel("wavevector")


def _view(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """In-plane horizontal and depth unit vectors of the side view: the widest spread of the atoms in plane."""
    planar = positions[:, :2] - positions[:, :2].mean(axis=0)
    horizontal = np.linalg.svd(planar)[2][0] if np.any(planar) else np.array([1.0, 0.0])
    horizontal = horizontal * (np.sign(horizontal[np.argmax(np.abs(horizontal))]) or 1.0)
    return np.append(horizontal, 0.0), np.array([-horizontal[1], horizontal[0], 0.0])


def _project(vectors: np.ndarray, horizontal: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Oblique side view (…, 3) → (…, 2): horizontal axis, z up, depth drawn foreshortened and slanted."""
    d = DEPTH_SCALE * (vectors @ depth)
    return np.stack([vectors @ horizontal + d * np.cos(DEPTH_ANGLE), vectors[..., 2] + d * np.sin(DEPTH_ANGLE)], -1)


def _arrow(ax, start, end, colour, style, reach) -> None:
    """Arrow in data coordinates; the head shrinks for motions shorter than a third of :data:`ARROW_REACH`."""
    head = float(np.clip(21.0 * reach / ARROW_REACH, 3.0, 7.0))
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle=style, color=colour, lw=1.3, shrinkA=0,
                                                          shrinkB=0, mutation_scale=head))


def _mode_schematic(ax, u, sites, species_colour, horizontal, depth, scale, colour) -> None:
    """Atoms (side view) with the in-plane path (arc with the sense of motion, or a line) and the z amplitude.

    u (natoms, 3) complex Å; sites (natoms, 2) drawn atom centres; scale: drawing length per Å.
    """
    planar = u * np.array([1.0, 1.0, 0.0])
    # global phase that puts the major axis of each in-plane ellipse along Re
    phase = np.exp(-0.5j * np.angle(np.sum(planar**2, axis=1)))[:, None]
    size = np.linalg.norm(planar, axis=1)
    circularity = 2 * np.abs(np.imag(np.conj(u[:, 0]) * u[:, 1])) / np.where(size > 0, size**2, 1.0)
    smallest = 0.03 * ARROW_REACH / scale
    for i, centre in enumerate(sites):
        ax.add_patch(Circle(centre, ATOM_RADIUS, facecolor=species_colour[i], edgecolor="0.2", lw=0.5, zorder=1))
        if size[i] > smallest and circularity[i] >= LINEAR_BELOW:
            angle = np.linspace(0.0, 1.7 * np.pi, 60)
            path = centre + scale * _project(np.real(planar[i] * phase[i] * np.exp(-1j * angle)[:, None]),
                                             horizontal, depth)
            ax.plot(*path.T, color=colour, lw=1.3, zorder=2)
            _arrow(ax, path[-2], path[-1], colour, "-|>", scale * size[i])
        elif size[i] > smallest:
            reach = scale * _project(np.real(planar[i] * phase[i]), horizontal, depth)
            _arrow(ax, centre - reach, centre + reach, colour, "<|-|>", scale * size[i])
        if abs(u[i, 2]) > smallest:
            reach = np.array([0.0, scale * abs(u[i, 2])])
            _arrow(ax, centre - reach, centre + reach, colour, "<|-|>", reach[1])


def _mode_panels(subfig, data, k_index, q_text, site_labels, positions, colours) -> None:
    """Panel (d): one side-view schematic per mode at q = qpoints[k_index], highest mode at the top."""
    u = data.displacements[k_index]
    nmodes, natoms = u.shape[:2]
    ncols = 3 if nmodes > 4 else nmodes
    nrows = -(-nmodes // ncols)
    axes = subfig.subplots(nrows, ncols, squeeze=False)
    horizontal, depth = _view(np.asarray(positions, float))
    sites = _project(np.asarray(positions, float) - np.mean(positions, axis=0), horizontal, depth)
    amplitude = np.max(np.hypot(np.linalg.norm(u[..., :2], axis=-1), np.abs(u[..., 2])))
    scale = ARROW_REACH / (amplitude or 1.0)
    species = [label.split("_")[0] for label in site_labels]
    palette = dict(zip(dict.fromkeys(species), list(ATOM_COLOURS.items()) * natoms, strict=False))
    species_colour = [palette[s][1] for s in species]
    low, high = sites.min(axis=0) - ARROW_REACH - ATOM_RADIUS, sites.max(axis=0) + ARROW_REACH + ATOM_RADIUS
    for slot, ax in enumerate(axes.flat):
        ax.set_axis_off()
        row, col = divmod(slot, ncols)
        nu = (nrows - 1 - row) * ncols + col
        if nu >= nmodes:
            continue
        _mode_schematic(ax, u[nu], sites, species_colour, horizontal, depth, scale, colours[nu])
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal")
        parity = {1: "even", -1: "odd"}.get(int(data.parity[k_index, nu]), "")
        ax.set_title(f"ν = {nu}: {data.frequencies[k_index, nu]:.1f} meV\n{parity}", fontsize=7,
                     color=colours[nu], pad=2)
    subfig.suptitle(f"(d) modes at q = {q_text}", fontsize=9,
                    fontweight="bold")
    across = np.round(horizontal[:2], 2) + 0.0
    names = ", ".join(f"{s} {colour[0]}" for s, colour in palette.items())
    subfig.supxlabel(f"Atoms: {names}. Side view, horizontal ∥ ({across[0]:g}, {across[1]:g}, 0);\n"
                     "other in-plane axis drawn slanted. Arcs: in-plane path,\n"
                     "arrowhead = sense of motion; straight arrows: linear motion;\n"
                     f"vertical arrows: out of plane. Half-length ∝ |u|, max {amplitude:.3f} Å.", fontsize=6.5)


def plot_magnetization_dispersion(
    data: ModeResponse,
    distances: np.ndarray,
    ticks: list[float],
    tick_labels: list[str],
    site_labels,
    positions: np.ndarray,
    output: Path,
    k_index: int,
) -> list[Path]:
    """The paper's Fig. 3: (a) ħω (meV), (b), (c) the two RMS parts of the magnetization (a layer's in-plane and
    out-of-plane, a bulk crystal's along and across q: ``data.parts``), (d) modes at one q.

    distances (nq,) cumulative path length (1/Å); ticks (1/Å) and tick_labels the
    high-symmetry points; site_labels (natoms,); positions (natoms, 3) Cartesian Å;
    k_index: q index of panel (d) (K of a hexagonal layer's path: the path corner farthest from Γ,
    :func:`phonomag.crystal.kpath.farthest_corner_index`), named by its tick label where it is a corner.
    Each branch (:func:`branch_order`: the n-th mode of one σ_h parity) has one colour in
    every panel, also in panel (d); solid lines are σ_h-even, dashed σ_h-odd. Panel (a) shades each branch with
    a half-width proportional to RMS |m| (the two parts in quadrature). Magnetization is the
    spin moment per cell, m ≈ −2 μ_B M, so RMS m_∥ = 2 μ_B √(RMS_x² + RMS_y²) and
    RMS m_z = 2 μ_B RMS_z (module docstring; m_L, m_T likewise). Panel (d) draws each mode's atoms in a side
    view, with arrow lengths proportional to |u| on a scale common to all modes.
    Writes ``output`` .png and .pdf; returns the paths. Raises ValueError on inconsistent shapes.
    """
    _check(data, distances, ticks, tick_labels, site_labels, positions, k_index)
    distances = np.asarray(distances, float)
    nmodes = data.frequencies.shape[1]
    cmap = plt.get_cmap("tab10" if nmodes <= 10 else "turbo")
    colours = [cmap(nu if nmodes <= 10 else nu / (nmodes - 1)) for nu in range(nmodes)]
    order = branch_order(data.frequencies, data.parity)
    mode_colours = [None] * nmodes  # colour of the branch that mode ν belongs to at K
    for branch, nu in enumerate(order[k_index]):
        mode_colours[nu] = colours[branch]
    fig = plt.figure(figsize=(7.4, 6.2), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.4, 1.0], wspace=0.02)
    axes = left.subplots(3, 1, sharex=True, height_ratios=[1.4, 1.0, 1.0])
    _branch_panels(axes, data, distances, ticks, tick_labels, colours, order)
    at_tick = [text for tick, text in zip(ticks, tick_labels, strict=True) if abs(tick - distances[k_index]) < 1e-9]
    q_text = at_tick[0] if at_tick else "(" + ", ".join(f"{x:.4g}" for x in data.qpoints[k_index]) + ")"
    _mode_panels(right, data, k_index, q_text, site_labels, positions, mode_colours)
    fig.suptitle(f"{data.engine} engine, {data.kind} response, k grid {'×'.join(map(str, data.kgrid))}", fontsize=8)
    return save_figure(fig, output)
