"""Plane-wave wavefunctions of ABINIT netCDF files (WFK.nc and first-order 1WF*.nc).

ABINIT (``iomode 3``) stores, per k-point, the reduced G vectors of the basis
sphere and coefficients c_{n,s}(G) normalised as Σ_{G,s} |c|² = 1, so that the
cell-periodic part is u_{n,k,s}(r) = Ω^{-1/2} Σ_G c_{n,s}(G) e^{iG·r} (bohr^{-3/2}).
A 1WF file holds, for the perturbation it is named after, the first-order
wavefunctions δu_{n,k+q} of the occupied bands, projected on the empty manifold
at k+q, at the k-points k + q of the ground-state list (same order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from phonomag.errors import PhonomagError


class WavefunctionFileError(PhonomagError):
    """A wavefunction file that cannot be read or does not fit its partner."""


@dataclass
class PlaneWaveSet:
    """Wavefunctions of one spin channel (nsppol = 1) at nk k-points.

    cell (3, 3) bohr, rows = lattice vectors; kpoints (nk, 3) reduced; weights (nk,)
    summing to 1; eigenvalues, occupations (nk, nband) (Ha, electrons per state);
    nspinor 1 or 2; qpoint (3,) reduced (zero for a ground state); path: the file.
    Coefficients are read lazily, per k-point, by :meth:`periodic_parts`.
    """

    path: Path
    cell: np.ndarray
    kpoints: np.ndarray
    weights: np.ndarray
    eigenvalues: np.ndarray
    occupations: np.ndarray
    nspinor: int
    qpoint: np.ndarray

    @property
    def volume(self) -> float:
        """Cell volume Ω in bohr³."""
        return float(abs(np.linalg.det(self.cell)))

    def periodic_parts(self, ik: int, nbands: int, fft_shape) -> np.ndarray:
        """u_{n,k,s}(r) on the FFT grid, (nbands, nspinor, n1, n2, n3), bohr^{-3/2}."""
        shape = tuple(int(n) for n in fft_shape)
        with netCDF4.Dataset(self.path) as data:
            npw = int(data["number_of_coefficients"][ik])
            g = np.asarray(data["reduced_coordinates_of_plane_waves"][ik, :npw, :], dtype=int)
            raw = np.asarray(data["coefficients_of_wavefunctions"][0, ik, :nbands, :, :npw, :])
        if np.any(np.abs(g) * 2 >= np.array(shape)):
            raise WavefunctionFileError(
                f"the FFT grid {list(shape)} is too small for the G sphere of {self.path} "
                f"(|G| up to {np.abs(g).max(axis=0).tolist()})")
        box = np.zeros((nbands, self.nspinor) + shape, dtype=complex)
        idx = tuple((g % np.array(shape)).T)
        box[:, :, idx[0], idx[1], idx[2]] = raw[..., 0] + 1j * raw[..., 1]
        return np.fft.ifftn(box, axes=(2, 3, 4)) * (np.prod(shape) / np.sqrt(self.volume))


def read_wavefunctions(path) -> PlaneWaveSet:
    """Header of a WFK.nc or 1WF.nc file (one spin channel, istwfk = 1 everywhere)."""
    path = Path(path)
    if not path.is_file():
        raise WavefunctionFileError(f"wavefunction file {path} does not exist")
    try:
        with netCDF4.Dataset(path) as data:
            if data.dimensions["number_of_spins"].size != 1:
                raise WavefunctionFileError(f"{path}: only nsppol = 1 (non-magnetic) is supported")
            if np.any(np.asarray(data["istwfk"][:]) != 1):
                raise WavefunctionFileError(
                    f"{path}: wavefunctions stored with time-reversal symmetry (istwfk > 1); "
                    "run ABINIT with istwfk *1")
            return PlaneWaveSet(
                path=path,
                cell=np.asarray(data["primitive_vectors"][:], float),
                kpoints=np.asarray(data["reduced_coordinates_of_kpoints"][:], float),
                weights=np.asarray(data["kpoint_weights"][:], float),
                eigenvalues=np.ma.filled(data["eigenvalues"][0], np.nan).astype(float),
                occupations=np.ma.filled(data["occupations"][0], np.nan).astype(float),
                nspinor=data.dimensions["number_of_spinor_components"].size,
                qpoint=np.asarray(data["qptn"][:], float),
            )
    except (OSError, KeyError, IndexError) as exc:
        raise WavefunctionFileError(f"cannot read {path} as an ABINIT wavefunction file: {exc}") from None
