"""Real-space pictures of one mode from any engine: maps (Figs. 1, 2), movies and field files.

Outputs only read: the pipeline computes a mode's fields (:class:`~phonomag.response.fields.ModeFields`,
:func:`~phonomag.engines.base.compute_mode_fields`) and this module hands them to the writers
(:mod:`phonomag.outputs.plotting.maps`, :mod:`phonomag.outputs.plotting.movies`,
:mod:`phonomag.outputs.field_files`).
Snapshots are taken at ωt = 0, where the atoms of q and −q stand at the same
positions (e_{−q} = e_q*), so the maps of a time-reversal pair compare directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.kpath import tick_text
from phonomag.crystal.lattice_plane import LatticePlane, strongest_spin_orbit_atom
from phonomag.crystal.qpoints import qpoint_label, smallest_supercell
from phonomag.outputs.field_files import write_field
from phonomag.outputs.plotting.maps import plot_inplane_magnetization, plot_mz_and_charge
from phonomag.outputs.plotting.movies import write_movie
from phonomag.phonons.description import characterise_mode
from phonomag.response.fields import ModeFields, atom_wave

#: Field-file grid per cell (a₁, a₂, z), the volume the pipeline computes, and the components written for
#: each map style.
FIELD_GRID = (20, 20, 48)
FIELD_COMPONENTS = {"in-plane": ("n0", "mx", "my"), "out-of-plane": ("n0", "mz")}


@dataclass(frozen=True)
class MapOptions:
    """How to draw: response kind; c₁×c₂ cells of the plane; points per cell edge; the plane: Miller indices
    (h k l) of the cell, the atom it goes through (index, None: :func:`strongest_spin_orbit_atom`) and its
    offset (Å) from that atom along the normal; movie frames; and which of figures, movies, field files to
    write (the names of ``[maps]`` and ``[outputs]`` in docs/run-config.md)."""

    kind: str = "one-sided"
    cells: tuple[int, int] = (4, 4)
    points_per_cell: int = 48
    plane: tuple[int, int, int] = (0, 0, 1)
    atom: int | None = None
    offset: float = 0.0
    frames: int = 30
    figures: bool = True
    movies: bool = True
    field_files: bool = True


    def lattice_plane(self, atoms: Atoms) -> LatticePlane:
        """The plane of the maps in the structure ``atoms``."""
        atom = strongest_spin_orbit_atom(atoms) if self.atom is None else self.atom
        return LatticePlane.through(atoms, self.plane, atom, self.offset)


def planned_files(name: str, style: str, options: MapOptions, folder: Path) -> list[Path]:
    """Every file :func:`render_mode` may write for map ``name`` (the MP4 only where ffmpeg exists)."""
    folder = Path(folder)
    files = [folder / f"{name}.{ext}" for ext in ("png", "pdf")] if options.figures else []
    if options.movies and options.frames >= 2:
        files += [folder / f"{name}_movie.{ext}" for ext in ("mp4", "gif")]
    if options.field_files:
        files += [folder / f"{name}_{component}.cube" for component in FIELD_COMPONENTS[style]]
        files.append(folder / f"{name}_{FIELD_COMPONENTS[style][1]}.xsf")
    return files


def render_mode(fields: ModeFields, name: str, style: str, options: MapOptions, folder: Path) -> list[Path]:
    """Draw and write the computed ``fields`` of one mode (:func:`~phonomag.engines.base.compute_mode_fields`)
    in ``style`` ("in-plane": Fig. 1, "out-of-plane": Fig. 2) as ``folder/name*``: the figure and movie
    over ``options.cells`` cells, the field files of ``fields.volume`` when there is one and
    ``options.field_files`` asks for them; returns the files written."""
    u, q = fields.displacements, fields.q_reduced
    if not np.any(u):
        return []
    q_text = tick_text(qpoint_label(q, crystal=Crystal.from_atoms(fields.atoms)))
    title = (f"{fields.engine}, q = {q_text}, ν = {fields.nu}, {fields.frequency:.1f} meV: "
             f"{characterise_mode(u, fields.atom_labels)}; plane {fields.map_plane.text(fields.atom_labels)}")
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    rotation = fields.map_plane.rotation()  # drawn in the plane's frame: x, y along it, z along its normal
    wave = fields.plane.in_frame(rotation).wave(options.cells)
    atoms = atom_wave(fields.atoms, fields.atom_labels, q, u, options.cells, fields.map_plane).in_frame(rotation)
    if options.figures:
        plot = plot_inplane_magnetization if style == "in-plane" else plot_mz_and_charge
        files += plot(wave, atoms, folder / name, title=title)
    if options.movies and options.frames >= 2:
        files += write_movie(wave, atoms, folder / f"{name}_movie", style=style, frames=options.frames,
                             title=title)
    if options.field_files and fields.volume is not None:
        cells = smallest_supercell(q)[:2]
        for component in FIELD_COMPONENTS[style]:
            files.append(write_field(folder / f"{name}_{component}.cube", fields.atoms, fields.volume, component,
                                     cells=cells))
        main = FIELD_COMPONENTS[style][1]
        files.append(write_field(folder / f"{name}_{main}.xsf", fields.atoms, fields.volume, main, cells=cells))
    return files
