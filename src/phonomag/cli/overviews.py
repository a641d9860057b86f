"""The overview commands (bands, phonons, dynamics, check-vertex): load, compute, write, summarise.

Each workflow returns the summary lines the CLI prints; figures and data go to
the output folder. Physics lives in the engines; plotting in
:mod:`phonomag.outputs.plotting`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.cli.systems import load_model, load_phonons, load_system
from phonomag.crystal.kpath import farthest_corner_index, path_from_labels, tick_text
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import check_commensurate, qpoint_label, smallest_supercell
from phonomag.engines.tightbinding.bands import spin_bands, valence_splitting, zone_grid
from phonomag.engines.tightbinding.vertex_check import finite_difference_vertex


def electronic_overview(material: str | Path, output: Path, npoints: int = 240) -> tuple[list[str], list[Path]]:
    """Spin-coloured bands along the crystal's standard path (Γ–M–K–Γ of a hexagonal layer) and the top-valence
    spin texture: (summary lines, files written)."""
    from phonomag.outputs.plotting.bands import plot_spin_bands, plot_spin_texture

    spec, model = load_model(material)
    crystal = spec.crystal
    kpoints, distances, ticks, tick_labels = path_from_labels(crystal, npoints=npoints)
    bands = spin_bands(model, kpoints)
    files = plot_spin_bands(
        distances, bands.energies, bands.spin[..., 2], ticks, tick_labels,
        bands.fermi_level, output / "bands", title=f"{spec.name}: bands and spin (tight-binding model)",
    )
    k_red, k_cart = zone_grid(model.reciprocal_cell, 36)
    grid = spin_bands(model, k_red)
    top = model.occupied_bands - 1
    files += plot_spin_texture(
        k_cart, grid.spin[:, top], crystal.zone_outline(), output / "spin_texture",
        title=f"{spec.name}: top valence band spin (tight-binding model)",
    )
    vbm, cbm = model.band_edges()
    k_point = kpoints[farthest_corner_index(crystal, kpoints, crystal.standard_path)]
    name = tick_text(crystal.label_of(k_point))
    split_v, split_c = valence_splitting(model, k_point)
    spin_k = spin_bands(model, np.array([k_point, -k_point])).spin[:, top, 2]
    return [
        f"material        {spec.name} ({spec.source})",
        f"gap             {cbm - vbm:.3f} eV (VBM {vbm:.3f} eV, CBM {cbm:.3f} eV)",
        f"splitting at {name:3s}valence {1000 * split_v:.1f} meV, conduction {1000 * split_c:.1f} meV",
        f"<σz> top VB     {name} {spin_k[0]:+.3f}, −{name} {spin_k[1]:+.3f}",
    ], files


def phonon_overview(material: str | Path, output: Path, npoints: int = 150,
                    export: bool = True, phonons=None) -> tuple[list[str], list[Path]]:
    """Phonon dispersion along the crystal's standard path with σ_h parities, and the frequencies at its labelled
    points (Γ, M, K of a hexagonal layer): (summary lines, files).

    ``phonons``: the phonon model to draw (default: the material's ``[phonons]``). With ``export`` the
    force constants used are also written to ``phonopy_params.yaml``.
    """
    from phonomag.outputs.plotting.phonons import plot_dispersion
    from phonomag.phonons.phonopy_export import FILE_NAME, write_phonopy_params

    spec = load_material(material)
    phonons = phonons or load_phonons(spec)
    crystal = spec.crystal
    qpoints, distances, ticks, tick_labels = path_from_labels(crystal, npoints=npoints)
    modes = phonons.modes(qpoints)
    files = plot_dispersion(modes, distances, ticks, tick_labels, output / "phonons",
                            title=f"{spec.name}: phonons")
    labels = list(dict.fromkeys(crystal.standard_path))
    special = phonons.modes(np.array([crystal.point(label) for label in labels]))
    parity_mark = {1: "+", -1: "-", 0: " "}
    lines = [f"material   {spec.name} ({spec.source}); phonons: {phonons.description}",
             f"lowest frequency on the path {modes.frequencies.min():+.4f} meV",
             "frequencies in meV, σ_h parity (+ even, - odd):"]
    for label, freqs, parity in zip([tick_text(x) for x in labels], special.frequencies, special.parity,
                                     strict=True):
        lines.append(
            f"  {label}: " + "  ".join(f"{f:6.2f}{parity_mark[int(p)]}" for f, p in zip(freqs, parity, strict=True))
        )
    if export:
        files.append(write_phonopy_params(phonons, Path(output) / FILE_NAME))
    return lines, files


def vertex_check_table(
    material: str | Path, q: np.ndarray, k: np.ndarray, repeats: tuple[int, int, int] | None
) -> list[str]:
    """Relative difference between analytic and finite-difference vertex for every κα."""
    spec, model = load_model(material)
    repeats = repeats or smallest_supercell(q)
    check_commensurate(q, repeats)
    analytic = model.vertex(k, q)[0]
    numeric = finite_difference_vertex(model, k, q, repeats)
    crystal = spec.crystal
    lines = [f"vertex check for {spec.name} at q = {qpoint_label(q, crystal=crystal)}, "
             f"k = {qpoint_label(k, crystal=crystal)}, "
             f"supercell {'x'.join(map(str, repeats))}", "atom        α   max|g| (eV/Å)   rel. diff."]
    for kappa in range(len(model.atoms)):
        for alpha, axis in enumerate("xyz"):
            scale = np.abs(analytic[kappa, alpha]).max()
            diff = np.abs(analytic[kappa, alpha] - numeric[kappa, alpha]).max() / max(scale, 1e-300)
            lines.append(f"{spec.labels[kappa]:10s}  {axis}   {scale:12.5f}   {diff:.2e}")
    return lines


def dynamics_overview(material: str | Path, output: Path, npoints: int = 61,
                      kgrid: tuple[int, int, int] = (18, 18, 1)) -> list[str]:
    """Phonon angular momentum and the non-adiabatic (finite-frequency) net magnetization, as one stage of
    ``output`` (:mod:`phonomag.cli.stages`: reused while the model file, its data files and the options
    are unchanged).

    Along the crystal's standard path (Γ–M–K–Γ of a hexagonal layer): per mode l_z (ħ), the one-sided static
    RMS |M| and the RMS |M| of the full response at ħω_qν; a figure ``dynamics`` and a table at the path's corner
    farthest from Γ (K).
    """
    from phonomag.cli.config import RunConfig
    from phonomag.cli.engines import fingerprint
    from phonomag.cli.run_state import digest
    from phonomag.cli.stages import Stage, output_folder

    system = load_system(material, kgrid)  # the model and phonons checked before the folder exists
    spec = system[0]
    config = RunConfig().updated({"run.material": str(material), "run.engine": "model", "response.kgrid": tuple(kgrid)})
    inputs = digest(fingerprint(config, spec), npoints, kgrid)
    figure = Path(output) / "dynamics"
    with output_folder(output, "dynamics") as runner:
        stage = Stage("dynamics", inputs, [figure.with_suffix(".png"), figure.with_suffix(".pdf")],
                      lambda: _dynamics(system, figure, npoints, kgrid),
                      "phonon angular momentum and the finite-frequency magnetization")
        return runner.run([stage], [])


def _dynamics(system, figure: Path, npoints: int, kgrid: tuple[int, int, int]):
    """The figure ``figure``.png/.pdf and the dynamics table at K (:class:`~phonomag.cli.stages.Made`) of ``system``
    (material spec, tight-binding engine, phonons: :func:`~phonomag.cli.systems.load_system`)."""
    from phonomag.cli.stages import Made
    from phonomag.engines.base import compute_finite_frequency_response, compute_mode_response
    from phonomag.outputs.plotting.dynamics import plot_dynamics
    from phonomag.phonons.amplitudes import phonon_angular_momentum

    spec, engine, phonons = system
    crystal = spec.crystal
    qpoints, distances, ticks, tick_labels = path_from_labels(crystal, npoints=npoints)
    k_index = farthest_corner_index(crystal, qpoints, crystal.standard_path)
    modes = phonons.modes(qpoints)
    static = compute_mode_response(engine, modes, phonon_source=phonons.description)
    dynamic = compute_finite_frequency_response(engine, modes, phonon_source=phonons.description)
    l_z = phonon_angular_momentum(modes.eigenvectors)[..., 2]

    def total(data):
        return np.hypot(*data.m_parts)

    files = plot_dynamics(distances, ticks, tick_labels, modes.frequencies, modes.parity, l_z,
                          total(static), total(dynamic), figure)
    name = tick_text(crystal.label_of(qpoints[k_index]))
    lines = [f"{spec.name} at {name}: phonon angular momentum and non-adiabatic magnetization (k grid "
             f"{'×'.join(map(str, kgrid))}, zero-point amplitude, RMS |M| in electrons per cell)",
             "  ν   ħω (meV)  σ_h    l_z (ħ)   one-sided |M|   net |M| at ħω   ratio"]
    for nu in range(modes.frequencies.shape[1]):
        s, d = total(static)[k_index, nu], total(dynamic)[k_index, nu]
        lines.append(
            f"{nu:3d}  {modes.frequencies[k_index, nu]:8.3f}  {'even' if modes.parity[k_index, nu] > 0 else 'odd':4s}"
            f"  {l_z[k_index, nu]:+8.4f}   {s:12.4e}   {d:12.4e}   {d / s if s > 0 else 0:7.4f}"
        )
    # at a point with −q = q modulo G other than Γ (M of a hexagonal layer), time reversal makes every mode real
    invariant = [label for label in crystal.standard_path if label != "G"
                 and np.allclose(2 * crystal.point(label), np.round(2 * crystal.point(label)))]
    if invariant:
        m_index = int(np.argmin(np.linalg.norm(qpoints - crystal.point(invariant[0]), axis=1)))
        lines.append(f"at {invariant[0]} every mode is linearly polarised: max |l_z| = "
                     f"{np.abs(l_z[m_index]).max():.1e} ħ, yet max RMS |M| = {total(static)[m_index].max():.3e} "
                     "electrons per cell")
    return Made(files, lines)
