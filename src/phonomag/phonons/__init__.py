"""Phonons: force constants (DFPT DDB files, phonopy files, Stillinger–Weber potentials), modes and amplitudes.

Public entry points: :class:`PhononModel` (``PhononModel.from_material``) and the
:class:`PhononModes` it yields.
"""

from phonomag.phonons.model import PhononModel, build_phonon_model
from phonomag.phonons.modes import PhononModes

__all__ = ["PhononModel", "PhononModes", "build_phonon_model"]
