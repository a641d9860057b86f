"""Movies of one period of a mode: the panels of :mod:`phonomag.outputs.plotting.maps` frame by frame.

Frame k shows the snapshot at ωt = 2πk/frames (k = 0 … frames−1, so the movie loops
without a repeated frame); colour and arrow scales are the same in every frame (fixed by
the amplitudes, see :mod:`phonomag.outputs.plotting.maps`). The figure is built once; each frame
only updates the phase-dependent data, and the layout found for the first frame is kept.
Every frame is rendered once: with ffmpeg (the binary of the ``imageio-ffmpeg``
package when it is installed, else an ``ffmpeg`` on the PATH) one ffmpeg process writes
the MP4 (H.264) and the GIF (one palette for the whole movie, ffmpeg's palettegen and
paletteuse filters); without ffmpeg only the GIF is written, by Pillow, and a warning
says so. Files are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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

    One figure (size ``FIGURE_SIZES[style]`` inches at ``dpi``) is drawn with constrained
    layout for the first frame; later frames reuse that layout and update the data only.
    """
    fig = plt.figure(figsize=FIGURE_SIZES[style], dpi=dpi, layout="constrained")
    try:
        update = PANELS[style](fig, field, atoms, 0.0, title=title)
        for k in range(frames):
            update(2 * np.pi * k / frames)
            fig.canvas.draw()
            if k == 0:
                fig.set_layout_engine("none")
            yield np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(fig)


def _encode_with_ffmpeg(ffmpeg: str, frames: Iterator[np.ndarray], fps: int, mp4: str, gif: str) -> None:
    """One ffmpeg process: raw RGB frames on stdin → ``mp4`` (H.264, even frame size) and ``gif``."""
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
    images = [Image.fromarray(frame).quantize() for frame in frames]
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
            _encode_with_ffmpeg(ffmpeg, rendered, fps, *temporaries)
        else:
            _encode_with_pillow(rendered, fps, temporaries[0])
    return targets
