"""Cell-periodic fields as Fourier series on a sphere of wavevectors, and back onto grids (docs/kernel.md).

A cell-periodic field f(r) on the FFT grid r = Σᵢ jᵢ/nᵢ aᵢ is the finite Fourier series

    f(r) = Σ_G f_G e^{iG·r},   f_G = (1/N) Σ_r f(r) e^{−iG·r}   (N = n₁n₂n₃ grid points),

with G = Σᵢ Gᵢ bᵢ, Gᵢ integer (reduced), so f_G has the unit of f. The reduced DFPT files keep the
f_G of the pattern responses at q on the sphere |q + G|²/2 ≤ E_f (Hartree atomic units, G in bohr⁻¹),
like a plane-wave basis set: a rotation maps the sphere of q onto that of Sq, a shift by a
reciprocal lattice vector the sphere of q onto that of q + G₀, and time reversal that of q onto that
of −q, so symmetry acts on the kept coefficients exactly, for any translation. From them the
field is known exactly at any point (a finite Fourier sum), up to the components beyond E_f that
were dropped (the stated coarsening).
"""

from __future__ import annotations

import numpy as np
from ase import units

#: Relative margin of the sphere's radius, so that a shell of equal |q + G| is kept whole.
SPHERE_MARGIN = 1e-9


def sphere_radius(ecut_hartree: float) -> float:
    """Radius |q + G| (1/Å) of the sphere |q + G|²/2 ≤ E (Hartree, G in 1/bohr)."""
    return float(np.sqrt(2.0 * ecut_hartree)) / units.Bohr


def sphere_gvectors(cell: np.ndarray, qpoint, ecut_hartree: float, fft_shape=None) -> np.ndarray:
    """Integer reduced G (nG, 3) with |q + G|²/2 ≤ ``ecut_hartree`` for the cell (rows, Å) and reduced q,
    sorted by |q + G|; with ``fft_shape`` an error unless every one is below that grid's Nyquist index."""
    cell = np.asarray(cell, float)
    reciprocal = 2 * np.pi * np.linalg.inv(cell).T  # rows b_i (1/Å)
    radius = sphere_radius(ecut_hartree) * (1 + SPHERE_MARGIN)
    q = np.asarray(qpoint, float)
    reach = np.ceil(radius * np.linalg.norm(cell, axis=1) / (2 * np.pi) + np.abs(q)).astype(int)
    axes = [np.arange(-r, r + 1) for r in reach]
    g = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    length = np.linalg.norm((g + q) @ reciprocal, axis=1)
    inside = length <= radius
    g, length = g[inside], length[inside]
    g = g[np.lexsort((*g.T[::-1], np.round(length, 9)))]
    if fft_shape is not None:
        limit = (np.asarray(fft_shape) - 1) // 2
        if (np.abs(g) > limit).any():
            raise ValueError(f"the sphere of {ecut_hartree:g} Ha reaches beyond the {'×'.join(map(str, fft_shape))} "
                             "FFT grid of the fields: choose a smaller field cutoff")
    return g


def coefficients_on(fields: np.ndarray, gvectors: np.ndarray) -> np.ndarray:
    """f_G (…, nG) of grid fields (…, n₁, n₂, n₃) at the integer G (nG, 3) (module docstring)."""
    shape = np.array(fields.shape[-3:])
    spectrum = np.fft.fftn(fields, axes=(-3, -2, -1)) / shape.prod()
    index = np.asarray(gvectors) % shape
    return spectrum[..., index[:, 0], index[:, 1], index[:, 2]]


def ball_box(cell: np.ndarray, radius: float) -> tuple[int, int, int]:
    """The odd grid (n₁, n₂, n₃) whose box of integer G, |Gᵢ| ≤ (nᵢ − 1)/2, holds the ball |G| ≤ ``radius``
    (1/Å): |Gᵢ| = |G·aᵢ|/2π ≤ radius |aᵢ|/2π. A ball is closed under rotations, so the box holds the images."""
    reach = np.floor(radius * np.linalg.norm(np.asarray(cell, float), axis=1) / (2 * np.pi) * (1 + SPHERE_MARGIN))
    return tuple(int(2 * r + 1) for r in reach)


def box_spectrum(coefficients: np.ndarray, gvectors: np.ndarray, shape) -> np.ndarray:
    """The spectrum (…, n₁, n₂, n₃) with f_G (…, nG) at G mod n and zero elsewhere (FFT index order), complex in the
    coefficients' precision."""
    out = np.zeros(coefficients.shape[:-1] + tuple(shape), dtype=np.result_type(coefficients, np.complex64))
    index = np.asarray(gvectors) % np.array(shape)
    out[..., index[:, 0], index[:, 1], index[:, 2]] = coefficients
    return out


def time_reversed(coefficients: np.ndarray) -> np.ndarray:
    """±f*₋G of Pauli-component coefficients (…, 4, n₁, n₂, n₃) in FFT order, n⁰ +, M −: the coefficients of the
    time-reversed fields (docs/physics.md §6.1), in the input's precision."""
    flipped = np.conj(coefficients)
    for axis in (-3, -2, -1):
        flipped = np.take(flipped, (-np.arange(coefficients.shape[axis])) % coefficients.shape[axis], axis=axis)
    sign = np.array([1, -1, -1, -1], dtype=coefficients.real.dtype)[:, None, None, None]
    return sign * flipped


def grid_values(spectrum: np.ndarray) -> np.ndarray:
    """f(r) (…, n₁, n₂, n₃) on the grid r = j/n of a spectrum (…, n₁, n₂, n₃) of :func:`box_spectrum`."""
    shape = np.array(spectrum.shape[-3:])
    return np.fft.ifftn(spectrum, axes=(-3, -2, -1)) * int(shape.prod())  # a Python int keeps the precision


def _axis_frequencies(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(integer frequencies, FFT indices, weights) of one grid axis of n points: −(n−1)/2 … (n−1)/2 for odd n;
    for even n the Nyquist coefficient is split equally between ±n/2, so that it enters as a cosine."""
    index = np.arange(n)
    frequency = np.fft.fftfreq(n, 1.0 / n).astype(int)
    weight = np.ones(n)
    if n % 2 == 0:
        index = np.append(index, n // 2)
        frequency = np.append(frequency, n // 2)
        weight = np.append(weight, 1.0)
        weight[[n // 2, n]] = 0.5
    return frequency, index, weight


def plane_values(fields: np.ndarray, origin, first, second, points: int) -> np.ndarray:
    """The band-limited fields (…, n₁, n₂, n₃), periodic on the grid r = Σ jᵢ/nᵢ aᵢ, at the points
    x = origin + (i/P) u + (j/P) v (fractional; u, v integer (3,), P = ``points``): (…, P, P).

    Exact trigonometric interpolation: with x on that lattice of the plane, e^{2πi m·x} depends on m only
    through m·x₀, (m·u) mod P and (m·v) mod P, so the coefficients are summed into a P × P spectrum and one
    inverse FFT gives every point, for any plane of the lattice (even n: the Nyquist term as a cosine)."""
    fields = np.asarray(fields)
    shape = fields.shape[-3:]
    spectrum = np.fft.fftn(fields, axes=(-3, -2, -1)) / np.prod(shape)
    axes = [_axis_frequencies(n) for n in shape]
    frequency = np.stack(np.meshgrid(*[a[0] for a in axes], indexing="ij"), axis=-1).reshape(-1, 3)
    index = np.ix_(*[a[1] for a in axes])
    weight = np.einsum("i,j,k->ijk", *[a[2] for a in axes]).reshape(-1)
    coefficients = spectrum[(..., *index)].reshape(*fields.shape[:-3], -1)
    phase = weight * np.exp(2j * np.pi * frequency @ np.asarray(origin, float))
    k1 = frequency @ np.asarray(first, int) % points
    k2 = frequency @ np.asarray(second, int) % points
    bins = (k1 * points + k2).astype(np.intp)
    weighted = (coefficients * phase).reshape(-1, len(bins))
    folded = np.stack([np.bincount(bins, w.real, points * points) + 1j * np.bincount(bins, w.imag, points * points)
                       for w in weighted])
    values = np.fft.ifft2(folded.reshape(-1, points, points)) * points * points
    return values.reshape(*fields.shape[:-3], points, points)
