"""A single 2D layer read from any file ASE reads (CIF, POSCAR, QE input, XSF, …) for the ABINIT engine.

:func:`read_layer` reads the file with :func:`ase.io.read`, checks that it holds one 2D
layer (ASE's dimensionality analysis, :func:`ase.geometry.dimensionality.isolate_components`:
a single bonded component, of type 2D),
that the layer lies in the a₁–a₂ plane with a₁, a₂ in the xy plane, and that the file's
vacuum between the layer and its periodic image is at least ``min_vacuum`` Å. The layer is
returned unwrapped along z (a slab not split by the cell boundary), centred at z = 0, with
a₃ = (0, 0, c) of the file; in-plane positions and the atom order are the file's.
"""

from __future__ import annotations

from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.geometry.dimensionality import isolate_components

from phonomag.errors import PhonomagError


class StructureFileError(PhonomagError):
    """A structure file that cannot be read or does not hold one 2D layer."""


def check_layer(atoms: Atoms, where: str, min_vacuum: float) -> tuple[float, np.ndarray, np.ndarray, int]:
    """A StructureFileError unless ``atoms`` (periodic in all three directions) is one 2D layer in the a1-a2
    plane with at least ``min_vacuum`` Å between it and its image along a3 = (0, 0, c): a bulk crystal, a
    cell of several layers or a layer without vacuum is never turned into a slab. ``where`` names the
    structure in the message. Returns c, the sorted heights modulo c, the gaps between them and the
    index of the widest gap (the vacuum)."""
    cell = atoms.cell.array
    if len(atoms) == 0 or atoms.cell.rank != 3:
        raise StructureFileError(f"{where} holds no periodic crystal (atoms and three cell vectors are needed)")
    if np.abs(cell[:2, 2]).max() > 1e-6 or np.abs(cell[2, :2]).max() > 1e-6:
        raise StructureFileError(
            f"{where}: the layer must lie in the a1-a2 plane with a1, a2 in the xy plane and a3 along z; "
            f"the cell is {np.round(cell, 4).tolist()} Å")
    periodic = Atoms(atoms.numbers, positions=atoms.positions, cell=cell, pbc=True)
    found = {kind: len(parts) for kind, parts in isolate_components(periodic).items()}
    if found != {"2D": 1}:
        text = ", ".join(f"{n} × {kind}" for kind, n in sorted(found.items()))
        raise StructureFileError(
            f"{where} holds bonded components {text}; phonomag's ABINIT engine needs exactly one 2D layer "
            "(cut a monolayer and add vacuum along c)")
    c = cell[2, 2]
    z = np.sort(atoms.positions[:, 2] % c)
    gaps = np.diff(np.append(z, z[0] + c))
    widest = int(np.argmax(gaps))
    if gaps[widest] < min_vacuum:
        raise StructureFileError(
            f"{where}: only {gaps[widest]:.2f} Å of vacuum between the layer and its image along c "
            f"(c = {c:.3f} Å); at least {min_vacuum:g} Å are needed")
    return c, z, gaps, widest


def read_layer(path: Path, min_vacuum: float) -> Atoms:
    """The layer of ``path`` (see the module docstring); StructureFileError names what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise StructureFileError(f"structure file {path} does not exist")
    try:
        atoms = ase.io.read(path)
    except Exception as exc:  # ASE's readers raise many kinds for a bad file
        raise StructureFileError(f"ASE cannot read a structure from {path}: {type(exc).__name__}: {exc}") from None
    c, z, gaps, widest = check_layer(atoms, str(path), min_vacuum)
    bottom = z[(widest + 1) % len(z)]
    thickness = c - gaps[widest]
    layer = atoms.copy()
    positions = layer.positions
    positions[:, 2] = (positions[:, 2] - bottom) % c - thickness / 2
    layer.positions = positions
    layer.pbc = [True, True, False]
    return layer
