"""Phonons: force constants (built-in Stillinger–Weber potentials or phonopy files) and modes.

Public entry points: :func:`build_phonon_model` and the :class:`PhononModes` it yields.
"""

from phonomag.phonons.model import PhononModel, build_phonon_model
from phonomag.phonons.modes import PhononModes

__all__ = ["PhononModel", "PhononModes", "build_phonon_model"]
