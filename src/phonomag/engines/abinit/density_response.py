"""The paper's eq. 1 from ABINIT DFPT: the one-sided 2×2 density response on the FFT grid.

For one perturbation (an atom displaced along one reduced direction with the
pattern e^{iq·R}, ABINIT's convention) ABINIT gives the first-order wavefunctions
δu_{v,k+q} of the occupied spinors, already projected on the empty manifold at
k+q. Eq. 1 (docs/physics.md §2) in cell-periodic form is then

    N_{st}(r) = Σ_k w_k Σ_v δu_{v,k+q,s}(r) u*_{v,k,t}(r)        (electrons/bohr³),

with Σ_k w_k = 1 (per unit cell) and one electron per occupied spinor state.
Pauli components n^α = ½ Tr[N σ_α]. ABINIT's own first-order density of the
same perturbation is 2 Tr N (the other half of the response, N⁻, carries the
same charge): a built-in check.
"""

from __future__ import annotations

import numpy as np

from phonomag.io.abinit.wavefunctions import PlaneWaveSet, WavefunctionFileError

PAULI = np.array([np.eye(2), [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def occupied_bands(ground: PlaneWaveSet) -> int:
    """Number of occupied spinor bands (same at every k: an insulator, occupations 1 or 0)."""
    occ = ground.occupations
    counts = np.nansum(occ > 0.5, axis=1)
    if ground.nspinor != 2:
        raise WavefunctionFileError(
            f"{ground.path}: eq. 1 needs spinor wavefunctions (nspinor 2, spin–orbit coupling), got nspinor 1")
    if len(set(counts.tolist())) != 1 or np.any((occ > 1e-8) & (occ < 1 - 1e-8)):
        raise WavefunctionFileError(f"{ground.path}: not an insulator with integer occupations (occopt 1)")
    return int(counts[0])


def one_sided_response(ground: PlaneWaveSet, first_order: PlaneWaveSet, fft_shape) -> np.ndarray:
    """N_{st}(r), (2, 2, n1, n2, n3) complex, electrons/bohr³ per unit perturbation."""
    return one_sided_responses(ground, {0: first_order}, fft_shape)[0]


def one_sided_responses(ground: PlaneWaveSet, first_order: dict, fft_shape) -> dict:
    """{key: N(r)} for several perturbations {key: first-order set} at one q, one pass over k."""
    nocc = occupied_bands(ground)
    for wf in first_order.values():
        _check_partner(ground, wf)
    shape = tuple(int(n) for n in fft_shape)
    responses = {key: np.zeros((2, 2) + shape, dtype=complex) for key in first_order}
    for ik, weight in enumerate(ground.weights):
        u = ground.periodic_parts(ik, nocc, shape).conj()
        for key, wf in first_order.items():
            du = wf.periodic_parts(ik, nocc, shape)
            responses[key] += weight * np.einsum("vsxyz,vtxyz->stxyz", du, u)
    return responses


def _check_partner(ground: PlaneWaveSet, first_order: PlaneWaveSet) -> None:
    if first_order.nspinor != 2:
        raise WavefunctionFileError(f"{first_order.path}: first-order wavefunctions are not spinors")
    shifted = ground.kpoints + first_order.qpoint
    diff = first_order.kpoints - shifted if first_order.kpoints.shape == shifted.shape else None
    if diff is None or np.abs(diff - np.rint(diff)).max() > 1e-6:
        raise WavefunctionFileError(
            f"{first_order.path}: its k-points are not those of {ground.path} shifted by "
            f"q = {np.round(first_order.qpoint, 6).tolist()}")


def pauli_components(response: np.ndarray) -> np.ndarray:
    """n^α(r) = ½ Tr[N σ_α], α = 0, x, y, z: (4, n1, n2, n3)."""
    return 0.5 * np.einsum("ats,st...->a...", PAULI, response)


def cell_integrals(components: np.ndarray, volume: float) -> np.ndarray:
    """∫_cell n^α d³r (electrons per cell) from values on the FFT grid of a cell of ``volume`` bohr³."""
    npoints = np.prod(components.shape[1:])
    return components.reshape(len(components), -1).sum(axis=1) * volume / npoints
