"""The tight-binding response engine: a Slater–Koster spinor model and a k grid behind the engine protocol."""

from __future__ import annotations

import os
import time

import numpy as np

from phonomag.crystal.lattice_plane import LatticePlane
from phonomag.engines.base import EngineCapabilityError, PerQEngine
from phonomag.engines.tightbinding.fields import (
    cell_field,
    layer_height_range,
    mode_density_response,
    periodic_amplitude,
    plane_field,
    response_lattice_vectors,
)
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.engines.tightbinding.response import (
    energy_responses,
    fourier_responses,
    memory_estimate,
    orbital_response,
)
from phonomag.response.fields import CellField, in_plane_grid
from phonomag.response.modes import KINDS, PatternResponse


class TightBindingEngine(PerQEngine):
    """:class:`~phonomag.engines.base.ResponseEngine` of a :class:`TightBindingModel` with Brillouin-zone sums
    on ``kgrid``.

    Sum over states (docs/physics.md §2), batched over k; any q, any G, static or finite
    frequency, one-sided or full; site-resolved cell moments (on-site form factors).
    ``source``: where the model came from (model file), for the provenance.
    """

    name = "tight-binding"

    def __init__(self, model: TightBindingModel, kgrid: tuple[int, int, int], source: str = "",
                 q_threads: int | None = None):
        #: q-points side by side, one BLAS thread each (default: the cores this process may use)
        self.q_threads = q_threads or len(os.sched_getaffinity(0))
        self.model = model
        self.kgrid = tuple(int(n) for n in kgrid)
        self.atoms = model.atoms
        self.atom_labels = tuple(model.labels)
        self.source = source

    @classmethod
    def from_material(cls, spec, kgrid: tuple[int, int, int] = (24, 24, 1)) -> TightBindingEngine:
        """The engine of a material's model file (:class:`~phonomag.crystal.materials.MaterialSpec`), gap checked."""
        return cls(TightBindingModel.insulator_of(spec), kgrid, f"{spec.name} ({spec.source})")

    def cost_estimate(self, n_qpoints: int, n_fields: int, calibration: tuple[int, int, int] = (12, 12, 1)
                      ) -> tuple[int, float]:
        """(peak bytes, seconds) of ``n_qpoints`` cell-integrated responses and ``n_fields`` real-space
        mode fields on this engine's k grid. Memory: :func:`memory_estimate` per q, times the q-points
        computed side by side; time: both kinds of response timed on the small ``calibration`` grid
        now, scaled by the number of k-points (and the responses divided among the q threads)."""
        q = np.array([0.1, 0.2, 0.0])  # a generic q: no symmetry shortcut makes it cheaper
        start = time.perf_counter()
        fourier_responses(self.model, q, calibration, np.zeros((1, 3)))
        middle = time.perf_counter()
        if n_fields:
            mode_density_response(self.model, q, calibration, np.ones((len(self.atoms), 3)))
        end = time.perf_counter()
        scale = np.prod(self.kgrid) / np.prod(calibration)
        side_by_side = max(1, min(self.q_threads, n_qpoints))
        seconds = scale * (n_qpoints * (middle - start) / side_by_side + n_fields * (end - middle))
        memory = max(side_by_side * memory_estimate(self.model, self.kgrid), memory_estimate(self.model, self.kgrid,
                                                                                             maps=n_fields > 0))
        return memory, float(seconds)

    def provenance(self) -> dict[str, str]:
        """The k grid of the sums over states and the model file, for results.nc."""
        return {"engine": f"Slater–Koster spinor tight binding, sum over states on a {list(self.kgrid)} k grid",
                "model": self.source}

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise EngineCapabilityError(f"response kind {kind!r} is not one of {', '.join(KINDS)}")

    def pattern_response(self, q_reduced, kind: str = "one-sided", energy_ev: float = 0.0) -> PatternResponse:
        """Site-resolved response to the unit patterns at reduced q (electrons per cell per Å); ``energy_ev``:
        the phonon energy ħω of the finite-frequency response (0: static)."""
        self._check_kind(kind)
        if energy_ev:
            return energy_responses(self.model, q_reduced, self.kgrid, (energy_ev,), kind)[0]
        return fourier_responses(self.model, q_reduced, self.kgrid, np.zeros((1, 3)), kind)[0]

    def frequency_responses(self, q_reduced, energies_ev) -> list[PatternResponse]:
        """Full responses at several ħω (eV) at one q, bands shared."""
        return energy_responses(self.model, q_reduced, self.kgrid, tuple(energies_ev), "full")

    def fourier_response(self, q_reduced, g_reduced, kind: str = "one-sided") -> np.ndarray:
        """∫_cell ñ^β e^{−iG·r} d³r (nG, natoms, 3, 4) of the unit patterns for reduced G (nG, 3), electrons per
        cell per Å."""
        self._check_kind(kind)
        responses = fourier_responses(self.model, q_reduced, self.kgrid, g_reduced, kind)
        return np.stack([r.tensor.sum(axis=2) for r in responses])

    def plane_field(self, q_reduced, displacements, plane: LatticePlane, points: int,
                    kind: str = "one-sided") -> CellField:
        """δñ^α on the lattice ``plane``, points × points per plane cell, for displacements (natoms, 3) Å (Slater
        orbitals)."""
        self._check_kind(kind)
        lattice, density = mode_density_response(self.model, q_reduced, self.kgrid, displacements, kind)
        return plane_field(self.model, q_reduced, density, lattice, plane, points)

    def volume_field(self, q_reduced, displacements, shape, kind: str = "one-sided") -> CellField:
        """δñ^α on a (n₁, n₂, n₃) grid of one cell for displacements (natoms, 3) Å (Slater orbitals)."""
        self._check_kind(kind)
        lattice, density = mode_density_response(self.model, q_reduced, self.kgrid, displacements, kind)
        return cell_field(self.model, q_reduced, density, lattice, shape=tuple(shape))

    def pattern_fields(self, q_reduced, layers: tuple, points: int, kind: str = "one-sided",
                       integral_heights: int = 48) -> np.ndarray:
        """Fields of the unit patterns (natoms, 3, nlayers, 4, points, points) on the in-plane grid j/points:
        a height z (Å) gives δñ^α there (electrons/Å³ per Å); ``None`` the z integral over the layer's
        orbitals (electrons/Å² per Å; rectangle rule on ``integral_heights`` heights, the integrand
        vanishes at both ends, as :meth:`~phonomag.response.fields.CellField.cell_integral`)."""
        self._check_kind(kind)
        lattice = response_lattice_vectors(self.model)
        response = orbital_response(self.model, np.asarray(q_reduced, float), self.kgrid, lattice, kind)
        grid = in_plane_grid(self.atoms.cell.array, (points, points))
        z_min, z_max = layer_height_range(self.model)
        heights = np.linspace(z_min, z_max, integral_heights)
        natoms = len(self.atoms)
        out = np.zeros((natoms, 3, len(layers), 4, points, points), dtype=complex)
        for k in range(natoms):
            for beta in range(3):
                for index, height in enumerate(layers):
                    z = heights if height is None else np.array([height])
                    where = grid[:, :, None, :] + z[None, None, :, None] * np.array([0.0, 0.0, 1.0])
                    values = periodic_amplitude(self.model, q_reduced, response[:, k, beta], lattice, where)
                    step = (z_max - z_min) / (integral_heights - 1) if height is None else 1.0
                    out[k, beta, index] = values.sum(axis=-1) * step
        return out
