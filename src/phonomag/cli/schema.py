"""The schema of a run configuration: every key declared once, with its type, default, bounds and doc.

A section of the TOML file (``[path]``, ``[maps]``, …) is a frozen dataclass; each of its fields is one
key, with the same name in TOML and in Python, declared with :func:`key`: its default, its
:class:`Kind` (type and bounds: it parses, checks and converts a TOML value) and a one-line doc.
:func:`parse_section` reads a TOML table with it, the errors name the key, the value and what would
be valid, and :func:`key_table` writes the key table of docs/run-config.md from the same declaration
(``scripts/run_config_table.py``; tests/test_config.py keeps the committed page equal to it).
Sections whose dataclass lives in a lower layer (the workflow's ``ClusterSpec``) get their keys with
:func:`declare_keys`; their defaults stay the dataclass's own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from phonomag.errors import PhonomagError


class ConfigError(PhonomagError):
    """A run configuration is malformed."""


@dataclass(frozen=True)
class Where:
    """What a value is read in: the configuration's name (for messages) and the folder relative paths are
    taken from."""

    source: str
    base_dir: Path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key} {message}")


class Kind:
    """The type and bounds of a key: :meth:`parse` checks a TOML value and returns the Python value;
    :attr:`text` says what is valid, for the docs and the messages."""

    text = ""

    def parse(self, value: Any, key: str, where: Where) -> Any:  # pragma: no cover - every kind overrides
        raise NotImplementedError

    def fail(self, value: Any, key: str, where: Where) -> ConfigError:
        return where.fail(key, f"must be {self.text}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Integer(Kind):
    """An integer in [low, high]."""

    low: int
    high: int

    @property
    def text(self) -> str:
        return f"an integer from {self.low} to {self.high}"

    def parse(self, value, key, where):
        if not (_is_int(value) and self.low <= value <= self.high):
            raise self.fail(value, key, where)
        return value


@dataclass(frozen=True)
class Integers(Kind):
    """A list of ``count`` integers, each in [low, high], as a tuple."""

    count: int
    low: int
    high: int

    @property
    def text(self) -> str:
        return f"a list of {self.count} integers from {self.low} to {self.high}"

    def parse(self, value, key, where):
        if not (isinstance(value, list) and len(value) == self.count
                and all(_is_int(v) and self.low <= v <= self.high for v in value)):
            raise self.fail(value, key, where)
        return tuple(value)


def bounds_text(low: float | None, high: float | None, low_open: bool = False) -> str:
    """" > 0 and ≤ 0.5" and the like: the bounds of a number, for messages."""
    return "".join([f" {'>' if low_open else '≥'} {low:g}" if low is not None else "",
                    " and" if low is not None and high is not None else "",
                    f" ≤ {high:g}" if high is not None else ""])


def finite_number(value: Any, what: str, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> float:
    """``value`` as a float; a ConfigError naming ``what`` unless it is a finite number in [low, high]
    (or (low, high] with ``low_open``). Used for configuration keys and command-line options alike."""
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan
    if not (np.isfinite(number) and (low is None or number > low or (number == low and not low_open))
            and (high is None or number <= high)):
        raise ConfigError(f"{what} must be a finite number{bounds_text(low, high, low_open)}, got {value!r}")
    return number


@dataclass(frozen=True)
class Number(Kind):
    """A finite number in [low, high] ((low, high] with ``low_open``); ``unit`` for the docs and messages."""

    low: float | None = None
    high: float | None = None
    unit: str = ""
    low_open: bool = False

    @property
    def text(self) -> str:
        unit = f" ({self.unit})" if self.unit else ""
        return f"a finite number{bounds_text(self.low, self.high, self.low_open)}{unit}"

    def parse(self, value, key, where):
        return finite_number(value, f"{where.source}: {key}{f' ({self.unit})' if self.unit else ''}", self.low,
                             self.high, self.low_open)


@dataclass(frozen=True)
class Boolean(Kind):
    text = "true or false"

    def parse(self, value, key, where):
        if not isinstance(value, bool):
            raise self.fail(value, key, where)
        return value


@dataclass(frozen=True)
class Choice(Kind):
    """One of ``values`` (a function, for lists known only at run time such as the engine registry's);
    ``convert`` maps an accepted spelling to the value kept (an alias to its registered name)."""

    values: tuple[str, ...] | Callable[[], tuple[str, ...]]
    convert: Callable[[str], str] | None = None

    def choices(self) -> tuple[str, ...]:
        return self.values() if callable(self.values) else self.values

    @property
    def text(self) -> str:
        return "one of " + ", ".join(f'"{v}"' for v in self.choices())

    def parse(self, value, key, where):
        if not isinstance(value, str) or value not in self.choices():
            raise self.fail(value, key, where)
        return self.convert(value) if self.convert else value


@dataclass(frozen=True)
class Either(Kind):
    """A fixed word (e.g. "zero-point") or a value of ``other``."""

    word: str
    other: Kind

    @property
    def text(self) -> str:
        return f'"{self.word}" or {self.other.text}'

    def parse(self, value, key, where):
        if value == self.word:
            return value
        try:
            return self.other.parse(value, key, where)
        except ConfigError:
            raise self.fail(value, key, where) from None


@dataclass(frozen=True)
class Text(Kind):
    """A string matching ``pattern`` (any string without one); ``what`` describes a valid one."""

    pattern: str | None = None
    what: str = "a string"

    @property
    def text(self) -> str:
        return self.what

    def parse(self, value, key, where):
        if not isinstance(value, str) or (self.pattern and not re.fullmatch(self.pattern, value)):
            raise self.fail(value, key, where)
        return value


@dataclass(frozen=True)
class Checked(Kind):
    """A value of ``base`` that ``check(value, where)`` then checks and converts (raising a
    :class:`~phonomag.errors.PhonomagError`, whose message is reported after the key)."""

    base: Kind
    check: Callable[[Any, Where], Any]
    what: str = ""

    @property
    def text(self) -> str:
        return self.what or self.base.text

    def parse(self, value, key, where):
        value = self.base.parse(value, key, where)
        try:
            return self.check(value, where)
        except ConfigError:
            raise
        except PhonomagError as exc:
            raise where.fail(key, str(exc)) from None


def relative_path(value: str, where: Where) -> str:
    """``value`` taken relative to the configuration's folder (unless absolute), as a string."""
    return str(Path(value) if Path(value).is_absolute() else where.base_dir / value)


#: A file or folder path, relative to the configuration file.
PATH = Checked(Text(r".+", "a path"), relative_path, "a path (relative to the configuration file)")


@dataclass(frozen=True)
class StringTable(Kind):
    text = 'a table name = "text"'

    def parse(self, value, key, where):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(value, key, where)
        return dict(value)


@dataclass(frozen=True)
class Strings(Kind):
    """A list of at least ``minimum`` strings, each checked by ``check`` (a function raising a
    :class:`~phonomag.errors.PhonomagError`), as a tuple."""

    minimum: int
    what: str
    check: Callable[[str], Any] | None = None

    @property
    def text(self) -> str:
        return f"a list of at least {self.minimum} {self.what}"

    def parse(self, value, key, where):
        if not (isinstance(value, list) and len(value) >= self.minimum and all(isinstance(v, str) for v in value)):
            raise self.fail(value, key, where)
        for item in value:
            if self.check:
                try:
                    self.check(item)
                except PhonomagError as exc:
                    raise where.fail(key, str(exc)) from None
        return tuple(value)


@dataclass(frozen=True)
class Tables(Kind):
    """An array of tables, each a section of the dataclass ``item`` (``[[maps.modes]]``); ``finish(items,
    key, where)`` checks them together and returns the tuple kept."""

    item: type
    finish: Callable[[list, str, Where], tuple] | None = None

    @property
    def text(self) -> str:
        return "an array of tables [[…]] with the keys below"

    def parse(self, value, key, where):
        if not isinstance(value, list):
            raise self.fail(value, key, where)
        items = [parse_section(self.item, entry, f"{key}[{i}]", where) for i, entry in enumerate(value)]
        return self.finish(items, key, where) if self.finish else tuple(items)


#: A key that must be given (a key of an array-of-tables item).
REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """One key: its kind (type and bounds) and a one-line doc; ``default_text`` replaces the default in
    the docs where it is computed (None = not given)."""

    kind: Kind
    doc: str
    default_text: str | None = None


def key(default: Any, kind: Kind, doc: str, default_text: str | None = None, factory: bool = False):
    """A dataclass field that is a configuration key: ``default`` (:data:`REQUIRED`: none; ``factory``: a
    function making it), ``kind`` and ``doc`` (:class:`Key`)."""
    metadata = {"key": Key(kind, doc, default_text)}
    if default is REQUIRED:
        return dataclasses.field(metadata=metadata)
    if factory:
        return dataclasses.field(default_factory=default, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def section(cls: type, doc: str):
    """A field of the top-level configuration holding the section ``cls`` (its table name is the field
    name), with a one-line doc."""
    return dataclasses.field(default_factory=cls, metadata={"section": doc})


#: Keys declared for dataclasses of lower layers (:func:`declare_keys`).
_DECLARED: dict[type, dict[str, Key]] = {}


def declare_keys(cls: type, keys: dict[str, Key]) -> None:
    """Declare the keys of a section whose dataclass cannot carry them (it lives below the CLI): one
    :class:`Key` per field, the defaults being the dataclass's."""
    names = [f.name for f in dataclasses.fields(cls)]
    if sorted(keys) != sorted(names):
        raise ValueError(f"the keys of {cls.__name__} must be its fields {names}, got {sorted(keys)}")
    _DECLARED[cls] = keys


def keys_of(cls: type) -> dict[str, tuple[dataclasses.Field, Key]]:
    """{name: (field, key)} of a section's keys, in declaration order."""
    declared = _DECLARED.get(cls, {})
    return {f.name: (f, f.metadata.get("key") or declared[f.name]) for f in dataclasses.fields(cls)
            if "key" in f.metadata or f.name in declared}


def sections_of(cls: type) -> dict[str, tuple[dataclasses.Field, str]]:
    """{table name: (field, doc)} of the top-level configuration ``cls``."""
    return {f.name: (f, f.metadata["section"]) for f in dataclasses.fields(cls) if "section" in f.metadata}


def parse_section(cls: type, table: Any, name: str, where: Where):
    """The section ``cls`` from the TOML table ``table`` called ``name`` (in messages): unknown keys,
    missing required keys and every value checked by its kind; keys not given keep their defaults."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where.source}: [{name}] must be a table, got {table!r}")
    keys = keys_of(cls)
    extra = sorted(set(table) - set(keys))
    if extra:
        raise ConfigError(f"{where.source}: unknown key(s) {', '.join(extra)} in [{name}]; "
                          f"allowed: {', '.join(sorted(keys))}")
    values = {}
    for field_name, (f, spec) in keys.items():
        if field_name in table:
            values[field_name] = spec.kind.parse(table[field_name], f"{name}.{field_name}", where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise where.fail(f"{name}.{field_name}", f"must be given ({spec.doc})")
    return cls(**values)


def parse_sections(cls: type, raw: dict[str, Any], where: Where) -> dict[str, Any]:
    """{table name: section} of every section of the top-level configuration ``cls`` in ``raw``."""
    sections = sections_of(cls)
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(f"{where.source}: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(sections)}")
    return {name: parse_section(f.default_factory, raw.get(name, {}), name, where)
            for name, (f, _) in sections.items()}


def _default_text(f: dataclasses.Field, spec: Key) -> str:
    if spec.default_text is not None:
        return spec.default_text
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        return "(required)"
    value = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def key_table(cls: type) -> str:
    """The key table of docs/run-config.md (Markdown) for the top-level configuration ``cls``: one row per
    key, section by section, with its valid values, default and doc."""
    lines = []
    for name, (f, doc) in sections_of(cls).items():
        lines += [f"### `[{name}]`", "", doc, ""]
        lines += _rows(f.default_factory, name)
        for field_name, (_, spec) in keys_of(f.default_factory).items():
            if isinstance(spec.kind, Tables):
                lines += ["", f"Each `[[{name}.{field_name}]]` table:", ""]
                lines += _rows(spec.kind.item, f"{name}.{field_name}")
        lines.append("")
    return "\n".join(lines)


def _rows(cls: type, prefix: str) -> list[str]:
    rows = ["| key | valid values | default | meaning |", "|---|---|---|---|"]
    for name, (f, spec) in keys_of(cls).items():
        text = spec.kind.text.replace("|", "\\|")
        rows.append(f"| `{name}` | {text} | {_default_text(f, spec)} | {spec.doc} |")
    return rows
