"""Built-in model against first principles: per-mode frequencies and RMS response at chosen q.

For each q the ABINIT result (:func:`~phonomag.abinit.engine.abinit_mode_response`)
and the model's (:func:`~phonomag.magnetization.mode_magnetization`, same zero-point
amplitude convention) are put side by side. Modes are paired by σ_h parity and by
rank of frequency within that parity (both sets are parity-pure and sorted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from phonomag.abinit.engine import AbinitModeResponse, abinit_mode_response
from phonomag.abinit.inputs import AbinitSettings, check_on_kgrid
from phonomag.errors import PhonomagError
from phonomag.materials import MIN_LAYER_VACUUM
from phonomag.observables import in_plane_out_of_plane, rms_components
from phonomag.reporting import characterise_mode


@dataclass
class ModeComparison:
    """One mode at one q: ħω (meV) and RMS n⁰, M∥, M_z (electrons per cell), model vs ABINIT."""

    label: str
    index: int
    parity: int
    character: str
    frequency: tuple[float, float]
    charge: tuple[float, float]
    in_plane: tuple[float, float]
    out_of_plane: tuple[float, float]


def rms_parts(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RMS over the cell of n⁰, of the in-plane M and of M_z from cell moments (..., 4) (electrons per cell)."""
    rms = rms_components(moments)
    in_plane, out_of_plane = in_plane_out_of_plane(rms)
    return rms[..., 0], in_plane, out_of_plane


def pair_modes(parity_a: np.ndarray, parity_b: np.ndarray) -> np.ndarray:
    """index into b of the partner of each mode of a: same parity, same rank within it."""
    partner = np.empty(len(parity_a), dtype=int)
    for sign in np.unique(parity_a):
        a, b = np.flatnonzero(parity_a == sign), np.flatnonzero(parity_b == sign)
        if len(a) != len(b):
            raise ValueError(f"the two mode sets have {len(a)} and {len(b)} modes of parity {sign:+d}")
        partner[a] = b
    return partner


def compare_modes(label: str, model_result, abinit: AbinitModeResponse, site_labels) -> list[ModeComparison]:
    """Rows for one q from the model's ModeMagnetization (one q) and the ABINIT result."""
    model_parity = model_result.parity[0]
    partner = pair_modes(model_parity, abinit.modes.parity[0])
    m_charge, m_in, m_out = rms_parts(model_result.cell_moments[0])
    a_charge, a_in, a_out = rms_parts(abinit.cell_moments)
    rows = []
    for nu, mu in enumerate(partner):
        rows.append(ModeComparison(
            label, nu, int(model_parity[nu]),
            characterise_mode(model_result.displacements[0, nu], site_labels),
            (float(model_result.frequencies[0, nu]), float(abinit.modes.frequencies[0, mu])),
            (float(m_charge[nu]), float(a_charge[mu])),
            (float(m_in[nu]), float(a_in[mu])),
            (float(m_out[nu]), float(a_out[mu]))))
    return rows


def comparison_table(rows: list[ModeComparison]) -> list[str]:
    """Text table: model | ABINIT for every mode."""
    lines = [f"{'q':3s} {'ν':>2s} {'σh':>3s} {'ħω model/abinit (meV)':>22s} "
             f"{'RMS n⁰ model/abinit':>22s} {'RMS M∥ model/abinit':>22s} {'RMS M_z model/abinit':>22s}  character"]
    for r in rows:
        lines.append(
            f"{r.label:3s} {r.index:2d} {r.parity:+3d} {r.frequency[0]:10.2f}/{r.frequency[1]:<11.2f} "
            f"{r.charge[0]:10.3e}/{r.charge[1]:<11.3e} {r.in_plane[0]:10.3e}/{r.in_plane[1]:<11.3e} "
            f"{r.out_of_plane[0]:10.3e}/{r.out_of_plane[1]:<11.3e}  {r.character}")
    return lines


#: Vacuum (Å) that must remain between periodic images of the slab along z.
MIN_VACUUM_GAP = MIN_LAYER_VACUUM


def check_vacuum(positions_z: np.ndarray, vacuum: float) -> None:
    """An error unless the cell length ``vacuum`` leaves MIN_VACUUM_GAP Å between slab images."""
    thickness = float(np.ptp(positions_z))
    if vacuum - thickness < MIN_VACUUM_GAP:
        raise PhonomagError(f"abinit.vacuum = {vacuum} Å leaves only {vacuum - thickness:.2f} Å between the "
                            f"{thickness:.2f} Å thick slab and its image; use at least "
                            f"{thickness + MIN_VACUUM_GAP:.1f} Å")


def abinit_structure(spec, vacuum_cell: float, structure: str | None = None):
    """The layer ABINIT computes: the material's, or that of ``structure`` (any ASE-readable file,
    :func:`~phonomag.abinit.structure_file.read_layer`, same atoms in the same order as the material),
    with a₃ = (0, 0, vacuum_cell) Å."""
    from phonomag.abinit.structure_file import read_layer

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


def run_comparison(material, qpoints: dict, settings: AbinitSettings, workdir: Path, vacuum_cell: float,
                   model_kgrid: tuple[int, int, int], nproc: int = 1, progress: bool = True,
                   keep_wavefunctions: bool = False, structure: str | None = None, launcher: str = "auto"):
    """Model and ABINIT at each {label: reduced q}; ABINIT runs in workdir (resumable, see abinit_mode_response).

    structure: a file with the layer for ABINIT (:func:`abinit_structure`); default the material's.
    Returns (rows, {label: AbinitModeResponse}, model).
    """
    from phonomag.magnetization import mode_magnetization
    from phonomag.workflows import load_model, load_phonons

    for q in qpoints.values():  # before any expensive step
        check_on_kgrid(q, settings)
    spec, model = load_model(material)
    engine = load_phonons(spec)
    atoms = abinit_structure(spec, vacuum_cell, structure)
    rows, results = [], {}
    for label, q in qpoints.items():
        results[label] = abinit_mode_response(atoms, settings, q, workdir, nproc=nproc,
                                              progress=progress, keep_wavefunctions=keep_wavefunctions,
                                              launcher=launcher)
        model_result = mode_magnetization(model, engine.modes([q]), model_kgrid,
                                          progress=progress)
        rows.extend(compare_modes(label, model_result, results[label], spec.labels))
    return rows, results, model

