"""Real-space maps (the paper's Figs. 1 and 2) from the first-principles fields of a mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import resample

from phonomag.engines.abinit.engine import AbinitModeResponse
from phonomag.cli.config import MapSpec
from phonomag.engines.tightbinding.fields import CellField, atom_wave
from phonomag.outputs.plotting.maps import plot_inplane_magnetization, plot_mz_and_charge
from phonomag.outputs.plotting.movies import write_movie
from phonomag.crystal.qpoints import qpoint_label
from phonomag.outputs.tables import characterise_mode


def plane_of(fields: np.ndarray, cell: np.ndarray, q_cartesian: np.ndarray, z: float,
             points: int = 60) -> CellField:
    """δñ^α on the plane at height z (Å), (4, points, points).

    Linear interpolation between the two nearest FFT planes, then Fourier interpolation
    in plane (the cell-periodic fields are band-limited on ABINIT's FFT grid).
    """
    n3 = fields.shape[-1]
    position = (z / cell[2, 2]) * n3
    lower = int(np.floor(position))
    weight = position - lower
    amplitude = (1 - weight) * fields[..., lower % n3] + weight * fields[..., (lower + 1) % n3]
    amplitude = resample(resample(amplitude, points, axis=1), points, axis=2)
    n1 = n2 = points
    f1, f2 = np.arange(n1) / n1, np.arange(n2) / n2
    points = f1[:, None, None] * cell[0] + f2[None, :, None] * cell[1] + np.array([0.0, 0.0, z])
    return CellField(points, amplitude, np.array([z]), q_cartesian, cell)


def render_abinit_mode(result: AbinitModeResponse, model, nu: int, style: str, stem: Path,
                       cells: tuple[int, int] = (6, 6), z: float = 0.0, points: int = 60,
                       movie_frames: int = 0) -> list[Path]:
    """Map of mode ν at ωt = 0 on the plane z: "in-plane" (Fig. 1) or "out-of-plane" (Fig. 2) style.

    Writes ``stem``.png/.pdf and, with ``movie_frames`` ≥ 2, a movie of one period
    (``stem``_movie.gif/.mp4). ``model`` supplies the atoms drawn (same structure as the
    ABINIT run, up to the vacuum). Returns the files written.
    """
    q_cart = model.cartesian(result.qpoint)
    wave = plane_of(result.fields[nu], result.cell, q_cart, z, points).wave(cells)
    u = result.displacements[nu]
    atoms = atom_wave(model, result.qpoint, u, cells)
    title = (f"ABINIT DFPT, q = {qpoint_label(result.qpoint)}, ν = {nu}, "
             f"{result.modes.frequencies[0, nu]:.1f} meV: {characterise_mode(u, model.labels)}")
    plot = plot_inplane_magnetization if style == "in-plane" else plot_mz_and_charge
    files = plot(wave, atoms, stem, title=title)
    if movie_frames >= 2:
        panels = "inplane" if style == "in-plane" else "mz-charge"
        files += write_movie(wave, atoms, Path(f"{stem}_movie"), panels=panels, frames=movie_frames, title=title)
    return files


#: The paper's two maps at each q: Fig. 1 (first σ_h-odd mode, W out of plane, in-plane M)
#: and Fig. 2 (mode 2, the highest acoustic mode at K: M_z and charge).
PAPER_MAPS = (("odd:0", "in-plane", "acoustic_W_out_of_plane"), (2, "out-of-plane", "mode2"))


def paper_maps(label: str) -> list[MapSpec]:
    """:data:`PAPER_MAPS` at the q-point ``label``, named abinit_<label>_<case>."""
    return [MapSpec(f"abinit_{label.replace(chr(39), 'p')}_{name}", label, selector, style)
            for selector, style, name in PAPER_MAPS]


def draw_abinit_maps(result: AbinitModeResponse, model, entries, output: Path, cells: tuple[int, int] = (6, 6),
                     z: float = 0.0, points: int = 60, movie_frames: int = 0) -> list[str]:
    """Draw the map ``entries`` (MapSpec, all at the q of ``result``) into ``output``; one line per map."""
    from phonomag.cli.run import resolve_mode

    lines = []
    for entry in entries:
        nu = resolve_mode(entry, result.modes.frequencies[0], result.modes.parity[0])
        files = render_abinit_mode(result, model, nu, entry.style, Path(output) / entry.name, cells, z, points,
                                   movie_frames)
        lines.append(f"map {entry.name}: mode {nu} ({result.modes.frequencies[0, nu]:.2f} meV) -> "
                     f"{', '.join(str(f) for f in files)}")
    return lines
