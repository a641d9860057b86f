"""The run's modes for phonon viewers: phononwebsite's JSON and phonopy's ``band.yaml``, from results.nc.

Both files are written from a :class:`~phonomag.response.modes.ModeResponse` (its frequencies and
mode displacements) and the structure; nothing is recomputed.

* ``phonon_website.json``: the format of H. Miranda's phononwebsite
  (https://henriquemiranda.github.io/phononwebsite), with the keys euphonic's writer documents:
  name, natoms, lattice (Å, rows), atom_types, atom_numbers, formula, repetitions, atom_pos_car (Å),
  atom_pos_red, highsym_qpts ([index from 0, label], as the viewer's script reads them), qpoints
  (reduced), distances (1/Å, including the 2π), eigenvalues (cm⁻¹, (nq, nmodes)), vectors
  (nq, nmodes, natoms, 3, [re, im]) and line_breaks ([start, end) index pairs).
* ``band.yaml``: phonopy's band-structure layout with eigenvectors (frequencies in THz).

Vectors: e_κ/√m_κ of each mode, e the mass-weighted eigenvector of unit norm, in phonomag's
phase convention u_κ(R) = u_κ e^{iq·(R+τ_κ)} (docs/physics.md); from the stored displacements
u ∝ e/√m by normalising √m u. A mode with zero displacement (rigid translation at Γ given
zero amplitude) has zero vectors.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import yaml
from ase import Atoms
from ase.units import _c, invcm

from phonomag.io.atomic import write_atomically
from phonomag.response.modes import ModeResponse, read_results

WEBSITE_NAME = "phonon_website.json"
BAND_NAME = "band.yaml"
#: cm⁻¹ per meV (ASE's constants: 1 cm⁻¹ = ``invcm`` eV).
CM_PER_MEV = 1e-3 / invcm
#: THz per meV: ν = c ν̃ (ASE's speed of light, m/s).
THZ_PER_MEV = CM_PER_MEV * _c * 100 * 1e-12


def eigen_displacements(data: ModeResponse, masses: np.ndarray) -> np.ndarray:
    """e_κ/√m_κ (nq, nmodes, natoms, 3) complex, 1/√amu: the displacements normalised so that
    Σ_κα m_κ |v_κα|² = 1 (zero for a mode without displacement); ``masses`` (natoms,) amu."""
    u = np.asarray(data.displacements)
    norm = np.sqrt(np.einsum("qnka,k->qn", np.abs(u) ** 2, np.asarray(masses, float)))
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    return u * scale[..., None, None]


def line_breaks(distances: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the continuous pieces of a path: a repeated distance starts a new piece."""
    starts = [0, *(int(i) + 1 for i in np.flatnonzero(np.isclose(np.diff(distances), 0.0))), len(distances)]
    return [(a, b) for a, b in pairwise(starts) if b > a]


def website_data(data: ModeResponse, atoms: Atoms, distances: np.ndarray, labels: list[str], name: str) -> dict:
    """The phononwebsite dictionary of the modes ``data`` on ``atoms`` (the run's structure, its masses);
    ``distances`` (nq,) 1/Å along the path and ``labels`` (nq,) the point names ("" elsewhere)."""
    symbols = atoms.get_chemical_symbols()
    vectors = eigen_displacements(data, atoms.get_masses())
    counts = Counter(symbols)
    return {
        "name": name,
        "natoms": len(atoms),
        "lattice": atoms.cell.array.tolist(),
        "atom_types": symbols,
        "atom_numbers": atoms.numbers.tolist(),
        "formula": "".join(f"{s}{counts[s]}" for s in sorted(counts)),
        "repetitions": [3, 3, 3 if atoms.pbc[2] else 1],
        "atom_pos_car": atoms.positions.tolist(),
        "atom_pos_red": atoms.get_scaled_positions(wrap=False).tolist(),
        "highsym_qpts": [[i, label] for i, label in enumerate(labels) if label],
        "qpoints": np.asarray(data.qpoints).tolist(),
        "distances": np.asarray(distances, float).tolist(),
        "eigenvalues": (np.asarray(data.frequencies) * CM_PER_MEV).tolist(),
        "vectors": np.stack([vectors.real, vectors.imag], axis=-1).tolist(),
        "line_breaks": [list(pair) for pair in line_breaks(np.asarray(distances, float))],
    }


def band_yaml_data(data: ModeResponse, atoms: Atoms, distances: np.ndarray, labels: list[str]) -> dict:
    """phonopy's band.yaml content (frequencies THz, eigenvectors e = √m v, reciprocal lattice without 2π)."""
    vectors = eigen_displacements(data, atoms.get_masses()) * np.sqrt(atoms.get_masses())[None, None, :, None]
    symbols = atoms.get_chemical_symbols()
    reduced = atoms.get_scaled_positions(wrap=False)
    phonon = []
    for iq, q in enumerate(np.asarray(data.qpoints)):
        point = {"q-position": [float(x) for x in q], "distance": float(distances[iq] / (2 * np.pi))}
        if labels[iq]:
            point["label"] = labels[iq]
        point["band"] = [{"frequency": float(f * THZ_PER_MEV),
                          "eigenvector": [[[float(c.real), float(c.imag)] for c in atom] for atom in vectors[iq, nu]]}
                         for nu, f in enumerate(data.frequencies[iq])]
        phonon.append(point)
    return {
        "nqpoint": len(phonon),
        "npath": len(line_breaks(np.asarray(distances, float))),
        "segment_nqpoint": [b - a for a, b in line_breaks(np.asarray(distances, float))],
        "reciprocal_lattice": np.linalg.inv(atoms.cell.array).T.tolist(),
        "natom": len(atoms),
        "lattice": atoms.cell.array.tolist(),
        "points": [{"symbol": s, "coordinates": [float(x) for x in r], "mass": float(m)}
                   for s, r, m in zip(symbols, reduced, atoms.get_masses(), strict=True)],
        "phonon": phonon,
    }


def write_viewer_files(folder: Path, atoms: Atoms) -> list[Path]:
    """Write ``phonon_website.json`` and ``band.yaml`` of the modes in ``folder``/results.nc (computed along a
    path) into ``folder`` atomically; ``atoms``: the run's structure, its atoms in the order of results.nc.
    Returns their paths."""
    folder = Path(folder)
    data, dataset = read_results(folder / "results.nc")
    if "path_distance" not in dataset:
        raise ValueError(f"{folder / 'results.nc'} holds no q path; the viewers need one")
    distances = dataset["path_distance"].values
    labels = [str(s) for s in dataset["label"].values]
    name = f"{dataset.attrs.get('material', '')} ({data.engine} engine, phonomag)"
    text = json.dumps(website_data(data, atoms, distances, labels, name))
    band = yaml.safe_dump(band_yaml_data(data, atoms, distances, labels), sort_keys=False, default_flow_style=None)
    return [write_atomically(folder / WEBSITE_NAME, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), ".json"),
            write_atomically(folder / BAND_NAME, lambda tmp: Path(tmp).write_text(band, encoding="utf-8"), ".yaml")]
