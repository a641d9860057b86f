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


def read_text(path, error: type[PhonomagError], what: str) -> str:
    """The text of the file ``path``; a binary or unreadable file raises ``error`` naming ``what`` and the path."""
    try:
        return open(path, encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not a text file (byte {exc.start} is not UTF-8)") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror}") from None


def read_toml(text: str, source: str, error: type[PhonomagError]) -> dict:
    """The TOML document ``text`` (of ``source``, for messages); invalid TOML, or arrays and tables nested so
    deeply that the parser gives up (a few hundred levels), raise ``error``."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{source}: not valid here: arrays or tables nested hundreds of levels deep") from None
