"""Phonons: force constants (built-in Stillinger–Weber potentials or phonopy files) and modes.

Public entry points: :func:`build_phonon_engine` and the :class:`PhononModes` it yields.
"""

from phonomag.phonons.model import PhononEngine, build_phonon_engine
from phonomag.phonons.modes import PhononModes

__all__ = ["PhononEngine", "PhononModes", "build_phonon_engine"]
