"""Real-space snapshots of a mode's spin and charge density (the paper's Figs. 1 and 2).

Plotting only reads a :class:`~phonomag.response.fields.FieldWave` on a plane and an
:class:`~phonomag.response.fields.AtomWave`; it computes no physics.

Quantities and units (docs/physics.md §3, one convention in every panel): the spin
polarisation density ⟨σ⟩ = 2M in Å⁻³ (the spin moment density is m ≈ −μ_B · 2M, so the
arrows point opposite to the moments) and the induced electron density 2n⁰ in
electrons/Å³, both on the plane of the field. Colour and arrow scales are fixed by the
largest amplitude over a period, so frames of a movie share them. Atoms: in-plane atoms
as circles coloured by their out-of-plane displacement u_z (Å, true size; the colour range
is ± the mode's largest displacement component), atoms above (below) the plane as up
(down) triangles, drawn at displaced positions with in-plane
displacements exaggerated by the factor given in the panel; equilibrium positions as
crosses; the q direction as a dotted line; cell outlines in grey.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.transforms import Affine2D  # noqa: E402

from phonomag.outputs.plotting.style import save_figure  # noqa: E402
from phonomag.response.fields import AtomWave, FieldWave  # noqa: E402

#: Largest drawn in-plane displacement, as a fraction of |a₁|.
DISPLACEMENT_FRACTION = 0.12
#: Largest arrow of the magnetization field, as a fraction of |a₁|.
ARROW_FRACTION = 0.12
#: Arrows shorter than this fraction of the largest are left out (no clutter of dots).
ARROW_THRESHOLD = 0.02
#: Figure sizes (inches) of the two map kinds, shared with the movies.
FIGURE_SIZES = {"in-plane": (8.0, 6.4), "out-of-plane": (13.0, 5.8)}
#: Atoms within this height (Å) of the field's plane are drawn as in-plane circles.
PLANE_TOLERANCE = 0.5
#: ``update(phase)`` of a drawn panel: moves its phase-dependent data to φ = ωt and returns the artists it
#: changed (as matplotlib's animations do), so that a movie repaints those only.
Update = Callable[[float], Sequence[Artist]]


def _plane_height(field: FieldWave) -> float:
    if field.points.ndim != 3:
        raise ValueError("maps need a field on a plane (an engine's plane_field)")
    return float(field.points[0, 0, 2])


def _outline_cells(ax, field: FieldWave) -> None:
    a1, a2 = field.cell[0, :2], field.cell[1, :2]
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    segments = []
    for m1 in range(field.cells[0]):
        for m2 in range(field.cells[1]):
            outline = (corners + [m1, m2]) @ np.array([a1, a2])
            segments.extend(np.stack([outline[:-1], outline[1:]], axis=1))
    ax.add_collection(LineCollection(segments, colors="0.55", linewidths=0.5, zorder=2))


def _mark_q(ax, field: FieldWave) -> None:
    q = field.q_cartesian[:2]
    if np.linalg.norm(q) < 1e-12:
        return
    direction = q / np.linalg.norm(q)
    extent = field.points[..., :2].reshape(-1, 2)
    length = np.abs(extent @ direction).max()
    ax.plot([0, length * direction[0]], [0, length * direction[1]], ls=":", color="magenta", lw=1.4, zorder=3)
    ax.annotate("q", xy=0.35 * length * direction, xytext=0.2 * length * direction, color="magenta",
                arrowprops=dict(arrowstyle="->", color="magenta", lw=1.4), zorder=3)


def _draw_atoms(ax, fig, atoms: AtomWave, phase: float, height: float, a_length: float):
    """Atoms at displaced positions, equilibrium crosses, displacement arrows, u_z colour bar.

    Returns ``update(phase)`` (:data:`Update`), which moves the atoms and arrows to another φ = ωt.
    """
    largest = np.sqrt((np.abs(atoms.amplitudes[:, :2]) ** 2).sum(axis=1)).max()  # bound over a period
    factor = DISPLACEMENT_FRACTION * a_length / largest if largest > 0 else 1.0
    dz = atoms.positions[:, 2] - height
    inplane = np.abs(dz) <= PLANE_TOLERANCE

    def displaced(phase: float) -> tuple[np.ndarray, np.ndarray]:
        u = atoms.at(phase)
        return u, atoms.positions[:, :2] + factor * u[:, :2]

    u, shown = displaced(phase)
    ax.scatter(*atoms.positions[:, :2].T, marker="x", s=14, c="k", lw=0.7, zorder=4)
    arrows = ax.quiver(*atoms.positions[:, :2].T, *(factor * u[:, :2]).T, angles="xy", scale_units="xy", scale=1.0,
                       color="k", width=0.003, zorder=5)
    triangles = [(ax.scatter(*shown[mask].T, marker=marker, s=28, c="0.3", edgecolors="k", lw=0.5, zorder=6), mask)
                 for marker, mask in (("^", dz > PLANE_TOLERANCE), ("v", dz < -PLANE_TOLERANCE))]
    uz_max = np.abs(atoms.amplitudes).max()  # the mode's displacement scale: in-plane modes stay white
    uz_max = uz_max if uz_max > 0 else 1.0
    dots = ax.scatter(*shown[inplane].T, marker="o", s=60, c=u[inplane, 2], cmap="coolwarm",
                      vmin=-uz_max, vmax=uz_max, edgecolors="k", lw=0.6, zorder=6)
    fig.colorbar(dots, ax=ax, orientation="horizontal", shrink=0.6, aspect=30,
                 label=f"circles: $u_z$ (Å); in-plane displacements drawn ×{factor:.3g}")

    def update(phase: float) -> list[Artist]:
        u, shown = displaced(phase)
        arrows.set_UVC(*(factor * u[:, :2]).T)
        for scatter, mask in triangles:
            scatter.set_offsets(shown[mask])
        dots.set_offsets(shown[inplane])
        dots.set_array(u[inplane, 2])
        return [arrows, *(scatter for scatter, _ in triangles), dots]

    return update


def _frame(ax, field: FieldWave) -> None:
    """Limits with a margin around the drawn cells, equal aspect, axis labels. The frame (spines) and the ticks
    are painted below the data, as they already were below the atoms: the field's arrows and image stay inside
    the margin (wider than the largest arrow), so the picture is the same, and a movie repaints only the
    phase-dependent data and what lies above it (:mod:`phonomag.outputs.plotting.movies`)."""
    xy = field.points[..., :2].reshape(-1, 2)
    pad = 0.15 * np.linalg.norm(field.cell[0])
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_zorder(0.5)


def _field_image(ax, field: FieldWave, values: np.ndarray, cmap: str, top: float):
    """``values`` (n₁, n₂) on the field's regular plane grid as an image of parallelogram pixels.

    Pixel (i, j) is centred on ``field.points[i, j]``: the image is drawn in index space and
    mapped to Cartesian Å by the affine map of the grid (nearest-point shading).
    """
    xy = field.points[..., :2]
    n1, n2 = values.shape
    origin, d1, d2 = xy[0, 0], xy[1, 0] - xy[0, 0], xy[0, 1] - xy[0, 0]
    index = np.stack(np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij"), axis=-1)
    if not np.allclose(origin + index @ np.array([d1, d2]), xy, atol=1e-9 * np.linalg.norm(field.cell[0])):
        raise ValueError("maps need the regular plane grid of phonomag.engines.tightbinding.fields.plane_field")
    grid = Affine2D(np.array([[d1[0], d2[0], origin[0]], [d1[1], d2[1], origin[1]], [0.0, 0.0, 1.0]]))
    return ax.imshow(values.T, origin="lower", extent=(-0.5, n1 - 0.5, -0.5, n2 - 0.5), transform=grid + ax.transData,
                     interpolation="nearest", cmap=cmap, vmin=-top, vmax=top, zorder=1)


def draw_inplane_magnetization(fig, field: FieldWave, atoms: AtomWave, phase: float = 0.0,
                               stride: int = 4, title: str = "") -> Update:
    """Fig. 1 panel on ``fig``: in-plane spin polarisation 2(M_x, M_y) as arrows coloured by magnitude.

    stride : every stride-th grid point along each axis carries an arrow. Returns
    ``update(phase)`` (:data:`Update`), which moves the phase-dependent data (arrows, atoms, title) to
    another φ = ωt on the same figure (movies; layout and scales stay).
    """
    height = _plane_height(field)
    a_length = float(np.linalg.norm(field.cell[0]))
    top = 2.0 * np.sqrt(np.abs(field.bloch[1]) ** 2 + np.abs(field.bloch[2]) ** 2).max()
    top = top if top > 0 else 1.0
    ax = fig.add_subplot(1, 1, 1)
    sub = (slice(None, None, stride), slice(None, None, stride))
    x, y = field.points[..., 0][sub], field.points[..., 1][sub]

    def arrows_at(phase: float) -> tuple[np.ndarray, ...]:
        values = 2.0 * field.at(phase)
        mx, my = values[1][sub], values[2][sub]
        size = np.hypot(mx, my)
        hidden = size < ARROW_THRESHOLD * top
        return tuple(np.ma.masked_where(hidden, v) for v in (mx, my, size))

    def heading(phase: float) -> str:
        return title or f"in-plane spin polarisation 2M at z = {height:.2f} Å, ωt = {np.degrees(phase):.0f}°"

    arrows = ax.quiver(x, y, *arrows_at(phase), cmap="viridis", norm=Normalize(0.0, top),
                       angles="xy", scale_units="xy", scale=top / (ARROW_FRACTION * a_length),
                       width=0.0025, zorder=1)
    fig.colorbar(arrows, ax=ax, shrink=0.8, pad=0.02,
                 label=r"in-plane spin polarisation $2|M_\parallel|$ (Å$^{-3}$)")
    _outline_cells(ax, field)
    _mark_q(ax, field)
    move_atoms = _draw_atoms(ax, fig, atoms, phase, height, a_length)
    _frame(ax, field)
    text = ax.set_title(heading(phase), fontsize=9)

    def update(phase: float) -> list[Artist]:
        arrows.set_UVC(*arrows_at(phase))
        text.set_text(heading(phase))
        return [arrows, *move_atoms(phase), text]

    return update


def draw_mz_and_charge(fig, field: FieldWave, atoms: AtomWave, phase: float = 0.0,
                       title: str = "") -> Update:
    """Fig. 2 panels on ``fig``: 2M_z (Å⁻³) beside the induced electrons 2n⁰ (electrons/Å³).

    Returns ``update(phase)`` as :func:`draw_inplane_magnetization` does.
    """
    height = _plane_height(field)
    a_length = float(np.linalg.norm(field.cell[0]))
    values = 2.0 * field.at(phase)
    panels = (
        (3, "RdBu_r", r"spin polarisation $2M_z$", r"$2M_z$ (Å$^{-3}$)"),
        (0, "PuOr_r", r"induced electrons $2n^0$", r"$2n^0$ (electrons/Å$^3$)"),
    )

    def heading(phase: float) -> str:
        return f"{title + ': ' if title else ''}z = {height:.2f} Å, ωt = {np.degrees(phase):.0f}°"

    images, movers = [], []
    for k, (alpha, cmap, name, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        top = 2.0 * np.abs(field.bloch[alpha]).max()
        top = top if top > 0 else 1.0
        image = _field_image(ax, field, values[alpha], cmap, top)
        images.append((image, alpha))
        fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label=label)
        _outline_cells(ax, field)
        _mark_q(ax, field)
        movers.append(_draw_atoms(ax, fig, atoms, phase, height, a_length))
        _frame(ax, field)
        ax.set_title(name, fontsize=9)
    text = fig.suptitle(heading(phase), fontsize=9)

    def update(phase: float) -> list[Artist]:
        values = 2.0 * field.at(phase)
        for image, alpha in images:
            image.set_data(values[alpha].T)
        text.set_text(heading(phase))
        return [*(image for image, _ in images), *(a for move_atoms in movers for a in move_atoms(phase)), text]

    return update


def plot_inplane_magnetization(field: FieldWave, atoms: AtomWave, output: Path, phase: float = 0.0,
                               stride: int = 4, title: str = "") -> list[Path]:
    """Fig. 1 style map (see :func:`draw_inplane_magnetization`); writes ``output`` .png and .pdf."""
    fig = plt.figure(figsize=FIGURE_SIZES["in-plane"], layout="constrained")
    draw_inplane_magnetization(fig, field, atoms, phase, stride, title)
    return save_figure(fig, output)


def plot_mz_and_charge(field: FieldWave, atoms: AtomWave, output: Path, phase: float = 0.0,
                       title: str = "") -> list[Path]:
    """Fig. 2 style maps (see :func:`draw_mz_and_charge`); writes ``output`` .png and .pdf."""
    fig = plt.figure(figsize=FIGURE_SIZES["out-of-plane"], layout="constrained")
    draw_mz_and_charge(fig, field, atoms, phase, title)
    return save_figure(fig, output)
