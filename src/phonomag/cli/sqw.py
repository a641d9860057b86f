"""Workflow "what experiments see": S^{αβ}(Q, ω) along a path of Q = q + G_shift, and on a Q plane.

Writes ``sqw.nc`` (xarray/NetCDF, units as attributes, complex values as a trailing
``part`` = (real, imag) dimension) and the figures ``sqw_maps``, ``sqw_cuts`` and, with a
plane, ``sqw_plane`` (PNG + PDF) as one stage of the output folder (:mod:`phonomag.cli.stages`);
returns the summary lines. Conventions: :mod:`phonomag.response.structure_factor`.

Four parts: :func:`compute_sqw` (the engine's amplitudes and S on the ω grid), :func:`plot_sqw` (the
figures), :func:`sqw_dataset` (the sqw.nc layout) and :func:`summary_lines`; :func:`sqw_overview` chooses
the engine and runs them as the stage.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import xarray as xr

from phonomag import __version__
from phonomag.cli.config import RunConfig
from phonomag.cli.engines import Capability, fingerprint, select, with_capability
from phonomag.cli.run_state import digest
from phonomag.cli.stages import Made, Stage, output_folder
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import qpoint_label
from phonomag.engines.base import EngineCapabilityError, ScatteringAmplitudes, compute_scattering_amplitudes
from phonomag.io.cf_metadata import DIMENSIONLESS, finish, path_coordinates, path_point_labels
from phonomag.io.netcdf import split_complex, write_dataset
from phonomag.response.modes import COMPONENTS, VARIABLE_ATTRS
from phonomag.response.structure_factor import (
    QPlane,
    Sectors,
    bose_parts,
    detailed_balance_residual,
    dynamic_structure_factor,
    plane_sectors,
    sectors,
)

#: S is (electrons per unit cell)² per meV; the count is dimensionless, so the units string is meV^-1.
S_UNITS = "meV^-1"
S_UNITS_TEXT = "(electrons per cell)^2 / meV"
#: ω-grid steps per FWHM of the broadened line.
STEPS_PER_WIDTH = 6
SQW_CONVENTIONS = (
    "S^ab(Q,w) = sum_nu [1+f_B(w_nu)] n^a n^b* D(w - w_nu) + f_B(w_nu) n^a* n^b D(w + w_nu) (paper eq. 5); "
    "n^a = int_cell dn^a(r) exp(-iG.r) d3r of the one-sided response, electrons per cell, a = 0,x,y,z (Pauli); "
    "zero-point amplitudes; Q = q + G with q = Q - floor(Q + 1/2) (reduced); hbar w = energy transfer to the "
    "sample (> 0 phonon created); D normalised, width = FWHM (Gaussian sigma = FWHM/2.3548, Lorentzian HWHM = "
    "FWHM/2), Gaussian resolution (FWHM) convolved in; detailed balance S^ab(-w) = exp(-hbar w/kT) S^ab(w)* for "
    "delta lines, exact per mode with exp(-hbar w_nu/kT) for broadened lines"
)


def _omega_grid(frequencies: np.ndarray, width: float, resolution: float, omega_max: float | None) -> np.ndarray:
    """Energy transfers symmetric about 0 (meV), a step of FWHM/STEPS_PER_WIDTH or finer."""
    fwhm = np.hypot(width, resolution)
    top = omega_max or np.ceil(1.1 * frequencies.max() + 3 * fwhm)
    n = int(np.ceil(top / (fwhm / STEPS_PER_WIDTH)))
    return np.linspace(-top, top, 2 * n + 1)


def _s_attrs(name: str) -> dict[str, str]:
    """CF attributes of a dynamic structure factor variable."""
    return {"units": S_UNITS, "long_name": f"{name}, {S_UNITS_TEXT}"}


def _sector_variables(sec: Sectors, dims: tuple[str, ...]) -> dict[str, xr.DataArray]:
    return {
        "S_charge": xr.DataArray(sec.charge, dims=dims, attrs=_s_attrs("S^00")),
        "S_spin_trace": xr.DataArray(sec.spin_trace, dims=dims, attrs=_s_attrs("sum_a S^aa")),
        "S_spin": xr.DataArray(split_complex(sec.spin), dims=(*dims, "a", "b", "part"),
                               attrs=_s_attrs("S^ab, a, b = x, y, z (Hermitian)")),
        "S_charge_spin": xr.DataArray(split_complex(sec.charge_spin), dims=(*dims, "a", "part"),
                                      attrs=_s_attrs("S^0a (S^a0 = conjugate)")),
    }


def _plane_geometry(plane: QPlane, reciprocal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cartesian cell corners (nh+1, nk+1, 2) around the plane's Q, the zone centres in view, and the
    view: the largest axis-aligned rectangle inside the sampled parallelogram, [[x0, x1], [y0, y1]]."""
    h, k = plane.axes()
    half = 0.5 / plane.divisions
    edges_h = np.append(h - half, h[-1] + half)
    edges_k = np.append(k - half, k[-1] + half)
    hh, kk = np.meshgrid(edges_h, edges_k, indexing="ij")
    b = reciprocal[:2, :2]
    corners = hh[..., None] * b[0] + kk[..., None] * b[1]
    # a centred rectangle of half sides (X, Y) fits if |a_i| X + |c_i| Y ≤ 1 for both rows (a_i, c_i)
    # of the inverse of the parallelogram's half-side vectors; maximise X·Y over the candidates
    span = np.array([(edges_h[-1] - edges_h[0]) / 2 * b[0], (edges_k[-1] - edges_k[0]) / 2 * b[1]]).T
    rows = np.abs(np.linalg.inv(span))
    candidates = [1 / (2 * rows[i]) for i in range(2)] + [np.linalg.solve(rows, np.ones(2))]
    fits = [c for c in candidates if np.all(rows @ c <= 1 + 1e-9)]
    half_sides = max(fits, key=np.prod)
    centre = (edges_h[0] + edges_h[-1]) / 2 * b[0] + (edges_k[0] + edges_k[-1]) / 2 * b[1]
    view = np.stack([centre - half_sides, centre + half_sides], axis=-1)
    m1, m2 = np.meshgrid(np.arange(np.floor(h[0]) - 1, np.ceil(h[-1]) + 2),
                         np.arange(np.floor(k[0]) - 1, np.ceil(k[-1]) + 2), indexing="ij")
    centres = m1.ravel()[:, None] * b[0] + m2.ravel()[:, None] * b[1]
    return corners, centres, view


def _response_engine(config: RunConfig, spec, choice: str, g_shift: np.ndarray, own_phonons: bool):
    """(the engine of ``choice``, its phonons, a line saying which and why or None, its registered name) for
    S(Q, ω) along Q = q + ``g_shift`` (:func:`~phonomag.cli.engines.select`: Fourier components at any q, at
    out-of-plane G when G₃ ≠ 0; "auto" takes the shipped first-principles kernel where it can).
    ``own_phonons``: the engine's own phonons (it must have them)."""
    needs = {Capability.STATIC_ONE_SIDED: "the static one-sided response", Capability.ANY_Q: "any q"}
    if g_shift[2] == 0:
        needs[Capability.FOURIER_IN_PLANE] = "Fourier components"
    else:
        needs[Capability.FOURIER_ANY_G] = f"G = {qpoint_label(g_shift)} with an out-of-plane component"
    chosen = select(choice, config, spec, needs)
    engine = chosen.engine or chosen.entry.build(config, spec, None)
    if own_phonons and not chosen.entry.can(Capability.OWN_PHONONS):
        raise EngineCapabilityError(f"--phonons kernel needs {with_capability(Capability.OWN_PHONONS)}; the "
                                    f"engine is {engine.name}" + (f" ({chosen.why})" if chosen.why else ""))
    return engine, chosen.entry.phonons(config, spec, engine), chosen.why, chosen.entry.name


@dataclasses.dataclass(frozen=True)
class LineOptions:
    """How the lines are drawn: temperature (K), width (line FWHM, meV), resolution (Gaussian FWHM, meV),
    omega_max (largest |ħω| of the grid, meV; None: 1.1 × the highest phonon + 3 FWHM) and shape
    ("gaussian" or "lorentzian")."""

    temperature: float = 300.0
    width: float = 0.5
    resolution: float = 0.0
    omega_max: float | None = None
    shape: str = "gaussian"

    def text(self) -> str:
        return f"T = {self.temperature:g} K, {self.shape} FWHM {self.width:g} meV"


@dataclasses.dataclass(frozen=True)
class PathSqw:
    """S(Q, ω) along the path: the amplitudes, the ω grid (meV), the sectors (Q, ω), the path's distances,
    ticks and tick labels, the cuts (labels and Q indices at the path's corners) with their detailed-balance
    residual, and the Cartesian axis a of the largest Re S^{0a}."""

    data: ScatteringAmplitudes
    omega: np.ndarray
    sectors: Sectors
    distances: np.ndarray
    ticks: list
    tick_labels: list
    cut_labels: list
    cut_index: list
    balance: float
    cross_axis: int


@dataclasses.dataclass(frozen=True)
class PlaneSqw:
    """S(Q, ħω₀) on a Q plane: the plane, its sectors (h, k) and the Cartesian axis of the largest Re S^{0a}."""

    plane: QPlane
    sectors: Sectors
    cross_axis: int


def compute_sqw(engine, phonons, spec, path_labels: tuple[str, ...] | None, npoints: int, g_shift: np.ndarray,
                lines: LineOptions, plane: QPlane | None) -> tuple[PathSqw, PlaneSqw | None]:
    """S(Q, ω) along Q = q + ``g_shift`` (q on the path through ``path_labels``, default the crystal's standard
    path) and, if given, on ``plane``."""
    qpoints, distances, ticks, tick_labels = path_from_labels(spec.crystal, path_labels, npoints=npoints)
    data = compute_scattering_amplitudes(engine, phonons, qpoints + g_shift)
    omega = _omega_grid(data.frequencies, lines.width, lines.resolution, lines.omega_max)
    sec = sectors(dynamic_structure_factor(data.amplitudes, data.frequencies, omega, lines.temperature, lines.width,
                                           lines.shape, lines.resolution))
    # cuts at the distinct corners of the path
    corner_index = {label: int(np.argmin(np.abs(distances - t))) for t, label in zip(ticks, tick_labels, strict=True)}
    cut_index = list(corner_index.values())
    stokes, anti = bose_parts(data.amplitudes[cut_index], data.frequencies[cut_index], omega, lines.temperature,
                              lines.width, lines.shape, lines.resolution)
    balance = detailed_balance_residual(stokes, anti, omega, data.frequencies[cut_index], lines.temperature)
    path = PathSqw(data, omega, sec, distances, list(ticks), list(tick_labels), list(corner_index), cut_index,
                   balance, int(np.argmax(np.abs(sec.charge_spin.real).max(axis=(0, 1)))))
    if plane is None:
        return path, None
    plane_sec = plane_sectors(compute_scattering_amplitudes(engine, phonons, plane.points()), plane,
                              lines.temperature, lines.width, lines.shape, lines.resolution)
    return path, PlaneSqw(plane, plane_sec, int(np.argmax(np.abs(plane_sec.charge_spin.real).max(axis=(0, 1)))))


def plot_sqw(spec, engine_name: str, path: PathSqw, plane: PlaneSqw | None, g_text: str, lines: LineOptions,
             output: Path) -> list[Path]:
    """The figures sqw_maps, sqw_cuts and (with a plane) sqw_plane (PNG + PDF) in ``output``."""
    from phonomag.outputs.plotting.sqw import plot_sqw_cuts, plot_sqw_maps, plot_sqw_plane

    sec, axis, cut = path.sectors, path.cross_axis, path.cut_index
    title = (f"{spec.name} ({engine_name} engine): S(Q, ω) along Q = q + G, G = {g_text}; {lines.text()}"
             + (f", resolution {lines.resolution:g} meV" if lines.resolution else ""))
    files = plot_sqw_maps(path.distances, path.omega, sec.charge, sec.spin_trace, sec.charge_spin[..., axis].real,
                          axis, path.ticks, path.tick_labels, output / "sqw_maps", title)
    files += plot_sqw_cuts(path.omega, path.cut_labels, sec.charge[cut], sec.spin_trace[cut],
                           sec.charge_spin[cut, :, axis].real, axis, output / "sqw_cuts", title)
    if plane is not None:
        reciprocal = 2 * np.pi * np.asarray(spec.atoms.cell.reciprocal())
        corners, centres, view = _plane_geometry(plane.plane, reciprocal)
        s, axis = plane.sectors, plane.cross_axis
        files += plot_sqw_plane(corners, s.charge, s.spin_trace, s.charge_spin[..., axis].real, axis, centres,
                                spec.crystal.zone_outline(), view, output / "sqw_plane",
                                f"{spec.name} ({engine_name} engine): S(Q, ħω = {plane.plane.omega:g} meV), "
                                f"Q = h b1 + k b2; {lines.text()}")
    return files


def sqw_dataset(path: PathSqw, plane: PlaneSqw | None, attrs: dict) -> xr.Dataset:
    """The layout of sqw.nc: the amplitudes, frequencies, parities and sectors along the path (and on the
    plane), CF coordinates and units; ``attrs``: the global attributes of the run."""
    data = path.data
    variables = {
        "frequency": xr.DataArray(data.frequencies, dims=("Q", "mode"), attrs=dict(VARIABLE_ATTRS["frequency"])),
        "parity": xr.DataArray(data.parity, dims=("Q", "mode"), attrs=dict(VARIABLE_ATTRS["parity"])),
        "amplitude": xr.DataArray(split_complex(data.amplitudes), dims=("Q", "mode", "component", "part"),
                                  attrs={"units": DIMENSIONLESS,
                                         "long_name": "dn^a_q,nu(G) (electrons per unit cell, zero-point)"}),
        **_sector_variables(path.sectors, ("Q", "omega")),
    }
    reduced = {"units": DIMENSIONLESS}
    distances = path.distances
    along = path_coordinates("Q", data.q, distances, path_point_labels(distances, path.ticks, path.tick_labels))
    coords = {"Q": ("Q", np.arange(len(distances))),
              "Q_reduced": (("Q", "reduced"), data.Q, {**reduced, "long_name": "scattering vector Q = q + G, reduced"}),
              "q_reduced": (("Q", "reduced"), data.q, {**reduced, "long_name": "phonon wavevector q, reduced"}),
              "G_reduced": (("Q", "reduced"), data.G, {**reduced, "long_name": "reciprocal lattice vector G, reduced"}),
              "path_distance": along["path_distance"], "label": along["label"],
              "omega": ("omega", path.omega, {"units": "meV", "long_name": "energy transfer hbar omega"}),
              "mode": np.arange(data.frequencies.shape[1]), "component": list(COMPONENTS),
              "reduced": ["b1", "b2", "b3"], "a": list("xyz"), "b": list("xyz"), "part": ["real", "imag"]}
    attrs = dict(attrs)
    if plane is not None:
        h, k = plane.plane.axes()
        variables.update({f"plane_{name}": value
                          for name, value in _sector_variables(plane.sectors, ("h", "k")).items()})
        coords.update(h=("h", h, {**reduced, "long_name": "Q = h b1 + k b2: h"}),
                      k=("k", k, {**reduced, "long_name": "Q = h b1 + k b2: k"}))
        attrs["plane_omega_meV"] = float(plane.plane.omega)
    dataset = finish(xr.Dataset(variables, coords=coords, attrs=attrs),
                     "phonomag: charge-spin dynamic structure factor S(Q, omega)")
    for variable in dataset.data_vars.values():
        variable.encoding.update(zlib=True, complevel=4)
    return dataset


def summary_lines(spec, engine, phonons, choice: str | None, path: PathSqw, plane: PlaneSqw | None, g_text: str,
                  lines: LineOptions) -> list[str]:
    """The printed summary of S(Q, ω): what was computed, with which engine, and its largest values."""
    sec, omega, axis = path.sectors, path.omega, path.cross_axis
    d_omega = omega[1] - omega[0]
    weight = {name: values.sum() * d_omega / len(path.distances)
              for name, values in (("charge", sec.charge), ("spin", sec.spin_trace))}
    result = [
        f"material        {spec.name}; path {'–'.join(path.tick_labels)} + G = {g_text}, {len(path.distances)} Q, "
        f"engine {engine.name}, k grid {'×'.join(map(str, engine.kgrid))}",
        *([f"                {choice}"] if choice else []),
        f"phonons         {phonons.description}",
        f"lines           {lines.shape}, FWHM {lines.width:g} meV, resolution {lines.resolution:g} meV; "
        f"T = {lines.temperature:g} K; ħω grid ±{omega[-1]:g} meV, {len(omega)} points",
        f"units           S in {S_UNITS_TEXT}; amplitudes in electrons per cell (zero-point)",
        f"mean ∫S dω      charge {weight['charge']:.3e}, spin trace {weight['spin']:.3e} (ratio "
        f"{weight['spin'] / weight['charge']:.2e}) (electrons per cell)^2",
        f"largest         S00 {sec.charge.max():.3e}, ΣSaa {sec.spin_trace.max():.3e}, "
        f"|Re S0{'xyz'[axis]}| {np.abs(sec.charge_spin[..., axis].real).max():.3e}, "
        f"|S0a| in plane {np.abs(sec.charge_spin[..., :2]).max():.1e}",
        f"detailed bal.   per-mode Bose parts at {', '.join(path.cut_labels)}: residual {path.balance:.1e}",
    ]
    if plane is not None:
        h, k = plane.plane.axes()
        result.append(f"plane           ħω = {plane.plane.omega:g} meV, {len(h)}×{len(k)} Q; max S00 "
                      f"{plane.sectors.charge.max():.3e}, max ΣSaa {plane.sectors.spin_trace.max():.3e} "
                      f"{S_UNITS_TEXT}")
    return result


def sqw_overview(
    material: str | Path,
    output: Path,
    path_labels: tuple[str, ...] | None = None,
    npoints: int = 121,
    g_shift: tuple[int, int, int] = (0, 0, 0),
    kgrid: tuple[int, int, int] = (18, 18, 1),
    temperature: float = 300.0,
    width: float = 0.5,
    resolution: float = 0.0,
    omega_max: float | None = None,
    plane: QPlane | None = None,
    shape: str = "gaussian",
    engine_choice: str = "auto",
    phonon_choice: str = "material",
) -> list[str]:
    """S^{αβ}(Q, ω) along Q = q + G_shift (q on the path through ``path_labels``, default the crystal's standard
    path), and optionally on a plane.

    temperature in K; width (line FWHM), resolution (Gaussian FWHM) and omega_max (largest
    |ħω| of the grid; default 1.1 × the highest phonon + 3 FWHM) in meV; g_shift in reduced
    coordinates (integers); shape "gaussian" or "lorentzian"; engine_choice "auto" (the shipped
    first-principles kernel when it is complete, :func:`~phonomag.cli.engines.select`), "model"
    (tight binding on ``kgrid``) or "kernel" (any engine of the registry with Fourier components at any q);
    phonon_choice "material" (the material's ``[phonons]``) or "kernel" (the engine's own DFPT phonons,
    :func:`~phonomag.cli.systems.kernel_phonons`; needs an engine with them).

    One stage of ``output`` (:mod:`phonomag.cli.stages`): reused while the model file, every data file it
    and the engine read, and the options are unchanged.
    """
    output = Path(output)
    spec = load_material(material)
    g_shift = np.asarray(g_shift, dtype=float)
    if not np.allclose(g_shift, np.round(g_shift)):
        raise ValueError(f"g_shift must be a reciprocal lattice vector (integers), got {g_shift.tolist()}")
    config = RunConfig().updated({"run.material": str(material), "response.kgrid": tuple(kgrid),
                                  "kernel.phonons": phonon_choice})
    engine, phonons, choice, engine_name = _response_engine(config, spec, engine_choice, g_shift,
                                                            phonon_choice == "kernel")
    lines = LineOptions(temperature, width, resolution, omega_max, shape)
    g_text = qpoint_label(g_shift) if g_shift.any() else "0"
    path_text = "-".join(path_labels or spec.crystal.standard_path)
    inputs = digest(fingerprint(config.updated({"run.engine": engine_name}), spec), path_text, npoints, g_shift,
                    dataclasses.asdict(lines), plane and dataclasses.asdict(plane), phonon_choice)
    outputs = [output / f"{name}.{ext}" for name in ("sqw_maps", "sqw_cuts") + (("sqw_plane",) if plane else ())
               for ext in ("png", "pdf")] + [output / "sqw.nc"]

    def make() -> Made:
        path, in_plane = compute_sqw(engine, phonons, spec, path_labels, npoints, g_shift, lines, plane)
        files = plot_sqw(spec, engine.name, path, in_plane, g_text, lines, output)
        attrs = {"phonomag_version": __version__, "material": spec.name, "phonomag_conventions": SQW_CONVENTIONS,
                 "path": path_text, "g_shift": [int(x) for x in g_shift], "kgrid": list(engine.kgrid),
                 "temperature_K": float(temperature), "line_shape": shape, "width_fwhm_meV": float(width),
                 "resolution_fwhm_meV": float(resolution), "response_kind": "one-sided", "amplitude": "zero-point",
                 "engine": engine.name, "provenance": json.dumps(engine.provenance(), ensure_ascii=False),
                 "phonon_source": phonons.description}
        files.append(write_dataset(sqw_dataset(path, in_plane, attrs), output / "sqw.nc"))
        return Made(files, summary_lines(spec, engine, phonons, choice, path, in_plane, g_text, lines))

    with output_folder(output, "sqw") as runner:
        return runner.run([Stage("sqw", inputs, outputs, make, f"S(Q, ω) along the path → {output / 'sqw.nc'}")], [])
