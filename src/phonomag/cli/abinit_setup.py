"""The ABINIT engine of a run: a layer as a slab with the configured vacuum, a bulk crystal as its own cell,
checked before any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.crystal.materials import MIN_LAYER_VACUUM, MaterialSpec
from phonomag.crystal.structure_file import check_layer, read_layer
from phonomag.engines.abinit.engine import AbinitEngine
from phonomag.errors import PhonomagError
from phonomag.io.abinit.inputs import pseudopotential_files

#: Vacuum (Å) that must remain between periodic images of the slab along z.
MIN_VACUUM_GAP = MIN_LAYER_VACUUM


def check_vacuum(positions_z: np.ndarray, vacuum: float) -> None:
    """An error unless the cell length ``vacuum`` leaves MIN_VACUUM_GAP Å between slab images."""
    thickness = float(np.ptp(positions_z))
    if vacuum - thickness < MIN_VACUUM_GAP:
        raise PhonomagError(f"abinit.vacuum = {vacuum} Å leaves only {vacuum - thickness:.2f} Å between the "
                            f"{thickness:.2f} Å thick slab and its image; use at least "
                            f"{thickness + MIN_VACUUM_GAP:.1f} Å")


def abinit_structure(spec: MaterialSpec, vacuum_cell: float, structure: str | None = None):
    """The cell ABINIT computes. A bulk crystal (:attr:`~phonomag.crystal.crystal.Crystal.dimension` 3): its own
    cell, unchanged (``vacuum_cell`` and ``structure``, which are for layers, must not be asked for with it). A
    layer: the material's, or that of ``structure`` (any ASE-readable file,
    :func:`~phonomag.crystal.structure_file.read_layer`, same atoms in the same order as the material),
    with a₃ = (0, 0, vacuum_cell) Å; either must be one 2D layer with vacuum
    (:func:`~phonomag.crystal.structure_file.check_layer`): a bulk cell is never made a slab."""
    if spec.crystal.dimension == 3:
        if structure is not None:
            raise PhonomagError(f"[abinit] structure replaces the layer of a 2D material; {spec.name} is a bulk "
                                "crystal: give its structure as the material instead")
        atoms = spec.atoms.copy()
        atoms.pbc = True
        return atoms
    if structure is None:
        check_layer(spec.atoms, f"the structure of material {spec.name}", MIN_VACUUM_GAP)
    atoms = spec.atoms.copy() if structure is None else read_layer(Path(structure), MIN_VACUUM_GAP)
    if atoms.get_chemical_symbols() != spec.atoms.get_chemical_symbols():
        raise PhonomagError(
            f"the structure file {structure} has atoms {atoms.get_chemical_symbols()}, the material {spec.name} "
            f"{spec.atoms.get_chemical_symbols()}: the comparison with the model needs the same atoms in the "
            "same order")
    scale = np.linalg.norm(spec.atoms.cell.array[0])
    if np.abs(atoms.cell.array[:2] - spec.atoms.cell.array[:2]).max() > 0.05 * scale:
        raise PhonomagError(
            f"the in-plane cell of {structure} ({np.round(atoms.cell.array[:2], 4).tolist()} Å) is not the "
            f"setting of {spec.name} ({np.round(spec.atoms.cell.array[:2], 4).tolist()} Å): q labels and the "
            "model's modes refer to the material's cell vectors")
    cell = atoms.cell.array.copy()
    cell[2] = [0.0, 0.0, vacuum_cell]
    atoms.set_cell(cell, scale_atoms=False)
    check_vacuum(atoms.positions[:, 2], vacuum_cell)
    return atoms


def abinit_engine(spec: MaterialSpec, abinit, output: Path, progress: bool = True) -> AbinitEngine:
    """:class:`AbinitEngine` for the material of ``spec`` with the ``[abinit]`` settings (AbinitRunSpec).

    Every pseudopotential is found before anything runs (:func:`~phonomag.io.abinit.inputs.pseudopotential_files`).
    The layer is the material's or ``abinit.structure`` (:func:`abinit_structure`), with the cell
    length along z ``abinit.vacuum``; the runs live in ``abinit.workdir`` (default
    ``output/abinit-work``) and are reused when their inputs are unchanged.
    """
    atoms = abinit_structure(spec, abinit.vacuum, abinit.structure)
    pseudopotential_files(atoms, abinit.settings())
    workdir = Path(abinit.workdir) if abinit.workdir else Path(output) / "abinit-work"
    return AbinitEngine(atoms, spec.labels, abinit.settings(), workdir, nproc=abinit.nproc, progress=progress,
                        keep_wavefunctions=abinit.keep_wavefunctions, launcher=abinit.launcher)


def kernel_job(spec: MaterialSpec, abinit, cluster, output: Path):
    """The :class:`~phonomag.engines.abinit.tasks.KernelJob` of every irreducible q of the ``[abinit]`` k grid.

    Reduced files in ``output``, runs in ``abinit.workdir`` (default ``output/abinit-work``);
    ``[cluster] cores_per_task`` and ``launcher``, when given, replace ``[abinit] nproc`` and ``launcher``. A bulk
    crystal also gets its response to a uniform electric field (the long-range part of a polar crystal).
    """
    from phonomag.crystal.qpoints import irreducible_steps
    from phonomag.engines.abinit.tasks import KernelJob

    atoms = abinit_structure(spec, abinit.vacuum, abinit.structure)
    settings = abinit.settings()
    pseudopotential_files(atoms, settings)
    workdir = Path(abinit.workdir) if abinit.workdir else Path(output) / "abinit-work"
    return KernelJob(atoms, settings, tuple(irreducible_steps(atoms, settings.kgrid)), Path(output).resolve(),
                     workdir.resolve(), nproc=cluster.cores_per_task or abinit.nproc,
                     launcher=cluster.launcher or abinit.launcher, keep_wavefunctions=abinit.keep_wavefunctions,
                     attrs={"produced_by": "phonomag dfpt-kernel"}, field_response=spec.crystal.dimension == 3)
