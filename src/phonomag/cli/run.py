"""``phonomag run``: the main job, from a run configuration to an output folder, for any engine.

Stages (each reused on a re-run when its inputs are unchanged, see :class:`Stamps`):

1. electrons and phonons overview figures (bands, spin texture, dispersion), and (with the
   model's phonons) the force constants used as ``phonopy_params.yaml``;
2. the mode-resolved charge and magnetization → ``results.nc`` (one layout for every
   engine): along the q path for the tight-binding engine, at ``[abinit] q`` for the
   ABINIT engine;
3. the per-mode table (and ``summary.txt``): at the summary q-points, or at the computed q;
4. Fig. 3 (dispersion with in-plane / out-of-plane RMS magnetization) where a path is computed;
   for the ABINIT engine instead the model-vs-DFPT comparison (table, figure) and the
   time-reversal check of every computed pair q, −q;
5. real-space maps, movies and XSF/cube files of the selected modes, from the engine's fields.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from phonomag import __version__
from phonomag.cli.config import RunConfig, load_run_config
from phonomag.cli.overviews import electronic_overview, phonon_overview
from phonomag.cli.systems import load_system
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import MaterialSpec, load_material
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.crystal.special_points import hexagonal_angle, hexagonal_points
from phonomag.io.cf_metadata import path_point_labels
from phonomag.engines.base import compute_mode_response
from phonomag.outputs.maps import MapOptions, render_mode
from phonomag.outputs.tables import comparison_table, mode_table, time_reversal_lines
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.phonons.description import select_mode
from phonomag.phonons.phonopy_export import FILE_NAME, write_phonopy_params
from phonomag.response.comparison import compare_responses, time_reversal_deviations
from phonomag.response.modes import ModeResponse, read_results


class Stamps:
    """Which outputs are complete, and for which inputs: ``<output>/.phonomag-stamps.json``.

    A stage is done when its stamp holds the digest of its inputs and all its files exist.
    """

    def __init__(self, folder: Path):
        self.path = folder / ".phonomag-stamps.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}

    def done(self, stage: str, digest: str) -> bool:
        entry = self.data.get(stage)
        return bool(entry) and entry["digest"] == digest and all(Path(f).exists() for f in entry["files"])

    def mark(self, stage: str, digest: str, files: list) -> None:
        self.data[stage] = {"digest": digest, "files": [str(f) for f in files]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".json.tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.data, handle, indent=1)
        os.replace(tmp, self.path)


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclasses.dataclass
class System:
    """What a run computes with: the material, the response engine, its phonon source, and the q-points
    it computes (None: the configured path) with their labels."""

    spec: MaterialSpec
    engine: object
    phonons: object
    qpoints: dict[str, np.ndarray] | None
    fingerprint: str


def build_system(config: RunConfig, output: Path) -> System:
    """The engine of ``config.engine`` for ``config.material``; all checks before any expensive step."""
    if config.engine == "abinit":
        from phonomag.cli.abinit_setup import abinit_engine

        spec = load_material(config.material)
        engine = abinit_engine(spec, config.abinit, output)
        qpoints = {label: parse_qpoint(label, spec.atoms.cell.array) for label in config.abinit.qpoints}
        for q in qpoints.values():
            engine.check_qpoint(q)
        return System(spec, engine, engine, qpoints, _digest(spec.raw, __version__, "abinit", config.abinit))
    spec, engine, phonons = load_system(config.material, config.kgrid)
    return System(spec, engine, phonons, None, _digest(spec.raw, __version__))


def run_main(config_path: Path | None, output: Path, engine_name: str | None = None) -> list[str]:
    """Run everything the configuration asks for; return the summary lines.

    ``engine_name`` ("model" or "abinit") overrides the configuration's ``[run] engine``.
    """
    config = load_run_config(config_path)
    if engine_name is not None:
        config = dataclasses.replace(config, engine=engine_name)
    return run_main_config(config, output)


def run_main_config(config: RunConfig, output: Path) -> list[str]:
    """:func:`run_main` for a validated configuration."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    system = build_system(config, output)
    spec, engine = system.spec, system.engine
    stamps = Stamps(output)
    lines = [f"phonomag {__version__}: {spec.name} ({spec.source}); engine {engine.name}; "
             f"configuration: {config.source}"]

    if config.figures:
        digest = _digest(system.fingerprint, "overview")
        if not stamps.done("overview", digest):
            written = [line.split()[-1] for line in
                       electronic_overview(config.material, output)
                       + phonon_overview(config.material, output, export=False) if line.startswith("wrote")]
            stamps.mark("overview", digest, written)

    if system.qpoints is None:
        lines += _path_stages(config, system, output, stamps)
    else:
        lines += _qpoint_stages(config, system, output, stamps)
    if config.maps and (config.figures or config.movies or config.field_files):
        lines += _maps(config, system, output, stamps)
    (output / "summary.txt").write_text("\n".join(lines) + "\n")
    return lines


def _results_stage(config: RunConfig, system: System, output: Path, stamps: Stamps, qpoints: np.ndarray,
                   distances, point_labels, attrs: dict) -> tuple[ModeResponse, list[str]]:
    """results.nc of the response at ``qpoints``: reused when its digest is unchanged."""
    results_path = output / "results.nc"
    digest = _digest(system.fingerprint, qpoints, config.kgrid, config.kind, config.amplitude)
    if stamps.done("results", digest):
        data, _ = read_results(results_path)
        return data, [f"reused {results_path}"]
    data = compute_mode_response(system.engine, system.phonons.modes(qpoints), config.kind, config.amplitude,
                                 system.phonons.description)
    run_attrs = {"material": system.spec.name, "material_source": system.spec.source,
                 "material_file": json.dumps(system.spec.raw, default=str),
                 "phonon_source": system.phonons.description,
                 "run_configuration": json.dumps(config.as_dict(), default=str), **attrs}
    data.write(results_path, distances, point_labels, run_attrs)
    stamps.mark("results", digest, [results_path])
    return data, [f"wrote  {results_path}"]


def _path_stages(config: RunConfig, system: System, output: Path, stamps: Stamps) -> list[str]:
    """phonopy_params.yaml, results.nc along the path, the table at the summary q-points, Fig. 3."""
    spec = system.spec
    cell = spec.atoms.cell.array
    lines = []
    phonopy_path = output / FILE_NAME
    if not stamps.done("phonopy", system.fingerprint):
        stamps.mark("phonopy", system.fingerprint, [write_phonopy_params(system.phonons, phonopy_path)])
        lines.append(f"wrote  {phonopy_path}")
    qpoints, distances, ticks, tick_labels = path_from_labels(spec.atoms.cell, config.path, npoints=config.path_points)
    attrs = {"path_ticks": list(ticks), "path_labels": json.dumps(tick_labels, ensure_ascii=False)}
    data, written = _results_stage(config, system, output, stamps, qpoints, distances,
                                   path_point_labels(distances, ticks, tick_labels), attrs)
    lines += written
    summary_q = np.array([parse_qpoint(q, cell) for q in config.summary_q])
    summary = compute_mode_response(system.engine, system.phonons.modes(summary_q), config.kind, config.amplitude,
                                    system.phonons.description, progress=False)
    lines += mode_table(summary, {i: qpoint_label(q, cell=cell) for i, q in enumerate(summary.qpoints)})
    if config.figures:
        from phonomag.outputs.plotting.dispersion import plot_magnetization_dispersion

        digest = _digest(system.fingerprint, qpoints, config.kgrid, config.kind, config.amplitude, "figure3")
        if not stamps.done("figure3", digest):
            k_point = hexagonal_points(cell)["K"] if hexagonal_angle(cell) is not None else None  # the zone corner
            k_index = None if k_point is None else int(np.argmin(np.linalg.norm(data.qpoints - k_point, axis=1)))
            files = plot_magnetization_dispersion(data, distances, ticks, tick_labels, spec.labels,
                                                  spec.atoms.positions, output / "fig3_magnetization_dispersion",
                                                  k_index)
            stamps.mark("figure3", digest, files)
            lines += [f"wrote  {f}" for f in files]
    return lines


def _qpoint_stages(config: RunConfig, system: System, output: Path, stamps: Stamps) -> list[str]:
    """results.nc at the engine's q-points, their table, the model beside them, time reversal."""
    labels = list(system.qpoints)
    qpoints = np.array(list(system.qpoints.values()))
    data, lines = _results_stage(config, system, output, stamps, qpoints, None, labels, {})
    lines += [f"{key}: {value}" for key, value in data.provenance.items()]
    lines += mode_table(data, dict(enumerate(labels)))
    _, model_engine, phonons = load_system(config.material, config.kgrid)
    reference = compute_mode_response(model_engine, phonons.modes(qpoints), config.kind, config.amplitude,
                                      phonons.description, progress=False)
    rows = compare_responses(reference, data, labels)
    table = comparison_table(rows)
    (output / "model_vs_dfpt.txt").write_text("\n".join(table) + "\n")
    lines += [f"model ({model_engine.name}, k grid {list(config.kgrid)}) against {data.engine}:", *table]
    lines += time_reversal_lines(time_reversal_deviations(data, labels))
    if config.figures:
        from phonomag.outputs.plotting.comparison import plot_model_vs_dfpt

        lines += [f"wrote  {f}" for f in plot_model_vs_dfpt(rows, output / "model_vs_dfpt")]
    return lines


def maps_at(entries, qpoints: dict[str, np.ndarray] | None, cell=None) -> tuple[list, list]:
    """(entries at a computed q-point, the others); every entry when the engine computes any q (None).
    ``cell``: the lattice the q labels refer to (:func:`~phonomag.crystal.qpoints.parse_qpoint`)."""
    if qpoints is None:
        return list(entries), []
    at = [e for e in entries if any(np.allclose(parse_qpoint(e.q, cell), q, atol=1e-8) for q in qpoints.values())]
    return at, [e for e in entries if e not in at]


def _maps(config: RunConfig, system: System, output: Path, stamps: Stamps) -> list[str]:
    """Real-space maps, movies and field files of the selected modes (at the engine's q-points, if it has them)."""
    options = MapOptions(config.kind, config.map_cells, config.map_points, config.map_height, config.movie_frames,
                         config.figures, config.movies, config.field_files)
    entries, skipped = maps_at(config.maps, system.qpoints, system.spec.atoms.cell.array)
    lines = [f"map {entry.name}: skipped, q = {entry.q} is not among the computed q-points {list(system.qpoints)}"
             for entry in skipped]
    for entry in entries:
        q = parse_qpoint(entry.q, system.spec.atoms.cell.array)
        modes = system.phonons.modes(q[None])
        nu = select_mode(entry.mode, modes.frequencies[0], modes.parity[0], f"map {entry.name!r} at q = {entry.q}")
        digest = _digest(system.fingerprint, entry, nu, config.kgrid, dataclasses.asdict(options))
        stage = f"map:{entry.name}"
        if stamps.done(stage, digest):
            continue
        u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, config.amplitude)[0, nu]
        files = render_mode(system.engine, q, float(modes.frequencies[0, nu]), u, nu, entry.name, entry.style,
                            options, output / "maps")
        stamps.mark(stage, digest, files)
        lines += [f"wrote  {f}" for f in files]
    return lines

