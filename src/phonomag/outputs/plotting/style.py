"""Shared figure saving: a raster (PNG) and a vector (PDF) file per figure, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

VECTOR_FORMAT = "pdf"


def save_figure(fig, output: Path, dpi: int = 200) -> list[Path]:
    """Save ``fig`` as ``output``.png and ``output``.pdf (temporary file + rename), close it."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in ("png", VECTOR_FORMAT):
        target = output.with_suffix(f".{suffix}")
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=f".{suffix}")
        os.close(fd)
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=suffix)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        written.append(target)
    plt.close(fig)
    return written
