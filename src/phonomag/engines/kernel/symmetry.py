"""Pattern fields at every q of a grid from the irreducible ones: space group and time reversal.

A *pattern field* is the cell-periodic response ñ^α_{q,κβ}(r) (α = 0, x, y, z Pauli
components) to the unit Cartesian pattern u_κ(R) = ε̂_β e^{iq·(R+τ_κ)} (docs/physics.md §10, §11).
Two representations (:func:`fill_grid` unfolds either):

* :class:`FourierBox` (reduced files of format 2, any cell): the Fourier coefficients ñ_G,
  ñ(r) = Σ_G ñ_G e^{iG·r}, on a box of integer G, arrays (natoms, 3, 4, n₁, n₂, n₃) in FFT index
  order. Every operation of the space group acts exactly, whatever its translation (a phase) and
  whether or not it mixes z with the plane: with G′ = SG, ñ′_{G′} = e^{−iG′·t} ñ_G.
* :class:`PlaneLayers` (format 1, layers): the in-plane grid r = j₁/n₁ a₁ + j₂/n₂ a₂ of a set of
  *layers*: the z integral (``None``) and planes at heights z (Å), arrays (natoms, 3, nlayers, 4, n₁, n₂);
  an operation must map that grid onto itself (refused otherwise).

Space group operation g = {S|t} (r ↦ Sr + t, S orthogonal, Cartesian) mapping atom κ to κ′:
displacing κ along ε̂_β with pattern q is displacing κ′ along Sε̂_β with pattern q′ = Sq
times e^{−iq′·t}; n⁰ is a scalar field and M an axial vector (det S · S). With the τ-including
phases the Bloch factors cancel and

    ñ_{q′,κ′γ}(r′) = Σ_β S_γβ  R_S ñ_{q,κβ}(S⁻¹(r′ − t)),   R_S = diag(1, det S · S).

Time reversal (the one-sided response to the conjugate pattern, docs/physics.md §6.1):
n⁰_{−q} = (n⁰_q)*, M_{−q} = −(M_q)*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import spglib
from ase import Atoms

from phonomag.crystal.qpoints import grid_classes
from phonomag.engines.kernel.interpolation import plane_spacing
from phonomag.response.band_limited import grid_values, time_reversed


@dataclass(frozen=True)
class Operation:
    """{S|t} of a layer: rotation (3, 3) integer on fractional coordinates, Cartesian (3, 3), translation
    (3,) fractional, and the atom κ′ that atom κ goes to."""

    rotation: np.ndarray
    cartesian: np.ndarray
    translation: np.ndarray
    atom_map: np.ndarray


def space_group(atoms: Atoms, symprec: float = 1e-5) -> list[Operation]:
    """The operations of the layer's space group (spglib), with their Cartesian rotations and atom maps."""
    cell = atoms.cell.array
    fractional = atoms.get_scaled_positions(wrap=False)
    data = spglib.get_symmetry((cell, fractional, atoms.numbers), symprec=symprec)
    operations = []
    for rotation, translation in zip(data["rotations"], data["translations"], strict=True):
        u, _, vt = np.linalg.svd(cell.T @ rotation @ np.linalg.inv(cell.T))
        cartesian = u @ vt  # the nearest orthogonal matrix: cells given to finite precision
        moved = fractional @ rotation.T + translation
        atom_map = np.empty(len(atoms), int)
        for k, position in enumerate(moved):
            diff = fractional - position
            atom_map[k] = int(np.argmin(np.linalg.norm(diff - np.rint(diff), axis=1)))
        operations.append(Operation(rotation, cartesian, translation, atom_map))
    return operations


def rotate_q(operation: Operation, q_reduced) -> np.ndarray:
    """q′ = Sq in reduced coordinates of the reciprocal basis (q·r is invariant: q′_red = R⁻ᵀ q_red)."""
    return np.linalg.inv(operation.rotation).T @ np.asarray(q_reduced, float)


def _layer_map(operation: Operation, layers: tuple, cell: np.ndarray) -> list[int]:
    """Index of the image layer of each layer (z ↦ S_zz z + t_z c; the z integral stays)."""
    out = []
    for height in layers:
        if height is None:
            out.append(layers.index(None))
            continue
        image = operation.cartesian[2, 2] * height + operation.translation[2] * cell[2, 2]
        match = [i for i, h in enumerate(layers) if h is not None and abs(h - image) < 1e-6]
        if not match:
            raise ValueError(f"the layers {layers} are not closed under the space group (z = {height} ↦ {image})")
        out.append(match[0])
    return out


def _source_indices(operation: Operation, n1: int, n2: int) -> tuple[np.ndarray | None, str | None]:
    """For every point r′ = j′/n of the in-plane n₁×n₂ grid, the grid index of r = S⁻¹(r′ − t), (2, n1, n2);
    or None and the reason why the operation does not map that grid onto itself."""
    rotation = operation.rotation
    if np.abs(rotation[:2, 2]).max() or np.abs(rotation[2, :2]).max():
        return None, "the operation mixes in-plane and out-of-plane coordinates: not a layer symmetry"
    shift = operation.translation[:2] * np.array([n1, n2])
    if np.abs(shift - np.rint(shift)).max() > 1e-6:
        return None, (f"the translation {np.round(operation.translation[:2], 6).tolist()} of a space-group "
                      f"operation is not on the {n1}×{n2} FFT grid of the fields")
    inverse = np.rint(np.linalg.inv(rotation[:2, :2])).astype(int)
    j1, j2 = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    target = np.stack([j1 / n1, j2 / n2], axis=-1) - operation.translation[:2]
    source = (target @ inverse.T) * np.array([n1, n2])
    if np.abs(source - np.rint(source)).max() > 1e-6:
        return None, f"the rotation does not map the {n1}×{n2} FFT grid of the fields onto itself"
    return (np.rint(source).astype(int) % np.array([n1, n2])).transpose(2, 0, 1), None


def rotate_patterns(operation: Operation, fields: np.ndarray) -> np.ndarray:
    """Fields (natoms, 3, 4, …) with the Pauli components rotated (n⁰ scalar, M axial: det S · S), the
    displacement direction rotated (polar) and atom κ moved to κ′ (the points are already moved)."""
    s_cart = operation.cartesian
    components = np.eye(4)
    components[1:, 1:] = np.linalg.det(s_cart) * s_cart
    moved = np.einsum("ab,kcb...->kca...", components, fields)
    moved = np.einsum("gb,kb...->kg...", s_cart, moved)
    out = np.empty_like(moved)
    out[operation.atom_map] = moved
    return out


def apply_operation(operation: Operation, fields: np.ndarray, layers: tuple, cell: np.ndarray) -> np.ndarray:
    """Pattern fields at q′ = Sq from those at q (module docstring), same layers and grid."""
    natoms, _, nlayers, _, n1, n2 = fields.shape
    source, problem = _source_indices(operation, n1, n2)
    if problem:
        raise ValueError(problem)
    s1, s2 = source
    moved = fields[..., s1, s2]  # (κ, β, layer, α, n1, n2) at S⁻¹(r′ − t)
    out = np.moveaxis(rotate_patterns(operation, np.moveaxis(moved, 3, 2)), 2, 3)
    layer_map = _layer_map(operation, layers, cell)
    result = np.empty_like(out)
    result[:, :, layer_map] = out
    return result


def time_reverse(fields: np.ndarray) -> np.ndarray:
    """Pattern fields at −q from those at q: n⁰ ↦ (n⁰)*, M ↦ −M*."""
    sign = np.array([1.0, -1.0, -1.0, -1.0])[None, None, None, :, None, None]
    return sign * np.conj(fields)


def shift_by_g(fields: np.ndarray, g_reduced, fractional: np.ndarray) -> np.ndarray:
    """Pattern fields at q + G from those at q: the τ-phase pattern gains e^{iG·τ_κ} and the cell-periodic
    part e^{−iG·r} (δn is the same). ``fractional``: the atoms' fractional positions (natoms, 3)."""
    g = np.asarray(g_reduced, float)
    n1, n2 = fields.shape[-2:]
    j1, j2 = np.meshgrid(np.arange(n1) / n1, np.arange(n2) / n2, indexing="ij")
    bloch = np.exp(-2j * np.pi * (g[0] * j1 + g[1] * j2))
    pattern = np.exp(2j * np.pi * fractional @ g)
    return fields * pattern[:, None, None, None, None, None] * bloch


#: Largest difference, relative to the largest value of the layer, of two files' images at one grid point:
#: the shipped WSe₂ data's own images (rotations, mirrors, time reversal of each q onto itself) agree to
#: 4.6e-7 (SCF tolerance of the DFPT, docs/kernel.md); 1e-5 is the level of symmetry-zero SCF noise there.
IMAGE_TOLERANCE = 1e-5


class InconsistentImages(ValueError):
    """Two irreducible inputs (grid steps ``first``, ``second``) whose symmetry images at one grid point differ."""

    def __init__(self, text: str, first, second):
        super().__init__(text)
        self.first, self.second = first, second


def _check_images(key, image: np.ndarray, kept: np.ndarray, steps, source, layers: tuple) -> None:
    """An :class:`InconsistentImages` unless the image at grid point ``key`` from ``steps`` equals that from
    ``source`` to :data:`IMAGE_TOLERANCE` per layer."""
    for index, layer in enumerate(layers):
        scale = max(np.abs(kept[:, :, index]).max(), np.abs(image[:, :, index]).max())
        deviation = np.abs(image[:, :, index] - kept[:, :, index]).max() / scale if scale else 0.0
        if deviation > IMAGE_TOLERANCE:
            where = "the z integral" if layer is None else f"the plane z = {layer:g} Å"
            raise InconsistentImages(
                f"their symmetry images at the grid point {key} differ by {deviation:.2g} of the largest value "
                f"({where}; SCF noise is below {IMAGE_TOLERANCE:g})", source, steps)


@dataclass(frozen=True)
class PlaneLayers:
    """The format-1 representation (module docstring): fields (natoms, 3, nlayers, 4, n₁, n₂) on ``layers``."""

    layers: tuple
    atoms: Atoms

    def apply(self, operation: Operation, fields: np.ndarray) -> np.ndarray:
        return apply_operation(operation, fields, self.layers, self.atoms.cell.array)

    def time_reverse(self, fields: np.ndarray) -> np.ndarray:
        return time_reverse(fields)

    def shift_by_g(self, fields: np.ndarray, g_reduced) -> np.ndarray:
        return shift_by_g(fields, g_reduced, self.atoms.get_scaled_positions(wrap=False))

    def check_images(self, key, image, kept, steps, source) -> None:
        _check_images(key, image, kept, steps, source, self.layers)

    def kernel_layers(self, full: dict) -> tuple[dict, tuple]:
        """The fields as the kernel's layers (:class:`~.interpolation.ResponseKernel`): as they are."""
        return full, self.layers


@dataclass(frozen=True)
class FourierBox:
    """The format-2 representation (module docstring): coefficients (natoms, 3, 4, n₁, n₂, n₃) on the box of
    integer G, |Gᵢ| ≤ (nᵢ − 1)/2. The box must hold every nonzero coefficient of every q and its images: it
    holds the ball |G| ≤ E_f radius + the largest |q| (:func:`~phonomag.response.band_limited.ball_box`)."""

    shape: tuple[int, int, int]
    atoms: Atoms

    def _gvectors(self) -> np.ndarray:
        axes = [np.fft.fftfreq(n, 1.0 / n).astype(int) for n in self.shape]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)

    def apply(self, operation: Operation, fields: np.ndarray) -> np.ndarray:
        """ñ′_{κ′γ}(SG) = e^{−iSG·t} Σ_β S_γβ R_S ñ_{κβ}(G): the fields at Sq, exact for any t."""
        shape = np.array(self.shape)
        g = self._gvectors()
        image = g @ np.rint(np.linalg.inv(operation.rotation)).astype(int)  # G′_red = R⁻ᵀ G_red (rows)
        inside = (np.abs(image) <= (shape - 1) // 2).all(axis=1)  # the others are beyond the ball: zero
        phase = np.exp(-2j * np.pi * image[inside] @ operation.translation)
        flat = fields.reshape(*fields.shape[:3], -1)
        target = np.ravel_multi_index(tuple((image[inside] % shape).T), self.shape)
        moved = np.zeros_like(flat)
        moved[..., target] = flat[..., np.flatnonzero(inside)] * phase
        return rotate_patterns(operation, moved).reshape(fields.shape)

    def time_reverse(self, fields: np.ndarray) -> np.ndarray:
        """ñ_{−q}(G) = ±ñ_q(−G)* (n⁰ +, M −)."""
        return time_reversed(fields)

    def shift_by_g(self, fields: np.ndarray, g_reduced) -> np.ndarray:
        """ñ_{q+G₀}(G) = e^{iG₀·τ_κ} ñ_q(G + G₀) (the τ-phase pattern and the cell-periodic part, as in real space)."""
        g0 = np.rint(np.asarray(g_reduced, float)).astype(int)
        pattern = np.exp(2j * np.pi * self.atoms.get_scaled_positions(wrap=False) @ g0)
        return pattern[:, None, None, None, None, None] * np.roll(fields, tuple(-g0), axis=(-3, -2, -1))

    def check_images(self, key, image, kept, steps, source) -> None:
        scale = max(np.abs(kept).max(), np.abs(image).max())
        deviation = np.abs(image - kept).max() / scale if scale else 0.0
        if deviation > IMAGE_TOLERANCE:
            raise InconsistentImages(
                f"their symmetry images at the grid point {key} differ by {deviation:.2g} of the largest Fourier "
                f"coefficient (SCF noise is below {IMAGE_TOLERANCE:g})", source, steps)

    def kernel_layers(self, full: dict) -> tuple[dict, tuple]:
        """The fields on the real-space grid of the box, r = Σ jᵢ/nᵢ aᵢ (exact: the box holds every G), as the
        kernel's layers: the n₃ planes x₃ = j₃/n₃, (natoms, 3, n₃, 4, n₁, n₂), at heights j₃/n₃ d₃ (Å). ``full`` is
        emptied as it goes, so that the grid is held once."""
        layered = {steps: np.moveaxis(grid_values(full.pop(steps)), -1, 2) for steps in list(full)}
        spacing = plane_spacing(self.atoms.cell.array)
        return layered, tuple(j / self.shape[2] * spacing for j in range(self.shape[2]))


def fill_grid(irreducible: dict, qgrid: tuple[int, int, int], operations: list[Operation], atoms: Atoms,
              representation) -> dict:
    """{grid steps (m₁, m₂, m₃): fields at q = m/N, 0 ≤ mᵢ < Nᵢ} from the irreducible {steps: fields}, by the
    space group and time reversal, in ``representation`` (:class:`FourierBox` or :class:`PlaneLayers`). An
    error if a grid point is not reached, and an :class:`InconsistentImages` if images of two different inputs
    at one grid point differ."""
    grid = np.array(qgrid)
    full: dict = {}
    source: dict = {}
    for steps, fields in irreducible.items():
        q = np.asarray(steps, float) / grid
        for operation in operations:
            q_image = rotate_q(operation, q)
            images = [(sign * q_image, tuple(int(m) for m in np.rint(sign * q_image * grid).astype(int) % grid))
                      for sign in (1, -1)]
            if all(key in full and source[key] == steps for _, key in images):
                continue  # both images are this input's already: nothing to rotate
            rotated = representation.apply(operation, fields)
            for sign, (image_q, key) in zip((1, -1), images, strict=True):
                canonical = np.array(key)
                if key in full and source[key] == steps:
                    continue
                image = rotated if sign == 1 else representation.time_reverse(rotated)
                value = representation.shift_by_g(image, np.rint(canonical / grid - image_q))  # canonical = image + G
                if key in full:
                    representation.check_images(key, value, full[key], steps, source[key])
                    continue
                full[key], source[key] = value.astype(fields.dtype, copy=False), steps  # the inputs' precision
    missing = [m for m in np.ndindex(*grid) if m not in full]
    if missing:
        classes = grid_classes(atoms, tuple(qgrid))
        absent = sorted({classes[m] for m in missing})
        raise ValueError(f"the irreducible q-points do not reach {len(missing)} points of the "
                         f"{'×'.join(map(str, qgrid))} grid; missing irreducible q (grid steps): "
                         f"{', '.join(map(str, absent))}")
    return full
