"""The response-engine protocol, and the one loop that turns an engine and phonon modes into a ModeResponse.

An engine knows the electrons of one material: for a phonon wavevector q it returns
the charge–spin response to the unit displacement patterns u_κ(R) = ε̂_α e^{iq·(R+τ_κ)}
(1 Å, docs/physics.md §10, §11), cell-integrated (:meth:`ResponseEngine.pattern_response`),
as Fourier components at q + G (:meth:`ResponseEngine.fourier_response`), and in real
space for given displacements (:meth:`ResponseEngine.plane_field`,
:meth:`ResponseEngine.volume_field`). Nothing downstream knows which engine it is
(cf. ASE's Calculator protocol). Engines that cannot do something (another kind, a
finite frequency, a q they were not computed at) raise :class:`EngineCapabilityError`.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ContextDecorator
from dataclasses import replace
from typing import Protocol, runtime_checkable

import numpy as np
from ase import Atoms
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.lattice_plane import LatticePlane, strongest_spin_orbit_atom
from phonomag.errors import PhonomagError
from phonomag.phonons.amplitudes import mode_displacements
from phonomag.response.fields import CellField, ModeFields
from phonomag.response.modes import ModeResponse, PatternResponse
from phonomag.response.observables import longitudinal_directions
from phonomag.response.selection_rules import allowed_components
from phonomag.response.structure_factor import ScatteringAmplitudes, fold_to_zone


class EngineCapabilityError(PhonomagError):
    """The engine cannot evaluate what was asked (kind, frequency, q-point, field)."""


class _OneBlasThread(ContextDecorator):
    """One BLAS thread while any caller, in any thread, is inside; the original limits after the last leaves.

    Kernels that multiply and diagonalise many small matrices (the tight-binding engine's, n ≈ 22)
    lose more to a second BLAS thread's synchronisation than they gain, so they run with one,
    and independent q-points run side by side in threads instead (:attr:`PerQEngine.q_threads`).
    OpenBLAS's thread count is process-wide and threadpoolctl lets only the thread that set a
    limit change it again, so the limit is counted across threads, and :meth:`PerQEngine._map_q`
    holds it in the calling thread while its workers run.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._inside = 0
        self._limits = None
        self._controller = None  # found once: scanning the loaded libraries costs milliseconds

    def __enter__(self):
        with self._lock:
            if self._inside == 0:
                self._controller = self._controller or ThreadpoolController()
                self._limits = self._controller.limit(limits=1, user_api="blas")
            self._inside += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                self._limits.__exit__(*exc)  # restores the limits, releases threadpoolctl's ownership
        return False


single_blas_thread = _OneBlasThread()


@runtime_checkable
class ResponseEngine(Protocol):
    """What every response engine provides (see the module docstring).

    name: short engine name written into every output ("tight-binding", "abinit-dfpt");
    atoms: the structure (Å); atom_labels: one label per atom; kgrid: k grid of the
    Brillouin-zone sums.
    """

    name: str
    atoms: Atoms
    atom_labels: tuple[str, ...]
    kgrid: tuple[int, int, int]

    def provenance(self) -> dict[str, str]:
        """What produced the numbers (model file or DFPT settings), for the files."""

    def pattern_response(self, q_reduced: np.ndarray, kind: str = "one-sided",
                         energy_ev: float = 0.0) -> PatternResponse:
        """Cell-integrated, site-resolved response to the unit patterns at q (electrons per cell per Å).

        energy_ev: ħω of the perturbation e^{−iωt} (0: static, adiabatic).
        """

    def pattern_responses(self, qpoints: np.ndarray, kind: str = "one-sided",
                          progress: bool = True) -> list[PatternResponse]:
        """The static pattern responses at many q (nq, 3) (:class:`PerQEngine` loops; an engine may batch)."""

    def fourier_response(self, q_reduced: np.ndarray, g_reduced: np.ndarray,
                         kind: str = "one-sided") -> np.ndarray:
        """∫_cell ñ^β_{q,κα}(r) e^{−iG·r} d³r (nG, natoms, 3, 4) for the unit patterns, electrons per cell per Å.

        g_reduced (nG, 3) integers; G = 0 is the cell moment.
        """

    def fourier_responses(self, qpoints: np.ndarray, g_lists: list, kind: str = "one-sided",
                          progress: bool = True) -> list[np.ndarray]:
        """:meth:`fourier_response` at many q (nq, 3), each with its own G (nG_i, 3) (:class:`PerQEngine` maps)."""

    def plane_field(self, q_reduced: np.ndarray, displacements: np.ndarray, plane: LatticePlane, points: int,
                    kind: str = "one-sided") -> CellField:
        """δñ^α on the lattice ``plane`` over one of its cells, points × points, for displacements (natoms, 3) Å."""

    def check_plane(self, plane: LatticePlane) -> None:
        """An :class:`EngineCapabilityError` unless :meth:`plane_field` can give ``plane``; the run asks before
        anything is written."""

    def volume_field(self, q_reduced: np.ndarray, displacements: np.ndarray, shape: tuple[int, int, int],
                     kind: str = "one-sided") -> CellField:
        """δñ^α on a volume grid of one cell (n₁, n₂ in plane, n₃ heights over the layer)."""


class PerQEngine:
    """Engines that evaluate one q at a time: :meth:`pattern_responses` and :meth:`fourier_responses` map over
    q with a progress bar, in :attr:`q_threads` threads side by side."""

    #: q-points computed at once, in threads: engines whose per-q work runs in numpy/BLAS (releasing the
    #: GIL) and is safe to run concurrently set more than one.
    q_threads: int = 1

    def check_plane(self, plane: LatticePlane) -> None:
        """Every plane: the engine computes the plane it is asked for (:meth:`ResponseEngine.check_plane`)."""

    def _map_q(self, function, items: list, desc: str, progress: bool) -> list:
        """[function(item) for item in items], in :attr:`q_threads` threads, in order."""
        # disable=None: a bar on terminals, silent in logs and pipes
        with tqdm(total=len(items), desc=desc, unit="q", disable=None if progress else True) as bar:
            if self.q_threads <= 1 or len(items) < 2:
                results = []
                for item in items:
                    results.append(function(item))
                    bar.update()
                return results
            with single_blas_thread:
                pool = ThreadPoolExecutor(min(self.q_threads, len(items)))
                try:
                    futures = [pool.submit(function, item) for item in items]
                    for future in as_completed(futures):
                        future.result()  # the first error at once
                        bar.update()
                    return [future.result() for future in futures]
                finally:  # on an error or Ctrl-C the queued q-points are dropped, the running ones finish
                    pool.shutdown(wait=True, cancel_futures=True)

    def pattern_responses(self, qpoints, kind: str = "one-sided", progress: bool = True) -> list[PatternResponse]:
        """:meth:`ResponseEngine.pattern_response` at each of the reduced q-points (nq, 3)."""
        return self._map_q(lambda q: self.pattern_response(q, kind), list(np.atleast_2d(qpoints)), "response",
                           progress)

    def fourier_responses(self, qpoints, g_lists, kind: str = "one-sided", progress: bool = True) -> list[np.ndarray]:
        """:meth:`ResponseEngine.fourier_response` at each q (nq, 3) for its own G (a list of (nG, 3))."""
        return self._map_q(lambda item: self.fourier_response(item[0], item[1], kind),
                           list(zip(np.atleast_2d(qpoints), g_lists, strict=True)), "S(Q,ω) response", progress)


class StaticCellEngine(PerQEngine):
    """Engines of the static one-sided response without a site decomposition (first principles): the cell
    moment is the G = 0 component of ``fourier_response`` over one site, "cell"."""

    name: str

    def check_static_one_sided(self, kind: str, energy_ev: float = 0.0) -> None:
        """An :class:`EngineCapabilityError` unless ``kind`` is one-sided and the perturbation static."""
        if kind != "one-sided" or energy_ev:
            raise EngineCapabilityError(f"the {self.name} engine gives the static one-sided response only, not "
                                        f"{kind!r}" + (f" at {energy_ev:g} eV" if energy_ev else ""))

    @staticmethod
    def in_plane_g(g_reduced) -> np.ndarray:
        """G (nG, 3) as integers; an error for G₃ ≠ 0 (a layer's fields are kept in plane)."""
        g = np.atleast_2d(np.asarray(g_reduced)).astype(int)
        if np.any(g[:, 2] != 0):
            raise EngineCapabilityError("Fourier components are available for in-plane G only (G3 = 0)")
        return g

    def pattern_response(self, q_reduced, kind: str = "one-sided", energy_ev: float = 0.0) -> PatternResponse:
        self.check_static_one_sided(kind, energy_ev)
        tensor = self.fourier_response(q_reduced, np.zeros((1, 3), int), kind)[0]
        return PatternResponse(np.asarray(q_reduced, float), kind, tensor[:, :, None, :], ("cell",))


def compute_mode_response(engine: ResponseEngine, modes, kind: str = "one-sided",
                          amplitude: str | float = "zero-point", phonon_source: str = "",
                          progress: bool = True) -> ModeResponse:
    """Response of every mode of ``modes`` (PhononModes) from ``engine``: the pattern responses at all q."""
    displacements = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, amplitude)
    patterns = engine.pattern_responses(modes.qpoints, kind, progress)
    result = ModeResponse.from_patterns(modes, displacements, patterns, engine.atom_labels, amplitude, engine.kgrid,
                                        engine.name, {**engine.provenance(), "phonons": phonon_source}, kind)
    crystal = Crystal.from_atoms(engine.atoms)
    allowed = allowed_components(crystal, result.qpoints, result.frequencies, displacements)
    return replace(result, allowed=allowed, q_directions=split_directions(crystal, result.qpoints))


def split_directions(crystal: Crystal, qpoints) -> np.ndarray | None:
    """q̂ (nq, 3) that splits a bulk crystal's M along and across q; None for a layer (in and out of plane)."""
    return longitudinal_directions(qpoints, crystal.reciprocal) if crystal.dimension == 3 else None


def compute_mode_fields(engine: ResponseEngine, q_reduced, frequency: float, displacements, nu: int,
                        plane: LatticePlane | None = None, points: int = 48, kind: str = "one-sided",
                        volume_shape: tuple[int, int, int] | None = None) -> ModeFields:
    """The fields of mode ν that the outputs draw: δñ^α on the lattice ``plane`` (default: the a₁a₂ plane, a
    layer's own, through the heaviest atom), ``points`` × ``points`` per plane cell, and, with ``volume_shape``
    (n₁, n₂, n₃), on that volume grid; ``displacements`` (natoms, 3) Å, ``frequency`` ħω in meV."""
    u = np.asarray(displacements)
    if plane is None:
        plane = LatticePlane.through(engine.atoms, (0, 0, 1), strongest_spin_orbit_atom(engine.atoms))
    field = engine.plane_field(q_reduced, u, plane, points, kind)
    volume = None if volume_shape is None else engine.volume_field(q_reduced, u, tuple(volume_shape), kind)
    return ModeFields(engine.name, engine.atoms, tuple(engine.atom_labels), np.asarray(q_reduced, float),
                      float(frequency), int(nu), u, plane, field, volume)



def compute_q_fields(engine: ResponseEngine, data: ModeResponse, iq: int, plane: LatticePlane | None = None,
                     points: int = 48, kind: str = "one-sided") -> list[ModeFields]:
    """:func:`compute_mode_fields` of every mode ν of ``data`` (a :class:`ModeResponse`, e.g. results.nc read
    back) at its q-point ``iq``, with the frequencies (meV) and displacements (Å) it holds: δñ^α on the lattice
    ``plane`` (default as there), ``points`` × ``points`` per plane cell; the list is ordered by ν."""
    return [compute_mode_fields(engine, data.qpoints[iq], data.frequencies[iq, nu], data.displacements[iq, nu],
                                nu, plane, points, kind) for nu in range(data.frequencies.shape[1])]

def compute_finite_frequency_response(engine, modes, amplitude: str | float = "zero-point",
                                      phonon_source: str = "", progress: bool = True) -> ModeResponse:
    """Full (N⁺ + N⁻) response of every mode at its own frequency, ħω = ħω_qν (docs/physics.md §6.2).

    The static full response has no net magnetization; at finite ω the two halves have
    denominators ε_v − ε_c ± ħω and a magnetization odd in ω survives. Its ratio to the
    one-sided value measures how much of the paper's N⁺ magnetization is a net physical one.
    Needs an engine with ``frequency_responses(q, energies_ev)`` (the tight-binding engine).
    """
    if not hasattr(engine, "frequency_responses"):
        raise EngineCapabilityError(f"the {engine.name} engine has no finite-frequency response")
    displacements = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, amplitude)
    site = []
    for iq in tqdm(range(len(modes.qpoints)), desc="ω-response", unit="q", disable=None if progress else True):
        energies = tuple(np.maximum(modes.frequencies[iq], 0.0) * 1e-3)
        responses = engine.frequency_responses(modes.qpoints[iq], energies)
        site.append([r.for_displacements(u) for r, u in zip(responses, displacements[iq], strict=True)])
    return ModeResponse(np.asarray(modes.qpoints), np.asarray(modes.frequencies), np.asarray(modes.parity),
                        displacements, np.array(site), tuple(engine.atom_labels), responses[0].site_labels,
                        "full, ħω = ħω_qν", amplitude, tuple(engine.kgrid), engine.name,
                        {**engine.provenance(), "phonons": phonon_source},
                        q_directions=split_directions(Crystal.from_atoms(engine.atoms), modes.qpoints))


def compute_scattering_amplitudes(engine: ResponseEngine, phonons, Q: np.ndarray, kind: str = "one-sided",
                                  amplitude: str | float = "zero-point", progress: bool = True) -> ScatteringAmplitudes:
    """δñ^α_qν(G) and ω_qν for every Q (n, 3) reduced; one engine call per distinct q (all its G at once).

    phonons: anything with ``modes(qpoints)`` (a phonon model); kind, amplitude: as
    :func:`compute_mode_response`.
    """
    q, G = fold_to_zone(Q)
    _, first, group = np.unique(np.round(q, 8), axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    modes = phonons.modes(q[first])
    u = mode_displacements(modes.frequencies, modes.eigenvectors, modes.masses, amplitude)
    result = np.zeros((len(q), modes.frequencies.shape[1], 4), dtype=complex)
    members = [np.flatnonzero(group == i) for i in range(len(first))]
    tensors = engine.fourier_responses(modes.qpoints, [G[m] for m in members], kind, progress)  # (nG, κ, α, 4) each
    for i, (m, t) in enumerate(zip(members, tensors, strict=True)):
        result[m] = np.einsum("nka,gkab->gnb", u[i], t)
    return ScatteringAmplitudes(np.atleast_2d(np.asarray(Q, dtype=float)), modes.qpoints[group], G,
                                modes.frequencies[group], modes.parity[group], result)
