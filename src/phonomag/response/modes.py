"""The response of every phonon mode: the core result object, and its one file layout (results.nc).

Every engine (tight-binding, ABINIT DFPT, …) yields a :class:`PatternResponse` per q —
the cell-integrated response to the unit displacement patterns — and a phonon source
yields the modes; :meth:`ModeResponse.from_patterns` contracts them. Plots, tables and
files read a :class:`ModeResponse` only. Conventions: docs/physics.md §3–§5,
:mod:`phonomag.phonons.amplitudes` and :mod:`phonomag.response.observables`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from phonomag import __version__
from phonomag.io.cf_metadata import DIMENSIONLESS, NO_LABEL, finish, path_coordinates
from phonomag.io.netcdf import CONVENTIONS, complex_from, netcdf_attribute, split_complex, write_dataset
from phonomag.response.observables import (
    BULK_PARTS,
    LAYER_PARTS,
    MagnetizationParts,
    magnetization_parts,
    rms_components,
    spin_magnetic_moment,
)

COMPONENTS = ("n0", "Mx", "My", "Mz")
#: Response kinds: "one-sided" (the paper's N⁺ half) and "full" (N⁺ + N⁻), docs/physics.md.
KINDS: tuple[str, ...] = ("one-sided", "full")
#: Pauli components per cell are numbers of electrons per unit cell: units "1", named in long_name.
_PER_CELL_TEXT = "electrons per unit cell"
#: units and long_name of each variable of results.nc (and of the same quantities in sqw.nc).
VARIABLE_ATTRS = {
    "frequency": {"units": "meV", "long_name": "phonon energy hbar omega"},
    "parity": {"units": DIMENSIONLESS, "long_name": "sigma_h parity (+1 even, -1 odd, 0 none)"},
    "displacement": {"units": "angstrom", "long_name": "complex displacement amplitude u"},
    "site_moment": {"units": DIMENSIONLESS, "long_name": f"site-resolved cell-integrated n^a ({_PER_CELL_TEXT})"},
    "cell_moment": {"units": DIMENSIONLESS, "long_name": f"cell-integrated n^a ({_PER_CELL_TEXT})"},
    "magnetic_moment": {"units": "bohr_magneton",
                        "long_name": "cell-integrated spin magnetic moment m = -2 mu_B M per unit cell"},
    "rms": {"units": DIMENSIONLESS, "long_name": f"RMS_a = |n^a|/sqrt(2) ({_PER_CELL_TEXT})"},
    **{name: {"units": DIMENSIONLESS, "long_name": f"{text} ({_PER_CELL_TEXT})"}
       for parts in (LAYER_PARTS, BULK_PARTS) for name, text in zip(parts.variables, parts.descriptions, strict=True)},
    "q_direction": {"units": DIMENSIONLESS,
                    "long_name": "unit vector q_hat (Cartesian) that splits M into along and across q (at q = 0 the "
                                 "direction of the path leaving it; docs/physics.md section 4)"},
    "magnetization_to_charge": {"units": DIMENSIONLESS,
                                "long_name": "site-resolved |M| / |n0| (0 where undefined)"},
    "allowed": {"units": DIMENSIONLESS,
                "long_name": "1 where the little co-group of q allows the cell-integrated component, 0 where symmetry "
                             "makes it zero (n0 scalar, M axial vector; docs/physics.md section 12)"},
}


def results_variables(kind: str) -> set[str]:
    """The variables of results.nc for a ``kind`` "layer" (M in and out of plane) or "bulk" (M along and across q,
    and q̂); "allowed" is there where the run derived the selection rules."""
    bulk = {*BULK_PARTS.variables, "q_direction"}
    return set(VARIABLE_ATTRS) - (bulk if kind == "layer" else set(LAYER_PARTS.variables))


@dataclass(frozen=True)
class PatternResponse:
    """Cell-integrated response to the unit displacement patterns at one q.

    q (3,) reduced; tensor (natoms=κ, 3=α, nsites, 4) complex: n̄^β (β = 0, x, y, z, Pauli
    components, electrons per cell per Å of displacement) on each site of ``site_labels``
    for the pattern u_κ(R) = ε̂_α e^{iq·(R+τ_κ)}; an engine without a site decomposition
    has one site, the whole cell. kind: "one-sided" or "full".
    """

    q: np.ndarray
    kind: str
    tensor: np.ndarray
    site_labels: tuple[str, ...]

    def for_displacements(self, displacements: np.ndarray) -> np.ndarray:
        """Site-resolved n̄^β (…, nsites, 4) for complex displacement amplitudes (…, natoms, 3) Å."""
        return np.einsum("...ka,kasb->...sb", displacements, self.tensor)


@dataclass(frozen=True)
class ModeResponse:
    """Induced charge and magnetization of every mode at every q.

    qpoints (nq, 3) reduced; frequencies (nq, nmodes) meV; parity (nq, nmodes) σ_h ±1 (0: none);
    displacements (nq, nmodes, natoms, 3) complex Å; site_moments (nq, nmodes, nsites, 4)
    complex: cell-integrated Pauli components (n⁰, M_x, M_y, M_z) on each site of
    ``site_labels`` (the atoms, ``atom_labels``, or one site "cell" for an engine without a
    site decomposition), electrons per cell (induced electrons 2n⁰, ⟨σ⟩ = 2M);
    kind: "one-sided" or "full" (or "full, ħω = ħω_qν"); amplitude: "zero-point" or a maximal
    displacement (Å); kgrid: k grid of the Brillouin-zone sums; engine: name of the response
    engine; provenance: what the engine and the phonons were (strings, for the file); allowed (nq, nmodes, 4)
    bool: the components the symmetry of q allows (:mod:`phonomag.response.selection_rules`), or None;
    q_directions (nq, 3) Cartesian unit vectors q̂ of a bulk crystal, which split M along and across q
    (:func:`~phonomag.response.observables.longitudinal_directions`), or None for a layer (in and out of plane).
    """

    qpoints: np.ndarray
    frequencies: np.ndarray
    parity: np.ndarray
    displacements: np.ndarray
    site_moments: np.ndarray
    atom_labels: tuple[str, ...]
    site_labels: tuple[str, ...]
    kind: str
    amplitude: str | float
    kgrid: tuple[int, int, int]
    engine: str
    provenance: dict[str, str] = field(default_factory=dict)
    allowed: np.ndarray | None = None
    q_directions: np.ndarray | None = None

    @classmethod
    def from_patterns(cls, modes, displacements: np.ndarray, patterns: list[PatternResponse], atom_labels,
                      amplitude, kgrid, engine: str, provenance: dict[str, str],
                      kind: str | None = None) -> ModeResponse:
        """Contract the pattern responses (one per q of ``modes``) with the mode displacements
        (nq, nmodes, natoms, 3)."""
        site = np.array([p.for_displacements(u) for p, u in zip(patterns, displacements, strict=True)])
        return cls(
            np.asarray(modes.qpoints),
            np.asarray(modes.frequencies),
            np.asarray(modes.parity),
            displacements,
            site,
            tuple(atom_labels),
            patterns[0].site_labels,
            kind or patterns[0].kind,
            amplitude,
            tuple(int(n) for n in kgrid),
            engine,
            dict(provenance),
        )

    @property
    def cell_moments(self) -> np.ndarray:
        """n̄^α summed over the cell, (nq, nmodes, 4) complex."""
        return self.site_moments.sum(axis=-2)

    @property
    def rms(self) -> np.ndarray:
        """RMS_α = |n̄^α|/√2, (nq, nmodes, 4) (paper eq. 3)."""
        return rms_components(self.cell_moments)

    @property
    def parts(self) -> MagnetizationParts:
        """What :attr:`m_parts` hold: a layer's M∥ and M_z, or a bulk crystal's M_L and M_T."""
        return LAYER_PARTS if self.q_directions is None else BULK_PARTS

    @property
    def m_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """The two RMS parts of M (:attr:`parts`), each (nq, nmodes), electrons per cell."""
        return magnetization_parts(self.cell_moments, self.q_directions)

    @property
    def magnetization_to_charge(self) -> np.ndarray:
        """(Σ_κ |M̄_κ|²)^½ / (Σ_κ |n̄⁰_κ|²)^½ from the site-resolved moments, (nq, nmodes).

        Site-resolved, because for σ_h-odd modes the cell-integrated charge vanishes by
        symmetry while the charges of the two chalcogen layers do not (an engine with one
        site, the cell, gives the cell ratio). 0 where the ratio is undefined: the site
        charges are below 10⁻⁶ of the largest in the data set (rigid translations at Γ,
        modes whose charge vanishes by symmetry).
        """
        charge = np.linalg.norm(self.site_moments[..., 0], axis=-1)
        magnet = np.linalg.norm(self.site_moments[..., 1:], axis=(-2, -1))
        defined = charge > 1e-6 * max(charge.max(), 1e-300)
        return np.divide(magnet, charge, out=np.zeros_like(charge), where=defined)

    # ------------------------------------------------------------------ results.nc
    def to_dataset(self, distances: np.ndarray | None = None, point_labels: list[str] | None = None,
                   attrs: dict[str, Any] | None = None) -> xr.Dataset:
        """The results.nc layout, the same for every engine (CF-style metadata, pint-parseable units).

        Coordinates along ``q``: ``qpoint`` (reduced), ``label`` (``point_labels``: the path corners'
        names or the names of computed q-points; empty without) and, along a path, ``path_distance``
        (``distances``, 1/Å). attrs: more global attributes.
        """
        nq = len(self.qpoints)
        labels = list(point_labels) if point_labels is not None else [NO_LABEL] * nq
        along_q = path_coordinates("q", self.qpoints, distances if distances is not None else np.zeros(nq), labels)
        if distances is None:
            del along_q["path_distance"]
        coords = {"q": np.arange(nq), "mode": np.arange(self.frequencies.shape[1]), "atom": list(self.atom_labels),
                  "site": list(self.site_labels), "component": list(COMPONENTS), "cartesian": ["x", "y", "z"],
                  "reduced": ["b1", "b2", "b3"], "part": ["real", "imag"], **along_q}
        variables = {
            "frequency": (("q", "mode"), self.frequencies),
            "parity": (("q", "mode"), self.parity),
            "displacement": (("q", "mode", "atom", "cartesian", "part"), split_complex(self.displacements)),
            "site_moment": (("q", "mode", "site", "component", "part"), split_complex(self.site_moments)),
            "cell_moment": (("q", "mode", "component", "part"), split_complex(self.cell_moments)),
            "magnetic_moment": (("q", "mode", "cartesian", "part"),
                                split_complex(spin_magnetic_moment(self.cell_moments))),
            "rms": (("q", "mode", "component"), self.rms),
            **{name: (("q", "mode"), values) for name, values in zip(self.parts.variables, self.m_parts, strict=True)},
            "magnetization_to_charge": (("q", "mode"), self.magnetization_to_charge),
        }
        if self.allowed is not None:
            variables["allowed"] = (("q", "mode", "component"), self.allowed.astype(np.int8))
        if self.q_directions is not None:
            variables["q_direction"] = (("q", "cartesian"), self.q_directions)
        base = {"phonomag_version": __version__, "phonomag_conventions": CONVENTIONS, "engine": self.engine,
                "provenance": json.dumps(self.provenance, ensure_ascii=False), "response_kind": self.kind,
                "amplitude": str(self.amplitude), "kgrid": list(self.kgrid)}
        base.update(attrs or {})
        data = xr.Dataset(
            {k: xr.DataArray(v[1], dims=v[0], attrs=dict(VARIABLE_ATTRS[k])) for k, v in variables.items()},
            coords=coords,
            attrs={k: netcdf_attribute(v) for k, v in base.items()},
        )
        return finish(data, f"phonomag: phonon-induced charge and magnetization ({self.engine} engine)")

    @classmethod
    def from_dataset(cls, data: xr.Dataset) -> ModeResponse:
        """The ModeResponse stored in a results.nc Dataset (any engine)."""
        amplitude = data.attrs["amplitude"]
        return cls(
            qpoints=data["qpoint"].values, frequencies=data["frequency"].values, parity=data["parity"].values,
            displacements=complex_from(data["displacement"]), site_moments=complex_from(data["site_moment"]),
            atom_labels=tuple(str(s) for s in data["atom"].values),
            site_labels=tuple(str(s) for s in data["site"].values), kind=data.attrs["response_kind"],
            amplitude=amplitude if amplitude == "zero-point" else float(amplitude),
            kgrid=tuple(int(x) for x in np.atleast_1d(data.attrs["kgrid"])),
            engine=data.attrs.get("engine", "tight-binding"),
            provenance=json.loads(data.attrs.get("provenance", "{}")),
            allowed=data["allowed"].values.astype(bool) if "allowed" in data else None,
            q_directions=data["q_direction"].values if "q_direction" in data else None)

    def write(self, path: Path, distances=None, point_labels=None, attrs=None) -> Path:
        """Write :meth:`to_dataset` atomically to ``path``."""
        return write_dataset(self.to_dataset(distances, point_labels, attrs), path)


def read_results(path: Path) -> tuple[ModeResponse, xr.Dataset]:
    """A results.nc file: (its ModeResponse, the loaded Dataset with the path and run attributes)."""
    with xr.open_dataset(path, engine="netcdf4") as data:
        data = data.load()
    return ModeResponse.from_dataset(data), data
