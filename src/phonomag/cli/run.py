"""``phonomag run``: the main job, from a run configuration to an output folder, for any engine.

Stages (each reused on a re-run when nothing it read has changed, :mod:`phonomag.cli.run_state`;
each announced when it starts; the summary lists every file written or reused):

1. (with the model's phonons) the force constants used as ``phonopy_params.yaml``;
2. the mode-resolved charge and magnetization → ``results.nc`` (one layout for every
   engine): along the q path for the tight-binding and kernel engines, at ``[abinit] q`` for
   the ABINIT engine;
3. the per-mode table (and ``summary.txt``): at the summary q-points, or at the computed q;
4. Fig. 3 (dispersion with in-plane / out-of-plane RMS magnetization) where a path is computed;
   for the ABINIT engine instead the model-vs-DFPT comparison (table, figure) and the
   time-reversal check of every computed pair q, −q; for the kernel engine also the model on
   the same path (``model_results.nc``, ``model_vs_dfpt.txt``, the Fig. 3 overlay);
5. electrons and phonons overview figures (bands, spin texture, dispersion);
6. real-space maps, movies and XSF/cube files of the selected modes, from the engine's fields;
7. ``report.html`` (the modes in the browser, :mod:`phonomag.outputs.report`) and, along a path, the
   phonon-viewer files ``phonon_website.json`` and ``band.yaml`` (:mod:`phonomag.outputs.phonon_website`),
   from results.nc, the maps' pictures and the fields of every mode at the labelled q-points (computed
   here, on the maps' plane, within the page's budget).

Stages 4 to 6 only read what 1 to 3 computed and write their own files: they are made side by side, one
worker process per usable core (``parallel`` stages, :mod:`phonomag.cli.stages`); the summary is the same.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from phonomag import __version__
from phonomag.cli.config import (
    MapSpec,
    RunConfig,
    check_against_material,
    check_kernel_phonons,
    load_run_config,
    with_material_defaults,
)
from phonomag.cli.engines import Capability, EngineEntry, canonical, fingerprint, kind_capability, select
from phonomag.cli.engines import entry as engine_entry
from phonomag.cli.overviews import electronic_overview, phonon_overview
from phonomag.cli.resources import check_resources
from phonomag.cli.run_state import digest
from phonomag.cli.stages import MAPS_FOLDER, Made, Stage, announce, output_folder
from phonomag.cli.systems import load_phonons
from phonomag.crystal.kpath import farthest_corner_index
from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.crystal.materials import MaterialSpec, load_material
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.engines.base import EngineCapabilityError, compute_mode_fields, compute_mode_response, compute_q_fields
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.errors import ModelFileError
from phonomag.io.atomic import write_atomically
from phonomag.io.cf_metadata import path_point_labels
from phonomag.outputs.maps import FIELD_GRID, planned_files, render_mode
from phonomag.outputs.tables import comparison_table, mode_table, time_reversal_lines
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.phonons.description import select_mode
from phonomag.phonons.phonopy_export import FILE_NAME, write_phonopy_params
from phonomag.response.comparison import compare_responses, time_reversal_deviations
from phonomag.response.modes import ModeResponse, read_results


def resolve_engine(config: RunConfig, spec: MaterialSpec) -> tuple[RunConfig, str | None, object | None]:
    """The engine of ``config.run.engine`` for this run (:func:`~phonomag.cli.engines.select`: an explicit one must
    give the configured response kind; "auto" takes the first-principles kernel when one is at hand, complete,
    and gives it; else the model). Returns (the configuration with the engine's registered name, a summary
    line saying why — None for an explicit engine —, the engine if "auto" built it)."""
    kind = config.response.kind
    chosen = select(config.run.engine, config, spec, {kind_capability(kind): f"the {kind} response"})
    return config.updated({"run.engine": chosen.entry.name}), chosen.why, chosen.engine


@dataclasses.dataclass
class System:
    """What a run computes with: the material, the engine's registry entry, the response engine, its phonon
    source, the q-points it computes (None: the configured path) with their labels, the digest of everything
    read, and the tight-binding engine computed beside a first-principles engine for comparison (else None)."""

    spec: MaterialSpec
    entry: EngineEntry
    engine: object
    phonons: object
    qpoints: dict[str, np.ndarray] | None
    fingerprint: str
    model: TightBindingEngine | None = None


def build_system(config: RunConfig, output: Path, spec: MaterialSpec, engine=None) -> System:
    """The engine of ``config.run.engine`` (registered, :func:`resolve_engine`) for ``spec``, built by its registry
    entry; all checks before any expensive step. ``engine``: the engine if :func:`resolve_engine` built it.
    The fingerprint: :func:`~phonomag.cli.engines.fingerprint`."""
    chosen = engine_entry(config.run.engine)
    engine = engine or chosen.build(config, spec, output)
    qpoints = None if chosen.can(Capability.ANY_Q) else chosen.qpoints(config, spec)
    beside = chosen.can(Capability.FIRST_PRINCIPLES) and spec.has_model  # the model drawn beside first principles
    model = TightBindingEngine.from_material(spec, config.response.kgrid) if beside else None
    return System(spec, chosen, engine, chosen.phonons(config, spec, engine), qpoints, fingerprint(config, spec), model)


@dataclasses.dataclass(frozen=True)
class MapPlan:
    """One map of the run: its entry, q (reduced), mode index ν, ħω (meV) and displacements (natoms, 3) Å."""

    entry: object
    q: np.ndarray
    nu: int
    frequency: float
    displacements: np.ndarray


def run_main(config_path: Path | None, output: Path, engine_name: str | None = None,
             force: bool = False, material: str | None = None) -> list[str]:
    """Run everything the configuration asks for; return the summary lines.

    ``material`` (a built-in name, or a structure or model file relative to the working directory) overrides
    ``[run] material``; ``engine_name`` ("auto", "model", "abinit" or "kernel") the configuration's
    ``[run] engine``; ``force`` runs even above the size limit of :func:`~phonomag.cli.resources.check_resources`.
    """
    config = load_run_config(config_path)
    if material is not None:
        given = Path(material).expanduser()
        config = config.updated({"run.material": str(given.resolve()) if given.exists() else material})
    if engine_name is not None:
        config = config.updated({"run.engine": canonical(engine_name)})
    return run_main_config(config, output, force)


def run_main_config(config: RunConfig, output: Path, force: bool = False) -> list[str]:
    """:func:`run_main` for a validated configuration.

    Everything is checked (:func:`check_run`: material, engine, q-points, maps, memory and time) before the
    output folder is made; it is locked for the whole run and every stage goes through the stage runner
    (:mod:`phonomag.cli.stages`)."""
    output = Path(output)
    announce("checking the configuration and the model")
    config, choice, system, plans = check_run(config, output, force)
    with output_folder(output, "run") as runner:
        lines = [f"phonomag {__version__}: {system.spec.name} ({system.spec.source}); engine {system.engine.name}; "
                 f"configuration: {config.source}"]
        lines += [choice] if choice else []
        results = _Results(output / "results.nc")
        stages = (_path_stages if system.qpoints is None else _qpoint_stages)(config, system, output, results)
        stages += _overview(config, system, output) if config.outputs.figures else []
        map_stages = _maps(config, system, plans, output)
        stages += map_stages
        stages.append(_report(config, system, plans, output, [results.stage, *map_stages]))
        summary = output / "summary.txt"

        def write_summary() -> Made:
            text = "\n".join([*lines, f"wrote  {summary}"]) + "\n"
            return Made([write_atomically(summary, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"),
                                          ".txt")])

        return runner.run([*stages, Stage("summary", None, [summary], write_summary)], lines)


def check_run(config: RunConfig, output: Path, force: bool = False) -> tuple[RunConfig, str | None, System, list]:
    """Every check of a run, before anything is written: the material, the engine (its capabilities, "auto"
    resolved), the q path and labels against the material's lattice (with the functions the run computes
    with), the engine built, the resources (memory, time; above the limit only with ``force``) and the maps.
    Returns (the configuration with the engine's registered name, the summary line of "auto", the system,
    the map plans)."""
    spec = load_material(config.run.material)
    config, choice, engine = resolve_engine(config, spec)
    source = config.source + (f" ({choice})" if choice else "")
    check_kernel_phonons(config.kernel.phonons, config.run.engine, source)
    config = with_material_defaults(config, spec)
    check_against_material(config, spec.crystal, engine_entry(config.run.engine).can(Capability.ANY_Q))
    system = build_system(config, output, spec, engine)
    config = maps_by_the_numbers(config, system)
    check_resources(config, system.engine, system.model, force,
                    None if system.qpoints is None else len(system.qpoints))
    return config, choice, system, _plan_maps(config, system)


def maps_by_the_numbers(config: RunConfig, system: System) -> RunConfig:
    """``config`` with ``[maps] modes`` chosen by the numbers where neither the configuration nor the material
    names them: at each summary q-point (the path's corners other than Γ, farthest first), the mode with the
    largest RMS M∥ drawn in plane and the mode with the largest RMS M_z drawn out of plane (a bulk crystal: those
    with the largest M_L and M_T, both drawn with the map plane's arrows), from the run's own
    engine and phonons (no σ_h assumed). A kind whose largest value is below 1e-9 of the other's is not drawn (it
    is zero by symmetry). An engine at fixed q (ABINIT) gets no maps this way: its responses are the run itself."""
    if config.maps.modes is not None:
        return config
    outputs = config.outputs
    if system.qpoints is not None or not (outputs.figures or outputs.movies or outputs.field_files):
        return config.updated({"maps.modes": ()})
    labels = list(config.outputs.summary_q)
    qpoints = np.array([parse_qpoint(label, system.spec.crystal) for label in labels])
    response = compute_mode_response(system.engine, system.phonons.modes(qpoints), config.response.kind,
                                     config.response.amplitude, system.phonons.description, progress=False)
    one, two = response.m_parts
    if response.q_directions is None:  # a layer: M∥ drawn in plane, M_z out of plane
        kinds = (("in-plane", one, "M_in_plane"), ("out-of-plane", two, "M_z"))
    else:  # a bulk crystal: M_L and M_T, both drawn with the map plane's arrows
        kinds = (("in-plane", one, "M_L"), ("in-plane", two, "M_T"))
    scale = max(one.max(), two.max(), 1e-300)
    maps = [MapSpec(name=f"{label.replace(chr(39), 'p')}_largest_{text}", q=label, mode=int(np.argmax(values[i])),
                    style=style)
            for i, label in enumerate(labels) for style, values, text in kinds if values[i].max() > 1e-9 * scale]
    return config.updated({"maps.modes": tuple(maps)})


class _Results:
    """results.nc of a run: its :class:`Stage` (set by :func:`_results_stage`) and the response, computed by
    the stage or read from the file it reused."""

    def __init__(self, path: Path):
        self.path, self.stage, self.data = path, None, None

    def __call__(self) -> ModeResponse:
        if self.data is None:
            self.data = read_results(self.path)[0]
        return self.data


def _overview(config: RunConfig, system: System, output: Path) -> list[Stage]:
    """Bands and spin texture (where the material has a tight-binding model) and the phonon dispersion figures."""
    names = ("bands", "spin_texture", "phonons") if system.spec.has_model else ("phonons",)

    def make() -> Made:
        lines, files = electronic_overview(config.run.material, output) if system.spec.has_model else ([], [])
        phonon_lines, phonon_files = phonon_overview(
            config.run.material, output, export=False,  # an engine at fixed q has phonons at its q only
            phonons=system.phonons if system.entry.can(Capability.ANY_Q) else None)
        return Made(files + phonon_files, lines + phonon_lines)

    return [Stage("overview", digest(system.fingerprint, "overview"),
                  [output / f"{name}.{ext}" for name in names for ext in ("png", "pdf")],
                  make, "overview figures (bands, spin texture, phonons)", parallel=True)]


def _results_stage(config: RunConfig, system: System, results: _Results, qpoints: np.ndarray, distances,
                   point_labels, attrs: dict) -> Stage:
    """results.nc of the response at ``qpoints`` (also set as ``results.stage``)."""
    response = config.response

    def make() -> Made:
        data = compute_mode_response(system.engine, system.phonons.modes(qpoints), response.kind, response.amplitude,
                                     system.phonons.description)
        run_attrs = {"material": system.spec.name, "material_source": system.spec.source,
                     "material_file": json.dumps(system.spec.raw, default=str),
                     "phonon_source": system.phonons.description,
                     "run_configuration": json.dumps(config.as_dict(), default=str), **attrs}
        data.write(results.path, distances, point_labels, run_attrs)
        results.data = data
        return Made([results.path])

    results.stage = Stage("results", digest(system.fingerprint, qpoints, response.kgrid, response.kind,
                                            response.amplitude),
                          [results.path], make, f"response of every mode at {len(qpoints)} q-points (k grid "
                          f"{list(system.engine.kgrid)}) → {results.path}")
    return results.stage


def _path_stages(config: RunConfig, system: System, output: Path, results: _Results) -> list[Stage]:
    """phonopy_params.yaml, results.nc along the path, the table at the summary q-points, Fig. 3 and, beside a
    first-principles engine, the model on the same path."""
    spec = system.spec
    phonopy_path = output / FILE_NAME
    qpoints, distances, ticks, tick_labels = config.path.sample(spec.crystal)
    attrs = {"path_ticks": list(ticks), "path_labels": json.dumps(tick_labels, ensure_ascii=False)}
    summary_q = np.array([parse_qpoint(q, spec.crystal) for q in config.outputs.summary_q])
    kind, amplitude = config.response.kind, config.response.amplitude
    at_summary = {}

    def table() -> Made:
        summary = compute_mode_response(system.engine, system.phonons.modes(summary_q), kind, amplitude,
                                        system.phonons.description, progress=False)
        labels = [qpoint_label(q, crystal=spec.crystal) for q in summary.qpoints]
        at_summary.update(response=summary, labels=labels)
        return Made([], mode_table(summary, dict(enumerate(labels))))

    stages = [Stage("phonopy", system.fingerprint, [phonopy_path],
                    lambda: Made([write_phonopy_params(system.phonons, phonopy_path)])),
              _results_stage(config, system, results, qpoints, distances,
                             path_point_labels(distances, ticks, tick_labels), attrs),
              Stage("table", None, [], table, f"the mode table at {', '.join(config.outputs.summary_q)}")]
    if config.outputs.figures:
        stages.append(_figure3(system, output, results, (distances, ticks, tick_labels), config.path.labels))
    if system.model is not None:
        stages.append(_model_along_path(config, system, output, results, (distances, ticks, tick_labels),
                                        summary_q, at_summary))
    return stages


def _figure3(system: System, output: Path, results: _Results, path, labels) -> Stage:
    """The paper's Fig. 3 from results.nc's response; path: (distances, ticks, tick labels) of the corners
    ``labels`` (None: the standard path); panel (d) at the corner farthest from Γ (K of a hexagonal layer)."""
    distances, ticks, tick_labels = path

    def make() -> Made:
        from phonomag.outputs.plotting.dispersion import plot_magnetization_dispersion

        data = results()
        k_index = farthest_corner_index(system.spec.crystal, data.qpoints, labels)
        return Made(plot_magnetization_dispersion(data, distances, ticks, tick_labels, system.spec.labels,
                                                  system.spec.atoms.positions,
                                                  output / "fig3_magnetization_dispersion", k_index))

    return Stage("figure3", digest(results.stage.inputs, "figure3"),
                 [output / f"fig3_magnetization_dispersion.{ext}" for ext in ("png", "pdf")], make,
                 "Fig. 3 (dispersion and RMS magnetization)", parallel=True)


def _model_along_path(config: RunConfig, system: System, output: Path, results: _Results, path, summary_q,
                      at_summary: dict) -> Stage:
    """The tight-binding model beside a first-principles engine on the same path and phonons:
    model_results.nc, the table at the summary q (model_vs_dfpt.txt; ``at_summary``: the engine's response
    there, from the table step) and the Fig. 3 overlay."""
    distances, ticks, tick_labels = path
    names = ["model_results.nc", "model_vs_dfpt.txt"] + [f"fig3_model_vs_dfpt.{e}" for e in ("png", "pdf")]

    def make() -> Made:
        data, model_engine = results(), system.model
        model = compute_mode_response(model_engine, system.phonons.modes(data.qpoints), config.response.kind,
                                      config.response.amplitude, system.phonons.description)
        files = [output / "model_results.nc"]
        model.write(files[0], distances, path_point_labels(distances, ticks, tick_labels),
                    {"material": system.spec.name, "phonon_source": system.phonons.description})
        summary = at_summary["response"]
        at_model = compute_mode_response(model_engine, system.phonons.modes(summary.qpoints), config.response.kind,
                                         config.response.amplitude, system.phonons.description, progress=False)
        table = comparison_table(compare_responses(at_model, summary, at_summary["labels"]), summary.parts)
        files.append(_write_text(output / "model_vs_dfpt.txt", table))
        if config.outputs.figures:
            from phonomag.outputs.plotting.comparison import plot_dispersion_overlay

            files += plot_dispersion_overlay(data, model, distances, ticks, tick_labels, output / "fig3_model_vs_dfpt")
        return Made(files, [f"model ({model_engine.name}, k grid {list(config.response.kgrid)}) against {data.engine}:",
                            *table])

    return Stage("model_comparison", digest(results.stage.inputs, config.response.kgrid, config.outputs.figures,
                                            summary_q, "model along the path"),
                 [output / name for name in names], make,
                 f"the tight-binding model on the same path (k grid {list(config.response.kgrid)}), for comparison",
                 parallel=True)


def _write_text(path: Path, lines: list[str]) -> Path:
    """``lines`` as a text file (UTF-8), written atomically."""
    text = "\n".join(lines) + "\n"
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), path.suffix)


def _qpoint_stages(config: RunConfig, system: System, output: Path, results: _Results) -> list[Stage]:
    """results.nc at the engine's q-points, their table, the model beside them, time reversal."""
    labels = list(system.qpoints)
    qpoints = np.array(list(system.qpoints.values()))

    def table() -> Made:
        data = results()
        return Made([], [f"{key}: {value}" for key, value in data.provenance.items()]
                    + mode_table(data, dict(enumerate(labels))))

    def comparison() -> Made:
        data = results()
        model_engine, phonons = system.model, load_phonons(system.spec)
        reference = compute_mode_response(model_engine, phonons.modes(qpoints), config.response.kind,
                                          config.response.amplitude, phonons.description, progress=False)
        rows = compare_responses(reference, data, labels)
        table = comparison_table(rows, data.parts)
        files = [_write_text(output / "model_vs_dfpt.txt", table)]
        if config.outputs.figures:
            from phonomag.outputs.plotting.comparison import plot_model_vs_dfpt

            files += plot_model_vs_dfpt(rows, output / "model_vs_dfpt", (reference.engine, data.engine), data.parts)
        return Made(files, [f"model ({model_engine.name}, k grid {list(config.response.kgrid)}) against {data.engine}:",
                            *table, *time_reversal_lines(time_reversal_deviations(data, labels))])

    results_stage = _results_stage(config, system, results, qpoints, None, labels, {})
    return [results_stage, Stage("table", None, [], table),
            Stage("comparison", digest(results_stage.inputs, config.response.kgrid, config.outputs.figures),
                  [output / f"model_vs_dfpt.{ext}" for ext in ("txt", "png", "pdf")], comparison,
                  "the model at the same q-points, for comparison", parallel=True)]


def maps_at(entries, qpoints: dict[str, np.ndarray] | None, crystal=None) -> tuple[list, list]:
    """(entries at a computed q-point, the others); every entry when the engine computes any q (None).
    ``crystal``: the crystal whose labels the q refer to (:func:`~phonomag.crystal.qpoints.parse_qpoint`)."""
    if qpoints is None:
        return list(entries), []
    at = [e for e in entries if any(np.allclose(parse_qpoint(e.q, crystal), q, atol=1e-8) for q in qpoints.values())]
    return at, [e for e in entries if e not in at]


def _plan_maps(config: RunConfig, system: System) -> list[MapPlan]:
    """The maps this run draws, every mode selector checked (before any file is written)."""
    plans = []
    for entry in maps_at(config.drawn_maps, system.qpoints, system.spec.crystal)[0]:
        q = parse_qpoint(entry.q, system.spec.crystal)
        modes = system.phonons.modes(q[None])
        nu = select_mode(entry.mode, modes.frequencies[0], modes.parity[0], f"map {entry.name!r} at q = {entry.q}")
        u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, config.response.amplitude)[0, nu]
        plans.append(MapPlan(entry, q, nu, float(modes.frequencies[0, nu]), u))
    plane = map_plane(config, system)  # [maps] plane and atom checked even without maps: the report uses them
    if plans:
        system.engine.check_plane(plane)
    return plans


def map_plane(config: RunConfig, system: System) -> LatticePlane:
    """The lattice plane of the maps and of report.html's fields, in the engine's structure."""
    atoms = system.engine.atoms
    return config.map_options(False, atoms).lattice_plane(atoms)


def _maps(config: RunConfig, system: System, plans: list[MapPlan], output: Path) -> list[Stage]:
    """Real-space maps, movies and field files of the planned modes (at the engine's q-points, if it has them):
    a step saying what is skipped, then one stage per map."""
    volumes = config.outputs.field_files and system.entry.can(Capability.VOLUME_FIELDS, system.engine)
    options = config.map_options(volumes, system.engine.atoms)
    plane = options.lattice_plane(system.engine.atoms)
    skipped = maps_at(config.drawn_maps, system.qpoints, system.spec.crystal)[1] if plans else []
    lines = [f"map {entry.name}: skipped, q = {entry.q} is not among the computed q-points {list(system.qpoints)}"
             for entry in skipped]
    if config.outputs.field_files and not volumes:
        lines.append(f"field files: none, {system.entry.label} gives no volume fields")
    stages = [Stage("maps", None, [], lambda: Made([], lines), parallel=True)] if lines else []
    folder = output / MAPS_FOLDER

    def draw(plan: MapPlan) -> Made:
        if not np.any(plan.displacements):  # a mode at rest (ω = 0) draws nothing
            return Made([])
        fields = compute_mode_fields(system.engine, plan.q, plan.frequency, plan.displacements, plan.nu,
                                     plane, options.points_per_cell, options.kind,
                                     FIELD_GRID if options.field_files else None)
        return Made(render_mode(fields, plan.entry.name, plan.entry.style, options, folder))

    for number, plan in enumerate(plans, 1):
        stages.append(Stage(f"map:{plan.entry.name}",
                            digest(system.fingerprint, plan.entry, plan.nu, config.response.kgrid,
                                   dataclasses.asdict(options), config.response.amplitude),
                            planned_files(plan.entry.name, plan.entry.style, options, folder),
                            lambda plan=plan: draw(plan),
                            f"map {number}/{len(plans)}: {plan.entry.name} (q = {plan.entry.q}, mode {plan.nu})",
                            parallel=True))
    return stages


def _report_fields(config: RunConfig, system: System, output: Path) -> tuple[list, str | None]:
    """The fields report.html holds: every mode at the labelled q-points of results.nc, on the maps' plane,
    as many points per cell as its budget allows (:func:`~phonomag.outputs.report.field_points`);
    (the fields, why there are none)."""
    from phonomag.outputs.report import field_points, field_qpoints

    if not system.entry.can(Capability.PLANE_FIELDS):
        return [], f"{system.entry.label} gives no fields"
    data, dataset = read_results(output / "results.nc")
    indices = field_qpoints(data, dataset)
    points = field_points(len(indices) * data.frequencies.shape[1], config.maps.points_per_cell)
    if not indices or points is None:
        return [], "no labelled q-point" if not indices else "too many modes for the page's budget"
    announce(f"the fields of every mode at {', '.join(str(dataset['label'].values[i]) for i in indices)} "
             f"for report.html ({points} points per cell)")
    try:
        plane = map_plane(config, system)
        return [f for iq in indices for f in compute_q_fields(system.engine, data, iq, plane, points,
                                                                config.response.kind)], None
    except (EngineCapabilityError, ModelFileError) as exc:  # e.g. no Slater radial functions, a kernel's planes
        return [], str(exc)


def _report(config: RunConfig, system: System, plans: list[MapPlan], output: Path, upstream: list[Stage]) -> Stage:
    """report.html and, along a path, phonon_website.json and band.yaml: read from results.nc and maps/
    (``upstream``: the stages that write them), with the fields of :func:`_report_fields`."""
    from phonomag.outputs.phonon_website import BAND_NAME, WEBSITE_NAME, write_viewer_files
    from phonomag.outputs.report import REPORT_NAME, write_report

    maps = [(plan.entry.name, plan.q, plan.nu) for plan in plans]
    names = [REPORT_NAME] + ([WEBSITE_NAME, BAND_NAME] if system.qpoints is None else [])

    def make() -> Made:
        fields, why = _report_fields(config, system, output)
        files = [write_report(output, system.spec.atoms, map_plane(config, system), maps, fields, why)]
        if system.qpoints is None:
            files += write_viewer_files(output, system.spec.atoms)
        return Made(files, [f"report.html: no mode fields ({why})"] if why else [])

    return Stage("report", digest([stage.inputs for stage in upstream], maps, system.spec.atoms.positions,
                                  system.spec.atoms.get_masses(), __version__, system.fingerprint, config.maps.plane,
                                  config.maps.atom, config.maps.height, config.maps.points_per_cell,
                                  config.response.kind),
                 [output / name for name in names], make,
                 "report.html (the modes in the browser) and the phonon-viewer files")
