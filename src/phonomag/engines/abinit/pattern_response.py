"""The DFPT response of the unit Cartesian displacement patterns at one q, reduced to what the outputs read.

ABINIT perturbs atom κ along reduced direction i with the pattern e^{iq·R} and unit
reduced amplitude. phonomag's unit pattern (κ, β) displaces atom κ of cell R by 1 Å along
Cartesian β with the phase e^{iq·(R+τ_κ)} (docs/physics.md §10, §11). By linearity its response is
(:func:`~phonomag.engines.abinit.perturbations.perturbation_coefficients`)

    N_{κβ}(r) = Σ_i [(Aᵀ)⁻¹]_{iβ} e^{iq·τ_κ} N_{κi}(r)        (A: rows = lattice vectors, Å).

Of the Pauli components ñ^α_{q,κβ}(r) = ½ Tr[N σ_α] (cell-periodic part, α = 0, x, y, z)
this keeps, on ABINIT's in-plane FFT grid (r = j₁/n₁ a₁ + j₂/n₂ a₂):

- ``zint``: ∫ ñ^α dz over the cell length c (electrons/Å² per Å of displacement). Its
  integral over the in-plane cell is the cell moment n̄^α; its 2D Fourier components give
  ñ^α(q+G) for in-plane G (S(Q, ω)).
- ``plane``: ñ^α on the planes z = ``heights`` (electrons/Å³ per Å), trigonometric
  interpolation along z (exact for the band-limited fields of the FFT grid). For a
  monolayer MX₂ with the metal at z = 0: the metal plane and the two chalcogen planes,
  a set closed under the point group (σ_h swaps the chalcogen planes).

The full z-resolved fields (≈60 MB per q for WSe₂ at 20 Ha) reduce to ≈2 MB.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from ase import Atoms, units

from phonomag.engines.abinit.density_response import pauli_components
from phonomag.engines.abinit.perturbations import perturbation_coefficients
from phonomag.io.netcdf import complex_from, split_complex

COMPONENTS = ("n0", "Mx", "My", "Mz")


def cartesian_patterns(responses: dict, atoms: Atoms, qpoint) -> np.ndarray:
    """Pauli components (natoms, 3, 4, n1, n2, n3) of the unit Cartesian τ-phase patterns, per Å of displacement,
    in the density unit of ``responses`` ({(atom, reduced direction): N (2, 2, n1, n2, n3)}, all 3 natoms present).
    """
    natoms = len(atoms)
    missing = [(k, i) for k in range(natoms) for i in range(3) if (k, i) not in responses]
    if missing:
        raise KeyError(f"responses of perturbations {missing} (atom, reduced direction) are missing")
    unit = np.eye(3 * natoms).reshape(natoms, 3, natoms, 3)  # pattern (κ, β) displaces atom κ by ε̂_β (Å)
    coefficients = perturbation_coefficients(unit, atoms, qpoint)  # (κ, β, atom, reduced direction)
    shape = next(iter(responses.values())).shape[2:]
    out = np.zeros((natoms, 3, 4) + shape, dtype=complex)
    for (k, i), response in responses.items():
        out += coefficients[:, :, k, i, None, None, None, None] * pauli_components(response)[None, None]
    return out


def planes_at(fields: np.ndarray, length: float, heights) -> np.ndarray:
    """Trigonometric interpolation of ``fields`` (…, n3) periodic along the last axis with period ``length`` (Å)
    at the heights z (Å): (…, len(heights)). Exact at grid planes; the Nyquist term enters as a cosine."""
    n = fields.shape[-1]
    coefficients = np.fft.fft(fields, axis=-1) / n
    frequencies = np.fft.fftfreq(n, 1.0 / n)
    t = np.asarray(heights, float)[None, :] / length
    basis = np.exp(2j * np.pi * frequencies[:, None] * t)
    if n % 2 == 0:
        basis[n // 2] = np.cos(np.pi * n * t[0])
    return coefficients @ basis


def reduce_patterns(responses: dict, atoms: Atoms, qpoint, volume_bohr3: float, heights,
                    attrs: dict) -> xr.Dataset:
    """The reduced pattern response at ``qpoint`` (reduced) as a Dataset (see the module docstring).

    ``responses`` in electrons/bohr³ per unit reduced displacement (eq. 1 on ABINIT's FFT
    grid of the cell of ``atoms``, whose third vector is (0, 0, c)); ``heights`` in Å.
    """
    cell = atoms.cell.array
    if np.abs(cell[2, :2]).max() > 1e-10 or np.abs(cell[:2, 2]).max() > 1e-10:
        raise ValueError("the reduced pattern response needs a slab cell with a3 = (0, 0, c) normal to a1, a2")
    volume = abs(np.linalg.det(cell))
    if abs(volume - volume_bohr3 * units.Bohr**3) > 1e-6 * volume:
        raise ValueError(
            f"cell volume {volume:.6f} Å³ of the atoms differs from the runs' {volume_bohr3 * units.Bohr**3:.6f}"
        )
    patterns = cartesian_patterns(responses, atoms, qpoint) / units.Bohr**3  # electrons/Å³ per Å
    length = cell[2, 2]
    zint = patterns.sum(axis=-1) * length / patterns.shape[-1]
    planes = np.moveaxis(planes_at(patterns, length, heights), -1, 2)  # (natoms, 3, plane, 4, n1, n2)
    coords = {"atom": np.arange(len(atoms)), "direction": ["x", "y", "z"], "component": list(COMPONENTS),
              "height": ("plane", np.asarray(heights, float), {"units": "angstrom"}), "part": ["real", "imag"]}
    return xr.Dataset(
        {"zint": (("atom", "direction", "component", "x", "y", "part"), split_complex(zint),
                  {"units": "angstrom^-3", "long_name": "z-integrated Pauli component of the one-sided response "
                   "to the unit Cartesian pattern (electrons per angstrom^2 per angstrom of displacement)"}),
         "plane": (("atom", "direction", "plane", "component", "x", "y", "part"), split_complex(planes),
                   {"units": "angstrom^-4", "long_name": "Pauli component of the one-sided response on a plane "
                    "(electrons per angstrom^3 per angstrom of displacement)"}),
         "qpoint": ("reduced", np.asarray(qpoint, float), {"units": "1", "long_name": "q, reduced coordinates"}),
         "cell": (("vector", "cartesian"), cell, {"units": "angstrom"}),
         "positions": (("atom", "cartesian"), atoms.positions, {"units": "angstrom"})},
        coords={**coords, "species": ("atom", atoms.get_chemical_symbols())},
        attrs={"conventions": "docs/physics.md §11: unit pattern of atom kappa along Cartesian beta, displacement "
                              "1 Angstrom x exp(i q.(R + tau_kappa)); cell-periodic part of N; n^a = Tr[N sigma_a]/2; "
                              "r = j1/n1 a1 + j2/n2 a2 (+ z)", **attrs})


def read_patterns(data: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(zint (natoms, 3, 4, n1, n2), plane (natoms, 3, nplanes, 4, n1, n2)) complex from a reduced Dataset."""
    return complex_from(data["zint"]), complex_from(data["plane"])
