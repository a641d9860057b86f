"""The shipped AlSb kernel against a direct DFPT run at a q off its 6×6×6 grid, at the production settings.

Runs (or reuses) ABINIT DFPT with SOC at q = (1/8, 1/4, 3/8) (reduced; off the grid, no symmetry but the
identity and time reversal) with the settings of production.toml, in WORKDIR (put a copy of the production's
``abinit-work/gs`` there to reuse its ground state), reduces it as the kernel files are reduced
(docs/kernel.md), writes the reduced file beside this script (``offgrid_q_1_2_3_of_8.nc``), and prints:
- per pattern component, the largest |kernel − direct| / the largest |direct| of the cell moments (n⁰, M);
- ‖kernel − direct‖ / ‖direct‖ of the fields on the kernel's box (n⁰, M);
- per mode (the kernel's own DFPT phonons at that q), the zero-point RMS n⁰, M_L (along q) and M_T (across q),
  direct → kernel.

    python production/AlSb_soc_dfpt/offgrid_check.py WORKDIR [--nproc 1] [--data FOLDER]

About 50 min on one core (the non-self-consistent k + q run and the 6 perturbations).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from phonomag.cli.abinit_setup import abinit_structure
from phonomag.cli.config import load_run_config
from phonomag.cli.systems import kernel_phonons
from phonomag.crystal.materials import load_material
from phonomag.engines.abinit.engine import run_pattern_dfpt
from phonomag.engines.abinit.pattern_response import reduce_patterns
from phonomag.engines.abinit.tasks import FIELD_ECUT_FACTOR
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.io.netcdf import complex_from, write_dataset
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.response.band_limited import box_spectrum, grid_values
from phonomag.response.observables import longitudinal_directions, magnetization_parts, rms_components

HERE = Path(__file__).resolve().parent
STEPS, GRID = (1, 2, 3), 8
SHIPPED = HERE.parents[1] / "src" / "phonomag" / "data" / "response" / "AlSb_soc_dfpt"


def relative(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--nproc", type=int, default=1)
    parser.add_argument("--data", type=Path, default=SHIPPED, help="the kernel's folder (default: the shipped one)")
    args = parser.parse_args()

    config = load_run_config(HERE / "production.toml")
    spec = load_material("AlSb")
    atoms = abinit_structure(spec, config.abinit.vacuum)
    settings = config.abinit.settings()
    q = np.array(STEPS, float) / GRID
    target = HERE / f"offgrid_q_{'_'.join(map(str, STEPS))}_of_{GRID}.nc"
    run = run_pattern_dfpt(atoms, settings, q, args.workdir, nproc=args.nproc, progress=False)
    reduced = reduce_patterns(run.responses, atoms, q, run.volume_bohr3, FIELD_ECUT_FACTOR * settings.ecut,
                              {"produced_by": "production/AlSb_soc_dfpt/offgrid_check.py",
                               "charge_check": run.charge_check})
    write_dataset(reduced, target)
    print(f"direct DFPT at q = {q.tolist()} ({target.name}); charge check DEN1 = 2 Tr N: {run.charge_check:.1e}")

    kernel = KernelEngine.from_reduced_files(args.data, spec.labels)
    direct = complex_from(reduced["moment"])  # (κ, β, α)
    computed = kernel.pattern_response(q).tensor[:, :, 0]
    print(f"cell moments, max |kernel − direct| / max |direct|: n⁰ {relative(computed[..., 0], direct[..., 0]):.3f}, "
          f"M {relative(computed[..., 1:], direct[..., 1:]):.3f}")
    fields = kernel.kernel.fields(q[None])[0]  # (κ, β, n3, α, n1, n2)
    fields = np.moveaxis(fields, 2, -1)  # (κ, β, α, n1, n2, n3)
    shape = fields.shape[-3:]
    reference = grid_values(box_spectrum(complex_from(reduced["coefficient"]), reduced["gvector"].values, shape))
    for name, part in (("n⁰", slice(0, 1)), ("M", slice(1, 4))):
        error = np.linalg.norm(fields[:, :, part] - reference[:, :, part]) / np.linalg.norm(reference[:, :, part])
        print(f"fields on the kernel's {'×'.join(map(str, shape))} box, ‖kernel − direct‖/‖direct‖, {name}: "
              f"{error:.3f}")

    modes = kernel_phonons(spec, args.data, kernel.kernel.qgrid).modes(q[None])
    u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses)[0]  # (ν, κ, β) Å
    direction = longitudinal_directions(q[None], spec.crystal.reciprocal)
    print("mode  ħω (meV)   RMS n⁰ direct → kernel      RMS M_L direct → kernel      RMS M_T direct → kernel")
    for nu, displacement in enumerate(u):
        a, b = (np.einsum("kb,kba->a", displacement, moments)[None, None] for moments in (direct, computed))
        (la, ta), (lb, tb) = (magnetization_parts(m, direction) for m in (a, b))
        print(f"{nu:4d}  {modes.frequencies[0, nu]:8.3f}   {rms_components(a)[0, 0, 0]:.4e} → "
              f"{rms_components(b)[0, 0, 0]:.4e}      {la[0, 0]:.4e} → {lb[0, 0]:.4e}      "
              f"{ta[0, 0]:.4e} → {tb[0, 0]:.4e}")


if __name__ == "__main__":
    main()
