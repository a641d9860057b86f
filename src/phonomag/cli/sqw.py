"""Workflow "what experiments see": S^{αβ}(Q, ω) along a path of Q = q + G_shift, and on a Q plane.

Writes ``sqw.nc`` (xarray/NetCDF, units as attributes, complex values as a trailing
``part`` = (real, imag) dimension) and the figures ``sqw_maps``, ``sqw_cuts`` and, with a
plane, ``sqw_plane`` (PNG + PDF); returns the summary lines. Conventions:
:mod:`phonomag.response.structure_factor`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from phonomag import __version__
from phonomag.cli.config import RunConfig
from phonomag.cli.engines import Capability, select, with_capability
from phonomag.cli.overviews import DEFAULT_PATH
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material
from phonomag.crystal.qpoints import qpoint_label
from phonomag.engines.base import EngineCapabilityError, compute_scattering_amplitudes
from phonomag.engines.tightbinding.bands import hexagonal_zone_corners
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
    """(the engine of ``choice``, its phonons, a line saying which and why or None) for S(Q, ω) along Q = q +
    ``g_shift`` (:func:`~phonomag.cli.engines.select`: Fourier components at any q, at out-of-plane G when
    G₃ ≠ 0; "auto" takes the shipped first-principles kernel where it can). ``own_phonons``: the engine's
    own phonons (it must have them)."""
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
    return engine, chosen.entry.phonons(config, spec, engine), chosen.why


def sqw_overview(
    material: str | Path,
    output: Path,
    path_labels: tuple[str, ...] = DEFAULT_PATH,
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
    """S^{αβ}(Q, ω) along Q = q + G_shift (q on the path through ``path_labels``), and optionally on a plane.

    temperature in K; width (line FWHM), resolution (Gaussian FWHM) and omega_max (largest
    |ħω| of the grid; default 1.1 × the highest phonon + 3 FWHM) in meV; g_shift in reduced
    coordinates (integers); shape "gaussian" or "lorentzian"; engine_choice "auto" (the shipped
    first-principles kernel when it is complete, :func:`~phonomag.cli.engines.select`), "model"
    (tight binding on ``kgrid``) or "kernel" (any engine of the registry with Fourier components at any q);
    phonon_choice "material" (the material's ``[phonons]``) or "kernel" (the engine's own DFPT phonons,
    :func:`~phonomag.cli.systems.kernel_phonons`; needs an engine with them).
    """
    from phonomag.outputs.plotting.sqw import plot_sqw_cuts, plot_sqw_maps, plot_sqw_plane

    output = Path(output)
    spec = load_material(material)
    g_shift = np.asarray(g_shift, dtype=float)
    if not np.allclose(g_shift, np.round(g_shift)):
        raise ValueError(f"g_shift must be a reciprocal lattice vector (integers), got {g_shift.tolist()}")
    config = RunConfig().updated({"run.material": str(material), "response.kgrid": tuple(kgrid),
                                  "kernel.phonons": phonon_choice})
    engine, phonons, choice = _response_engine(config, spec, engine_choice, g_shift, phonon_choice == "kernel")
    qpoints, distances, ticks, tick_labels = path_from_labels(spec.atoms.cell, path_labels, npoints=npoints)
    data = compute_scattering_amplitudes(engine, phonons, qpoints + g_shift)
    omega = _omega_grid(data.frequencies, width, resolution, omega_max)
    sec = sectors(dynamic_structure_factor(data.amplitudes, data.frequencies, omega, temperature, width, shape,
                                           resolution))
    cross_axis = int(np.argmax(np.abs(sec.charge_spin.real).max(axis=(0, 1))))
    # cuts at the distinct corners of the path
    corner_index = {label: int(np.argmin(np.abs(distances - t))) for t, label in zip(ticks, tick_labels, strict=True)}
    cut_labels, cut_index = list(corner_index), list(corner_index.values())
    stokes, anti = bose_parts(data.amplitudes[cut_index], data.frequencies[cut_index], omega, temperature, width,
                              shape, resolution)
    balance = detailed_balance_residual(stokes, anti, omega, data.frequencies[cut_index], temperature)

    shift_text = qpoint_label(g_shift) if g_shift.any() else "0"
    title = (
        f"{spec.name} ({engine.name} engine): S(Q, ω) along Q = q + G, G = {shift_text}; T = {temperature:g} K, "
        f"{shape} FWHM "
        f"{width:g} meV" + (f", resolution {resolution:g} meV" if resolution else "")
    )
    files = plot_sqw_maps(distances, omega, sec.charge, sec.spin_trace, sec.charge_spin[..., cross_axis].real,
                          cross_axis, ticks, tick_labels, output / "sqw_maps", title)
    files += plot_sqw_cuts(omega, cut_labels, sec.charge[cut_index], sec.spin_trace[cut_index],
                           sec.charge_spin[cut_index, :, cross_axis].real, cross_axis, output / "sqw_cuts",
                           title)

    variables = {
        "frequency": xr.DataArray(data.frequencies, dims=("Q", "mode"), attrs=dict(VARIABLE_ATTRS["frequency"])),
        "parity": xr.DataArray(data.parity, dims=("Q", "mode"), attrs=dict(VARIABLE_ATTRS["parity"])),
        "amplitude": xr.DataArray(split_complex(data.amplitudes), dims=("Q", "mode", "component", "part"),
                                  attrs={"units": DIMENSIONLESS,
                                         "long_name": "dn^a_q,nu(G) (electrons per unit cell, zero-point)"}),
        **_sector_variables(sec, ("Q", "omega")),
    }
    reduced = {"units": DIMENSIONLESS}
    path = path_coordinates("Q", data.q, distances, path_point_labels(distances, ticks, tick_labels))
    coords = {"Q": ("Q", np.arange(len(distances))),
              "Q_reduced": (("Q", "reduced"), data.Q, {**reduced, "long_name": "scattering vector Q = q + G, reduced"}),
              "q_reduced": (("Q", "reduced"), data.q, {**reduced, "long_name": "phonon wavevector q, reduced"}),
              "G_reduced": (("Q", "reduced"), data.G, {**reduced, "long_name": "reciprocal lattice vector G, reduced"}),
              "path_distance": path["path_distance"], "label": path["label"],
              "omega": ("omega", omega, {"units": "meV", "long_name": "energy transfer hbar omega"}),
              "mode": np.arange(data.frequencies.shape[1]), "component": list(COMPONENTS),
              "reduced": ["b1", "b2", "b3"], "a": list("xyz"), "b": list("xyz"), "part": ["real", "imag"]}
    attrs = {"phonomag_version": __version__, "material": spec.name, "phonomag_conventions": SQW_CONVENTIONS,
             "path": "-".join(path_labels), "g_shift": [int(x) for x in g_shift], "kgrid": list(engine.kgrid),
             "temperature_K": float(temperature), "line_shape": shape, "width_fwhm_meV": float(width),
             "resolution_fwhm_meV": float(resolution), "response_kind": "one-sided", "amplitude": "zero-point",
             "engine": engine.name, "provenance": json.dumps(engine.provenance(), ensure_ascii=False),
             "phonon_source": phonons.description}
    lines = []
    if plane is not None:
        plane_data = compute_scattering_amplitudes(engine, phonons, plane.points())
        plane_sec = plane_sectors(plane_data, plane, temperature, width, shape, resolution)
        reciprocal = 2 * np.pi * np.asarray(spec.atoms.cell.reciprocal())
        h, k = plane.axes()
        corners, centres, view = _plane_geometry(plane, reciprocal)
        plane_axis = int(np.argmax(np.abs(plane_sec.charge_spin.real).max(axis=(0, 1))))
        files += plot_sqw_plane(corners, plane_sec.charge, plane_sec.spin_trace,
                                plane_sec.charge_spin[..., plane_axis].real, plane_axis, centres,
                                hexagonal_zone_corners(reciprocal), view, output / "sqw_plane",
                                f"{spec.name} ({engine.name} engine): S(Q, ħω = {plane.omega:g} meV), Q = h b1 + k b2; "
                                f"T = {temperature:g} K, {shape} FWHM {width:g} meV")
        variables.update({f"plane_{name}": value for name, value in _sector_variables(plane_sec, ("h", "k")).items()})
        coords.update(h=("h", h, {**reduced, "long_name": "Q = h b1 + k b2: h"}),
                      k=("k", k, {**reduced, "long_name": "Q = h b1 + k b2: k"}))
        attrs["plane_omega_meV"] = float(plane.omega)
        lines.append(f"plane           ħω = {plane.omega:g} meV, {len(h)}×{len(k)} Q; max S00 "
                     f"{plane_sec.charge.max():.3e}, max ΣSaa {plane_sec.spin_trace.max():.3e} {S_UNITS_TEXT}")
    dataset = finish(xr.Dataset(variables, coords=coords, attrs=attrs),
                     "phonomag: charge-spin dynamic structure factor S(Q, omega)")
    for variable in dataset.data_vars.values():
        variable.encoding.update(zlib=True, complevel=4)
    files.append(write_dataset(dataset, output / "sqw.nc"))

    d_omega = omega[1] - omega[0]
    weight = {name: values.sum() * d_omega / len(distances)
              for name, values in (("charge", sec.charge), ("spin", sec.spin_trace))}
    return [
        f"material        {spec.name}; path {'–'.join(tick_labels)} + G = {shift_text}, {len(distances)} Q, "
        f"engine {engine.name}, k grid {'×'.join(map(str, engine.kgrid))}",
        *([f"                {choice}"] if choice else []),
        f"phonons         {phonons.description}",
        f"lines           {shape}, FWHM {width:g} meV, resolution {resolution:g} meV; T = {temperature:g} K; "
        f"ħω grid ±{omega[-1]:g} meV, {len(omega)} points",
        f"units           S in {S_UNITS_TEXT}; amplitudes in electrons per cell (zero-point)",
        f"mean ∫S dω      charge {weight['charge']:.3e}, spin trace {weight['spin']:.3e} (ratio "
        f"{weight['spin'] / weight['charge']:.2e}) (electrons per cell)^2",
        f"largest         S00 {sec.charge.max():.3e}, ΣSaa {sec.spin_trace.max():.3e}, "
        f"|Re S0{'xyz'[cross_axis]}| {np.abs(sec.charge_spin[..., cross_axis].real).max():.3e}, "
        f"|S0a| in plane {np.abs(sec.charge_spin[..., :2]).max():.1e}",
        f"detailed bal.   per-mode Bose parts at {', '.join(cut_labels)}: residual {balance:.1e}",
        *lines,
        *[f"wrote           {f}" for f in files],
    ]
