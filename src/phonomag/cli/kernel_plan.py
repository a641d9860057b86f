"""``phonomag dfpt-kernel --plan``: what the first-principles kernel will compute and cost, before anything runs.

The plan lists the irreducible q of the grid and their perturbations, and estimates time, disk and
memory from the dimensions ABINIT itself chooses (:mod:`phonomag.io.abinit.dimensions`). Everything
that would stop the production later and can be known now stops it here, in one line: the
pseudopotentials (found while the job is built), and a field cutoff whose sphere ABINIT's FFT grid does
not hold. Every space-group operation can carry the reduced files (format 2: Fourier coefficients, on
which a translation is a phase), so none is refused. Whether the ground state is an insulator is known
only after it has run: it is checked then, before any DFPT.

Time model: the DFPT of one perturbation costs ``CORE_SECONDS_PER_UNIT`` × k-points × occupied bands ×
plane waves core-seconds, calibrated on the WSe₂ production (docs/kernel.md: ecut 20 Ha, 6×6 k grid,
36 k-points, 26 occupied spinor bands, 4 780 plane waves; 47 min for 5 perturbations on one core).
Larger cells scale faster (orthogonalisation goes as bands²): read it as good to a factor of about 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from phonomag.engines.abinit.tasks import FIELD_FILE, KernelJob
from phonomag.errors import PhonomagError
from phonomag.io.abinit.dimensions import GroundStateDimensions, ground_state_dimensions
from phonomag.response.band_limited import sphere_gvectors

#: Core-seconds of DFPT per perturbation, per (k-point × occupied band × plane wave): 47 min × 60 / 5
#: perturbations / (36 × 26 × 4780) for WSe₂ (module docstring).
CORE_SECONDS_PER_UNIT = 47 * 60 / 5 / (36 * 26 * 4780)
#: Bytes of one complex spinor coefficient (complex128 × 2 spinor components).
_SPINOR_COEFFICIENT = 32


@dataclass(frozen=True)
class KernelPlan:
    """The production of a kernel: irreducible q (grid steps), the 3 n_atoms perturbations of each, and the
    estimates (seconds wall on ``nproc`` cores, bytes on disk and in memory); field_seconds: the wall time of the
    electric-field run of a bulk crystal (one serial run; 0: none)."""

    steps: tuple[tuple[int, int, int], ...]
    perturbations: int
    dimensions: GroundStateDimensions
    nproc: int
    seconds_per_q: float
    reduced_bytes_per_q: int
    wavefunction_bytes: int
    first_order_bytes_per_q: int
    field_ecut: float
    field_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Wall time of all q (s), the ground state not included (minutes, next to the DFPT)."""
        return self.seconds_per_q * len(self.steps)

    def lines(self, done: set) -> list[str]:
        """The plan as text, one fact a line; ``done``: steps whose reduced file exists already."""
        d = self.dimensions
        todo = [s for s in self.steps if s not in done]
        lines = [f"irreducible q (grid steps): {len(self.steps)}, to compute: {len(todo)}"]
        lines += [f"  q_{'_'.join(map(str, s))}: {self.perturbations} perturbations"
                  + (" (done)" if s in done else "") for s in self.steps]
        if self.field_seconds:
            lines += [f"  q_0_0_0 electric field: d/dk, then the 3 field directions with the {self.perturbations} "
                      f"displacements, one serial run, about {self.field_seconds / 60:.0f} min (Born charges, ε∞ and "
                      "the field response for the long-range part: dielectric.nc)"
                      + (" (done)" if "field" in done else "")]
        lines += [f"ABINIT dimensions: FFT grid {'×'.join(map(str, d.ngfft))}, {d.plane_waves} plane waves, "
                  f"{d.kpoints} k-points, {d.occupied} occupied spinor bands",
                  f"time: about {self.seconds_per_q / 60:.0f} min per q on {self.nproc} core(s), "
                  f"{self.seconds_per_q * len(todo) / 3600:.1f} h for the q to compute (estimate, factor ~2; "
                  "ground state not included)",
                  f"disk: {self.reduced_bytes_per_q / 1e6:.1f} MB per reduced q file (kept; Fourier coefficients "
                  f"to {self.field_ecut:g} Ha), ground-state "
                  f"wavefunctions {self.wavefunction_bytes / 1e9:.2f} GB, first-order wavefunctions "
                  f"{self.first_order_bytes_per_q / 1e9:.2f} GB per q while it is reduced",
                  f"memory: about {d.memory_mb:.0f} MB per ABINIT process (ABINIT's bound for the ground state)",
                  "the ground state is checked to be an insulator when it has run, before any DFPT"]
        return lines


def plan_kernel(job: KernelJob) -> KernelPlan:
    """The plan of ``job``; a PhonomagError naming the first reason the production could not succeed."""
    dims = ground_state_dimensions(job.atoms, job.settings)
    try:
        coefficients = len(sphere_gvectors(job.atoms.cell.array, [0, 0, 0], job.field_ecut_hartree, dims.ngfft))
    except ValueError as exc:
        raise PhonomagError(f"the kernel of {job.atoms.get_chemical_formula()} cannot be reduced: {exc} "
                            f"(ecut {job.settings.ecut:g} Ha gives ABINIT's FFT grid "
                            f"{'×'.join(map(str, dims.ngfft))}); no DFPT was started") from None
    natoms = len(job.atoms)
    perturbations = 3 * natoms
    core_seconds = perturbations * CORE_SECONDS_PER_UNIT * dims.kpoints * dims.occupied * dims.plane_waves
    side_by_side = max(1, min(job.nproc, perturbations))
    reduced = natoms * 3 * 4 * (coefficients * 8 + 16) + coefficients * 6  # coefficients (single precision, G of
    # q = 0), moments, the G (int16)
    wavefunctions = dims.kpoints * (dims.occupied + 4) * dims.plane_waves * _SPINOR_COEFFICIENT
    first_order = perturbations * dims.kpoints * dims.occupied * dims.plane_waves * _SPINOR_COEFFICIENT
    # the field run: the displacements and the three field directions (d/dk, non-self-consistent, is not counted)
    field_seconds = core_seconds * (perturbations + 3) / perturbations if job.field_response else 0.0
    return KernelPlan(tuple(tuple(int(n) for n in s) for s in job.steps), perturbations, dims, job.nproc,
                      float(core_seconds / side_by_side), int(reduced), int(wavefunctions), int(first_order),
                      job.field_ecut_hartree, float(field_seconds))


def done_steps(job: KernelJob) -> set:
    """Grid steps of ``job`` whose reduced file exists already (they are skipped on a resume), and "field" if the
    field file does."""
    done = {tuple(int(n) for n in s) for s in job.steps if job.target(s).is_file()}
    return done | ({"field"} if job.field_response and (Path(job.output) / FIELD_FILE).is_file() else set())
