"""Volume fields to XSF and Gaussian cube files (VESTA, OVITO, XCrySDen), written atomically.

One real 3D array per file: a Pauli component α of the response density (docs/physics.md),
either the time snapshot n^α(r, t) = Re[δñ^α(r) e^{i(q·r − ωt)}] over c₁×c₂ cells or
the modulus |δñ^α(r)| of the periodic amplitude (induced electrons 2 n⁰, spin
polarisation ⟨σ⟩ = 2 M; see :mod:`phonomag.response.fields`).

Units follow each format:

* cube (Gaussian's format, as QE's pp.x writes it): atomic units, lengths in bohr and
  values in electrons/bohr³, so Σ values × voxel volume (bohr³) is a number of electrons;
* XSF (XCrySDen): Å and the values as they are, electrons/Å³ (written with %e, nine
  significant digits).

Grid geometry: the points of :class:`~phonomag.response.fields.CellField` — fractional steps
a₁/n₁, a₂/n₂ from its first point and, along the third axis, the step between its first two
points: Δz ẑ for a layer (heights z_min to z_max inclusive), a₃/n₃ for a bulk cell (the whole
periodic cell). The cube file carries them exactly (origin the first point, voxel vectors the
three steps); the XSF file as a general grid with that origin and span vectors (N_i − 1) × step.
"""

from __future__ import annotations

from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.units import Bohr

from phonomag.io.atomic import write_atomically
from phonomag.response.fields import CellField

COMPONENTS = {"n0": 0, "mx": 1, "my": 2, "mz": 3}
QUANTITIES = ("snapshot", "abs")


def field_values(field: CellField, component: str, quantity: str = "snapshot", phase: float = 0.0,
                 cells: tuple[int, int] = (1, 1)) -> np.ndarray:
    """The real 3D array (c₁n₁, c₂n₂, n₃) written by :func:`write_field`, electrons/Å³."""
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {', '.join(COMPONENTS)}, got {component!r}")
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
    if field.amplitude.ndim != 4:
        raise ValueError("only volume fields (an engine's volume_field) can be written to XSF/cube")
    wave = field.wave(cells)
    alpha = COMPONENTS[component]
    return wave.at(phase)[alpha] if quantity == "snapshot" else np.abs(wave.bloch[alpha])


def write_field(path: Path, structure: Atoms, field: CellField, component: str = "mz",
                quantity: str = "snapshot", phase: float = 0.0, cells: tuple[int, int] = (1, 1)) -> Path:
    """Write one Pauli component of a volume field to ``path`` (.xsf or .cube); returns the path.

    component : "n0", "mx", "my" or "mz"; quantity : "snapshot" (Re[δñ e^{i(q·r − φ)}] at
    φ = ``phase`` rad) or "abs" (|δñ|); cells : in-plane repetitions (the snapshot is not
    cell periodic unless q is zero). The equilibrium structure of the same cells is included.
    """
    path = Path(path)
    fmt = {".xsf": "xsf", ".cube": "cube"}.get(path.suffix)
    if fmt is None:
        raise ValueError(f"unknown field file type {path.suffix!r}; use .xsf or .cube")
    values = field_values(field, component, quantity, phase, cells)
    n3 = values.shape[2]
    cell = field.cell
    corner = field.points[0, 0, 0]
    steps = np.array([cell[0] / field.points.shape[0], cell[1] / field.points.shape[1],
                      field.points[0, 0, 1] - corner])  # a layer's Δz ẑ; a bulk cell's a₃/n₃
    atoms = structure.repeat((cells[0], cells[1], 1))
    atoms.set_cell([cells[0] * cell[0], cells[1] * cell[1], n3 * steps[2]])
    origin = corner
    description = f"phonomag {quantity} of Pauli component {component} (phase {phase:.6g} rad)"

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            if fmt == "cube":
                ase.io.write(handle, atoms, format="cube", data=values * Bohr**3, origin=origin,
                             comment=f"{description}; electrons/bohr^3")
            else:
                handle.write(f"# {description}; electrons/Angstrom^3\n")
                ase.io.write(handle, atoms, format="xsf")
                span = (np.array(values.shape) - 1)[:, None] * steps
                _write_xsf_grid(handle, values, origin, span)

    return write_atomically(path, write, path.suffix)


def _write_xsf_grid(handle, values: np.ndarray, origin: np.ndarray, span: np.ndarray) -> None:
    """Append a DATAGRID_3D block (general grid, Å) with the values in %e (x fastest)."""
    rows = values.transpose(2, 1, 0).reshape(-1, values.shape[0])
    handle.write("BEGIN_BLOCK_DATAGRID_3D\n phonomag\n BEGIN_DATAGRID_3D_field\n")
    handle.write("  {} {} {}\n".format(*values.shape))
    for vector in (origin, *span):
        handle.write("  {:.10f} {:.10f} {:.10f}\n".format(*vector))
    np.savetxt(handle, rows, fmt="%.8e")
    handle.write(" END_DATAGRID_3D\nEND_BLOCK_DATAGRID_3D\n")
