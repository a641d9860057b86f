"""Benchmark: the maps stage of ``phonomag run`` (Figs. 1, 2 and the movies of the default map modes).

The fields (response + plane field) are computed once and not timed; the script times
the still maps and the movies (GIF + MP4) of every default map entry separately.

    python benchmarks/maps_benchmark.py [--frames 30] [--output /tmp/maps_benchmark]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from phonomag.cli.config import RunConfig
from phonomag.cli.systems import load_system
from phonomag.crystal.qpoints import parse_qpoint
from phonomag.outputs.plotting.maps import plot_inplane_magnetization, plot_mz_and_charge
from phonomag.outputs.plotting.movies import write_movie
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.phonons.description import select_mode
from phonomag.response.fields import atom_wave


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=RunConfig().maps.frames)
    parser.add_argument("--output", type=Path, default=Path("/tmp/maps_benchmark"))
    parser.add_argument("--cells", type=int, default=RunConfig().maps.cells[0], help="n of the n×n cells drawn")
    parser.add_argument("--points", type=int, default=RunConfig().maps.points_per_cell, help="points per cell edge")
    args = parser.parse_args()

    config = RunConfig().updated({"maps.cells": (args.cells, args.cells), "maps.points_per_cell": args.points})
    spec, engine, phonons = load_system(config.run.material, config.response.kgrid)
    maps = config.maps
    start = time.perf_counter()
    plane = config.map_options(False, engine.atoms).lattice_plane(engine.atoms)
    waves = []
    for entry in maps.modes:
        q = parse_qpoint(entry.q, spec.crystal)
        modes = phonons.modes(q[None])
        nu = select_mode(entry.mode, modes.frequencies[0], modes.parity[0], entry.name)
        u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, config.response.amplitude)[0, nu]
        field = engine.plane_field(q, u, plane, maps.points_per_cell, config.response.kind)
        atoms = atom_wave(engine.atoms, engine.atom_labels, q, u, maps.cells, plane)
        waves.append((entry, field.wave(maps.cells), atoms))
    print(f"fields of {len(waves)} maps (not part of the timings below): {time.perf_counter() - start:7.2f} s")

    still = movies = 0.0
    for entry, wave, atoms in waves:
        plot = plot_inplane_magnetization if entry.style == "in-plane" else plot_mz_and_charge
        start = time.perf_counter()
        plot(wave, atoms, args.output / entry.name, title=entry.name)
        middle = time.perf_counter()
        write_movie(wave, atoms, args.output / f"{entry.name}_movie", style=entry.style, frames=args.frames,
                    title=entry.name)
        end = time.perf_counter()
        still += middle - start
        movies += end - middle
        print(
            f"{entry.name:28s} still map {middle - start:6.2f} s   movie ({args.frames} frames) {end - middle:6.2f} s"
        )
    print(f"maps stage: still maps {still:7.2f} s, movies {movies:7.2f} s, total {still + movies:7.2f} s")
    print(f"per movie frame: {movies / (len(waves) * args.frames) * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
