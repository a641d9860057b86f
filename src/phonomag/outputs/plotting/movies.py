"""Movies of one period of a mode: the panels of :mod:`phonomag.outputs.plotting.maps` frame by frame.

Frame k shows the snapshot at ωt = 2πk/frames (k = 0 … frames−1, so the movie loops
without a repeated frame); colour and arrow scales are the same in every frame (fixed by
the amplitudes, see :mod:`phonomag.outputs.plotting.maps`). The figure is built once and its
parts that do not move (axes, ticks, colour bars, labels) are painted once, with the layout that
constrained layout finds for them, which is then kept; each frame updates the phase-dependent data
and repaints only it and what a whole draw paints above it (:func:`_repainter`): the same pixels as
drawing the frame whole, at a fraction of the cost.
Every frame is rendered once: with ffmpeg (the binary of the ``imageio-ffmpeg``
package when it is installed, else an ``ffmpeg`` on the PATH) one ffmpeg process writes
the MP4 (H.264) and the GIF (one palette for the whole movie, ffmpeg's palettegen and
paletteuse filters); without ffmpeg only the GIF is written, by Pillow (one palette for the whole
movie too), and a warning says so. Files are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from PIL import Image  # noqa: E402
from tqdm import tqdm  # noqa: E402

from phonomag.io.atomic import atomic_paths  # noqa: E402
from phonomag.outputs.plotting.maps import FIGURE_SIZES, draw_inplane_magnetization, draw_mz_and_charge  # noqa: E402
from phonomag.response.fields import AtomWave, FieldWave  # noqa: E402

PANELS = {"in-plane": draw_inplane_magnetization, "out-of-plane": draw_mz_and_charge}


def ffmpeg_executable() -> str | None:
    """Path of an ffmpeg binary (imageio-ffmpeg's, else one on the PATH), or None."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return shutil.which("ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def movie_frames(field: FieldWave, atoms: AtomWave, style: str = "in-plane", frames: int = 30, dpi: int = 100,
                 title: str = "") -> Iterator[np.ndarray]:
    """The RGB frames (height, width, 3) uint8 of one period, frame k at ωt = 2πk/frames.

    One figure (size ``FIGURE_SIZES[style]`` inches at ``dpi``) is laid out once with constrained
    layout, as the still maps are, and keeps that layout; each frame updates the data and repaints
    what moves (:func:`_repainter`).
    """
    fig = plt.figure(figsize=FIGURE_SIZES[style], dpi=dpi, layout="constrained")
    try:
        update = PANELS[style](fig, field, atoms, 0.0, title=title)
        repaint = _repainter(fig, update(0.0))
        fig.set_layout_engine("none")
        for k in range(frames):
            update(2 * np.pi * k / frames)
            repaint()
            yield _pixels(fig)
    finally:
        plt.close(fig)


def _pixels(fig) -> np.ndarray:
    """A copy of the RGB pixels (height, width, 3) uint8 of ``fig`` as last painted."""
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _paint_order(container) -> list:
    """The children of ``container`` (an Axes, or the figure) in the order its draw paints them: by zorder, ties
    in the order of its children (Axes.draw and Figure.draw sort stably), its background patch first and apart."""
    return sorted((a for a in container.get_children() if a is not container.patch), key=lambda a: a.get_zorder())


def _from_lowest(ordered: list, moving: Collection) -> list:
    """``ordered`` from its first artist among ``moving`` on (nothing when none moves)."""
    first = next((i for i, artist in enumerate(ordered) if artist in moving), len(ordered))
    return ordered[first:]


def _repainted(fig, moving: Collection) -> list:
    """What a whole draw of ``fig`` paints from the lowest ``moving`` artist of each container on — in each Axes
    and among the figure's own children (a moving suptitle) —, in the order it paints them."""
    top = _paint_order(fig)
    tail = _from_lowest(top, moving)
    below = [a for child in top[:len(top) - len(tail)] if isinstance(child, Axes)
             for a in _from_lowest(_paint_order(child), moving)]
    return below + tail


def _repainter(fig, moving) -> Callable[[], None]:
    """A function that paints ``fig`` after its ``moving`` artists changed: the rest of the figure, drawn once
    here without the :func:`_repainted` artists (the figure's layout engine, if any, runs then, as it would for
    a whole draw: artists left out of a draw still count in the layout), is copied back into the canvas and
    those are drawn over it in the order a whole draw paints them. The pixels are those of a whole draw as
    long as what a container paints from its lowest moving artist on does not overlap what later containers
    paint (true of the maps' panels: constrained layout keeps panels, colour bars and titles apart) and the
    layout stays as it is."""
    artists = _repainted(fig, set(moving))
    for artist in artists:  # left out of a draw (not hidden: a hidden title would be moved)
        artist.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    for artist in artists:
        artist.set_animated(False)

    def repaint() -> None:
        fig.canvas.restore_region(background)
        renderer = fig.canvas.get_renderer()
        for artist in artists:
            artist.draw(renderer)

    return repaint


def encode_with_ffmpeg(ffmpeg: str, frames: Iterator[np.ndarray], fps: int, mp4: str, gif: str) -> None:
    """One ffmpeg process (the binary ``ffmpeg``): raw RGB frames on stdin → ``mp4`` (H.264, even frame size) and
    ``gif`` (one palette), as :func:`write_movie` writes them."""
    first = next(frames)
    height, width = first.shape[:2]
    graph = ("[0:v]split[a][b];[a]crop=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p[mp4];"
             "[b]split[c][d];[c]palettegen[palette];[d][palette]paletteuse[gif]")
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", str(fps), "-i", "pipe:0", "-filter_complex", graph,
               "-map", "[mp4]", "-c:v", "libx264", "-f", "mp4", mp4,
               "-map", "[gif]", "-loop", "0", "-f", "gif", gif]
    # its own session: Ctrl-C reaches phonomag only, which then stops ffmpeg (one path for an interrupt)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        for frame in itertools.chain([first], frames):
            process.stdin.write(frame.tobytes())
    except BaseException:
        process.kill()
        process.wait()
        raise
    _, errors = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg failed (exit {process.returncode}): {errors.decode(errors='replace').strip()}")


def _encode_with_pillow(frames: Iterator[np.ndarray], fps: int, gif: str) -> None:
    """The GIF by Pillow, with one palette for the whole movie (made once, from every frame)."""
    frames = list(frames)
    palette = Image.fromarray(np.concatenate([frame[::2, ::2] for frame in frames])).quantize()
    images = [Image.fromarray(frame).quantize(palette=palette) for frame in frames]
    images[0].save(gif, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)


def write_movie(field: FieldWave, atoms: AtomWave, output: Path, style: str = "in-plane", frames: int = 30,
                fps: int = 12, dpi: int = 100, title: str = "") -> list[Path]:
    """Write ``output``.gif and, where ffmpeg is available, ``output``.mp4 of one period.

    style : "in-plane" (Fig. 1) or "out-of-plane" (Fig. 2), :data:`~phonomag.outputs.styles.MAP_STYLES`.
    Returns the written paths.
    """
    if style not in PANELS:
        raise ValueError(f"style must be one of {', '.join(PANELS)}, got {style!r}")
    if frames < 2:
        raise ValueError(f"a movie needs at least 2 frames, got {frames}")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        warnings.warn("no ffmpeg found (pip install imageio-ffmpeg): writing the GIF only", stacklevel=2)
    targets = ([output.with_suffix(".mp4")] if ffmpeg else []) + [output.with_suffix(".gif")]
    with atomic_paths(targets, [target.suffix for target in targets]) as temporaries:
        rendered = iter(tqdm(movie_frames(field, atoms, style, frames, dpi, title), total=frames,
                             desc=f"movie {output.name}", unit="frame", disable=None))
        if ffmpeg:
            encode_with_ffmpeg(ffmpeg, rendered, fps, *temporaries)
        else:
            _encode_with_pillow(rendered, fps, temporaries[0])
    return targets
