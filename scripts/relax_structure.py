"""Relax the atoms of a structure file at fixed cell, as phonomag's DFPT will compute it (ABINIT, HGH LDA, SOC).

The DFPT of a material needs its atoms at equilibrium for the chosen settings: otherwise the forces at the
reference are not zero and the phonons, which the maps and Fig. 3 use, are those of a strained structure. This
relaxes the internal coordinates (BFGS, forces below --max-force, 1e-6 Ha/bohr by default, ABINIT ``ionmov 2
optcell 0``) in the cell ABINIT computes (a layer: the file's in-plane cell with a₃ = (0, 0, vacuum); a bulk
crystal: its own cell), with spin–orbit coupling and the same pseudopotentials, ecut and k grid as the production;
checks that the relaxed ground state is an insulator; and writes the relaxed structure (the same cell) to OUTPUT,
with the residual force and the gap printed. The cell itself is not relaxed: give it from experiment, and say so
beside the data.

    python scripts/relax_structure.py STRUCTURE OUTPUT [--ecut 20] [--kgrid 6 6 1] [--vacuum 18] [--nproc 2]
                                                          [--max-force 1e-6] [--tolvrs 1e-14]
                                                          [--workdir DIR]

Needs abinit (scripts/install_abinit.sh).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ase.io
import numpy as np
from ase.units import Bohr, Hartree
from netCDF4 import Dataset

from phonomag.cli.abinit_setup import abinit_structure
from phonomag.crystal.materials import load_material
from phonomag.io.abinit.ground_state import check_insulating
from phonomag.io.abinit.inputs import AbinitSettings, relax_input
from phonomag.io.abinit.runner import run_abinit


def relaxed_positions(history: Path) -> tuple[np.ndarray, float]:
    """(reduced positions (natoms, 3), largest Cartesian force, eV/Å) of the last step of ABINIT's HIST file."""
    with Dataset(history) as data:
        xred = np.array(data["xred"][-1])
        force = np.array(data["fcart"][-1])  # Ha/bohr
    return xred, float(np.linalg.norm(force, axis=1).max() * Hartree / Bohr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("structure", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--ecut", type=float, default=20.0)
    parser.add_argument("--kgrid", type=int, nargs=3, default=(6, 6, 1))
    parser.add_argument("--vacuum", type=float, default=18.0, help="cell length along z for a layer (Å)")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--max-force", type=float, default=1e-6, help="largest residual force (Ha/bohr)")
    parser.add_argument("--tolvrs", type=float, default=1e-14, help="SCF tolerance on the potential residual")
    args = parser.parse_args()

    spec = load_material(str(args.structure))
    atoms = abinit_structure(spec, args.vacuum)  # a bulk crystal keeps its own cell
    settings = AbinitSettings(ecut=args.ecut, kgrid=tuple(args.kgrid), spin_orbit=True, tolvrs_gs=args.tolvrs)
    workdir = args.workdir or args.output.with_suffix(".relax")
    run_abinit(relax_input(atoms, settings, args.max_force), workdir, "relax", nproc=args.nproc)
    xred, force = relaxed_positions(workdir / "relaxo_HIST.nc")
    gap = check_insulating(workdir / "relaxo_GSR.nc", f"the relaxed {spec.name}")
    moved = (xred - atoms.get_scaled_positions(wrap=False)) @ atoms.cell.array
    atoms.set_scaled_positions(xred)
    ase.io.write(args.output, atoms)
    print(f"wrote {args.output}: {spec.name}, ecut {args.ecut:g} Ha, k grid {'×'.join(map(str, args.kgrid))}, SOC")
    print(f"largest residual force {force:.2e} eV/Å; largest move {np.linalg.norm(moved, axis=1).max():.4f} Å; "
          f"gap {gap:.3f} eV (on the k grid)")
    print("positions (Å): " + "; ".join(f"{s} {np.round(p, 6).tolist()}"
                                        for s, p in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)))


if __name__ == "__main__":
    main()
