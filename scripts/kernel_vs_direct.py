"""The response kernel against direct first-principles runs: same q, same modes, per mode RMS n⁰, M∥, M_z.

DIRECT is the results.nc of a direct run (``phonomag run -c examples/wse2_abinit.toml`` with the
ABINIT engine at any q — on the DFPT grid or off it, e.g. ``[abinit] q = ["1/4,0,0"]``). The kernel
(default: the shipped WSe₂ data, which must be complete) is evaluated at the same q and contracted
with the very mode displacements stored in DIRECT, so that only the responses differ. Printed per q
and mode: direct → kernel for each component, and the largest |ΔRMS| / RMS per branch and component
("—" where the component vanishes by symmetry: below 1e-8 of its largest value).

    python scripts/kernel_vs_direct.py DIRECT [--data FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from phonomag.cli.systems import BUILTIN_KERNEL_DATA
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import qpoint_label
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.response.modes import ModeResponse, read_results

PARTS = {"n0": lambda d: d.rms[..., 0], "M_par": lambda d: d.in_plane, "M_z": lambda d: d.out_of_plane}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("direct", type=Path, help="results.nc of a direct run (ABINIT engine)")
    parser.add_argument("--data", type=Path, default=BUILTIN_KERNEL_DATA, help="folder of reduced DFPT files q_*.nc")
    args = parser.parse_args()

    direct, dataset = read_results(args.direct)
    spec = load_material(dataset.attrs.get("material", "WSe2"))
    kernel = KernelEngine.from_reduced_files(args.data, spec.labels)
    kernel.check_structure(spec.atoms)
    patterns = kernel.pattern_responses(direct.qpoints, direct.kind, progress=False)
    predicted = ModeResponse.from_patterns(direct, direct.displacements, patterns, direct.atom_labels,
                                           direct.amplitude, kernel.kgrid, kernel.name, kernel.provenance())
    print(f"direct: {args.direct} ({direct.engine}); kernel: {kernel.source}")
    for i, q in enumerate(direct.qpoints):
        print(f"q = {qpoint_label(q, cell=spec.atoms.cell.array)}: zero-point RMS (electrons per cell), direct → kernel")
        for nu in range(direct.frequencies.shape[1]):
            pairs = [f"{name} {get(direct)[i, nu]:.3e} → {get(predicted)[i, nu]:.3e}" for name, get in PARTS.items()]
            print(f"  ν{nu} ({direct.frequencies[i, nu]:6.2f} meV)  " + "   ".join(pairs))
    print("largest |ΔRMS| / RMS over these q, per branch:")
    print("  ν   " + "  ".join(f"{name:>8s}" for name in PARTS))
    for nu in range(direct.frequencies.shape[1]):
        cells = []
        for get in PARTS.values():
            reference = get(direct)[:, nu]
            present = reference > 1e-8 * np.abs(get(direct)).max()
            cells.append(f"{np.max(np.abs(get(predicted)[present, nu] - reference[present]) / reference[present]):8.2e}"
                         if present.any() else f"{'—':>8s}")
        print(f"  {nu}   " + "  ".join(cells))


if __name__ == "__main__":
    main()
