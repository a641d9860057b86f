"""The DFPT response of the unit Cartesian displacement patterns at one q, reduced to what the outputs read.

ABINIT perturbs atom κ along reduced direction i with the pattern e^{iq·R} and unit
reduced amplitude. phonomag's unit pattern (κ, β) displaces atom κ of cell R by 1 Å along
Cartesian β with the phase e^{iq·(R+τ_κ)} (docs/physics.md §10, §11). By linearity its response is
(:func:`~phonomag.engines.abinit.perturbations.perturbation_coefficients`)

    N_{κβ}(r) = Σ_i [(Aᵀ)⁻¹]_{iβ} e^{iq·τ_κ} N_{κi}(r)        (A: rows = lattice vectors, Å).

Of the Pauli components ñ^α_{q,κβ}(r) = ½ Tr[N σ_α] (cell-periodic part, α = 0, x, y, z), on
ABINIT's FFT grid r = Σᵢ jᵢ/nᵢ aᵢ of any cell (layer or bulk), the file keeps (format 2,
:data:`FORMAT_VERSION`; docs/kernel.md):

- ``moment``: the cell moments n̄^α = ∫_cell ñ^α d³r (electrons per cell per Å of displacement);
- ``coefficient`` at ``gvector``: the Fourier coefficients ñ^α_G (electrons/Å³ per Å; single precision,
  6e-8 relative, far below the SCF noise of 1e-6), ñ(r) = Σ_G ñ_G e^{iG·r}, on the sphere
  |q + G|²/2 ≤ E_f (:mod:`phonomag.response.band_limited`; E_f = ``field_ecut_hartree``, by default twice the
  wavefunctions' ecut, :data:`~phonomag.engines.abinit.tasks.FIELD_ECUT_FACTOR`). They give the fields at any point
  (maps on any plane, volumes), the Fourier components at any 3D G inside the sphere (S(Q, ω)), and,
  for a layer, the ∫dz (the G₃ = 0 components). Symmetry maps the sphere of q onto that of Sq, so the
  kernel unfolds the coefficients exactly, whatever the translations.

The full fields (≈60 MB per q for WSe₂ at 20 Ha) reduce to 3.9 MB at E_f = 2 ecut; the fields beyond
E_f are the stated coarsening of the maps (their size is measured in docs/kernel.md), the moments and
the Fourier components inside the sphere are exact.
Files without a ``format_version`` attribute are format 1 (``zint`` and ``plane``: the shipped WSe₂
data), which :mod:`phonomag.engines.kernel.data` still reads.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from ase import Atoms, units

from phonomag.engines.abinit.density_response import pauli_components
from phonomag.engines.abinit.perturbations import perturbation_coefficients
from phonomag.io.netcdf import split_complex
from phonomag.response.band_limited import coefficients_on, sphere_gvectors

COMPONENTS = ("n0", "Mx", "My", "Mz")
#: The layout of the reduced files this module writes (module docstring); files without the attribute are format 1.
FORMAT_VERSION = 2


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


def _check_volume(atoms: Atoms, volume_bohr3: float) -> float:
    """The cell volume (Å³) of ``atoms``; an error unless it is that of the runs (bohr³)."""
    volume = abs(np.linalg.det(atoms.cell.array))
    if abs(volume - volume_bohr3 * units.Bohr**3) > 1e-6 * volume:
        raise ValueError(
            f"cell volume {volume:.6f} Å³ of the atoms differs from the runs' {volume_bohr3 * units.Bohr**3:.6f}"
        )
    return volume


def _band_limited(fields: np.ndarray, atoms: Atoms, qpoint, field_ecut_hartree: float):
    """(G (nG, 3), f_G (…, nG), cell moments (…)) of grid fields (…, n1, n2, n3) on the sphere of ``qpoint``."""
    gvectors = sphere_gvectors(atoms.cell.array, qpoint, field_ecut_hartree, fields.shape[-3:])
    moments = fields.mean(axis=(-3, -2, -1)) * abs(np.linalg.det(atoms.cell.array))
    return gvectors, coefficients_on(fields, gvectors), moments


def _common_variables(atoms: Atoms, qpoint, gvectors: np.ndarray) -> dict:
    """The variables every reduced file has besides its fields: G, q, the cell and the atoms."""
    sphere = "G, integer reduced coordinates: |q + G|^2/2 <= field_ecut_hartree"
    return {"gvector": (("g", "reduced"), gvectors.astype(np.int16), {"units": "1", "long_name": sphere}),
            "qpoint": ("reduced", np.asarray(qpoint, float), {"units": "1", "long_name": "q, reduced coordinates"}),
            "cell": (("vector", "cartesian"), atoms.cell.array, {"units": "angstrom"}),
            "positions": (("atom", "cartesian"), atoms.positions, {"units": "angstrom"})}


def reduce_patterns(responses: dict, atoms: Atoms, qpoint, volume_bohr3: float, field_ecut_hartree: float,
                    attrs: dict) -> xr.Dataset:
    """The reduced pattern response at ``qpoint`` (reduced) as a Dataset of format 2 (module docstring).

    ``responses`` in electrons/bohr³ per unit reduced displacement (eq. 1 on ABINIT's FFT grid of the cell of
    ``atoms``, any cell); ``field_ecut_hartree``: the sphere of the kept Fourier coefficients (Ha).
    """
    _check_volume(atoms, volume_bohr3)
    patterns = cartesian_patterns(responses, atoms, qpoint) / units.Bohr**3  # electrons/Å³ per Å
    gvectors, coefficients, moments = _band_limited(patterns, atoms, qpoint, field_ecut_hartree)
    coords = {"atom": np.arange(len(atoms)), "direction": ["x", "y", "z"], "component": list(COMPONENTS),
              "part": ["real", "imag"]}
    return xr.Dataset(
        {"moment": (("atom", "direction", "component", "part"), split_complex(moments),
                    {"units": "1", "long_name": "cell moment of the Pauli component of the one-sided response to "
                     "the unit Cartesian pattern (electrons per cell per angstrom of displacement)"}),
         "coefficient": (("atom", "direction", "component", "g", "part"),
                         split_complex(coefficients).astype(np.float32),
                         {"units": "angstrom^-4", "long_name": "Fourier coefficient f_G of the Pauli component, "
                          "f(r) = sum_G f_G exp(iG.r) (electrons per angstrom^3 per angstrom of displacement)"}),
         **_common_variables(atoms, qpoint, gvectors)},
        coords={**coords, "species": ("atom", atoms.get_chemical_symbols())},
        attrs={"format_version": FORMAT_VERSION, "field_ecut_hartree": float(field_ecut_hartree),
               "fft_grid": [int(n) for n in patterns.shape[-3:]],
               "conventions": "docs/physics.md §11: unit pattern of atom kappa along Cartesian beta, displacement "
                              "1 Angstrom x exp(i q.(R + tau_kappa)); cell-periodic part of N; n^a = Tr[N sigma_a]/2; "
                              "r = sum_i j_i/n_i a_i; f(r) = sum_G f_G exp(iG.r) (docs/kernel.md)", **attrs})


def reduce_field_response(responses: dict, atoms: Atoms, volume_bohr3: float, field_ecut_hartree: float,
                          dielectric, attrs: dict) -> xr.Dataset:
    """The reduced response to a uniform electric field at q = 0 with the Born charges and ε∞ of the same run
    (the file :data:`~phonomag.engines.abinit.tasks.FIELD_FILE` of a kernel folder; docs/physics.md §12).

    ``responses``: {Cartesian direction β: N (2, 2, n1, n2, n3)}, electrons/bohr³ per unit physical field
    E_β (Ha/(e bohr)); ``dielectric``: :class:`~phonomag.io.abinit.ddb.DielectricTensors` as ABINIT gives them
    (stored raw; the kernel imposes charge neutrality). The fields are kept as the patterns' are: cell moments
    and the Fourier coefficients on the sphere |G|²/2 ≤ ``field_ecut_hartree``.
    """
    _check_volume(atoms, volume_bohr3)
    fields = np.array([pauli_components(responses[b]) for b in range(3)]) / units.Bohr**3  # electrons/Å³ per a.u.
    gvectors, coefficients, moments = _band_limited(fields, atoms, np.zeros(3), field_ecut_hartree)
    coords = {"atom": np.arange(len(atoms)), "field": ["x", "y", "z"], "direction": ["x", "y", "z"],
              "component": list(COMPONENTS), "part": ["real", "imag"]}
    per_field = "per atomic unit of the physical electric field, Ha/(e bohr)"
    return xr.Dataset(
        {"field_moment": (("field", "component", "part"), split_complex(moments),
                          {"units": "1", "long_name": f"cell moment of the Pauli component of the one-sided response "
                           f"to a uniform electric field (electrons per cell {per_field})"}),
         "field_coefficient": (("field", "component", "g", "part"), split_complex(coefficients).astype(np.float32),
                               {"units": "angstrom^-3", "long_name": "Fourier coefficient f_G of the Pauli component "
                                f"of the field response, f(r) = sum_G f_G exp(iG.r) (electrons per angstrom^3 "
                                f"{per_field})"}),
         "born_charge": (("atom", "field", "direction"), dielectric.born,
                         {"units": "1", "long_name": "Born effective charge Z*_{kappa, field, displacement} in e, as "
                          "ABINIT computes it (before charge neutrality is imposed)"}),
         "epsilon_inf": (("field", "direction"), dielectric.epsilon,
                         {"units": "1", "long_name": "electronic (clamped-ion) dielectric tensor"}),
         **_common_variables(atoms, np.zeros(3), gvectors)},
        coords={**coords, "species": ("atom", atoms.get_chemical_symbols())},
        attrs={"format_version": FORMAT_VERSION, "field_ecut_hartree": float(field_ecut_hartree),
               "fft_grid": [int(n) for n in fields.shape[-3:]],
               "conventions": "docs/physics.md §12: response to the physical uniform field E (an electron feels "
                              "-E); cell-periodic part of N at q = 0; n^a = Tr[N sigma_a]/2; r = sum_i j_i/n_i a_i; "
                              "f(r) = sum_G f_G exp(iG.r) (docs/kernel.md)", **attrs})
