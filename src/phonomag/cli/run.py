"""``phonomag run``: the main job, from a run configuration to an output folder, for any engine.

Stages (each reused on a re-run when nothing it read has changed, :mod:`phonomag.cli.run_state`;
each announced when it starts; the summary lists every file written or reused):

1. electrons and phonons overview figures (bands, spin texture, dispersion), and (with the
   model's phonons) the force constants used as ``phonopy_params.yaml``;
2. the mode-resolved charge and magnetization → ``results.nc`` (one layout for every
   engine): along the q path for the tight-binding and kernel engines, at ``[abinit] q`` for
   the ABINIT engine;
3. the per-mode table (and ``summary.txt``): at the summary q-points, or at the computed q;
4. Fig. 3 (dispersion with in-plane / out-of-plane RMS magnetization) where a path is computed;
   for the ABINIT engine instead the model-vs-DFPT comparison (table, figure) and the
   time-reversal check of every computed pair q, −q; for the kernel engine also the model on
   the same path (``model_results.nc``, ``model_vs_dfpt.txt``, the Fig. 3 overlay);
5. real-space maps, movies and XSF/cube files of the selected modes, from the engine's fields;
6. ``report.html`` (the modes in the browser, :mod:`phonomag.outputs.report`) and, along a path, the
   phonon-viewer files ``phonon_website.json`` and ``band.yaml`` (:mod:`phonomag.outputs.phonon_website`),
   from results.nc, the maps' pictures and the fields of every mode at the labelled q-points (computed
   here, on the maps' plane, within the page's budget).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
import numpy as np

from phonomag import __version__
from phonomag.cli.config import RunConfig, check_against_material, check_kernel_phonons, load_run_config
from phonomag.cli.engines import Capability, EngineEntry, canonical, kind_capability, select
from phonomag.cli.engines import entry as engine_entry
from phonomag.cli.overviews import electronic_overview, phonon_overview
from phonomag.cli.resources import check_resources
from phonomag.cli.run_state import RunState, digest, file_digests, folder_lock
from phonomag.cli.systems import load_phonons
from phonomag.crystal.materials import MaterialSpec, load_material
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.crystal.special_points import hexagonal_angle
from phonomag.engines.base import EngineCapabilityError, compute_mode_fields, compute_mode_response, compute_q_fields
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.errors import ModelFileError
from phonomag.io.atomic import remove_temporaries, write_atomically
from phonomag.io.cf_metadata import path_point_labels
from phonomag.outputs.maps import FIELD_GRID, planned_files, render_mode
from phonomag.outputs.tables import comparison_table, mode_table, time_reversal_lines
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.phonons.description import select_mode
from phonomag.phonons.model import phonon_input_files
from phonomag.phonons.phonopy_export import FILE_NAME, write_phonopy_params
from phonomag.response.comparison import compare_responses, time_reversal_deviations
from phonomag.response.modes import ModeResponse, read_results


def announce(text: str) -> None:
    """Say on the terminal which stage starts (the summary lines come at the end)."""
    click.echo(f"phonomag: {text} …")


def input_files(spec: MaterialSpec, config: RunConfig) -> list[Path]:
    """Every data file a run reads besides the model file: the structure file, the phonons' files
    (:func:`~phonomag.phonons.model.phonon_input_files`) and the engine's own (its registry entry's)."""
    structure = spec.raw.get("structure", {})
    files = [spec.base_dir / structure["file"]] if isinstance(structure.get("file"), str) else []
    files += phonon_input_files(spec.phonons, spec.base_dir)
    return files + engine_entry(config.run.engine).input_files(config, spec)


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

    The fingerprint digests the model file, the content of every data file it names, the package
    version and the engine (with its settings)."""
    chosen = engine_entry(config.run.engine)
    engine = engine or chosen.build(config, spec, output)
    qpoints = None if chosen.can(Capability.ANY_Q) else chosen.qpoints(config, spec)
    first_principles = chosen.can(Capability.FIRST_PRINCIPLES)
    model = TightBindingEngine.from_material(spec, config.response.kgrid) if first_principles else None
    fingerprint = digest(spec.raw, file_digests(input_files(spec, config)), __version__, config.run.engine,
                         *chosen.settings(config))
    return System(spec, chosen, engine, chosen.phonons(config, spec, engine), qpoints, fingerprint, model)


@dataclasses.dataclass(frozen=True)
class MapPlan:
    """One map of the run: its entry, q (reduced), mode index ν, ħω (meV) and displacements (natoms, 3) Å."""

    entry: object
    q: np.ndarray
    nu: int
    frequency: float
    displacements: np.ndarray


def run_main(config_path: Path | None, output: Path, engine_name: str | None = None,
             force: bool = False) -> list[str]:
    """Run everything the configuration asks for; return the summary lines.

    ``engine_name`` ("auto", "model", "abinit" or "kernel") overrides the configuration's ``[run] engine``;
    ``force`` runs even above the size limit of :func:`~phonomag.cli.resources.check_resources`.
    """
    config = load_run_config(config_path)
    if engine_name is not None:
        config = config.updated({"run.engine": canonical(engine_name)})
    return run_main_config(config, output, force)


def run_main_config(config: RunConfig, output: Path, force: bool = False) -> list[str]:
    """:func:`run_main` for a validated configuration.

    Everything is checked (:func:`check_run`: material, engine, q-points, maps, memory and time) before the
    output folder is made; it is locked for the whole run (:mod:`phonomag.cli.run_state`)."""
    output = Path(output)
    announce("checking the configuration and the model")
    config, choice, system, plans = check_run(config, output, force)
    output.mkdir(parents=True, exist_ok=True)
    with folder_lock(output):
        removed = remove_temporaries(output)
        state = RunState(output)
        state.start("summary", [output / "summary.txt"])
        lines = [f"phonomag {__version__}: {system.spec.name} ({system.spec.source}); engine {system.engine.name}; "
                 f"configuration: {config.source}"]
        lines += [choice] if choice else []
        lines += [f"removed {path} (temporary file of an interrupted run)" for path in removed]
        if config.outputs.figures:
            lines += _overview(config, system, output, state)
        if system.qpoints is None:
            lines += _path_stages(config, system, output, state)
        else:
            lines += _qpoint_stages(config, system, output, state)
        lines += _maps(config, system, plans, output, state)
        lines += _report(config, system, plans, output, state)
        lines += [f"removed {path} (not an output of this configuration)" for path in state.prune()]
        summary = output / "summary.txt"
        lines.append(f"wrote  {summary}")
        summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        state.finish("summary", "", [summary])
    return lines


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
    check_against_material(config, spec.atoms.cell.array, engine_entry(config.run.engine).can(Capability.ANY_Q))
    system = build_system(config, output, spec, engine)
    check_resources(config, system.engine, system.model, force,
                    None if system.qpoints is None else len(system.qpoints))
    return config, choice, system, _plan_maps(config, system)


def _overview(config: RunConfig, system: System, output: Path, state: RunState) -> list[str]:
    """Bands, spin texture and phonon dispersion figures."""
    stage_digest = digest(system.fingerprint, "overview")
    if state.done("overview", stage_digest):
        return [f"reused {output / name}" for name in state.data["overview"]["files"]]
    announce("overview figures (bands, spin texture, phonons)")
    state.start("overview", [output / f"{name}.{ext}" for name in ("bands", "spin_texture", "phonons")
                             for ext in ("png", "pdf")])
    lines, files = electronic_overview(config.run.material, output)
    phonon_lines, phonon_files = phonon_overview(
        config.run.material, output, export=False,  # an engine at fixed q has phonons at its q only
        phonons=system.phonons if system.entry.can(Capability.ANY_Q) else None)
    state.finish("overview", stage_digest, files + phonon_files)
    return lines + phonon_lines


def _results_stage(config: RunConfig, system: System, output: Path, state: RunState, qpoints: np.ndarray,
                   distances, point_labels, attrs: dict) -> tuple[ModeResponse, list[str], str]:
    """results.nc of the response at ``qpoints``: reused when its digest is unchanged.
    Returns the response, the summary lines and the stage's digest."""
    results_path = output / "results.nc"
    response = config.response
    stage_digest = digest(system.fingerprint, qpoints, response.kgrid, response.kind, response.amplitude)
    if state.done("results", stage_digest):
        data, _ = read_results(results_path)
        return data, [f"reused {results_path}"], stage_digest
    announce(f"response of every mode at {len(qpoints)} q-points (k grid {list(response.kgrid)}) → {results_path}")
    state.start("results", [results_path])
    data = compute_mode_response(system.engine, system.phonons.modes(qpoints), response.kind, response.amplitude,
                                 system.phonons.description)
    run_attrs = {"material": system.spec.name, "material_source": system.spec.source,
                 "material_file": json.dumps(system.spec.raw, default=str),
                 "phonon_source": system.phonons.description,
                 "run_configuration": json.dumps(config.as_dict(), default=str), **attrs}
    data.write(results_path, distances, point_labels, run_attrs)
    state.finish("results", stage_digest, [results_path])
    return data, [f"wrote  {results_path}"], stage_digest


def _path_stages(config: RunConfig, system: System, output: Path, state: RunState) -> list[str]:
    """phonopy_params.yaml, results.nc along the path, the table at the summary q-points, Fig. 3."""
    spec = system.spec
    cell = spec.atoms.cell.array
    phonopy_path = output / FILE_NAME
    if state.done("phonopy", system.fingerprint):
        lines = [f"reused {phonopy_path}"]
    else:
        state.start("phonopy", [phonopy_path])
        state.finish("phonopy", system.fingerprint, [write_phonopy_params(system.phonons, phonopy_path)])
        lines = [f"wrote  {phonopy_path}"]
    qpoints, distances, ticks, tick_labels = config.path.sample(cell)
    attrs = {"path_ticks": list(ticks), "path_labels": json.dumps(tick_labels, ensure_ascii=False)}
    data, written, results_digest = _results_stage(config, system, output, state, qpoints, distances,
                                                   path_point_labels(distances, ticks, tick_labels), attrs)
    lines += written
    announce(f"the mode table at {', '.join(config.outputs.summary_q)}")
    summary_q = np.array([parse_qpoint(q, cell) for q in config.outputs.summary_q])
    summary = compute_mode_response(system.engine, system.phonons.modes(summary_q), config.response.kind,
                                    config.response.amplitude, system.phonons.description, progress=False)
    summary_labels = [qpoint_label(q, cell=cell) for q in summary.qpoints]
    lines += mode_table(summary, dict(enumerate(summary_labels)))
    if config.outputs.figures:
        lines += _figure3(system, output, state, data, distances, ticks, tick_labels, results_digest)
    if system.model is not None:
        lines += _model_along_path(config, system, output, state, (data, distances, ticks, tick_labels),
                                   (summary, summary_labels), results_digest)
    return lines


def _figure3(system: System, output: Path, state: RunState, data: ModeResponse, distances, ticks, tick_labels,
             results_digest: str) -> list[str]:
    """The paper's Fig. 3 from results.nc's response."""
    from phonomag.outputs.plotting.dispersion import find_k_index, plot_magnetization_dispersion

    stage_digest = digest(results_digest, "figure3")
    if state.done("figure3", stage_digest):
        return [f"reused {output / name}" for name in state.data["figure3"]["files"]]
    announce("Fig. 3 (dispersion and RMS magnetization)")
    state.start("figure3", [output / f"fig3_magnetization_dispersion.{ext}" for ext in ("png", "pdf")])
    cell = system.spec.atoms.cell.array
    k_index = find_k_index(data.qpoints, cell) if hexagonal_angle(cell) is not None else None  # the zone corner
    files = plot_magnetization_dispersion(data, distances, ticks, tick_labels, system.spec.labels,
                                          system.spec.atoms.positions, output / "fig3_magnetization_dispersion",
                                          k_index)
    state.finish("figure3", stage_digest, files)
    return [f"wrote  {f}" for f in files]


def _model_along_path(config: RunConfig, system: System, output: Path, state: RunState, path, summary,
                      results_digest: str) -> list[str]:
    """The tight-binding model beside a first-principles engine on the same path and phonons:
    model_results.nc, the table at the summary q (model_vs_dfpt.txt) and the Fig. 3 overlay."""
    data, distances, ticks, tick_labels = path
    summary, summary_labels = summary
    names = ["model_results.nc", "model_vs_dfpt.txt"] + [f"fig3_model_vs_dfpt.{e}" for e in ("png", "pdf")]
    stage_digest = digest(results_digest, config.response.kgrid, config.outputs.figures, summary.qpoints,
                          "model along the path")
    if state.done("model_comparison", stage_digest):
        return [f"reused {output / name}" for name in state.data["model_comparison"]["files"]]
    announce(f"the tight-binding model on the same path (k grid {list(config.response.kgrid)}), for comparison")
    state.start("model_comparison", [output / name for name in names])
    model_engine = system.model
    model = compute_mode_response(model_engine, system.phonons.modes(data.qpoints), config.response.kind,
                                  config.response.amplitude, system.phonons.description)
    files = [output / "model_results.nc"]
    model.write(files[0], distances, path_point_labels(distances, ticks, tick_labels),
                {"material": system.spec.name, "phonon_source": system.phonons.description})
    at_summary = compute_mode_response(model_engine, system.phonons.modes(summary.qpoints), config.response.kind,
                                       config.response.amplitude, system.phonons.description, progress=False)
    table = comparison_table(compare_responses(at_summary, summary, summary_labels))
    text = "\n".join(table) + "\n"
    files.append(write_atomically(output / "model_vs_dfpt.txt",
                                  lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), ".txt"))
    lines = [f"model ({model_engine.name}, k grid {list(config.response.kgrid)}) against {data.engine}:", *table]
    if config.outputs.figures:
        from phonomag.outputs.plotting.comparison import plot_dispersion_overlay

        files += plot_dispersion_overlay(data, model, distances, ticks, tick_labels, output / "fig3_model_vs_dfpt")
    state.finish("model_comparison", stage_digest, files)
    return lines + [f"wrote  {f}" for f in files]


def _qpoint_stages(config: RunConfig, system: System, output: Path, state: RunState) -> list[str]:
    """results.nc at the engine's q-points, their table, the model beside them, time reversal."""
    labels = list(system.qpoints)
    qpoints = np.array(list(system.qpoints.values()))
    data, lines, results_digest = _results_stage(config, system, output, state, qpoints, None, labels, {})
    lines += [f"{key}: {value}" for key, value in data.provenance.items()]
    lines += mode_table(data, dict(enumerate(labels)))
    announce("the model at the same q-points, for comparison")
    state.start("comparison", [output / f"model_vs_dfpt.{ext}" for ext in ("txt", "png", "pdf")])
    model_engine, phonons = system.model, load_phonons(system.spec)
    reference = compute_mode_response(model_engine, phonons.modes(qpoints), config.response.kind,
                                      config.response.amplitude, phonons.description, progress=False)
    rows = compare_responses(reference, data, labels)
    table = comparison_table(rows)
    files = [output / "model_vs_dfpt.txt"]
    files[0].write_text("\n".join(table) + "\n", encoding="utf-8")
    lines += [f"model ({model_engine.name}, k grid {list(config.response.kgrid)}) against {data.engine}:", *table]
    lines += time_reversal_lines(time_reversal_deviations(data, labels))
    if config.outputs.figures:
        from phonomag.outputs.plotting.comparison import plot_model_vs_dfpt

        files += plot_model_vs_dfpt(rows, output / "model_vs_dfpt", (reference.engine, data.engine))
    state.finish("comparison", digest(results_digest, config.response.kgrid, config.outputs.figures), files)
    return lines + [f"wrote  {f}" for f in files]


def maps_at(entries, qpoints: dict[str, np.ndarray] | None, cell=None) -> tuple[list, list]:
    """(entries at a computed q-point, the others); every entry when the engine computes any q (None).
    ``cell``: the lattice the q labels refer to (:func:`~phonomag.crystal.qpoints.parse_qpoint`)."""
    if qpoints is None:
        return list(entries), []
    at = [e for e in entries if any(np.allclose(parse_qpoint(e.q, cell), q, atol=1e-8) for q in qpoints.values())]
    return at, [e for e in entries if e not in at]


def _plan_maps(config: RunConfig, system: System) -> list[MapPlan]:
    """The maps this run draws, every mode selector checked (before any file is written)."""
    cell = system.spec.atoms.cell.array
    plans = []
    for entry in maps_at(config.drawn_maps, system.qpoints, cell)[0]:
        q = parse_qpoint(entry.q, cell)
        modes = system.phonons.modes(q[None])
        nu = select_mode(entry.mode, modes.frequencies[0], modes.parity[0], f"map {entry.name!r} at q = {entry.q}")
        u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, config.response.amplitude)[0, nu]
        plans.append(MapPlan(entry, q, nu, float(modes.frequencies[0, nu]), u))
    if plans:
        system.engine.check_plane_height(config.maps.height)
    return plans


def _maps(config: RunConfig, system: System, plans: list[MapPlan], output: Path, state: RunState) -> list[str]:
    """Real-space maps, movies and field files of the planned modes (at the engine's q-points, if it has them)."""
    volumes = config.outputs.field_files and system.entry.can(Capability.VOLUME_FIELDS)
    options = config.map_options(volumes)
    skipped = maps_at(config.drawn_maps, system.qpoints, system.spec.atoms.cell.array)[1] if plans else []
    lines = [f"map {entry.name}: skipped, q = {entry.q} is not among the computed q-points {list(system.qpoints)}"
             for entry in skipped]
    if config.outputs.field_files and not volumes:
        lines.append(f"field files: none, {system.entry.label} gives no volume fields")
    for number, plan in enumerate(plans, 1):
        stage, name = f"map:{plan.entry.name}", plan.entry.name
        stage_digest = digest(system.fingerprint, plan.entry, plan.nu, config.response.kgrid,
                              dataclasses.asdict(options), config.response.amplitude)
        if state.done(stage, stage_digest):
            lines += [f"reused {output / f}" for f in state.data[stage]["files"]]
            continue
        announce(f"map {number}/{len(plans)}: {name} (q = {plan.entry.q}, mode {plan.nu})")
        state.start(stage, planned_files(name, plan.entry.style, options, output / "maps"))
        files = []
        if np.any(plan.displacements):  # a mode at rest (ω = 0) draws nothing
            fields = compute_mode_fields(system.engine, plan.q, plan.frequency, plan.displacements, plan.nu,
                                         options.height, options.points_per_cell, options.kind,
                                         FIELD_GRID if options.field_files else None)
            files = render_mode(fields, name, plan.entry.style, options, output / "maps")
        state.finish(stage, stage_digest, files)
        lines += [f"wrote  {f}" for f in files]
    return lines


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
        return [f for iq in indices for f in compute_q_fields(system.engine, data, iq, config.maps.height, points,
                                                                config.response.kind)], None
    except (EngineCapabilityError, ModelFileError) as exc:  # e.g. no Slater radial functions, a kernel's planes
        return [], str(exc)


def _report(config: RunConfig, system: System, plans: list[MapPlan], output: Path, state: RunState) -> list[str]:
    """report.html and, along a path, phonon_website.json and band.yaml: read from results.nc and maps/, with the
    fields of :func:`_report_fields`."""
    from phonomag.outputs.phonon_website import BAND_NAME, WEBSITE_NAME, write_viewer_files
    from phonomag.outputs.report import REPORT_NAME, write_report

    maps = [(plan.entry.name, plan.q, plan.nu) for plan in plans]
    pictures = sorted(p for p in (output / "maps").glob("*") if p.suffix in (".gif", ".png")) if plans else []
    stage_digest = digest(file_digests([output / "results.nc", *pictures]), maps, system.spec.atoms.positions,
                          system.spec.atoms.get_masses(), __version__, system.fingerprint, config.maps.height,
                          config.maps.points_per_cell, config.response.kind)
    if state.done("report", stage_digest):
        return [f"reused {output / name}" for name in state.data["report"]["files"]]
    announce("report.html (the modes in the browser) and the phonon-viewer files")
    names = [REPORT_NAME] + ([WEBSITE_NAME, BAND_NAME] if system.qpoints is None else [])
    state.start("report", [output / name for name in names])
    fields, why = _report_fields(config, system, output)
    files = [write_report(output, system.spec.atoms, maps, fields, why)]
    if system.qpoints is None:
        files += write_viewer_files(output, system.spec.atoms)
    state.finish("report", stage_digest, files)
    lines = [f"report.html: no mode fields ({why})"] if why else []
    return lines + [f"wrote  {f}" for f in files]
