"""The engine registry: the response engines the pipeline knows, what each can do and how each is built.

One :class:`EngineEntry` per engine, registered with :func:`register` (one entry per engine as ASE's
``ase/io/formats.py`` lists one line per format, and sisl's ``add_sile``): the name of ``[run] engine``
and ``--engine`` (and aliases), the name the engine writes into every output, its capabilities as data
(:class:`Capability`, as ASE's ``Calculator.implemented_properties``), how it is built from a run
configuration and, for engines the choice "auto" may take, where their data is found. The pipeline
(cli/run.py, cli/sqw.py, cli/resources.py, cli/config.py, cli/main.py) asks an entry for capabilities,
never for names; "auto" is resolved here only (:func:`select`). The engine modules are imported when
an engine is built, so validating a configuration stays fast.

The registry lives in cli/ because its builders read run configurations (``RunConfig``); the engines
below it know neither the configuration nor each other (the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phonomag.crystal.materials import MaterialSpec


def _capability_error(text: str) -> Exception:
    """:class:`~phonomag.engines.base.EngineCapabilityError` (imported here: ``--help`` stays fast)."""
    from phonomag.engines.base import EngineCapabilityError

    return EngineCapabilityError(text)


def _load_phonons(config, spec, engine):
    """The material's ``[phonons]``."""
    from phonomag.cli.systems import load_phonons

    return load_phonons(spec)


def _shipped_kernels() -> dict:
    from phonomag.cli.systems import SHIPPED_KERNELS

    return SHIPPED_KERNELS


class Capability(enum.Enum):
    """What an engine can compute; the value is the phrase the messages use."""

    #: the static one-sided response N⁺ (docs/physics.md §2)
    STATIC_ONE_SIDED = "the static one-sided response"
    #: the full response N⁺ + N⁻ (``[response] kind = "full"``)
    FULL = "the full response"
    #: the response at a finite frequency ħω (``frequency_responses``)
    FINITE_FREQUENCY = "a finite-frequency response"
    #: δñ on planes of one cell (``plane_field``): maps and movies
    PLANE_FIELDS = "fields on planes"
    #: δñ on volume grids (``volume_field``): XSF and cube files
    VOLUME_FIELDS = "volume fields"
    #: Fourier components at in-plane G (``fourier_response`` with G₃ = 0)
    FOURIER_IN_PLANE = "Fourier components at in-plane G"
    #: Fourier components at any G, G₃ ≠ 0 included
    FOURIER_ANY_G = "Fourier components at any G"
    #: its own first-principles phonons on request (``[kernel] phonons = "kernel"``, ``sqw --phonons kernel``)
    OWN_PHONONS = "its own phonons"
    #: computes at any q (a path); without it the engine computes at fixed, configured q-points and is
    #: its own phonon source there
    ANY_Q = "any q"
    #: a first-principles engine: a run computes the tight-binding model beside it for comparison
    FIRST_PRINCIPLES = "first principles"


@dataclass(frozen=True)
class AutoData:
    """Data an engine of the choice "auto" found: the folder, and whether the user named it (then it must
    be usable) or it is shipped (then an unusable one falls back to the model, with the reason)."""

    folder: Path
    named: bool


@dataclass(frozen=True)
class EngineEntry:
    """One engine of the registry.

    name: ``[run] engine`` / ``--engine``; aliases: other accepted spellings (its output name);
    engine_name: the name written into every output; title: what it is, for the summary
    ("the tight-binding model"); data_noun: what its data is called in the "auto" messages;
    capabilities: :class:`Capability` set; gives: what it gives, for the message when it lacks one;
    build(config, spec, output, data=None): the engine (all checks before any expensive step; ``data``: the
    :class:`AutoData` "auto" found);
    phonons(config, spec, engine): the phonon source of a run with it (anything with ``modes(q)``
    and ``description``); qpoints(config, spec): {label: reduced q} of an engine without ANY_Q;
    input_files(config, spec): data files it reads (for the reuse digests); settings(config): the
    settings digested into the run's fingerprint; auto_data(config, spec): where "auto" finds its
    data (None: not a candidate of "auto", or no data for this material); data_capabilities: what its
    data may give besides ``capabilities``, and data_gives(engine) what a built engine's data does give
    (the kernel of a crystal's volume data: volume fields, any G).
    """

    name: str
    engine_name: str
    title: str
    capabilities: frozenset[Capability]
    gives: str
    build: Callable
    phonons: Callable = _load_phonons
    qpoints: Callable | None = None
    input_files: Callable = lambda config, spec: []
    settings: Callable = lambda config: ()
    auto_data: Callable | None = None
    data_noun: str = ""
    aliases: tuple[str, ...] = ()
    data_capabilities: frozenset[Capability] = frozenset()
    data_gives: Callable = lambda engine: frozenset()

    def can(self, capability: Capability, engine=None) -> bool:
        """Whether the engine has ``capability``: always, or (given the built ``engine``) from its data."""
        return capability in self.capabilities or (engine is not None and capability in self.data_gives(engine))

    def may(self, capability: Capability) -> bool:
        """Whether the engine has ``capability`` always or may have it from its data."""
        return capability in self.capabilities or capability in self.data_capabilities

    @property
    def label(self) -> str:
        """"the <name> engine", for messages."""
        return f"the {self.name} engine"


#: Every engine, by ``[run] engine`` name, in the order "auto" tries them (:func:`register`).
REGISTRY: dict[str, EngineEntry] = {}
#: The engine "auto" takes when no other applies.
AUTO_FALLBACK = "model"


def register(entry: EngineEntry) -> EngineEntry:
    """Add ``entry`` to :data:`REGISTRY` (an error if its name or an alias is taken)."""
    taken = {alias for e in REGISTRY.values() for alias in (e.name, *e.aliases)}
    if {entry.name, *entry.aliases} & taken:
        raise ValueError(f"engine name {entry.name!r} or an alias of it is already registered")
    REGISTRY[entry.name] = entry
    return entry


def engine_choices(*needs: Capability) -> tuple[str, ...]:
    """``"auto"`` and the names of the engines with every capability of ``needs``: the valid ``--engine`` values."""
    return ("auto", *(e.name for e in REGISTRY.values() if all(map(e.can, needs))))


def engine_names(*needs: Capability) -> tuple[str, ...]:
    """Every accepted ``[run] engine`` / ``--engine`` value of the engines with ``needs``: "auto", their
    registered names and their aliases."""
    return ("auto", *(alias for e in REGISTRY.values() if all(map(e.can, needs)) for alias in (e.name, *e.aliases)))


def entry(name: str) -> EngineEntry:
    """The entry of an engine name or alias (a :class:`EngineCapabilityError` naming the valid ones)."""
    for e in REGISTRY.values():
        if name in (e.name, *e.aliases):
            return e
    raise _capability_error(f"unknown engine {name!r}; known: {', '.join(engine_choices())}")


def canonical(name: str) -> str:
    """``"auto"``, or the registered name of an engine name or alias."""
    return name if name == "auto" else entry(name).name


def with_capability(capability: Capability) -> str:
    """The engines with ``capability``, for messages: "the kernel engine" (or "… or …"; "no engine")."""
    return " or ".join(e.label for e in REGISTRY.values() if e.can(capability)) or "no engine"


@dataclass(frozen=True)
class Selection:
    """The engine of a choice: its entry, the engine if "auto" built it already (else None), and the
    summary line saying why ("auto" only, else None)."""

    entry: EngineEntry
    engine: object | None
    why: str | None


def select(choice: str, config, spec: MaterialSpec, needs: dict[Capability, str]) -> Selection:
    """The engine of ``choice`` (a name, an alias or "auto") for a run of ``config`` on ``spec`` that needs
    the capabilities ``needs`` ({capability: what the run asks for, for the messages}).

    An explicit engine must have them all (else a :class:`EngineCapabilityError`). "auto" takes the first
    engine of the registry that has them, found its data (:attr:`EngineEntry.auto_data`) and could be
    built from it; data the user named must be usable (else the error); otherwise :data:`AUTO_FALLBACK`,
    with the reason the first candidate was passed over."""
    from phonomag.engines.base import EngineCapabilityError

    if choice != "auto":
        chosen = entry(choice)
        engine = None
        missing = [text for capability, text in needs.items() if not chosen.may(capability)]
        if not missing and not all(chosen.can(capability) for capability in needs):  # its data may: build, ask
            engine = chosen.build(config, spec, None)
            missing = [text for capability, text in needs.items() if not chosen.can(capability, engine)]
        if missing:
            raise EngineCapabilityError(f"{chosen.label} cannot do this: it gives {chosen.gives} only, not "
                                        + " or ".join(missing))
        return Selection(chosen, engine, None)
    fallback = REGISTRY[AUTO_FALLBACK]
    why = None
    for candidate in REGISTRY.values():
        if candidate is fallback or candidate.auto_data is None:
            continue
        data = candidate.auto_data(config, spec)
        if data is None:
            why = why or f"engine auto: {fallback.title} (no {candidate.data_noun} for {spec.name})"
            continue
        missing = [text for capability, text in needs.items() if not candidate.may(capability)]
        if missing:
            why = why or _passed_over(fallback, candidate, missing)
            continue
        try:
            engine = candidate.build(config, spec, None, data)
        except EngineCapabilityError as exc:
            if data.named:
                raise
            from phonomag.cli.systems import shipped_kernel_unusable

            # shipped data that is not usable stops the run unless [run] fallback = "model" allows the model
            why = why or shipped_kernel_unusable(exc, config.run.fallback)
            continue
        missing = [text for capability, text in needs.items() if not candidate.can(capability, engine)]
        if missing:
            why = why or _passed_over(fallback, candidate, missing)
            continue
        return Selection(candidate, engine, f"engine auto: {candidate.title} ({data.folder})")
    return Selection(fallback, None, why or f"engine auto: {fallback.title}")


def _passed_over(fallback: EngineEntry, candidate: EngineEntry, missing: list[str]) -> str:
    """The summary line of "auto" when ``candidate`` lacks what the run needs."""
    return (f"engine auto: {fallback.title} (the {candidate.data_noun} gives {candidate.gives} only, not "
            f"{' or '.join(missing)})")


def kind_capability(kind: str) -> Capability:
    """The capability a response ``kind`` ("one-sided", "full") needs."""
    return Capability.STATIC_ONE_SIDED if kind == "one-sided" else Capability.FULL


def input_files(config, spec: MaterialSpec) -> list[Path]:
    """Every data file a run reads besides the model file: the structure file, the phonons' files
    (:func:`~phonomag.phonons.model.phonon_input_files`) and the engine's own (its registry entry's)."""
    from phonomag.phonons.model import phonon_input_files

    structure = spec.raw.get("structure", {})
    files = [spec.base_dir / structure["file"]] if isinstance(structure.get("file"), str) else []
    files += phonon_input_files(spec.phonons, spec.base_dir)
    return files + entry(config.run.engine).input_files(config, spec)


def fingerprint(config, spec: MaterialSpec) -> str:
    """The digest of what every stage of a run with ``config.run.engine`` (a registered name) reads: the model
    file, the content of every data file it names (:func:`input_files`), the package version and the
    engine with its settings."""
    from phonomag import __version__
    from phonomag.cli.run_state import digest, file_digests

    return digest(spec.raw, file_digests(input_files(config, spec)), __version__, config.run.engine,
                  *entry(config.run.engine).settings(config))


# --- the tight-binding model -------------------------------------------------------------------------

def _build_model(config, spec, output, data=None):
    from phonomag.engines.tightbinding.engine import TightBindingEngine

    return TightBindingEngine.from_material(spec, config.response.kgrid)


register(EngineEntry(
    name="model", aliases=("tight-binding",), engine_name="tight-binding", title="the tight-binding model",
    capabilities=frozenset({Capability.STATIC_ONE_SIDED, Capability.FULL, Capability.FINITE_FREQUENCY,
                            Capability.PLANE_FIELDS, Capability.VOLUME_FIELDS, Capability.FOURIER_IN_PLANE,
                            Capability.FOURIER_ANY_G, Capability.ANY_Q}),
    gives="every response kind at any q and G", build=_build_model))


# --- ABINIT DFPT with spin–orbit coupling, at the configured q-points ---------------------------------

def _build_abinit(config, spec, output, data=None):
    from phonomag.cli.abinit_setup import abinit_engine

    engine = abinit_engine(spec, config.abinit, output)
    for q in _abinit_qpoints(config, spec).values():
        engine.check_qpoint(q)
    return engine


def _abinit_qpoints(config, spec) -> dict:
    from phonomag.crystal.qpoints import parse_qpoint

    return {label: parse_qpoint(label, spec.crystal) for label in config.abinit.q}


register(EngineEntry(
    name="abinit", aliases=("abinit-dfpt",), engine_name="abinit-dfpt",
    title="ABINIT DFPT with spin-orbit coupling",
    capabilities=frozenset({Capability.STATIC_ONE_SIDED, Capability.PLANE_FIELDS, Capability.VOLUME_FIELDS,
                            Capability.FOURIER_IN_PLANE, Capability.FIRST_PRINCIPLES}),
    gives="the static one-sided response at its q-points", build=_build_abinit,
    phonons=lambda config, spec, engine: engine, qpoints=_abinit_qpoints,
    input_files=lambda config, spec: [Path(config.abinit.structure)] if config.abinit.structure else [],
    settings=lambda config: (config.abinit,)))


# --- the first-principles response kernel --------------------------------------------------------------

def kernel_folder(config, spec: MaterialSpec) -> Path | None:
    """``[kernel] data``, or the data shipped for the material (:data:`~phonomag.cli.systems.SHIPPED_KERNELS`)."""
    return Path(config.kernel.data) if config.kernel.data else _shipped_kernels().get(spec.name)


def _kernel_auto_data(config, spec: MaterialSpec) -> AutoData | None:
    """``[kernel] data`` (named), or the data shipped for a built-in material (not for a model file of the
    same name, whose parameters may differ)."""
    if config.kernel.data:
        return AutoData(Path(config.kernel.data), True)
    built_in = spec.source.removeprefix("built-in:") if spec.source.startswith("built-in:") else None
    folder = _shipped_kernels().get(built_in)
    return None if folder is None else AutoData(folder, False)


def _build_kernel(config, spec: MaterialSpec, output, data: AutoData | None = None):
    from phonomag.engines.kernel.engine import KernelEngine

    folder = data.folder if data else kernel_folder(config, spec)
    if folder is None:
        raise _capability_error(f"no first-principles kernel for {spec.name}: name its data in [kernel] data")
    engine = KernelEngine.from_reduced_files(folder, spec.labels)
    engine.check_structure(spec.atoms)
    return engine


def _kernel_phonons(config, spec: MaterialSpec, engine):
    """The kernel's own DFPT phonons with ``[kernel] phonons = "kernel"`` or for a material without ``[phonons]``,
    else the material's."""
    from phonomag.cli.systems import kernel_phonons, load_phonons

    if config.kernel.phonons == "kernel" or not spec.phonons:
        return kernel_phonons(spec, kernel_folder(config, spec), engine.kernel.qgrid)
    return load_phonons(spec)


#: What the kernel of reduced files of format 2 (the whole cell's fields, any crystal) gives besides the rest.
_VOLUME_DATA = frozenset({Capability.VOLUME_FIELDS, Capability.FOURIER_ANY_G})


def _kernel_files(config, spec: MaterialSpec) -> list[Path]:
    from phonomag.engines.kernel.data import kernel_files

    folder = kernel_folder(config, spec)
    return kernel_files(folder) if folder else []


register(EngineEntry(
    name="kernel", aliases=("dfpt-kernel",), engine_name="dfpt-kernel", title="the first-principles response kernel",
    data_noun="first-principles kernel",
    capabilities=frozenset({Capability.STATIC_ONE_SIDED, Capability.PLANE_FIELDS, Capability.FOURIER_IN_PLANE,
                            Capability.OWN_PHONONS, Capability.ANY_Q, Capability.FIRST_PRINCIPLES}),
    gives="the static one-sided response with in-plane G", build=_build_kernel, phonons=_kernel_phonons,
    input_files=_kernel_files, settings=lambda config: (config.kernel.phonons,), auto_data=_kernel_auto_data,
    data_capabilities=_VOLUME_DATA, data_gives=lambda engine: _VOLUME_DATA if engine.volume_data else frozenset()))
