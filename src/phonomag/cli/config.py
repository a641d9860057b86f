"""Run configuration of ``phonomag run`` (TOML): its sections and keys, declared once (:mod:`phonomag.cli.schema`).

Every key is optional; the defaults reproduce the paper's figures for WSe₂. A TOML key and its Python
field have the same name (``[maps] frames`` is ``config.maps.frames``). The key table of
``docs/run-config.md`` is generated from the declarations below. Errors name the key, the value and what
would be valid. :func:`check_against_material` then checks what needs the material's lattice (path, q
labels) with the same functions the run computes with.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from phonomag.cli.engines import Capability, canonical, engine_names, with_capability
from phonomag.cli.engines import entry as engine_entry
from phonomag.cli.schema import (
    PATH,
    REQUIRED,
    Boolean,
    Checked,
    Choice,
    ConfigError,
    Either,
    Integer,
    Integers,
    Key,
    Kind,
    Number,
    Strings,
    StringTable,
    Tables,
    Text,
    Where,
    declare_keys,
    finite_number,
    key,
    key_table,
    parse_section,
    parse_sections,
    relative_path,
    section,
)
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.lattice_plane import MAX_MILLER, reduced_miller
from phonomag.crystal.qpoints import check_qpoint_text, parse_qpoint
from phonomag.errors import PhonomagError, QPointError, read_text, read_toml
from phonomag.outputs.styles import MAP_STYLES
from phonomag.response.modes import KINDS
from phonomag.workflow.parsl_tasks import EXECUTORS, ClusterSpec

__all__ = ["ConfigError", "RunConfig", "finite_number", "load_run_config", "parse_run_config", "run_config_table"]

#: Largest displacement amplitude (Å) accepted: the response is linear in u, far below bond lengths.
MAX_AMPLITUDE = 0.5
#: Largest |offset| (Å) of a map plane from the atom it goes through.
MAX_HEIGHT = 20.0
#: Map names become file names in <output>/maps: no separators, no leading dot or dash.
MAP_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,99}")

#: A q-point as users write it (checked against the material's lattice once it is loaded).
QLABEL_TEXT = "q labels of the lattice (G, M, K, K' of a hexagonal layer) or reduced coordinates such as \"1/3,1/3,0\""
QLABELS = Strings(1, QLABEL_TEXT, check_qpoint_text)
QLABEL = Checked(Text(r".+", "a q label of the lattice (G, M, K, K') or reduced coordinates such as \"1/3,1/3,0\""),
                 lambda value, where: check_qpoint_text(value))


@dataclass(frozen=True)
class ModeSelector(Kind):
    """A mode index ν ≥ 0 (by frequency) or "even:n" / "odd:n" (the n-th mode of that σ_h parity)."""

    text = 'a mode index ≥ 0 or "even:n" / "odd:n"'

    def parse(self, value, key_name, where):
        if isinstance(value, str):
            parity, _, number = value.partition(":")
            if parity in ("even", "odd") and number.isdigit():
                return value
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise self.fail(value, key_name, where)


@dataclass(frozen=True)
class AtomSelector(Kind):
    """An atom of the structure: an index ≥ 0 or an element symbol (checked against the structure when the run
    has loaded it, :func:`map_atom`)."""

    text = 'an atom index ≥ 0 or an element symbol such as "Se"'

    def parse(self, value, key_name, where):
        if isinstance(value, str) and re.fullmatch(r"[A-Z][a-z]?", value):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise self.fail(value, key_name, where)


def _miller(value: tuple[int, int, int], where: Where) -> tuple[int, int, int]:
    """Miller indices, not all zero, reduced to coprime integers."""
    try:
        return reduced_miller(value)
    except ValueError as exc:
        raise PhonomagError(str(exc)) from None


def map_atom(selector: int | str | None, atoms) -> int | None:
    """The index of ``[maps] atom`` in ``atoms`` (None stays None: the default atom); a PhonomagError naming
    the atoms there are when it is not one of them."""
    symbols = atoms.get_chemical_symbols()
    if selector is None:
        return None
    if isinstance(selector, str):
        if selector not in symbols:
            raise PhonomagError(f"[maps] atom = {selector!r} is not an element of the structure; valid: "
                                f"{', '.join(dict.fromkeys(symbols))} or an index 0 … {len(symbols) - 1}")
        return symbols.index(selector)
    if selector >= len(symbols):
        raise PhonomagError(f"[maps] atom = {selector} is not an atom of the structure; valid: an index "
                            f"0 … {len(symbols) - 1} or one of {', '.join(dict.fromkeys(symbols))}")
    return selector


@dataclass(frozen=True)
class MapSpec:
    """One mode to draw in real space (a ``[[maps.modes]]`` table)."""

    q: str = key(REQUIRED, QLABEL, "the mode's wavevector")
    mode: int | str = key(REQUIRED, ModeSelector(), "index ν (0-based, by frequency), or the n-th mode of a σ_h "
                          "parity (0-based)")
    name: str | None = key(None, Text(what="a file name: letters, digits, `_ - . +` (' becomes p)"),
                           "files maps/<name>.* and the title", default_text="from q and mode")
    style: str = key("in-plane", Choice(tuple(MAP_STYLES)), "; ".join(f'"{s}": {d}' for s, d in MAP_STYLES.items()))


def _named_maps(specs: list[MapSpec], key_name: str, where: Where) -> tuple[MapSpec, ...]:
    """``[[maps.modes]]`` with their names: made from q and mode where none is given (separators become
    '_'); every name a safe file name, and used once."""
    named = []
    for i, spec in enumerate(specs):
        name = (spec.name or f"{spec.q}_mode{spec.mode}").replace("'", "p")
        if spec.name is None:
            name = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
        if not MAP_NAME.fullmatch(name):
            raise where.fail(f"{key_name}[{i}].name", f"{name!r} is not a safe file name: use letters, digits, '_', "
                             "'-', '.' and '+' (at most 100, not starting with '.' or '-')")
        if name in [s.name for s in named]:
            raise where.fail(f"{key_name}[{i}].name", f"{name!r} is used by another map; every map needs its own name")
        named.append(dataclasses.replace(spec, name=name))
    return tuple(named)


def _material(value: str, where: Where) -> str:
    """A built-in material name as it is; a model-file path (``*.toml`` or with a folder) relative to the
    configuration (:func:`~phonomag.crystal.materials.load_material` decides between them the same way)."""
    from phonomag.crystal.materials import names_a_file

    return relative_path(value, where) if names_a_file(value) else value


#: Phonons of a kernel run: the material's ``[phonons]``, or the kernel data's own DFPT dynamical
#: matrices (its q_*_DDB files, the same ground state and settings as its responses).
KERNEL_PHONONS = ("material", "kernel")
#: ``[run] fallback``: what engine "auto" does when the shipped first-principles kernel is not usable —
#: stop with the reason ("none"), or take the tight-binding model ("model"), saying why in the summary.
FALLBACKS = ("none", "model")


@dataclass(frozen=True)
class RunSection:
    """``[run]``: what is computed, with which engine."""

    material: str = key("WSe2", Checked(Text(r".+", "a name"), _material,
                                        "a built-in name or a model file (relative to the configuration)"),
                        "the material: a built-in one (`phonomag materials`) or a model file")
    engine: str = key("auto", Choice(lambda: engine_names(), canonical),
                      '"model" (tight binding), "abinit" (DFPT at `[abinit] q`), "kernel" (DFPT at any q, '
                      '`[kernel]`) or "auto"; the output names are aliases')
    fallback: str = key("none", Choice(FALLBACKS), '"none": auto stops if the shipped kernel is not usable; '
                        '"model": it takes the model then')


@dataclass(frozen=True)
class PathSection:
    """``[path]``: the q path of Fig. 3 and results.nc."""

    labels: tuple[str, ...] | None = key(None, Strings(2, QLABEL_TEXT, check_qpoint_text),
                                         "corners of the q path, consecutive ones different",
                                         default_text="the crystal's standard path (Γ–M–K–Γ of a hexagonal layer)")
    npoints: int = key(151, Integer(2, 100_000), "q-points along the path, corners included")

    def sample(self, crystal) -> tuple[np.ndarray, np.ndarray, list[float], list[str]]:
        """The path of the :class:`~phonomag.crystal.crystal.Crystal` ``crystal`` sampled by
        :func:`~phonomag.crystal.kpath.path_from_labels` (qpoints, distances 1/Å, ticks, tick texts): each corner
        a label of its lattice or reduced coordinates, the standard path by default. The run computes with it; the
        validation (:func:`check_against_material`) calls it too."""
        return path_from_labels(crystal, self.labels, npoints=self.npoints)


@dataclass(frozen=True)
class ResponseSection:
    """``[response]``: the sums over states."""

    kgrid: tuple[int, int, int] = key((24, 24, 1), Integers(3, 1, 10_000),
                                      "uniform k grid (shifted by −q/2) of the Brillouin-zone sums")
    kind: str = key("one-sided", Choice(KINDS), '"one-sided" (the paper\'s N⁺) or "full" (N⁺ + N⁻, a check: '
                    "no net M)")
    amplitude: str | float = key("zero-point", Either("zero-point", Number(0.0, MAX_AMPLITUDE, "Å", low_open=True)),
                                 "mode amplitude: zero-point, or the largest atomic displacement in Å")


#: How ``[[maps.modes]]`` (and a material's ``[[maps]]``) are read.
MAP_TABLES = Tables(MapSpec, _named_maps)


@dataclass(frozen=True)
class MapsSection:
    """``[maps]``: real-space maps and movies of selected modes."""

    modes: tuple[MapSpec, ...] | None = key(None, MAP_TABLES, "the modes drawn",
                                            default_text="the material's [[maps]] (WSe₂: the paper's six cases), "
                                            "else chosen by the numbers (docs/run-config.md)")
    cells: tuple[int, int] = key((4, 4), Integers(2, 1, 12), "unit cells drawn along a₁, a₂")
    points_per_cell: int = key(48, Integer(4, 128), "grid points per cell edge")
    plane: tuple[int, int, int] = key((0, 0, 1), Checked(Integers(3, -MAX_MILLER, MAX_MILLER), _miller),
                                      "Miller indices (h k l) of the maps' lattice plane, of the cell as given "
                                      "(a layer: [0, 0, 1] is the layer plane)")
    atom: int | str | None = key(None, AtomSelector(), "the atom the plane goes through: its index (0-based) or "
                                 "element (the first such atom)",
                                 default_text="the heaviest atom (strongest spin–orbit coupling)")
    height: float = key(0.0, Number(-MAX_HEIGHT, MAX_HEIGHT, "Å"), "offset of the plane along its normal from "
                        "that atom (a layer: the height above it; the kernel engine of format 1: a stored plane)")
    frames: int = key(30, Integer(2, 600), "movie frames per period")


@dataclass(frozen=True)
class OutputsSection:
    """``[outputs]``: what is written besides results.nc."""

    figures: bool = key(True, Boolean(), "figures (PNG and PDF)")
    movies: bool = key(True, Boolean(), "movies of the maps (GIF, MP4 where ffmpeg exists)")
    field_files: bool = key(True, Boolean(), "XSF and cube files of the mapped fields")
    summary_q: tuple[str, ...] | None = key(None, QLABELS, "q-points of the printed per-mode table",
                                            default_text="the path's corners other than Γ, farthest first (K, M)")


def _kernel_folder(value: str, where: Where) -> str:
    """``[kernel] data``: a folder of reduced DFPT files, resolved."""
    path = Path(value).resolve()
    if not path.is_dir() or not list(path.glob("q_*.nc")):
        raise PhonomagError(f"{path} is not a folder with reduced DFPT files q_*.nc "
                            "(scripts/wse2_response_kernel.py writes them)")
    return str(path)


@dataclass(frozen=True)
class KernelSection:
    """``[kernel]``: read with engine "kernel" (or "auto" when it takes the kernel)."""

    data: str | None = key(None, Checked(PATH, _kernel_folder, "a folder of reduced DFPT files q_*.nc"),
                           "the kernel's data", default_text="the shipped WSe₂ data")
    phonons: str = key("material", Choice(KERNEL_PHONONS), '"material": the material\'s `[phonons]`; "kernel": '
                       "the kernel's own DFPT phonons")


def _launcher(value: str, where: Where) -> str:
    from phonomag.workflow.launcher import check_launcher

    return check_launcher(value)


LAUNCHER = Checked(Text(r".+", "a launcher"), _launcher,
                   '"auto", "mpirun", "srun", "none" or a template such as "mpiexec -n {nproc} {command}"')


def _structure_file(value: str, where: Where) -> str:
    """``[abinit] structure``: the path of a file holding one 2D layer, checked now (before any run)."""
    from phonomag.cli.abinit_setup import MIN_VACUUM_GAP
    from phonomag.crystal.structure_file import read_layer

    read_layer(Path(value), MIN_VACUUM_GAP)
    return value


@dataclass(frozen=True)
class AbinitRunSpec:
    """``[abinit]``: the first-principles engine's settings (read with engine "abinit")."""

    ecut: float = key(20.0, Number(1.0, 200.0, "Ha"), "plane-wave cutoff")
    kgrid: tuple[int, int, int] = key((6, 6, 1), Integers(3, 1, 64), "Γ-centred k grid of ground state and DFPT")
    vacuum: float = key(18.0, Number(0.0, 1000.0, "Å", low_open=True), "cell length along z; at least slab "
                        "thickness + 8 Å")
    pseudo_dir: str | None = key(None, PATH, "pseudopotential folder", default_text="Debian's abinit-data HGH set")
    pseudos: dict[str, str] = key(dict, StringTable(), "species = file, overrides the defaults", factory=True)
    q: tuple[str, ...] = key(("K", "K'", "M"), QLABELS, "q-points of the DFPT runs (off the k grid: an extra "
                             "k + q run)")
    nproc: int = key(2, Integer(1, 100_000), "MPI processes of the ground state = serial DFPT runs side by side")
    workdir: str | None = key(None, PATH, "folder of the ABINIT runs; finished runs are reused",
                              default_text="`<output>/abinit-work`")
    keep_wavefunctions: bool = key(False, Boolean(), "keep the 1WF files (≈1.3 GB per q) after their reduction")
    structure: str | None = key(None, Checked(PATH, _structure_file, "a structure file ASE reads"),
                                "the layer from a file (CIF, POSCAR, …): one 2D layer, ≥ 8 Å vacuum, the "
                                "material's atoms in its order", default_text="the material's")
    launcher: str = key("auto", LAUNCHER, "how MPI runs start (auto: srun inside Slurm, else mpirun)")

    def settings(self):
        """The :class:`phonomag.io.abinit.inputs.AbinitSettings` of this run (spinors, SOC)."""
        from phonomag.io.abinit.inputs import AbinitSettings

        base = AbinitSettings()
        # the spinor ground state stalls near vres2 ~ 1e-13 at these settings: 1e-12 is where it stops
        return AbinitSettings(ecut=self.ecut, kgrid=self.kgrid, spin_orbit=True, tolvrs_gs=1e-12,
                              pseudo_dir=Path(self.pseudo_dir) if self.pseudo_dir else base.pseudo_dir,
                              pseudos={**base.pseudos, **self.pseudos})


def _parsl_config(value: str, where: Where) -> str:
    if not Path(value).is_file():
        raise PhonomagError(f"{value!r} does not exist (a Python file defining config = parsl.config.Config(...))")
    return value


WALLTIME = r"(\d+-)?\d{1,2}:\d{2}:\d{2}"
declare_keys(ClusterSpec, {
    "executor": Key(Choice(EXECUTORS), '"local" (this machine, one task at a time) or "slurm"; any other Parsl '
                    "executor: `parsl_config`"),
    "partition": Key(Text(), "Slurm partition", "the cluster's default"),
    "nodes": Key(Integer(1, 100_000), "Slurm jobs at once, one node each"),
    "cores_per_node": Key(Integer(1, 100_000), "cores a job asks for", "one task's cores"),
    "cores_per_task": Key(Integer(1, 100_000), "cores of one task; replaces `[abinit] nproc`", "`[abinit] nproc`"),
    "walltime": Key(Text(WALLTIME, '"HH:MM:SS" or "D-HH:MM:SS"'), "limit of each Slurm job"),
    "launcher": Key(LAUNCHER, "replaces `[abinit] launcher` inside the tasks", "`[abinit] launcher`"),
    "worker_init": Key(Text(), "shell lines each job runs first"),
    "scheduler_options": Key(Text(), "extra #SBATCH lines"),
    "address": Key(Text(), "the driver's address the workers connect to", "Parsl probes the interfaces"),
    "retries": Key(Integer(0, 100), "times a failed task is tried again"),
    "parsl_config": Key(Checked(PATH, _parsl_config, "a Python file"), "a Python file defining `config` "
                        "(parsl.config.Config), used instead of the other keys"),
})


@dataclass(frozen=True)
class RunConfig:
    """Validated run configuration: one field per section, named as its TOML table (docs/run-config.md)."""

    run: RunSection = section(RunSection, "What is computed, with which engine.")
    path: PathSection = section(PathSection, "The q path of Fig. 3 and results.nc (the model and kernel engines).")
    response: ResponseSection = section(ResponseSection, "The response of every mode.")
    maps: MapsSection = section(MapsSection, "Real-space maps and movies of selected modes.")
    outputs: OutputsSection = section(OutputsSection, "What is written besides results.nc.")
    kernel: KernelSection = section(KernelSection, 'Read with `engine = "kernel"` (or "auto" when it takes the '
                                    "kernel), docs/kernel.md.")
    abinit: AbinitRunSpec = section(AbinitRunSpec, 'Read with `engine = "abinit"` and by `phonomag dfpt-kernel` '
                                    "(docs/abinit.md).")
    cluster: ClusterSpec = section(ClusterSpec, "Where `phonomag dfpt-kernel` runs its tasks (docs/cluster.md).")
    source: str = "built-in default"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def map_options(self, volume_fields: bool, atoms):
        """The :class:`~phonomag.outputs.maps.MapOptions` of ``[maps]``, ``[outputs]`` and the response kind for
        the structure ``atoms`` (``[maps] atom`` checked against it); field files only where the engine gives
        ``volume_fields``."""
        from phonomag.outputs.maps import MapOptions

        maps, outputs = self.maps, self.outputs
        return MapOptions(kind=self.response.kind, cells=maps.cells, points_per_cell=maps.points_per_cell,
                          plane=maps.plane, atom=map_atom(maps.atom, atoms), offset=maps.height, frames=maps.frames,
                          figures=outputs.figures, movies=outputs.movies,
                          field_files=outputs.field_files and volume_fields)

    @property
    def drawn_maps(self) -> tuple[MapSpec, ...]:
        """The ``[[maps.modes]]`` a run draws: none when no figure, movie or field file is written."""
        outputs = self.outputs
        drawn = outputs.figures or outputs.movies or outputs.field_files
        return self.maps.modes or () if drawn else ()

    def updated(self, values: dict[str, Any]) -> RunConfig:
        """This configuration with ``values`` {"section.key": value} (values as the sections hold them)."""
        sections: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            table, _, field_name = name.partition(".")
            sections.setdefault(table, {})[field_name] = value
        return dataclasses.replace(self, **{table: dataclasses.replace(getattr(self, table), **fields)
                                            for table, fields in sections.items()})


def load_run_config(path: Path | None) -> RunConfig:
    """Read and validate a run configuration; ``None`` gives the built-in default."""
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"run configuration {str(path)!r} does not exist")
    raw = read_toml(read_text(path, ConfigError, "run configuration"), str(path), ConfigError)
    return parse_run_config(raw, str(path), path.resolve().parent)


def parse_run_config(raw: dict[str, Any], source: str, base_dir: Path) -> RunConfig:
    """Validate a parsed TOML run configuration (every key by its declaration; then the keys checked together)."""
    where = Where(source, base_dir)
    config = RunConfig(**parse_sections(RunConfig, raw, where), source=source)
    check_kernel_phonons(config.kernel.phonons, config.run.engine, source)
    return config


def parse_abinit(table: dict[str, Any], source: str, base_dir: Path) -> AbinitRunSpec:
    """``[abinit]`` from a table (the options of ``phonomag ab-initio``), checked as in a configuration file."""
    return parse_section(AbinitRunSpec, table, "abinit", Where(source, base_dir))


def check_kernel_phonons(phonons: str, engine: str, source: str) -> None:
    """An error unless the engine's own phonons (``phonons = "kernel"``) go with an engine that has them
    (:attr:`~phonomag.cli.engines.Capability.OWN_PHONONS`), or with "auto" (checked again once it chose)."""
    if phonons == "kernel" and engine != "auto" and not engine_entry(engine).can(Capability.OWN_PHONONS):
        raise ConfigError(f"{source}: kernel.phonons = 'kernel' (the engine's own phonons) needs "
                          f"{with_capability(Capability.OWN_PHONONS)} (or 'auto' when it takes it); the engine is "
                          f"{engine!r}")


def with_material_defaults(config: RunConfig, spec) -> RunConfig:
    """``config`` with the defaults that depend on the material (:class:`~phonomag.crystal.materials.MaterialSpec`)
    filled in: ``[outputs] summary_q``, the corners of the path other than Γ, farthest from Γ first (K, M of a
    hexagonal layer's Γ–M–K–Γ), and ``[maps] modes``, the material's ``[[maps]]`` where it has them (read as
    ``[[maps.modes]]`` are). Without them the modes stay None: the run chooses them by the numbers."""
    crystal = spec.crystal
    outputs, maps = config.outputs, config.maps
    if outputs.summary_q is None:
        labels = list(dict.fromkeys(config.path.labels or crystal.standard_path))
        try:
            corners = {label: parse_qpoint(label, crystal) for label in labels}
        except QPointError as exc:
            raise ConfigError(f"{config.source}: path.labels {exc}") from None
        away = [label for label in labels if np.linalg.norm(corners[label]) > 0]
        away.sort(key=lambda label: -np.linalg.norm(corners[label] @ crystal.reciprocal))
        outputs = dataclasses.replace(outputs, summary_q=tuple(away))
    if maps.modes is None and spec.maps:
        where = Where(f"{spec.source} [[maps]]", spec.base_dir)
        maps = dataclasses.replace(maps, modes=MAP_TABLES.parse(list(spec.maps), "maps", where))
    return dataclasses.replace(config, outputs=outputs, maps=maps)


def check_against_material(config: RunConfig, crystal, along_path: bool) -> None:
    """What needs the material's :class:`~phonomag.crystal.crystal.Crystal`, checked with the functions the run
    computes with: the q labels of the maps drawn (:attr:`RunConfig.drawn_maps`) and, for an engine that computes a path
    (``along_path``), the path as the run samples it (:meth:`PathSection.sample`) and the summary q-points;
    a ConfigError naming the key. (An engine at fixed q parses its q-points when it is built.)"""
    checks = []
    if along_path:
        checks += [("path.labels", lambda: config.path.sample(crystal))]
        checks += [("outputs.summary_q", lambda q=q: parse_qpoint(q, crystal)) for q in config.outputs.summary_q or ()]
    checks += [(f"maps.modes[{config.maps.modes.index(m)}].q", lambda q=m.q: parse_qpoint(q, crystal))
               for m in config.drawn_maps]
    for name, check in checks:
        try:
            check()
        except QPointError as exc:
            raise ConfigError(f"{config.source}: {name} {exc}") from None


def run_config_table() -> str:
    """The key table of docs/run-config.md (:func:`~phonomag.cli.schema.key_table` of :class:`RunConfig`)."""
    return key_table(RunConfig)
