"""Movies of one period of a mode: the panels of :mod:`phonomag.outputs.plotting.maps` frame by frame.

Frame k shows the snapshot at ωt = 2πk/frames (k = 0 … frames−1, so the movie loops
without a repeated frame); colour and arrow scales are the same in every frame (fixed by
the amplitudes, see :mod:`phonomag.outputs.plotting.maps`). A GIF is written with Pillow and an
MP4 (H.264) with ffmpeg: the binary of the ``imageio-ffmpeg`` package when it is
installed, else an ``ffmpeg`` on the PATH; without either only the GIF is written and a
warning says so. Files are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from contextlib import ExitStack
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FFMpegWriter, PillowWriter  # noqa: E402
from tqdm import tqdm  # noqa: E402

from phonomag.response.fields import AtomWave, FieldWave  # noqa: E402
from phonomag.outputs.plotting.maps import FIGURE_SIZES, draw_inplane_magnetization, draw_mz_and_charge  # noqa: E402

PANELS = {"inplane": draw_inplane_magnetization, "mz-charge": draw_mz_and_charge}


def ffmpeg_executable() -> str | None:
    """Path of an ffmpeg binary (imageio-ffmpeg's, else one on the PATH), or None."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return shutil.which("ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def write_movie(field: FieldWave, atoms: AtomWave, output: Path, panels: str = "inplane", frames: int = 30,
                fps: int = 12, dpi: int = 100, title: str = "") -> list[Path]:
    """Write ``output``.gif and, where ffmpeg is available, ``output``.mp4 of one period.

    panels : "inplane" (Fig. 1 style) or "mz-charge" (Fig. 2 style). Returns the written paths.
    """
    if panels not in PANELS:
        raise ValueError(f"panels must be one of {', '.join(PANELS)}, got {panels!r}")
    if frames < 2:
        raise ValueError(f"a movie needs at least 2 frames, got {frames}")
    draw = PANELS[panels]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        warnings.warn("no ffmpeg found (pip install imageio-ffmpeg): writing the GIF only", stacklevel=2)
    targets = [output.with_suffix(".mp4")] if ffmpeg else []
    targets.append(output.with_suffix(".gif"))  # after the MP4 writer, which may round the frame size
    temporaries = []
    for target in targets:
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=target.suffix)
        os.close(fd)
        temporaries.append(tmp)
    fig = plt.figure(figsize=FIGURE_SIZES[panels], layout="constrained")
    try:
        with matplotlib.rc_context({"animation.ffmpeg_path": ffmpeg or "ffmpeg"}), ExitStack() as stack:
            writers = []
            for target, tmp in zip(targets, temporaries):
                writer = FFMpegWriter(fps=fps) if target.suffix == ".mp4" else PillowWriter(fps=fps)
                stack.enter_context(writer.saving(fig, tmp, dpi))
                writers.append(writer)
            for k in tqdm(range(frames), desc=f"movie {output.name}", unit="frame", disable=None):
                fig.clf()
                draw(fig, field, atoms, 2 * np.pi * k / frames, title=title)
                for writer in writers:
                    writer.grab_frame()
        for target, tmp in zip(targets, temporaries):
            os.chmod(tmp, 0o644)  # mkstemp creates 0600
            os.replace(tmp, target)
    finally:
        plt.close(fig)
        for tmp in temporaries:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return targets
