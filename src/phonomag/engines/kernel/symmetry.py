"""Pattern fields at every q of a grid from the irreducible ones: space group and time reversal.

A *pattern field* is the cell-periodic response ñ^α_{q,κβ}(r) (α = 0, x, y, z Pauli
components) to the unit Cartesian pattern u_κ(R) = ε̂_β e^{iq·(R+τ_κ)} (docs/physics.md §10, §11),
on the in-plane grid r = j₁/n₁ a₁ + j₂/n₂ a₂ of a set of *layers*: the z integral
(``None``) and planes at heights z (Å). Arrays are (natoms, 3, nlayers, 4, n₁, n₂).

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


def grid_problems(operations: list[Operation], n1: int, n2: int) -> list[str]:
    """Why some operations cannot carry pattern fields on the n₁×n₂ grid (empty if all can), each reason once."""
    return list(dict.fromkeys(reason for op in operations if (reason := _source_indices(op, n1, n2)[1])))


def apply_operation(operation: Operation, fields: np.ndarray, layers: tuple, cell: np.ndarray) -> np.ndarray:
    """Pattern fields at q′ = Sq from those at q (module docstring), same layers and grid."""
    natoms, _, nlayers, _, n1, n2 = fields.shape
    source, problem = _source_indices(operation, n1, n2)
    if problem:
        raise ValueError(problem)
    s1, s2 = source
    moved = fields[..., s1, s2]  # (κ, β, layer, α, n1, n2) at S⁻¹(r′ − t)
    s_cart = operation.cartesian
    components = np.eye(4)
    components[1:, 1:] = np.linalg.det(s_cart) * s_cart  # n⁰ scalar, M axial
    moved = np.einsum("ab,kclbxy->kclaxy", components, moved)
    moved = np.einsum("gb,kblaxy->kglaxy", s_cart, moved)  # the displacement direction (polar)
    out = np.empty_like(moved)
    out[operation.atom_map] = moved
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


def fill_grid(irreducible: dict, qgrid: tuple[int, int], operations: list[Operation], layers: tuple,
              atoms: Atoms) -> dict:
    """{grid steps (m₁, m₂): fields at q = (m₁/N₁, m₂/N₂, 0), 0 ≤ m_i < N_i} from the irreducible
    {steps: fields}, by the space group and time reversal. An error if a grid point is not reached, and an
    :class:`InconsistentImages` if images of two different inputs at one grid point differ."""
    grid = np.array(qgrid)
    cell, fractional = atoms.cell.array, atoms.get_scaled_positions(wrap=False)
    full: dict = {}
    source: dict = {}
    for steps, fields in irreducible.items():
        q = np.array([steps[0] / grid[0], steps[1] / grid[1], 0.0])
        for operation in operations:
            rotated = apply_operation(operation, fields, layers, cell)
            q_image = rotate_q(operation, q)
            for sign in (1, -1):
                image_q = sign * q_image
                canonical = np.rint(image_q[:2] * grid).astype(int) % grid
                key = (int(canonical[0]), int(canonical[1]))
                if key in full and source[key] == steps:
                    continue
                image = rotated if sign == 1 else time_reverse(rotated)
                g = np.append(canonical / grid - image_q[:2], 0.0)  # canonical q = image q + G
                value = shift_by_g(image, np.rint(g), fractional)
                if key in full:
                    _check_images(key, value, full[key], steps, source[key], layers)
                    continue
                full[key], source[key] = value, steps
    missing = [(m1, m2) for m1 in range(grid[0]) for m2 in range(grid[1]) if (m1, m2) not in full]
    if missing:
        classes = grid_classes(atoms, (*qgrid, 1))
        absent = sorted({classes[(m1, m2, 0)][:2] for m1, m2 in missing})
        raise ValueError(f"the irreducible q-points do not reach {len(missing)} points of the {qgrid[0]}×{qgrid[1]} "
                         f"grid; missing irreducible q (grid steps): {', '.join(map(str, absent))}")
    return full
