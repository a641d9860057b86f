"""The response kernel: pattern fields on a coarse q grid → real space → any q (docs/physics.md §11).

From the cell-periodic pattern fields ñ_{q,κβ}(x) at every q of an N₁×N₂ grid
(:func:`~phonomag.engines.kernel.symmetry.fill_grid`), the response to displacing atom κ of
cell 0 alone in the grid's Born–von Kármán supercell is

    D_{κβ}(x + R) = (1/N_q) Σ_q e^{−iq·τ_κ} e^{iq·(x+R)} ñ_{q,κβ}(x)

(x on the in-plane grid of one cell, R a lattice vector of the supercell). Each supercell point
is placed at its Wigner–Seitz image around τ_κ (in-plane distance; points on the boundary are
shared by their images with equal weights w), and then for any q

    ñ_{q,κβ}(x) = e^{iq·(τ_κ − x)} Σ_R e^{−iq·R} w(x, R) D_{κβ}(x + R),

exact at the grid q-points. Fourier components at q + G are the FFT of ñ_q over the cell
(:meth:`ResponseKernel.fourier`), the cell moment is G = 0. Units are those of the fields
(per Å of displacement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

#: Points closer than this (Å) to the nearest image count as equally near (boundary of the WS cell).
WS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ResponseKernel:
    """D of every pattern on its Wigner–Seitz images.

    atoms: the layer (τ_κ, cell); qgrid (N₁, N₂); layers: the field layers (``None``: z integral,
    a height in Å: a plane); lattice[κ] (nR, 2) integer in-plane lattice vectors R (reduced);
    weighted[κ] (nR, 3, nlayers, 4, n₁, n₂) complex w(x, R) D_{κβ}(x + R), zero where x + R is
    not an image of the WS cell of κ.
    """

    atoms: Atoms
    qgrid: tuple[int, int]
    layers: tuple
    lattice: list[np.ndarray]
    weighted: list[np.ndarray]

    @classmethod
    def from_grid(cls, fields: dict, atoms: Atoms, qgrid: tuple[int, int], layers: tuple) -> ResponseKernel:
        """The kernel of {grid steps (m₁, m₂): fields (natoms, 3, nlayers, 4, n₁, n₂) at q = (m₁/N₁, m₂/N₂, 0)}."""
        n_q1, n_q2 = qgrid
        stack = np.array([[fields[(m1, m2)] for m2 in range(n_q2)] for m1 in range(n_q1)])
        n1, n2 = stack.shape[-2:]
        fractional = atoms.get_scaled_positions(wrap=False)
        q1, q2 = np.meshgrid(np.arange(n_q1) / n_q1, np.arange(n_q2) / n_q2, indexing="ij")
        x1, x2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
        lattice, weighted = [], []
        for k, tau in enumerate(fractional):
            # e^{iq·(x − τ)} ñ_q(x), then the inverse DFT over q gives D at x + R_m for m on the grid
            phase = np.exp(2j * np.pi * (q1[..., None, None] * (x1 - tau[0]) + q2[..., None, None] * (x2 - tau[1])))
            a = stack[:, :, k] * phase[:, :, None, None, None]
            d = np.fft.ifft2(a, axes=(0, 1))  # (m1, m2, β, layer, α, n1, n2)
            table, values = _wigner_seitz(d, atoms, tau, qgrid)
            lattice.append(table)
            weighted.append(values)
        return cls(atoms, tuple(qgrid), tuple(layers), lattice, weighted)

    def fields(self, qpoints, layer: int | None = None) -> np.ndarray:
        """ñ_{q,κβ}(x) (nq, natoms, 3, nlayers, 4, n₁, n₂) at reduced q-points (nq, 3) (q_z ignored);
        with ``layer`` (an index of ``layers``) that layer only, (nq, natoms, 3, 1, 4, n₁, n₂)."""
        q = np.atleast_2d(np.asarray(qpoints, float))[:, :2]
        chosen = slice(None) if layer is None else slice(layer, layer + 1)
        fractional = self.atoms.get_scaled_positions(wrap=False)[:, :2]
        n1, n2 = self.weighted[0].shape[-2:]
        x = np.stack(np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij"), axis=-1)
        out = []
        for k, (table, values) in enumerate(zip(self.lattice, self.weighted, strict=True)):
            values = values[:, :, chosen]
            phases = np.exp(-2j * np.pi * q @ table.T)  # (nq, nR)
            summed = (phases @ values.reshape(len(table), -1)).reshape(len(q), *values.shape[1:])
            bloch = np.exp(2j * np.pi * np.einsum("qi,xyi->qxy", q, fractional[k] - x))
            out.append(summed * bloch[:, None, None, None])
        return np.stack(out, axis=1)

    def cell_integrals(self, qpoints, layer: int) -> np.ndarray:
        """∫_cell ñ_{q,κβ}(x) d²x (nq, natoms, 3, 4) of one layer, for many q at once (the G = 0 component
        of :meth:`fourier`): e^{iq·τ} Σ_R e^{−iq·R} Σ_x e^{−iq·x} w D(x + R), the x sum one matrix product."""
        q = np.atleast_2d(np.asarray(qpoints, float))[:, :2]
        fractional = self.atoms.get_scaled_positions(wrap=False)[:, :2]
        n1, n2 = self.weighted[0].shape[-2:]
        x = np.stack(np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij"), axis=-1).reshape(-1, 2)
        area = abs(np.linalg.det(self.atoms.cell.array[:2, :2]))
        in_cell = np.exp(-2j * np.pi * q @ x.T)  # (nq, nx)
        out = np.zeros((len(q), len(fractional), 3, 4), dtype=complex)
        for k, (table, values) in enumerate(zip(self.lattice, self.weighted, strict=True)):
            flat = np.moveaxis(values[:, :, layer].reshape(len(table), 12, n1 * n2), 2, 0)  # (nx, nR, 12)
            summed = (in_cell @ flat.reshape(n1 * n2, -1)).reshape(len(q), len(table), 12)
            lattice = np.exp(2j * np.pi * ((q @ fractional[k])[:, None] - q @ table.T))  # (nq, nR)
            out[:, k] = np.einsum("qr,qrc->qc", lattice, summed).reshape(len(q), 3, 4)
        return out * area / (n1 * n2)

    def fourier(self, qpoints, g_reduced, layer: int | None = None) -> np.ndarray:
        """∫_cell ñ_{q,κβ}(x) e^{−iG·x} d²x (nq, nG, natoms, 3, nlayers, 4) for in-plane integer G (nG, 3):
        per layer, the field's unit times Å² (the z-integral layer: electrons per cell per Å);
        ``layer`` as in :meth:`fields`."""
        g = np.atleast_2d(np.asarray(g_reduced)).astype(int)
        values = self.fields(qpoints, layer)
        n1, n2 = values.shape[-2:]
        area = abs(np.linalg.det(self.atoms.cell.array[:2, :2]))
        spectrum = np.fft.fft2(values, axes=(-2, -1)) * area / (n1 * n2)
        return np.moveaxis(spectrum[..., g[:, 0] % n1, g[:, 1] % n2], -1, 1)


def _wigner_seitz(d: np.ndarray, atoms: Atoms, tau: np.ndarray, qgrid: tuple[int, int]):
    """(lattice vectors (nR, 2), weighted values (nR, 3, nlayers, 4, n₁, n₂)) of the supercell values
    d (N₁, N₂, 3, nlayers, 4, n₁, n₂) placed on their WS images around the fractional position τ."""
    n_q1, n_q2 = qgrid
    n1, n2 = d.shape[-2:]
    cell = atoms.cell.array[:2, :2]
    shifts = np.array([(s1 * n_q1, s2 * n_q2) for s1 in (-2, -1, 0, 1, 2) for s2 in (-2, -1, 0, 1, 2)])
    m = np.stack(np.meshgrid(np.arange(n_q1), np.arange(n_q2), indexing="ij"), axis=-1).reshape(-1, 2)
    x = np.stack(np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij"), axis=-1)
    # candidate lattice vectors R = m + shift for every (m, x); distance of x + R from τ
    candidates = m[:, None, :] + shifts[None, :, :]  # (nm, ns, 2)
    position = (x[None, None] + candidates[:, :, None, None, :] - tau[:2]) @ cell  # (nm, ns, n1, n2, 2)
    distance = np.linalg.norm(position, axis=-1)
    nearest = distance.min(axis=1, keepdims=True)
    chosen = distance <= nearest + WS_TOLERANCE  # (nm, ns, n1, n2)
    weight = chosen / chosen.sum(axis=1, keepdims=True)
    used = np.flatnonzero(chosen.any(axis=(2, 3)).ravel())  # (m, shift) pairs that are an image somewhere
    vectors = candidates.reshape(-1, 2)[used]
    table, index = np.unique(vectors, axis=0, return_inverse=True)
    index = index.reshape(-1)
    values = np.zeros((len(table), *d.shape[2:]), dtype=complex)
    flat_d = d.reshape(n_q1 * n_q2, *d.shape[2:])
    flat_w = weight.reshape(-1, n1, n2)
    for row, pair in zip(index, used, strict=True):
        values[row] += flat_w[pair] * flat_d[pair // len(shifts)]
    return table, values
