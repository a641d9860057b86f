"""Shared figure saving: a raster (PNG) and a vector (PDF) file per figure, written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from phonomag.io.atomic import write_atomically  # noqa: E402

VECTOR_FORMAT = "pdf"


def save_figure(fig, output: Path, dpi: int = 200) -> list[Path]:
    """Save ``fig`` as ``output``.png and ``output``.pdf (temporary file + rename), close it."""
    output = Path(output)
    try:
        return [write_atomically(output.with_suffix(f".{suffix}"),
                                 lambda tmp, kind=suffix: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=kind),
                                 f".{suffix}")
                for suffix in ("png", VECTOR_FORMAT)]
    finally:
        plt.close(fig)
