"""``phonomag run``: the main job, from a run configuration to an output folder.

Stages (each reused on a re-run when its inputs are unchanged, see :class:`Stamps`):

1. electrons and phonons overview figures (bands, spin texture, dispersion), and the
   force constants used as ``phonopy_params.yaml``;
2. the mode-resolved charge and magnetization along the q path → ``results.nc``;
3. the same at the summary q-points → the printed table (and ``summary.txt``);
4. Fig. 3 (dispersion with in-plane / out-of-plane RMS magnetization);
5. real-space maps, movies and XSF/cube files of the selected modes.
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
from phonomag.cf_metadata import path_point_labels
from phonomag.config import MapSpec, RunConfig, load_run_config
from phonomag.errors import PhonomagError
from phonomag.kpath import path_from_labels
from phonomag.magnetization import ModeMagnetization, mode_magnetization
from phonomag.materials import MaterialSpec
from phonomag.phonons.phonopy_export import FILE_NAME, write_phonopy_params
from phonomag.qpoints import parse_qpoint, qpoint_label
from phonomag.special_points import hexagonal_angle, hexagonal_points
from phonomag.results_io import magnetization_dataset, read_magnetization, write_dataset
from phonomag.workflows import electronic_overview, load_model, load_phonons, phonon_overview


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


def _material_fingerprint(spec: MaterialSpec) -> str:
    return _digest(spec.raw, __version__)


def resolve_mode(spec: MapSpec, frequencies: np.ndarray, parity: np.ndarray) -> int:
    """Mode index ν at one q for a map entry: an index, or "even:n"/"odd:n" = n-th mode of that σ_h parity."""
    if isinstance(spec.mode, int):
        if spec.mode >= len(frequencies):
            raise PhonomagError(f"map {spec.name!r}: mode {spec.mode} does not exist (0…{len(frequencies) - 1})")
        return spec.mode
    kind, _, number = spec.mode.partition(":")
    wanted = {"even": 1, "odd": -1}[kind]
    candidates = np.flatnonzero(parity == wanted)
    if int(number) >= len(candidates):
        raise PhonomagError(f"map {spec.name!r}: there are only {len(candidates)} {kind} modes at q = {spec.q}")
    return int(candidates[int(number)])


def run_main(config_path: Path | None, output: Path, engine_name: str | None = None) -> list[str]:
    """Run everything the configuration asks for; return the summary lines.

    ``engine_name`` ("model" or "abinit") overrides the configuration's ``[run] engine``.
    """
    config = load_run_config(config_path)
    if engine_name is not None:
        config = dataclasses.replace(config, engine=engine_name)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    if config.engine == "abinit":
        return _first_principles(config, output)
    stamps = Stamps(output)
    spec, model = load_model(config.material)
    engine = load_phonons(spec)
    fingerprint = _material_fingerprint(spec)
    lines = [f"phonomag {__version__}: {spec.name} ({spec.source}); configuration: {config.source}"]

    if config.figures:
        digest = _digest(fingerprint, "overview")
        if not stamps.done("overview", digest):
            written = [line.split()[-1] for line in
                       electronic_overview(config.material, output) + phonon_overview(config.material, output,
                                                                                      export=False)
                       if line.startswith("wrote")]
            stamps.mark("overview", digest, written)

    phonopy_path = output / FILE_NAME
    if not stamps.done("phonopy", fingerprint):
        stamps.mark("phonopy", fingerprint, [write_phonopy_params(engine, phonopy_path)])
        lines.append(f"wrote  {phonopy_path}")

    qpoints, distances, ticks, tick_labels = path_from_labels(spec.atoms.cell, config.path, npoints=config.path_points)
    results_path = output / "results.nc"
    digest = _digest(fingerprint, config.path, config.path_points, config.kgrid, config.kind, config.amplitude)
    if stamps.done("results", digest):
        path_data, distances, _ = read_magnetization(results_path)
        lines.append(f"reused {results_path}")
    else:
        modes = engine.modes(qpoints)
        path_data = mode_magnetization(model, modes, config.kgrid, config.kind, config.amplitude)
        attrs = {
            "material": spec.name,
            "material_source": spec.source,
            "material_file": json.dumps(spec.raw, default=str),
            "phonon_source": engine.description,
            "run_configuration": json.dumps(config.as_dict(), default=str),
            "path_ticks": list(ticks),
            "path_labels": json.dumps(tick_labels, ensure_ascii=False),
        }
        point_labels = path_point_labels(distances, ticks, tick_labels)
        write_dataset(magnetization_dataset(path_data, distances, spec.labels, attrs, point_labels), results_path)
        stamps.mark("results", digest, [results_path])
        lines.append(f"wrote  {results_path}")

    summary_q = np.array([parse_qpoint(q, spec.atoms.cell.array) for q in config.summary_q])
    summary = mode_magnetization(model, engine.modes(summary_q), config.kgrid, config.kind, config.amplitude,
                                 progress=False)
    lines += summary_table(summary, config, spec)

    if config.figures:
        lines += _figure_three(path_data, distances, ticks, tick_labels, spec, output, stamps, digest)
    if config.maps and (config.figures or config.movies or config.field_files):
        lines += _maps(config, spec, model, engine, output, stamps, fingerprint)
    (output / "summary.txt").write_text("\n".join(lines) + "\n")
    return lines


def _first_principles(config: RunConfig, output: Path) -> list[str]:
    """The ABINIT engine: DFPT + eq. 1 at [abinit] q, report, maps (see phonomag.abinit.workflow)."""
    from phonomag.abinit.workflow import first_principles_run

    lines = [f"phonomag {__version__}: engine abinit; configuration: {config.source}"]
    lines += first_principles_run(config.material, config.abinit, output, config.kgrid, config.maps,
                                  config.map_cells, config.map_height, config.map_points,
                                  config.movie_frames if config.movies else 0, config.figures)
    (output / "summary.txt").write_text("\n".join(lines) + "\n")
    return lines


def summary_table(data: ModeMagnetization, config: RunConfig, spec: MaterialSpec) -> list[str]:
    """The per-mode table at the summary q-points."""
    from phonomag.reporting import mode_table

    labels = {i: qpoint_label(q, cell=spec.atoms.cell.array) for i, q in enumerate(data.qpoints)}
    return mode_table(data, labels, spec.labels)


def _figure_three(data, distances, ticks, tick_labels, spec, output, stamps, digest) -> list[str]:
    from phonomag.plotting.dispersion import plot_magnetization_dispersion

    if stamps.done("figure3", digest):
        return []
    cell = spec.atoms.cell.array
    k_point = hexagonal_points(cell)["K"] if hexagonal_angle(cell) is not None else None  # the cell's zone corner
    k_index = None if k_point is None else int(np.argmin(np.linalg.norm(data.qpoints - k_point, axis=1)))
    files = plot_magnetization_dispersion(data, distances, ticks, tick_labels, spec.labels,
                                          spec.atoms.positions, output / "fig3_magnetization_dispersion", k_index)
    stamps.mark("figure3", digest, files)
    return [f"wrote  {f}" for f in files]


def _maps(config: RunConfig, spec, model, engine, output: Path, stamps: Stamps, fingerprint: str) -> list[str]:
    """Real-space maps, movies and field files of the selected modes."""
    from phonomag.mode_maps import render_mode

    lines = []
    for entry in config.maps:
        q = parse_qpoint(entry.q, spec.atoms.cell.array)
        modes = engine.modes(q[None])
        nu = resolve_mode(entry, modes.frequencies[0], modes.parity[0])
        digest = _digest(fingerprint, entry, nu, config.kgrid, config.kind, config.amplitude, config.map_cells,
                         config.map_points, config.map_height, config.movie_frames, config.figures,
                         config.movies, config.field_files)
        stage = f"map:{entry.name}"
        if stamps.done(stage, digest):
            continue
        files = render_mode(model, spec, modes, nu, entry, config, output / "maps")
        stamps.mark(stage, digest, files)
        lines += [f"wrote  {f}" for f in files]
    return lines
