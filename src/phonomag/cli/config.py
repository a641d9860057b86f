"""Run configuration of ``phonomag run`` (TOML), with defaults and validation.

Every key is optional; the defaults reproduce the paper's figures for WSe₂. The
format is documented in ``docs/run-config.md``. Errors name the key, the value
and what would be valid.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from phonomag.cli.engines import Capability, canonical, engine_choices, engine_names, with_capability
from phonomag.cli.engines import entry as engine_entry
from phonomag.crystal.qpoints import parse_qpoint
from phonomag.errors import PhonomagError, read_text
from phonomag.response.modes import KINDS
from phonomag.workflow.parsl_tasks import EXECUTORS, ClusterSpec


class ConfigError(PhonomagError):
    """A run configuration is malformed."""


#: Largest displacement amplitude (Å) accepted: the response is linear in u, far below bond lengths.
MAX_AMPLITUDE = 0.5
#: Largest |height| (Å) of a map plane above or below the layer's mid-plane.
MAX_HEIGHT = 20.0
#: Map names become file names in <output>/maps: no separators, no leading dot or dash.
MAP_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,99}")


@dataclass(frozen=True)
class MapSpec:
    """One mode to draw in real space.

    q: label or reduced coordinates; mode: index ν (0-based, sorted by frequency) or a
    selector "even:n" / "odd:n" (the n-th mode of that σ_h parity, counted from 0);
    name: used for files and titles; style: "in-plane" (Fig. 1: in-plane magnetization as
    vectors) or "out-of-plane" (Fig. 2: M_z beside the induced charge).
    """

    name: str
    q: str
    mode: int | str
    style: str


#: The paper's six cases: Figs. 1 and 2 at K, their time-reversal partners at K′ = −K
#: (Supplementary Figs. 1, 2) and the two M-point acoustic modes (Supplementary Figs. 3, 4).
#: The acoustic mode with W out of plane is odd under σ_h, the one with W in plane even.
DEFAULT_MAPS = (
    MapSpec("K_acoustic_W_out_of_plane", "K", "odd:0", "in-plane"),
    MapSpec("K_highest_acoustic", "K", 2, "out-of-plane"),
    MapSpec("Kp_acoustic_W_out_of_plane", "K'", "odd:0", "in-plane"),
    MapSpec("Kp_highest_acoustic", "K'", 2, "out-of-plane"),
    MapSpec("M_acoustic_W_out_of_plane", "M", "odd:0", "in-plane"),
    MapSpec("M_acoustic_transverse", "M", "even:0", "out-of-plane"),
)

#: The paper's two maps at each q: Fig. 1 (first σ_h-odd mode, W out of plane, in-plane M)
#: and Fig. 2 (mode 2, the highest acoustic mode at K: M_z and charge).
PAPER_MAPS = (("odd:0", "in-plane", "acoustic_W_out_of_plane"), (2, "out-of-plane", "mode2"))


def paper_maps(label: str) -> list[MapSpec]:
    """:data:`PAPER_MAPS` at the q-point ``label``, named abinit_<label>_<case>."""
    return [MapSpec(f"abinit_{label.replace(chr(39), 'p')}_{name}", label, selector, style)
            for selector, style, name in PAPER_MAPS]


#: Phonons of a kernel run: the material's ``[phonons]``, or the kernel data's own DFPT dynamical
#: matrices (its q_*_DDB files, the same ground state and settings as its responses).
KERNEL_PHONONS = ("material", "kernel")
#: ``[run] fallback``: what engine "auto" does when the shipped first-principles kernel is not usable —
#: stop with the reason ("none"), or take the tight-binding model ("model"), saying why in the summary.
FALLBACKS = ("none", "model")


@dataclass(frozen=True)
class AbinitRunSpec:
    """Settings of the first-principles engine (``[abinit]``, docs/run-config.md).

    ecut: plane-wave cutoff (Ha); kgrid: Γ-centred k grid of the ground state and the
    DFPT (a q off it gets a non-self-consistent k + q run); vacuum: cell length along z of the slab (Å);
    pseudo_dir / pseudos: pseudopotential folder and {species: file} overrides of the
    HGH defaults; qpoints: labels or reduced coordinates of the DFPT runs; nproc: MPI
    processes of the ground state and number of serial DFPT runs side by side;
    workdir: folder of the ABINIT runs (None: ``<output>/abinit-work``); a finished
    run found there with the same input is reused; keep_wavefunctions: keep the
    first-order wavefunction files (≈1.3 GB per q) after their reduction to N(r);
    structure: a structure file any ASE reader understands (CIF, POSCAR, QE input, …) holding
    one 2D layer, used instead of the material's structure (same atoms in the same order);
    launcher: how MPI runs start ("auto", "mpirun", "srun", "none" or a template with
    {nproc} and {command}, :mod:`phonomag.workflow.launcher`).
    """

    ecut: float = 20.0
    kgrid: tuple[int, int, int] = (6, 6, 1)
    vacuum: float = 18.0
    pseudo_dir: str | None = None
    pseudos: dict[str, str] = field(default_factory=dict)
    qpoints: tuple[str, ...] = ("K", "K'", "M")
    nproc: int = 2
    workdir: str | None = None
    keep_wavefunctions: bool = False
    structure: str | None = None
    launcher: str = "auto"

    def settings(self):
        """The :class:`phonomag.io.abinit.inputs.AbinitSettings` of this run (spinors, SOC)."""
        from phonomag.io.abinit.inputs import AbinitSettings

        base = AbinitSettings()
        # the spinor ground state stalls near vres2 ~ 1e-13 at these settings: 1e-12 is where it stops
        return AbinitSettings(ecut=self.ecut, kgrid=self.kgrid, spin_orbit=True, tolvrs_gs=1e-12,
                              pseudo_dir=Path(self.pseudo_dir) if self.pseudo_dir else base.pseudo_dir,
                              pseudos={**base.pseudos, **self.pseudos})


@dataclass(frozen=True)
class RunConfig:
    """Validated run configuration (see docs/run-config.md for the meaning of each field)."""

    material: str = "WSe2"
    path: tuple[str, ...] = ("G", "M", "K", "G")
    path_points: int = 151
    kgrid: tuple[int, int, int] = (24, 24, 1)
    kind: str = "one-sided"
    amplitude: str | float = "zero-point"
    maps: tuple[MapSpec, ...] = DEFAULT_MAPS
    map_cells: tuple[int, int] = (4, 4)
    map_points: int = 48
    map_height: float = 0.0
    movie_frames: int = 30
    figures: bool = True
    movies: bool = True
    field_files: bool = True
    summary_q: tuple[str, ...] = ("K", "M")
    engine: str = "auto"
    fallback: str = "none"
    abinit: AbinitRunSpec = AbinitRunSpec()
    kernel_data: str | None = None
    kernel_phonons: str = "material"
    cluster: ClusterSpec = ClusterSpec()
    source: str = "built-in default"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECTIONS = {
    "run": {"material", "engine", "fallback"},
    "path": {"labels", "npoints"},
    "response": {"kgrid", "kind", "amplitude"},
    "maps": {"modes", "cells", "points_per_cell", "height", "frames"},
    "outputs": {"figures", "movies", "field_files", "summary_q"},
    "abinit": {"ecut", "kgrid", "vacuum", "pseudo_dir", "pseudos", "q", "nproc", "workdir",
               "keep_wavefunctions", "structure", "launcher"},
    "kernel": {"data", "phonons"},
    "cluster": {"executor", "partition", "nodes", "cores_per_node", "cores_per_task", "walltime", "launcher",
                "worker_init", "scheduler_options", "address", "retries", "parsl_config"},
}


def load_run_config(path: Path | None) -> RunConfig:
    """Read and validate a run configuration; ``None`` gives the built-in default."""
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"run configuration {str(path)!r} does not exist")
    try:
        raw = tomllib.loads(read_text(path, ConfigError, "run configuration"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_run_config(raw, str(path), path.resolve().parent)


def _fail(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {key} {message}")


def _positive_ints(value: Any, count: int, source: str, key: str) -> tuple[int, ...]:
    ok = isinstance(value, list) and len(value) == count and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )
    if not ok:
        raise _fail(source, key, f"must be a list of {count} positive integers, got {value!r}")
    return tuple(value)


def _positive_int(value: Any, source: str, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, key, f"must be an integer ≥ {minimum}, got {value!r}")
    return value


def parse_run_config(raw: dict[str, Any], source: str, base_dir: Path) -> RunConfig:
    """Validate a parsed TOML run configuration."""
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(_SECTIONS)}")
    for section, allowed in _SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        extra = sorted(set(table) - allowed)
        if extra:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(extra)} in [{section}]; "
                              f"allowed: {', '.join(sorted(allowed))}")
    default = RunConfig()
    run, path, resp = raw.get("run", {}), raw.get("path", {}), raw.get("response", {})
    maps, outs = raw.get("maps", {}), raw.get("outputs", {})

    material = run.get("material", default.material)
    if not isinstance(material, str):
        raise _fail(source, "run.material", f"must be a material name or a model-file path, got {material!r}")
    if material.endswith(".toml") and not Path(material).is_absolute():
        material = str(base_dir / material)

    labels = path.get("labels", list(default.path))
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise _fail(source, "path.labels", f"must list at least two points, got {labels!r}")
    points = [parse_qpoint(label) for label in labels]
    for n, (a, b) in enumerate(pairwise(points)):
        if np.allclose(a, b):
            raise _fail(source, "path.labels", f"has a segment of zero length, {labels[n]!r} to {labels[n + 1]!r}; "
                        "consecutive points must differ")
    engine = run.get("engine", default.engine)
    if engine not in engine_names():
        raise _fail(source, "run.engine", f"must be one of {', '.join(engine_choices())}, got {engine!r}")
    engine = canonical(engine)
    fallback = run.get("fallback", default.fallback)
    if fallback not in FALLBACKS:
        raise _fail(source, "run.fallback", f"must be one of {', '.join(FALLBACKS)}, got {fallback!r}")
    kind = resp.get("kind", default.kind)
    if kind not in KINDS:
        raise _fail(source, "response.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    amplitude = resp.get("amplitude", default.amplitude)
    if amplitude != "zero-point":
        # a linear response: displacements beyond a small fraction of a bond length are not small
        amplitude = _number(amplitude, source, "response.amplitude (\"zero-point\" or the largest displacement, Å)",
                            0.0, MAX_AMPLITUDE, low_open=True)
    return RunConfig(
        material=material,
        path=tuple(str(x) for x in labels),
        path_points=_positive_int(path.get("npoints", default.path_points), source, "path.npoints", 2),
        kgrid=_positive_ints(resp.get("kgrid", list(default.kgrid)), 3, source, "response.kgrid"),
        kind=kind,
        amplitude=amplitude,
        maps=_parse_maps(maps.get("modes"), source) if "modes" in maps else default.maps,
        map_cells=_positive_ints(maps.get("cells", list(default.map_cells)), 2, source, "maps.cells"),
        map_points=_positive_int(maps.get("points_per_cell", default.map_points), source, "maps.points_per_cell", 4),
        map_height=_number(maps.get("height", default.map_height), source, "maps.height (Å from the layer)",
                           -MAX_HEIGHT, MAX_HEIGHT),
        movie_frames=_positive_int(maps.get("frames", default.movie_frames), source, "maps.frames", 2),
        figures=_boolean(outs.get("figures", default.figures), source, "outputs.figures"),
        movies=_boolean(outs.get("movies", default.movies), source, "outputs.movies"),
        field_files=_boolean(outs.get("field_files", default.field_files), source, "outputs.field_files"),
        summary_q=tuple(_labels(outs.get("summary_q", list(default.summary_q)), source, "outputs.summary_q")),
        engine=engine,
        fallback=fallback,
        abinit=parse_abinit(raw.get("abinit", {}), source, base_dir),
        kernel_data=_kernel_data(raw.get("kernel", {}), source, base_dir),
        kernel_phonons=_kernel_phonons(raw.get("kernel", {}), engine, source),
        cluster=parse_cluster(raw.get("cluster", {}), source, base_dir),
        source=source,
    )


def _kernel_data(table: dict, source: str, base_dir: Path) -> str | None:
    """``[kernel] data``: a folder of reduced DFPT files (relative to the configuration), or None (built-in)."""
    if "data" not in table:
        return None
    folder = table["data"]
    if not isinstance(folder, str):
        raise _fail(source, "kernel.data", f"must be the path of a folder of q_*.nc files, got {folder!r}")
    path = (base_dir / folder).resolve()
    if not path.is_dir() or not list(path.glob("q_*.nc")):
        raise _fail(source, "kernel.data", f"{path} is not a folder with reduced DFPT files q_*.nc "
                    "(scripts/wse2_response_kernel.py writes them)")
    return str(path)


def _kernel_phonons(table: dict, engine: str, source: str) -> str:
    """``[kernel] phonons`` (one of KERNEL_PHONONS), checked against the engine."""
    phonons = table.get("phonons", "material")
    if phonons not in KERNEL_PHONONS:
        raise _fail(source, "kernel.phonons", f"must be one of {', '.join(KERNEL_PHONONS)}, got {phonons!r}")
    check_kernel_phonons(phonons, engine, source)
    return phonons


def check_kernel_phonons(phonons: str, engine: str, source: str) -> None:
    """An error unless the engine's own phonons (``phonons = "kernel"``) go with an engine that has them
    (:attr:`~phonomag.cli.engines.Capability.OWN_PHONONS`), or with "auto" (checked again once it chose)."""
    if phonons == "kernel" and engine != "auto" and not engine_entry(engine).can(Capability.OWN_PHONONS):
        raise _fail(source, "kernel.phonons", f"= 'kernel' (the engine's own phonons) needs "
                    f"{with_capability(Capability.OWN_PHONONS)} (or 'auto' when it takes it); the engine is {engine!r}")


def finite_number(value: Any, what: str, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> float:
    """``value`` as a float; a ConfigError naming ``what`` unless it is a finite number in [low, high]
    (or (low, high] with ``low_open``). Used for configuration keys and command-line options alike."""
    bounds = "".join([f" {'>' if low_open else '≥'} {low:g}" if low is not None else "",
                      " and" if low is not None and high is not None else "",
                      f" ≤ {high:g}" if high is not None else ""])
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan
    if not (np.isfinite(number) and (low is None or number > low or (number == low and not low_open))
            and (high is None or number <= high)):
        raise ConfigError(f"{what} must be a finite number{bounds}, got {value!r}")
    return number


def _number(value: Any, source: str, key: str, low: float | None = None, high: float | None = None,
            low_open: bool = False) -> float:
    return finite_number(value, f"{source}: {key}", low, high, low_open)


def _boolean(value: Any, source: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, key, f"must be true or false, got {value!r}")
    return value


def _labels(value: Any, source: str, key: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, f"must be a non-empty list of q labels or coordinates, got {value!r}")
    for v in value:
        parse_qpoint(v)
    return value


def _mode_selector(value: Any, source: str, key: str) -> int | str:
    if isinstance(value, str):
        kind, _, number = value.partition(":")
        if kind in ("even", "odd") and number.isdigit():
            return value
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _fail(source, key, f"must be a mode index ≥ 0 or \"even:n\" / \"odd:n\", got {value!r}")


def _parse_maps(value: Any, source: str) -> tuple[MapSpec, ...]:
    if not isinstance(value, list):
        raise _fail(source, "maps.modes", f"must be an array of tables, got {value!r}")
    specs = []
    for i, entry in enumerate(value):
        key = f"maps.modes[{i}]"
        if (
            not isinstance(entry, dict)
            or set(entry) - {"name", "q", "mode", "style"}
            or not {"q", "mode"} <= set(entry)
        ):
            raise _fail(source, key, f"must be a table with q, mode and optional name, style; got {entry!r}")
        parse_qpoint(entry["q"])
        style = entry.get("style", "in-plane")
        if style not in ("in-plane", "out-of-plane"):
            raise _fail(source, f"{key}.style", f"must be \"in-plane\" or \"out-of-plane\", got {style!r}")
        mode = _mode_selector(entry["mode"], source, f"{key}.mode")
        name = str(entry.get("name", f"{entry['q']}_mode{mode}")).replace("'", "p")
        if "name" not in entry:  # a name made from q and mode: its separators become '_'
            name = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
        if not MAP_NAME.fullmatch(name):
            raise _fail(source, f"{key}.name", f"{name!r} is not a safe file name: use letters, digits, '_', '-', "
                        "'.' and '+' (at most 100, not starting with '.' or '-')")
        if name in [spec.name for spec in specs]:
            raise _fail(source, f"{key}.name", f"{name!r} is used by another map; every map needs its own name")
        specs.append(MapSpec(name, str(entry["q"]), mode, style))
    return tuple(specs)


def _relative_to(value: Any, source: str, key: str, base_dir: Path) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(source, key, f"must be a folder path, got {value!r}")
    return str(Path(value) if Path(value).is_absolute() else base_dir / value)


def parse_abinit(table: dict[str, Any], source: str, base_dir: Path) -> AbinitRunSpec:
    """Validate ``[abinit]`` (q may lie off the k grid: the engine adds a k + q run)."""
    default = AbinitRunSpec()
    ecut = _number(table.get("ecut", default.ecut), source, "abinit.ecut")
    if not 1 <= ecut <= 200:
        raise _fail(source, "abinit.ecut", f"must be a plane-wave cutoff in Ha between 1 and 200, got {ecut!r}")
    kgrid = _positive_ints(table.get("kgrid", list(default.kgrid)), 3, source, "abinit.kgrid")
    vacuum = _number(table.get("vacuum", default.vacuum), source, "abinit.vacuum")
    if vacuum <= 0:
        raise _fail(source, "abinit.vacuum", f"must be the cell length along z in Å (> 0), got {vacuum!r}")
    pseudos = table.get("pseudos", {})
    if not isinstance(pseudos, dict) or not all(isinstance(v, str) for v in pseudos.values()):
        raise _fail(source, "abinit.pseudos", f"must be a table species = \"file\", got {pseudos!r}")
    qpoints = tuple(_labels(table.get("q", list(default.qpoints)), source, "abinit.q"))  # off the k grid:
    # the engine adds a non-self-consistent k + q run
    return AbinitRunSpec(
        ecut=ecut, kgrid=kgrid, vacuum=vacuum, qpoints=qpoints, pseudos=dict(pseudos),
        pseudo_dir=(_relative_to(table["pseudo_dir"], source, "abinit.pseudo_dir", base_dir)
                    if "pseudo_dir" in table else None),
        nproc=_positive_int(table.get("nproc", default.nproc), source, "abinit.nproc"),
        workdir=_relative_to(table["workdir"], source, "abinit.workdir", base_dir) if "workdir" in table else None,
        keep_wavefunctions=_boolean(table.get("keep_wavefunctions", default.keep_wavefunctions), source,
                                    "abinit.keep_wavefunctions"),
        structure=_structure_file(table, source, base_dir),
        launcher=_launcher(table.get("launcher", default.launcher), source, "abinit.launcher"),
    )


def _launcher(value: Any, source: str, key: str) -> str:
    """``[abinit] launcher`` or ``[cluster] launcher``, checked (:func:`phonomag.workflow.launcher.check_launcher`)."""
    from phonomag.workflow.launcher import LauncherError, check_launcher

    try:
        return check_launcher(value if isinstance(value, str) else repr(value))
    except LauncherError as exc:
        raise _fail(source, key, str(exc)) from None


def _structure_file(table: dict[str, Any], source: str, base_dir: Path) -> str | None:
    """``[abinit] structure``: the path of a file holding one 2D layer, checked now (before any run)."""
    if "structure" not in table:
        return None
    from phonomag.cli.abinit_setup import MIN_VACUUM_GAP
    from phonomag.crystal.structure_file import StructureFileError, read_layer

    path = _relative_to(table["structure"], source, "abinit.structure", base_dir)
    try:
        read_layer(Path(path), MIN_VACUUM_GAP)
    except StructureFileError as exc:
        raise _fail(source, "abinit.structure", str(exc)) from None
    return path


WALLTIME = re.compile(r"(\d+-)?\d{1,2}:\d{2}:\d{2}")


def _text(table: dict[str, Any], key: str, source: str, default: str | None) -> str | None:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise _fail(source, f"cluster.{key}", f"must be a string, got {value!r}")
    return value


def parse_cluster(table: dict[str, Any], source: str, base_dir: Path) -> ClusterSpec:
    """Validate ``[cluster]`` (docs/cluster.md): where the ABINIT tasks run."""
    default = ClusterSpec()
    executor = table.get("executor", default.executor)
    if executor not in EXECUTORS:
        raise _fail(source, "cluster.executor", f"must be one of {', '.join(EXECUTORS)}, got {executor!r} "
                    "(any other Parsl executor or provider: parsl_config = \"file.py\")")
    walltime = _text(table, "walltime", source, default.walltime)
    if not WALLTIME.fullmatch(walltime):
        raise _fail(source, "cluster.walltime", f"must be \"HH:MM:SS\" or \"D-HH:MM:SS\", got {walltime!r}")
    optional = {key: _positive_int(table[key], source, f"cluster.{key}") if key in table else None
                for key in ("cores_per_node", "cores_per_task")}
    parsl_config = None
    if "parsl_config" in table:
        parsl_config = _relative_to(table["parsl_config"], source, "cluster.parsl_config", base_dir)
        if not Path(parsl_config).is_file():
            raise _fail(source, "cluster.parsl_config", f"{parsl_config!r} does not exist (a Python file defining "
                        "config = parsl.config.Config(...))")
    return ClusterSpec(
        executor=executor, partition=_text(table, "partition", source, default.partition),
        nodes=_positive_int(table.get("nodes", default.nodes), source, "cluster.nodes"),
        walltime=walltime,
        launcher=_launcher(table["launcher"], source, "cluster.launcher") if "launcher" in table else None,
        worker_init=_text(table, "worker_init", source, default.worker_init),
        scheduler_options=_text(table, "scheduler_options", source, default.scheduler_options),
        address=_text(table, "address", source, default.address),
        retries=_positive_int(table.get("retries", default.retries), source, "cluster.retries", 0),
        parsl_config=parsl_config, **optional)
