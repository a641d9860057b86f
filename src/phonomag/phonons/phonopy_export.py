"""The phonons a run used, as phonopy's ``phonopy_params.yaml`` (read by phonopy, euphonic, …).

The file holds the primitive cell, the supercell matrix, the masses and the symmetrised
force constants of the phonon model (full matrix, in the units of the engine's calculator,
phonopy's default eV/Å²), and the Born charges and dielectric tensor when the model
applies the non-analytic correction. Atom order is phonopy's (``order`` maps it
to the structure's). Written to a temporary name in the same folder and renamed.
"""

from __future__ import annotations

from pathlib import Path

from phonomag.io.atomic import write_atomically

FILE_NAME = "phonopy_params.yaml"


def write_phonopy_params(phonons, path: Path) -> Path:
    """Write the force constants of a :class:`~phonomag.phonons.model.PhononModel` to ``path``."""
    settings = {"force_sets": False, "displacements": False, "force_constants": True}
    return write_atomically(path, lambda tmp: phonons.phonopy.save(tmp, settings=settings), ".yaml.tmp")
