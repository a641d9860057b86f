"""The response kernel: pattern fields on a coarse q grid → real space → any q (docs/physics.md §11).

From the cell-periodic pattern fields ñ_{q,κβ}(x) at every q of an N₁×N₂×N₃ grid
(:func:`~phonomag.engines.kernel.symmetry.fill_grid`; a layer's grid has N₃ = 1), the response to
displacing atom κ of cell 0 alone in the grid's Born–von Kármán supercell is

    D_{κβ}(x + R) = (1/N_q) Σ_q e^{−iq·τ_κ} e^{iq·(x+R)} ñ_{q,κβ}(x)

(x a point of one cell, R a lattice vector of the supercell). The points x are those of a set of
*layers*, each on the grid x = j₁/n₁ a₁ + j₂/n₂ a₂ + x₃ a₃: a plane at height z (Å) along the normal
of a₁, a₂ (x₃ = z/d₃, d₃ the spacing of the lattice planes: z itself for a slab with a₃ ⟂ a₁, a₂), or
the z integral (``None``, a layer's grid only). The planes x₃ = j₃/n₃ of a grid are a volume.
Each supercell point is placed at its Wigner–Seitz image around τ_κ (3D distance; along a direction
with Nᵢ = 1 the supercell has no lattice vector and that coordinate does not enter; points on the
boundary are shared by their images with equal weights w), and then for any q

    ñ_{q,κβ}(x) = e^{iq·(τ_κ − x)} Σ_R e^{−iq·R} w(x, R) D_{κβ}(x + R),

exact at the grid q-points. Fourier components at q + G are the FFT of ñ_q over the cell
(:meth:`ResponseKernel.fourier`), the cell moment is G = 0. Units are those of the fields
(per Å of displacement). The kernel stores D in the precision of its input fields (single precision from the
reduced files of format 2, which store it) and sums in double precision, in blocks of :data:`R_BLOCK` lattice
vectors. For a polar crystal the kernel holds the short-range rest: the long-range part
(:mod:`~phonomag.engines.kernel.long_range`) is subtracted at the grid q before the transform and added back at
every q.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from ase import Atoms

from phonomag.engines.kernel.long_range import LongRange

#: Points closer than this (Å) to the nearest image count as equally near (boundary of the WS cell).
WS_TOLERANCE = 1e-6
#: Lattice vectors R per block of the kernel's sums over R: bounds the double-precision copy of the stored values.
R_BLOCK = 32


def plane_spacing(cell: np.ndarray) -> float:
    """d₃ (Å): the distance between the lattice planes spanned by a₁, a₂ (c for a slab with a₃ ⟂ a₁, a₂)."""
    cell = np.asarray(cell, float)
    return float(abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[0], cell[1])))


def layer_coordinates(layers: tuple, cell: np.ndarray) -> np.ndarray:
    """x₃ = z/d₃ of each layer (0 for the z integral, ``None``)."""
    return np.array([0.0 if z is None else z / plane_spacing(cell) for z in layers])


@dataclass(frozen=True)
class ResponseKernel:
    """D of every pattern on its Wigner–Seitz images.

    atoms: the structure (τ_κ, cell); qgrid (N₁, N₂, N₃); layers: the field layers (module docstring);
    lattice[κ] (nR, 3) integer lattice vectors R (reduced); weighted[κ] (nR, 3, nlayers, 4, n₁, n₂)
    complex w(x, R) D_{κβ}(x + R), zero where x + R is not an image of the WS cell of κ; long_range: the
    long-range part (a polar crystal's volume kernel), or None.
    """

    atoms: Atoms
    qgrid: tuple[int, int, int]
    layers: tuple
    lattice: list[np.ndarray]
    weighted: list[np.ndarray]
    long_range: LongRange | None = None

    @classmethod
    def from_grid(cls, fields: dict, atoms: Atoms, qgrid: tuple[int, int, int], layers: tuple,
                  long_range: LongRange | None = None) -> ResponseKernel:
        """The kernel of {grid steps m: fields (natoms, 3, nlayers, 4, n₁, n₂) at q = m/N}, in their precision; with
        ``long_range`` (layers: the planes of the volume) of the fields without it. The transform and the
        Wigner–Seitz images go one atom κ at a time."""
        qgrid = tuple(int(n) for n in qgrid)
        if long_range is not None and None in layers:
            raise ValueError("the long-range part is for a volume kernel (format 2), not a layer's z integral")
        steps = list(np.ndindex(*qgrid))
        q = np.array(steps, float) / np.array(qgrid)
        first = fields[steps[0]]  # (κ, β, layer, α, n1, n2)
        n1, n2 = first.shape[-2:]
        fractional = atoms.get_scaled_positions(wrap=False)
        x = _layer_points(n1, n2, layer_coordinates(layers, atoms.cell.array))  # (layer, n1, n2, 3)
        # e^{iq·(x − τ_κ)} ñ_q(x), then the inverse DFT over q gives D at x + R_m for m on the grid
        a = np.empty((len(fractional), len(steps), *first.shape[1:]), dtype=first.dtype)  # (κ, q, β, layer, α, …)
        for i, m in enumerate(steps):
            a[:, i] = fields[m] if long_range is None else fields[m] - long_range.fields(q[i][None])[0]
            a[:, i] *= np.exp(2j * np.pi * ((x[None] - fractional[:, None, None, None]) @ q[i]))[:, None, :, None]
        lattice, weighted = [], []
        for k, tau in enumerate(fractional):
            d = scipy.fft.ifftn(a[k].reshape(*qgrid, *first.shape[1:]), axes=(0, 1, 2))
            table, values = _wigner_seitz(d.reshape(len(steps), *first.shape[1:]), atoms, tau, qgrid, x)
            del d
            lattice.append(table)
            weighted.append(values)
        return cls(atoms, qgrid, tuple(layers), lattice, weighted, long_range)

    def _points(self) -> np.ndarray:
        n1, n2 = self.weighted[0].shape[-2:]
        return _layer_points(n1, n2, layer_coordinates(self.layers, self.atoms.cell.array))

    def fields(self, qpoints, layer: int | None = None) -> np.ndarray:
        """ñ_{q,κβ}(x) (nq, natoms, 3, nlayers, 4, n₁, n₂) at reduced q-points (nq, 3) (q₃ ignored by a layer's
        kernel, N₃ = 1); with ``layer`` (an index of ``layers``) that layer only, (nq, natoms, 3, 1, 4, n₁, n₂)."""
        q = self._q(qpoints)
        chosen = slice(None) if layer is None else slice(layer, layer + 1)
        fractional = self.atoms.get_scaled_positions(wrap=False)
        x = self._points()[chosen]
        out = []
        for k, (table, values) in enumerate(zip(self.lattice, self.weighted, strict=True)):
            values = values[:, :, chosen]
            phases = np.exp(-2j * np.pi * q @ table.T)  # (nq, nR)
            summed = np.zeros((len(q), values[0].size), dtype=complex)
            for start in range(0, len(table), R_BLOCK):
                block = values[start:start + R_BLOCK]
                summed += phases[:, start:start + R_BLOCK] @ block.reshape(len(block), -1).astype(complex)
            summed = summed.reshape(len(q), *values.shape[1:])
            bloch = np.exp(2j * np.pi * np.einsum("qi,lxyi->qlxy", q, fractional[k] - x))
            out.append(summed * bloch[:, None, :, None])
        out = np.stack(out, axis=1)
        return out if self.long_range is None else out + self.long_range.fields(q)[:, :, :, chosen]

    def _q(self, qpoints) -> np.ndarray:
        """Reduced q (nq, 3); q₃ = 0 for a layer's kernel (N₃ = 1)."""
        q = np.atleast_2d(np.asarray(qpoints, float)).copy()
        if self.qgrid[2] == 1:
            q[:, 2] = 0.0
        return q

    def cell_integrals(self, qpoints, layer: int | None) -> np.ndarray:
        """∫_cell ñ_{q,κβ}(x) (nq, natoms, 3, 4), for many q at once (the G = 0 component of :meth:`fourier`):
        e^{iq·τ} Σ_R e^{−iq·R} Σ_x e^{−iq·x} w D(x + R), the x sum one matrix product. ``layer``: the index of
        the z-integral layer (∫d²x, area of the cell), or None: the volume of all layers (∫d³x)."""
        q = self._q(qpoints)
        cell = self.atoms.cell.array
        fractional = self.atoms.get_scaled_positions(wrap=False)
        n1, n2 = self.weighted[0].shape[-2:]
        chosen = list(range(len(self.layers))) if layer is None else [layer]
        x = self._points()[chosen].reshape(-1, 3)
        if layer is None:
            measure = abs(np.linalg.det(cell)) / len(x)
        else:  # the z integral of a layer: a₁, a₂ in the xy plane
            measure = abs(np.linalg.det(cell[:2, :2])) / (n1 * n2)
        in_cell = np.exp(-2j * np.pi * q @ x.T)  # (nq, nx)
        out = np.zeros((len(q), len(fractional), 3, 4), dtype=complex)
        for k, (table, values) in enumerate(zip(self.lattice, self.weighted, strict=True)):
            summed = np.empty((len(q), len(table), 12), dtype=complex)
            for start in range(0, len(table), R_BLOCK):
                block = np.moveaxis(values[start:start + R_BLOCK][:, :, chosen], 2, 3)  # (nb, β, α, layer, n1, n2)
                block = block.reshape(len(block) * 12, len(x)).astype(complex)
                summed[:, start:start + R_BLOCK] = (in_cell @ block.T).reshape(len(q), -1, 12)
            lattice = np.exp(2j * np.pi * ((q @ fractional[k])[:, None] - q @ table.T))  # (nq, nR)
            out[:, k] = np.einsum("qr,qrc->qc", lattice, summed).reshape(len(q), 3, 4)
        out *= measure
        return out if self.long_range is None else out + self.long_range.cell_integrals(q)

    def fourier(self, qpoints, g_reduced, layer: int | None) -> np.ndarray:
        """∫_cell ñ_{q,κβ}(x) e^{−iG·x} (nq, nG, natoms, 3, 4) for integer G (nG, 3): ``layer`` the index of the
        z-integral layer, in-plane G, ∫d²x (electrons per cell per Å); or None, the volume of all layers,
        any G on their grid, ∫d³x."""
        g = np.atleast_2d(np.asarray(g_reduced)).astype(int)
        cell = self.atoms.cell.array
        if layer is not None:
            values = self.fields(qpoints, layer)[:, :, :, 0]  # (nq, κ, β, α, n1, n2)
            n1, n2 = values.shape[-2:]
            area = abs(np.linalg.det(cell[:2, :2]))  # the z integral of a layer: a₁, a₂ in the xy plane
            spectrum = np.fft.fft2(values, axes=(-2, -1)) * area / (n1 * n2)
            return np.moveaxis(spectrum[..., g[:, 0] % n1, g[:, 1] % n2], -1, 1)
        values = np.moveaxis(self.fields(qpoints), 3, -1)  # (nq, κ, β, α, n1, n2, layer = n3)
        shape = np.array(values.shape[-3:])
        spectrum = np.fft.fftn(values, axes=(-3, -2, -1)) * abs(np.linalg.det(cell)) / shape.prod()
        return np.moveaxis(spectrum[..., g[:, 0] % shape[0], g[:, 1] % shape[1], g[:, 2] % shape[2]], -1, 1)


def _layer_points(n1: int, n2: int, x3: np.ndarray) -> np.ndarray:
    """Fractional points (nlayers, n₁, n₂, 3) of the layers' grids."""
    f1, f2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
    return np.stack(np.broadcast_arrays(f1[None], f2[None], np.asarray(x3, float)[:, None, None]), axis=-1)


def _wigner_seitz(d: np.ndarray, atoms: Atoms, tau: np.ndarray, qgrid: tuple[int, int, int], x: np.ndarray):
    """(lattice vectors (nR, 3), weighted values (nR, 3, nlayers, 4, n₁, n₂)) of the supercell values
    d (N_q, 3, nlayers, 4, n₁, n₂), grid steps in C order, at the fractional points x (nlayers, n₁, n₂, 3)
    placed on their WS images around the fractional position τ, in the precision of d. One grid step m at a time,
    so that the distances of its candidate images (5 per periodic direction) are all that is held at once."""
    grid = np.array(qgrid)
    periodic = grid > 1  # along a direction with one q-point the supercell has no lattice vector
    cell = atoms.cell.array * periodic[:, None]
    reach = [(-2, -1, 0, 1, 2) if p else (0,) for p in periodic]
    shifts = np.array(np.meshgrid(*reach, indexing="ij")).reshape(3, -1).T * grid
    shifted = shifts @ cell  # (ns, 3) Å
    points = ((x - tau) @ cell).reshape(-1, 3)  # (nl n1 n2, 3) Å
    layout = x.shape[:-1]
    rows: dict = {}
    for i, step in enumerate(np.ndindex(*qgrid)):
        p = points + np.array(step) @ cell
        # |p + t|² = |p|² + 2 p·t + |t|² for every shift t at once, one matrix product
        squared = (p * p).sum(axis=1)[:, None] + 2.0 * p @ shifted.T + (shifted * shifted).sum(axis=1)[None]
        distance = np.sqrt(np.maximum(squared, 0.0))  # (points, ns)
        chosen = distance <= distance.min(axis=1, keepdims=True) + WS_TOLERANCE
        weight = (chosen / chosen.sum(axis=1, keepdims=True)).astype(d.real.dtype)
        for s in np.flatnonzero(chosen.any(axis=0)):  # the shifts that are an image somewhere
            key = tuple(int(v) for v in np.array(step) + shifts[s])
            term = weight[:, s].reshape(layout)[None, :, None] * d[i]
            if key in rows:
                rows[key] += term
            else:
                rows[key] = term
    table = np.array(sorted(rows))
    values = np.empty((len(table), *d.shape[1:]), dtype=d.dtype)
    for j, r in enumerate(table):  # each row freed as it is copied: the values are held once
        values[j] = rows.pop(tuple(int(v) for v in r))
    return table, values
