"""Workflows behind the CLI commands: load, compute, write, summarise.

Each workflow returns the summary lines the CLI prints; figures and data go to
the output folder. Physics lives in the engine modules; plotting in
:mod:`phonomag.plotting`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.electrons.analysis import (
    hexagonal_zone_corners,
    spin_bands,
    valence_splitting,
    zone_grid,
)
from phonomag.electrons.tightbinding import TightBindingModel
from phonomag.electrons.vertex_check import finite_difference_vertex
from phonomag.materials import MaterialSpec, load_material
from phonomag.qpoints import check_commensurate, qpoint_label
from phonomag.special_points import hexagonal_points

DEFAULT_PATH = ("G", "M", "K", "G")


def load_model(material: str | Path) -> tuple[MaterialSpec, TightBindingModel]:
    """Material spec and its electronic model, with the gap checked."""
    spec = load_material(material)
    model = TightBindingModel.from_material(spec)
    model.check_gap()
    return spec, model


def electronic_overview(material: str | Path, output: Path, npoints: int = 240) -> list[str]:
    """Spin-coloured bands along Γ–M–K–Γ and the top-valence spin texture."""
    from phonomag.kpath import path_from_labels
    from phonomag.plotting.bands import plot_spin_bands, plot_spin_texture

    spec, model = load_model(material)
    kpoints, distances, ticks, tick_labels = path_from_labels(spec.atoms.cell, DEFAULT_PATH, npoints=npoints)
    bands = spin_bands(model, kpoints)
    files = plot_spin_bands(
        distances, bands.energies, bands.spin[..., 2], ticks, tick_labels,
        bands.fermi_level, output / "bands", title=f"{spec.name}: bands and spin",
    )
    k_red, k_cart = zone_grid(model.reciprocal_cell, 36)
    grid = spin_bands(model, k_red)
    top = model.occupied_bands - 1
    files += plot_spin_texture(
        k_cart, grid.spin[:, top], hexagonal_zone_corners(model.reciprocal_cell), output / "spin_texture",
        title=f"{spec.name}: top valence band spin",
    )
    vbm, cbm = model.band_edges()
    k_point = np.array(hexagonal_points(spec.atoms.cell.array)["K"])
    split_v, split_c = valence_splitting(model, k_point)
    spin_k = spin_bands(model, np.array([k_point, -k_point])).spin[:, top, 2]
    return [
        f"material        {spec.name} ({spec.source})",
        f"gap             {cbm - vbm:.3f} eV (VBM {vbm:.3f} eV, CBM {cbm:.3f} eV)",
        f"splitting at K  valence {1000 * split_v:.1f} meV, conduction {1000 * split_c:.1f} meV",
        f"<σz> top VB     K {spin_k[0]:+.3f}, K' {spin_k[1]:+.3f}",
        *[f"wrote           {f}" for f in files],
    ]


def load_phonons(spec: MaterialSpec):
    """Phonon engine of a material from its ``[phonons]`` table."""
    from phonomag.phonons.engine import build_phonon_engine

    return build_phonon_engine(spec.atoms, spec.phonons, spec.base_dir)


def phonon_overview(material: str | Path, output: Path, npoints: int = 150, export: bool = True) -> list[str]:
    """Phonon dispersion Γ–M–K–Γ with σ_h parities, and the frequencies at Γ, M, K.

    With ``export`` the force constants used are also written to ``phonopy_params.yaml``.
    """
    from phonomag.kpath import path_from_labels
    from phonomag.phonons.phonopy_export import FILE_NAME, write_phonopy_params
    from phonomag.plotting.phonons import plot_dispersion

    spec = load_material(material)
    engine = load_phonons(spec)
    qpoints, distances, ticks, tick_labels = path_from_labels(spec.atoms.cell, DEFAULT_PATH, npoints=npoints)
    modes = engine.modes(qpoints)
    files = plot_dispersion(modes, distances, ticks, tick_labels, output / "phonons",
                            title=f"{spec.name}: phonons")
    points = hexagonal_points(spec.atoms.cell.array)
    special = engine.modes(np.array([points["G"], points["M"], points["K"]]))
    parity_mark = {1: "+", -1: "-", 0: " "}
    lines = [f"material   {spec.name} ({spec.source}); phonons: {engine.description}",
             f"lowest frequency on the path {modes.frequencies.min():+.4f} meV",
             "frequencies in meV, σ_h parity (+ even, - odd):"]
    for label, freqs, parity in zip(("Γ", "M", "K"), special.frequencies, special.parity):
        lines.append(f"  {label}: " + "  ".join(f"{f:6.2f}{parity_mark[int(p)]}" for f, p in zip(freqs, parity)))
    if export:
        files.append(write_phonopy_params(engine, Path(output) / FILE_NAME))
    return lines + [f"wrote      {f}" for f in files]


def smallest_supercell(q: np.ndarray, max_repeat: int = 12) -> tuple[int, int, int]:
    """Smallest diagonal supercell n_i ≤ max_repeat with q_i n_i integer."""
    repeats = []
    for value in q:
        n = next((n for n in range(1, max_repeat + 1) if abs(value * n - round(value * n)) < 1e-8), None)
        repeats.append(n if n is not None else max_repeat + 1)
    result = tuple(repeats)
    check_commensurate(q, result)
    return result


def vertex_check_table(
    material: str | Path, q: np.ndarray, k: np.ndarray, repeats: tuple[int, int, int] | None
) -> list[str]:
    """Relative difference between analytic and finite-difference vertex for every κα."""
    spec, model = load_model(material)
    repeats = repeats or smallest_supercell(q)
    check_commensurate(q, repeats)
    analytic = model.vertex(k, q)[0]
    numeric = finite_difference_vertex(model, k, q, repeats)
    cell = spec.atoms.cell.array
    lines = [f"vertex check for {spec.name} at q = {qpoint_label(q, cell=cell)}, k = {qpoint_label(k, cell=cell)}, "
             f"supercell {'x'.join(map(str, repeats))}", "atom        α   max|g| (eV/Å)   rel. diff."]
    for kappa in range(len(model.atoms)):
        for alpha, axis in enumerate("xyz"):
            scale = np.abs(analytic[kappa, alpha]).max()
            diff = np.abs(analytic[kappa, alpha] - numeric[kappa, alpha]).max() / max(scale, 1e-300)
            lines.append(f"{spec.labels[kappa]:10s}  {axis}   {scale:12.5f}   {diff:.2e}")
    return lines


def dynamics_overview(material: str | Path, output: Path, npoints: int = 61,
                      kgrid: tuple[int, int, int] = (18, 18, 1)) -> list[str]:
    """Phonon angular momentum and the non-adiabatic (finite-frequency) net magnetization.

    Along Γ–M–K–Γ: per mode l_z (ħ), the one-sided static RMS |M| and the RMS |M| of the
    full response at ħω_qν; a figure ``dynamics`` and a table at K.
    """
    from phonomag.kpath import path_from_labels
    from phonomag.magnetization import finite_frequency_magnetization, mode_magnetization
    from phonomag.observables import phonon_angular_momentum
    from phonomag.plotting.dynamics import plot_dynamics

    spec, model = load_model(material)
    engine = load_phonons(spec)
    qpoints, distances, ticks, tick_labels = path_from_labels(spec.atoms.cell, DEFAULT_PATH, npoints=npoints)
    points = hexagonal_points(spec.atoms.cell.array)
    k_index = int(np.argmin(np.linalg.norm(qpoints - np.array(points["K"]), axis=1)))
    modes = engine.modes(qpoints)
    static = mode_magnetization(model, modes, kgrid)
    dynamic = finite_frequency_magnetization(model, modes, kgrid)
    l_z = phonon_angular_momentum(modes.eigenvectors)[..., 2]

    def total(data):
        return np.hypot(data.in_plane, data.out_of_plane)

    files = plot_dynamics(distances, ticks, tick_labels, modes.frequencies, modes.parity, l_z,
                          total(static), total(dynamic), output / "dynamics")
    lines = [f"{spec.name} at K: phonon angular momentum and non-adiabatic magnetization (k grid "
             f"{'×'.join(map(str, kgrid))}, zero-point amplitude, RMS |M| in electrons per cell)",
             "  ν   ħω (meV)  σ_h    l_z (ħ)   one-sided |M|   net |M| at ħω   ratio"]
    for nu in range(modes.frequencies.shape[1]):
        s, d = total(static)[k_index, nu], total(dynamic)[k_index, nu]
        lines.append(f"{nu:3d}  {modes.frequencies[k_index, nu]:8.3f}  {'even' if modes.parity[k_index, nu] > 0 else 'odd':4s}"
                     f"  {l_z[k_index, nu]:+8.4f}   {s:12.4e}   {d:12.4e}   {d / s if s > 0 else 0:7.4f}")
    m_index = int(np.argmin(np.linalg.norm(qpoints - np.array(points["M"]), axis=1)))
    lines.append(f"at M every mode is linearly polarised: max |l_z| = {np.abs(l_z[m_index]).max():.1e} ħ, "
                 f"yet max RMS |M| = {total(static)[m_index].max():.3e} electrons per cell")
    return lines + [f"wrote  {f}" for f in files]
