"""The response kernel against direct first-principles runs: same q, same modes, per mode RMS n⁰, M∥, M_z.

``results DIRECT``: DIRECT is the results.nc of a direct run (``phonomag run -c examples/wse2_abinit.toml``
with the ABINIT engine at any q — on the DFPT grid or off it, e.g. ``[abinit] q = ["1/4,0,0"]``). The
kernel (default: the shipped WSe₂ data, which must be complete) is evaluated at the same q and
contracted with the very mode displacements stored in DIRECT, so that only the responses differ.
Printed per q and mode: direct → kernel for each component, and the largest |ΔRMS| / RMS per branch
and component ("—" where the component vanishes by symmetry: below 1e-5 of its largest value over all
modes, the level of the SCF noise that DFPT's symmetry zeros carry, ~1e-6, as in
kernel_interpolation_error.py).

``points Q …``: the kernel at the q given (labels such as K K' M, or reduced coordinates) with the
phonons of the kernel data's own DFPT runs (``[kernel] phonons = "kernel"``: the DDB files beside the
reduced files, SOC, the response's settings, force constants of the whole q grid), the modes a direct
ABINIT-engine run at those settings uses; to put beside such runs (docs/abinit.md).

    python scripts/kernel_vs_direct.py results DIRECT [--data FOLDER]
    python scripts/kernel_vs_direct.py points K "K'" M [--data FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from phonomag.cli.systems import BUILTIN_KERNEL_DATA, kernel_phonons
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import parse_qpoint, qpoint_label
from phonomag.engines.base import EngineCapabilityError, compute_mode_response
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.response.modes import ModeResponse, read_results

PARTS = {"n0": lambda d: d.rms[..., 0], "M_par": lambda d: d.m_parts[0], "M_z": lambda d: d.m_parts[1]}


def print_modes(label: str, data: ModeResponse, cell, reference: ModeResponse | None = None) -> None:
    """Per q and mode: frequency and the RMS of each component (``reference`` → ``data`` when given)."""
    print(label)
    for i, q in enumerate(data.qpoints):
        print(f"q = {qpoint_label(q, cell=cell)}")
        for nu in range(data.frequencies.shape[1]):
            if reference is None:
                values = [f"{name} {get(data)[i, nu]:.3e}" for name, get in PARTS.items()]
            else:
                values = [f"{name} {get(reference)[i, nu]:.3e} → {get(data)[i, nu]:.3e}" for name, get in PARTS.items()]
            print(f"  ν{nu} ({data.frequencies[i, nu]:6.2f} meV)  " + "   ".join(values))


def against_results(args, spec, kernel: KernelEngine) -> None:
    direct, _ = read_results(args.direct)
    patterns = kernel.pattern_responses(direct.qpoints, direct.kind, progress=False)
    predicted = ModeResponse.from_patterns(direct, direct.displacements, patterns, direct.atom_labels,
                                           direct.amplitude, kernel.kgrid, kernel.name, kernel.provenance())
    print_modes(f"direct: {args.direct} ({direct.engine}); kernel: {kernel.source}\n"
                "zero-point RMS (electrons per cell), direct → kernel", predicted, spec.atoms.cell.array, direct)
    print("largest |ΔRMS| / RMS over these q, per branch:")
    print("  ν   " + "  ".join(f"{name:>8s}" for name in PARTS))
    for nu in range(direct.frequencies.shape[1]):
        cells = []
        for get in PARTS.values():
            reference = get(direct)[:, nu]
            present = reference > 1e-5 * np.abs(get(direct)).max()
            cells.append(f"{np.max(np.abs(get(predicted)[present, nu] - reference[present]) / reference[present]):8.2e}"
                         if present.any() else f"{'—':>8s}")
        print(f"  {nu}   " + "  ".join(cells))


def at_points(args, spec, kernel: KernelEngine) -> None:
    phonons = kernel_phonons(spec, args.data, kernel.kernel.qgrid)
    qpoints = np.array([parse_qpoint(text, cell=spec.atoms.cell.array) for text in args.q])
    data = compute_mode_response(kernel, phonons.modes(qpoints), progress=False)
    print_modes(f"kernel: {kernel.source}\nphonons: {phonons.description}\nzero-point RMS (electrons per cell)",
                data, spec.atoms.cell.array)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    results = commands.add_parser("results", help="against the results.nc of a direct run, with its modes")
    results.add_argument("direct", type=Path, help="results.nc of a direct run (ABINIT engine)")
    points = commands.add_parser("points", help="at these q, with the phonons of the kernel data's DFPT runs")
    points.add_argument("q", nargs="+", help="labels (K K' M) or reduced coordinates such as 1/4,0,0")
    for command in (results, points):
        command.add_argument("--data", type=Path, default=BUILTIN_KERNEL_DATA,
                             help="folder of reduced DFPT files q_*.nc (and their DDB files)")
    args = parser.parse_args()
    spec = load_material("WSe2")
    try:
        kernel = KernelEngine.from_reduced_files(args.data, spec.labels)
        kernel.check_structure(spec.atoms)
    except EngineCapabilityError as exc:
        raise SystemExit(f"kernel_vs_direct: error: {exc}") from None
    {"results": against_results, "points": at_points}[args.command](args, spec, kernel)


if __name__ == "__main__":
    main()
