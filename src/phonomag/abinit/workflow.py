"""The first-principles engine of ``phonomag run`` (``engine = "abinit"``) and ``phonomag ab-initio``.

For every q of ``[abinit] q``: ABINIT DFPT with SOC and eq. 1 (:func:`abinit_mode_response`,
resumable), the built-in model at the same q, the model-vs-ABINIT report (table,
figure), the real-space maps asked for at those q, the time-reversal check between q
and −q when both were computed, and ``abinit_results.nc``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phonomag.abinit.comparison import comparison_table, rms_parts, run_comparison
from phonomag.abinit.maps import draw_abinit_maps
from phonomag.abinit.results import write_abinit_results
from phonomag.config import AbinitRunSpec, MapSpec
from phonomag.materials import load_material
from phonomag.qpoints import parse_qpoint

def time_reversal_lines(results: dict) -> list[str]:
    """For every computed pair q, −q (mod G): the largest difference of ħω and of the RMS n⁰, M∥, M_z per mode.

    Time reversal maps mode (q, ν) onto (−q, ν) with the same frequency, n⁰ → n⁰*
    and M → −M*, so the RMS of each component must agree (DESIGN.md, TR partners).
    """
    lines = []
    labels = list(results)
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            total = results[a].qpoint + results[b].qpoint
            if np.abs(total - np.rint(total)).max() > 1e-8:
                continue
            ra, rb = results[a], results[b]
            dw = np.abs(ra.modes.frequencies[0] - rb.modes.frequencies[0]).max()
            parts = []
            for name, xa, xb in zip(("n0", "M_par", "M_z"), rms_parts(ra.cell_moments), rms_parts(rb.cell_moments)):
                scale = max(np.abs(xa).max(), 1e-300)
                parts.append(f"{name} {np.abs(xa - xb).max() / scale:.1e}")
            lines.append(f"time reversal {a} ↔ {b}: max |Δħω| {dw:.2e} meV; max |ΔRMS|/max RMS: "
                         + ", ".join(parts))
    return lines


def maps_at(entries, qpoints: dict, cell=None) -> tuple[dict[str, list[MapSpec]], list[MapSpec]]:
    """Split map entries by the computed q-point ({label: reduced q}) they belong to; also return those at no
    computed q. ``cell``: the lattice the labels refer to (see :func:`phonomag.qpoints.parse_qpoint`)."""
    by_label = {label: [] for label in qpoints}
    skipped = []
    for entry in entries:
        q = parse_qpoint(entry.q, cell)
        match = [label for label, computed in qpoints.items() if np.allclose(computed, q, atol=1e-8)]
        (by_label[match[0]] if match else skipped).append(entry)
    return by_label, skipped


def first_principles_run(material: str, abinit: AbinitRunSpec, output: Path, model_kgrid: tuple[int, int, int],
                         maps, cells: tuple[int, int] = (6, 6), z: float = 0.0, points: int = 60,
                         movie_frames: int = 0, figures: bool = True, progress: bool = True) -> list[str]:
    """Run the ABINIT engine at ``abinit.qpoints`` and write its report into ``output``; return summary lines.

    ``maps``: MapSpec entries to draw from the ABINIT fields (entries at q-points not in
    ``abinit.qpoints`` are listed as skipped). The ABINIT runs live in ``abinit.workdir``
    (default ``output/abinit-work``) and are reused when their inputs are unchanged.
    """
    from phonomag.plotting.comparison import plot_model_vs_abinit

    output = Path(output)
    settings = abinit.settings()
    workdir = Path(abinit.workdir) if abinit.workdir else output / "abinit-work"
    cell = load_material(material).atoms.cell.array
    qpoints = {label: parse_qpoint(label, cell) for label in abinit.qpoints}
    rows, results, model = run_comparison(material, qpoints, settings, workdir, abinit.vacuum, model_kgrid,
                                          nproc=abinit.nproc, progress=progress,
                                          keep_wavefunctions=abinit.keep_wavefunctions,
                                          structure=abinit.structure, launcher=abinit.launcher)
    output.mkdir(parents=True, exist_ok=True)
    lines = [f"ABINIT DFPT with SOC: ecut {settings.ecut:g} Ha, k grid {list(settings.kgrid)}, "
             f"cell length along z {abinit.vacuum:g} Å, runs in {workdir}",
             f"model: {material}, k grid {list(model_kgrid)}"]
    for label, result in results.items():
        lines.append(f"{label}: DEN1 = 2 Tr N to {result.charge_check:.1e} (largest relative deviation)")
    table = comparison_table(rows)
    (output / "abinit_comparison.txt").write_text("\n".join(table) + "\n")
    lines += table + time_reversal_lines(results)
    if figures:
        lines += [f"wrote  {f}" for f in plot_model_vs_abinit(rows, output / "abinit_comparison")]
    by_label, skipped = maps_at(maps, qpoints, cell)
    for label, entries in by_label.items():
        if entries and (figures or movie_frames):
            lines += draw_abinit_maps(results[label], model, entries, output / "maps", cells, z, points,
                                      movie_frames)
    lines += [f"map {entry.name}: skipped, q = {entry.q} is not in abinit.q {list(abinit.qpoints)}"
              for entry in skipped]
    lines.append(f"wrote  {write_abinit_results(results, settings, model, output / 'abinit_results.nc')}")
    return lines
