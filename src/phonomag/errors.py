"""Exceptions for user-facing failures.

Every error that a user can cause with bad input is a :class:`PhonomagError`;
the command line prints its message (no traceback) and exits with status 2.
"""


class PhonomagError(Exception):
    """A problem with the user's input or data, described in one message."""


class ModelFileError(PhonomagError):
    """A model file (TOML) is malformed or inconsistent."""


class UnknownMaterialError(PhonomagError):
    """A built-in material name that phonomag does not ship."""


class QPointError(PhonomagError):
    """A malformed q-point, or one not commensurate with a requested supercell."""


class NoGapError(PhonomagError):
    """The electronic model has no gap between occupied and empty bands."""


class PhononSourceError(PhonomagError):
    """Force constants could not be obtained (missing or malformed phonopy files)."""
