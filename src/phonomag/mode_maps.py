"""Real-space pictures of one mode: maps (Figs. 1, 2), movies and field files.

Glue between the response (:mod:`phonomag.fields`) and the writers
(:mod:`phonomag.plotting.maps`, :mod:`phonomag.plotting.movies`, :mod:`phonomag.export`).
Snapshots are taken at ωt = 0, where the atoms of q and −q stand at the same
positions (e_{−q} = e_q*), so the maps of a time-reversal pair compare directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.config import MapSpec, RunConfig
from phonomag.electrons.tightbinding import TightBindingModel
from phonomag.export import write_field
from phonomag.fields import atom_wave, cell_field, mode_response, plane_field
from phonomag.materials import MaterialSpec
from phonomag.observables import mode_displacements
from phonomag.plotting.maps import plot_inplane_magnetization, plot_mz_and_charge
from phonomag.plotting.movies import write_movie
from phonomag.qpoints import parse_qpoint, qpoint_label
from phonomag.reporting import characterise_mode
from phonomag.workflows import smallest_supercell

#: Field-file grid per cell (a₁, a₂, z) and the components written for each map style.
FIELD_GRID = (20, 20, 48)
FIELD_COMPONENTS = {"in-plane": ("n0", "mx", "my"), "out-of-plane": ("n0", "mz")}


def render_mode(
    model: TightBindingModel,
    spec: MaterialSpec,
    modes,
    nu: int,
    entry: MapSpec,
    config: RunConfig,
    folder: Path,
) -> list[Path]:
    """Draw mode ν of ``modes`` (one q) as ``entry`` asks; returns the files written."""
    q = parse_qpoint(entry.q, spec.atoms.cell.array)
    displacements = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, config.amplitude)
    u = displacements[0, nu]
    if not np.any(u):
        return []
    lattice, density = mode_response(model, q, config.kgrid, u, config.kind)
    title = (f"q = {qpoint_label(q, cell=spec.atoms.cell.array)}, ν = {nu}, {modes.frequencies[0, nu]:.1f} meV: "
             f"{characterise_mode(u, spec.labels)}")
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    plane = plane_field(model, q, density, lattice, shape=(config.map_points,) * 2, z=config.map_height)
    wave = plane.wave(config.map_cells)
    atoms = atom_wave(model, q, u, config.map_cells)
    if config.figures:
        plot = plot_inplane_magnetization if entry.style == "in-plane" else plot_mz_and_charge
        files += plot(wave, atoms, folder / entry.name, title=title)
    if config.movies:
        panels = "inplane" if entry.style == "in-plane" else "mz-charge"
        files += write_movie(wave, atoms, folder / f"{entry.name}_movie", panels=panels,
                             frames=config.movie_frames, title=title)
    if config.field_files:
        volume = cell_field(model, q, density, lattice, shape=FIELD_GRID)
        cells = smallest_supercell(q)[:2]
        for component in FIELD_COMPONENTS[entry.style]:
            files.append(write_field(folder / f"{entry.name}_{component}.cube", model, volume, component,
                                     cells=cells))
        main = FIELD_COMPONENTS[entry.style][1]
        files.append(write_field(folder / f"{entry.name}_{main}.xsf", model, volume, main, cells=cells))
    return files
