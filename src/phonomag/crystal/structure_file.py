"""A crystal read from any file ASE reads (CIF, POSCAR, QE input, XSF, …): a layer or a bulk crystal.

:func:`read_crystal` reads the file with :func:`ase.io.read` and lets the crystal's dimensionality
analysis decide (:class:`phonomag.crystal.crystal.Crystal`: one bonded 2D component in the a₁–a₂ plane
with at least ``min_vacuum`` Å of vacuum is a layer, everything else is 3D). A layer is returned
unwrapped along z (a slab not split by the cell boundary), centred at z = 0, with a₃ = (0, 0, c) of the
file and pbc (True, True, False); a bulk crystal as the file gives it, periodic in 3D. In-plane
positions and the atom order are the file's. :func:`read_layer` is the same for a caller that needs a
layer (the ABINIT slab route): a bulk crystal there is refused with the reason (:func:`check_layer`),
never made a slab.
"""

from __future__ import annotations

from pathlib import Path

import ase.io
from ase import Atoms

from phonomag.crystal.crystal import Crystal, bonded_components, layer_geometry
from phonomag.errors import PhonomagError


class StructureFileError(PhonomagError):
    """A structure file that cannot be read or does not hold the crystal asked for."""


def check_layer(atoms: Atoms, where: str, min_vacuum: float) -> None:
    """A StructureFileError unless ``atoms`` is one 2D layer in the a₁–a₂ plane with at least ``min_vacuum`` Å
    between it and its image along a₃ = (0, 0, c): a bulk crystal, a cell of several layers or a layer without
    vacuum is never turned into a slab. ``where`` names the structure in the message."""
    if len(atoms) == 0 or atoms.cell.rank != 3:
        raise StructureFileError(f"{where} holds no periodic crystal (atoms and three cell vectors are needed)")
    geometry = layer_geometry(atoms)
    if geometry is None:
        raise StructureFileError(
            f"{where}: the layer must lie in the a1-a2 plane with a1, a2 in the xy plane and a3 along z; "
            f"the cell is {atoms.cell.array.round(4).tolist()} Å")
    found = bonded_components(atoms)
    if found != {"2D": 1}:
        text = ", ".join(f"{n} × {kind}" for kind, n in sorted(found.items()))
        raise StructureFileError(
            f"{where} holds bonded components {text}, not one 2D layer: a bulk crystal is computed as bulk, "
            "never made a slab (for one layer, cut a monolayer and add vacuum along c)")
    if geometry.vacuum < min_vacuum:
        raise StructureFileError(
            f"{where}: only {geometry.vacuum:.2f} Å of vacuum between the layer and its image along c "
            f"(c = {geometry.c:.3f} Å); at least {min_vacuum:g} Å are needed")


def _read(path: Path) -> Atoms:
    path = Path(path)
    if not path.is_file():
        raise StructureFileError(f"structure file {path} does not exist")
    try:
        atoms = ase.io.read(path)
    except Exception as exc:  # ASE's readers raise many kinds for a bad file
        raise StructureFileError(f"ASE cannot read a structure from {path}: {type(exc).__name__}: {exc}") from None
    if len(atoms) == 0 or atoms.cell.rank != 3:
        raise StructureFileError(f"{path} holds no periodic crystal (atoms and three cell vectors are needed)")
    return atoms


def _centred_layer(atoms: Atoms) -> Atoms:
    geometry = layer_geometry(atoms)
    bottom = geometry.heights[(geometry.widest + 1) % len(geometry.heights)]
    thickness = geometry.c - geometry.vacuum
    layer = atoms.copy()
    positions = layer.positions
    positions[:, 2] = (positions[:, 2] - bottom) % geometry.c - thickness / 2
    layer.positions = positions
    layer.pbc = [True, True, False]
    return layer


def read_crystal(path: Path, min_vacuum: float) -> Atoms:
    """The crystal of ``path``: a centred layer or the bulk cell (module docstring)."""
    atoms = _read(path)
    if Crystal.from_atoms(atoms, min_vacuum).dimension == 2:
        return _centred_layer(atoms)
    bulk = atoms.copy()
    bulk.pbc = True
    return bulk


def read_layer(path: Path, min_vacuum: float) -> Atoms:
    """The layer of ``path`` (module docstring); StructureFileError names what is wrong, a bulk crystal included."""
    atoms = _read(path)
    check_layer(atoms, str(path), min_vacuum)
    return _centred_layer(atoms)
