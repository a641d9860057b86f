"""The phonons a run used, as phonopy's ``phonopy_params.yaml`` (read by phonopy, euphonic, …).

The file holds the primitive cell, the supercell matrix, the masses and the symmetrised
force constants of the engine (full matrix, in the units of the engine's calculator,
phonopy's default eV/Å²), and the Born charges and dielectric tensor when the engine
applies the non-analytic correction. Atom order is phonopy's (``engine.order`` maps it
to the structure's). Written to a temporary name in the same folder and renamed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_NAME = "phonopy_params.yaml"


def write_phonopy_params(engine, path: Path) -> Path:
    """Write the force constants of a :class:`~phonomag.phonons.engine.PhononEngine` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".yaml.tmp")
    os.close(fd)
    try:
        engine.phonopy.save(tmp, settings={"force_sets": False, "displacements": False, "force_constants": True})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
