"""Slater–Koster spinor tight-binding model and its electron–phonon vertex.

Conventions (docs/physics.md §10)
--------------------------
* Bloch sums in the τ-including gauge: φ_{kμ} = N^{-1/2} Σ_R e^{ik·(R+τ_μ)} φ_μ(r−R−τ_μ),
  so H_{μν}(k) = Σ_bonds E_{μν}(d) e^{ik·d} with d = R + τ_ν − τ_μ.
* Spinor basis index s·n_orb + μ (spin outer). H(k) = 1₂ ⊗ H_orb(k) + H_SOC.
* k and q are given in reduced coordinates of the reciprocal basis (k·a_i = 2π k_i).
* Energies in eV, lengths in Å.

Electron–phonon vertex
----------------------
For the complex displacement pattern u_κ(R) = ε̂_α e^{iq·(R+τ_κ)} of atom κ, the
matrix element between Bloch orbitals, with the Bloch phases kept at the
undisplaced positions, is

    g_{μν}(k, q; κα) = ⟨φ_{k+q,μ}| ∂H/∂u_κα(q) |φ_{k,ν}⟩
                     = Σ_bonds ∂_α E_{μν}(d) [δ_{κ,ν} e^{i(k+q)·d} − δ_{κ,μ} e^{ik·d}],

where δ_{κ,ν} selects bonds whose end atom is κ and δ_{κ,μ} bonds that start on
κ. On-site energies and SOC do not depend on positions in this model, so the
vertex is spin diagonal: the spinor vertex is 1₂ ⊗ g.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from phonomag.crystal.crystal import Crystal
from phonomag.crystal.materials import HoppingSpec, MaterialSpec, SpeciesSpec
from phonomag.crystal.orbitals import (
    CHANNELS,
    ORBITAL_INDEX,
    PAULI,
    mirror_parity,
    onsite_l_matrices,
    spin_orbit_matrix,
)
from phonomag.engines.tightbinding.form_factors import onsite_form_factors
from phonomag.engines.tightbinding.slater_koster import HARRISON_EXPONENTS, two_centre_block
from phonomag.errors import ModelFileError, NoGapError
from phonomag.phonons.mirror import sigma_h_permutation

_L_LETTER = "spd"


@dataclass(frozen=True)
class Bonds:
    """Directed bonds i → j with vector d = R + τ_j − τ_i at equilibrium (Å)."""

    start: np.ndarray  # (nb,) atom index i
    end: np.ndarray  # (nb,) atom index j
    vectors: np.ndarray  # (nb, 3)
    spec: np.ndarray  # (nb,) index of the matching HoppingSpec
    forward: np.ndarray  # (nb,) True when atom i is the first atom of the spec's pair



def _phase_sum(phases: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ_b phases[k, b] weights[b, …] for complex phases and real weights, as two real matmuls."""
    flat = weights.reshape(len(weights), -1)
    result = np.empty((len(phases), flat.shape[1]), dtype=complex)
    result.real = phases.real @ flat
    result.imag = phases.imag @ flat
    return result.reshape(len(phases), *weights.shape[1:])

class TightBindingModel:
    """Spinor Slater–Koster model of a crystal.

    Parameters
    ----------
    atoms : structure (positions Å); its order defines atom indices κ.
    labels : one label per site (matched, like species names, by hopping pairs).
    species : electronic description per chemical symbol.
    hoppings : bond-integral tables.
    occupied_bands : number of occupied spinor bands per cell.
    """

    def __init__(
        self,
        atoms: Atoms,
        labels: tuple[str, ...],
        species: dict[str, SpeciesSpec],
        hoppings: tuple[HoppingSpec, ...],
        occupied_bands: int,
    ):
        self.atoms = atoms
        self.labels = tuple(labels)
        self.species = species
        self.hoppings = hoppings
        self.occupied_bands = occupied_bands
        symbols = atoms.get_chemical_symbols()
        self.atom_orbitals = [species[s].orbitals for s in symbols]
        sizes = [len(o) for o in self.atom_orbitals]
        self.orbital_offset = np.concatenate([[0], np.cumsum(sizes)])
        self.n_orbitals = int(self.orbital_offset[-1])
        self.n_basis = 2 * self.n_orbitals
        #: atom index owning each orbital, (n_orbitals,)
        self.orbital_atom = np.repeat(np.arange(len(atoms)), sizes)
        #: orbital names in basis order (one spin block)
        self.orbital_names = tuple(o for orbs in self.atom_orbitals for o in orbs)
        self.bonds = self._find_bonds()
        self._bond_matrices, self._bond_gradients = self.bond_matrices(self.bonds.vectors)

    @classmethod
    def from_material(cls, spec: MaterialSpec) -> TightBindingModel:
        """The model of a material; ModelFileError for a material without one (no ``[electrons]``)."""
        if not spec.has_model:
            raise ModelFileError(
                f"material {spec.name} ({spec.source}) has no tight-binding model ([electrons] in a model file): "
                "its response comes from first principles (phonomag dfpt-kernel, then [kernel] data or "
                "--engine abinit)")
        return cls(spec.atoms, spec.labels, spec.species, spec.hoppings, spec.occupied_bands)

    @classmethod
    def insulator_of(cls, spec: MaterialSpec) -> TightBindingModel:
        """The model of a material file, with the gap between occupied and empty bands checked."""
        model = cls.from_material(spec)
        model.check_gap()
        return model

    def supercell(self, repeats: tuple[int, int, int]) -> TightBindingModel:
        """The same model on an n1×n2×n3 supercell (ASE repeat order: atom a of image m is m·N + a)."""
        n_images = int(np.prod(repeats))
        big = self.atoms.repeat(repeats)
        return TightBindingModel(
            big, self.labels * n_images, self.species, self.hoppings, self.occupied_bands * n_images
        )

    # ------------------------------------------------------------------ bonds
    def _site_matches(self, atom: int, name: str) -> bool:
        return self.labels[atom] == name or self.atoms[atom].symbol == name

    def _find_bonds(self) -> Bonds:
        cutoff = max(max(h.distance + h.tolerance, h.cutoff or 0.0) for h in self.hoppings) + 1e-6
        i, j, d = neighbor_list("ijD", self.atoms, cutoff)
        dist = np.linalg.norm(d, axis=1)
        spec = np.full(len(i), -1)
        forward = np.zeros(len(i), dtype=bool)
        for s, hop in enumerate(self.hoppings):
            p0, p1 = hop.pair
            fwd = np.array([self._site_matches(a, p0) and self._site_matches(b, p1) for a, b in zip(i, j, strict=True)])
            rev = np.array([self._site_matches(a, p1) and self._site_matches(b, p0) for a, b in zip(i, j, strict=True)])
            hit = (fwd | rev) & (np.abs(dist - hop.distance) <= hop.tolerance)
            clash = hit & (spec >= 0)
            if clash.any():
                k = np.flatnonzero(clash)[0]
                raise ModelFileError(
                    f"bond {self.labels[i[k]]}–{self.labels[j[k]]} of length {dist[k]:.4f} Å matches "
                    f"two hopping tables ({self.hoppings[spec[k]].pair} at {self.hoppings[spec[k]].distance} Å "
                    f"and {hop.pair} at {hop.distance} Å); narrow their 'tolerance'"
                )
            spec[hit] = s
            forward[hit] = fwd[hit]
        for s, hop in enumerate(self.hoppings):
            if not np.any(spec == s):
                near = dist[[self._site_matches(a, hop.pair[0]) and self._site_matches(b, hop.pair[1])
                             for a, b in zip(i, j, strict=True)]]
                found = ", ".join(f"{x:.3f}" for x in sorted(set(np.round(near, 3)))[:6]) or "none"
                raise ModelFileError(
                    f"hopping table {hop.pair} with distance {hop.distance} Å ± {hop.tolerance} Å matches "
                    f"no bond of the structure (bond lengths of that pair within reach: {found} Å)"
                )
        for hop in self.hoppings:
            if hop.cutoff is None:
                continue
            pair = np.array([(self._site_matches(a, hop.pair[0]) and self._site_matches(b, hop.pair[1]))
                             or (self._site_matches(a, hop.pair[1]) and self._site_matches(b, hop.pair[0]))
                             for a, b in zip(i, j, strict=True)], dtype=bool)
            missing = pair & (spec < 0) & (dist <= hop.cutoff + 1e-6)
            if missing.any():
                lengths = ", ".join(f"{x:.3f}" for x in sorted(set(np.round(dist[missing], 3))))
                raise ModelFileError(
                    f"hopping table {hop.pair} declares cutoff = {hop.cutoff} Å, but the {hop.pair} bond "
                    f"shell(s) at {lengths} Å within it match no hopping table; add tables for them or "
                    "lower the cutoff")
        keep = spec >= 0
        return Bonds(i[keep], j[keep], d[keep], spec[keep], forward[keep])

    def bond_matrices(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hopping matrices of all bonds at the given bond vectors.

        Returns E (nb, n_orb, n_orb) — non-zero only in the block of the bond's two atoms —
        and its gradient ∂E/∂d (nb, n_orb, n_orb, 3), in eV and eV/Å.
        """
        nb = len(self.bonds.start)
        mats = np.zeros((nb, self.n_orbitals, self.n_orbitals))
        grads = np.zeros((nb, self.n_orbitals, self.n_orbitals, 3))
        symbols = np.array(self.atoms.get_chemical_symbols())
        key = np.stack([symbols[self.bonds.start], symbols[self.bonds.end]], axis=1)
        groups: dict[tuple, list[int]] = {}
        for b in range(nb):
            groups.setdefault((key[b, 0], key[b, 1], self.bonds.spec[b], self.bonds.forward[b]), []).append(b)
        for (sym_i, sym_j, s, fwd), members in groups.items():
            members = np.array(members)
            hop = self.hoppings[s]
            orbs_i, orbs_j = self.species[sym_i].orbitals, self.species[sym_j].orbitals
            shells_i = {ORBITAL_INDEX[o][0] for o in orbs_i}
            shells_j = {ORBITAL_INDEX[o][0] for o in orbs_j}
            shells = (shells_i, shells_j) if fwd else (shells_j, shells_i)
            for li in sorted(shells_i):
                for lj in sorted(shells_j):
                    block, grad = self._shell_block(hop, fwd, li, lj, vectors[members], shells)
                    rows = [(n, ORBITAL_INDEX[o][1]) for n, o in enumerate(orbs_i) if ORBITAL_INDEX[o][0] == li]
                    cols = [(n, ORBITAL_INDEX[o][1]) for n, o in enumerate(orbs_j) if ORBITAL_INDEX[o][0] == lj]
                    for b_local, b in enumerate(members):
                        oi = self.orbital_offset[self.bonds.start[b]]
                        oj = self.orbital_offset[self.bonds.end[b]]
                        for r, mr in rows:
                            for c, mc in cols:
                                mats[b, oi + r, oj + c] = block[b_local, mr, mc]
                                grads[b, oi + r, oj + c] = grad[b_local, mr, mc]
        return mats, grads

    @staticmethod
    def _shell_block(hop: HoppingSpec, forward: bool, li: int, lj: int, vectors: np.ndarray,
                     shells: tuple[set[int], set[int]]):
        """Blocks for shells li (bond start) and lj (bond end) of one group of bonds.

        Channel keys are ordered by the hopping pair: "sp_sigma" is s on the pair's first
        atom and p on its second. The reversed spelling is accepted where the ordered
        combination cannot be confused with another one: for a homonuclear pair, or when
        the first atom has no shell of the second letter or the second none of the first
        (e.g. "pd" for a pair (W, Se) whose W carries only d and Se only p orbitals).
        """
        lo, hi = min(li, lj), max(li, lj)
        first, second = (li, lj) if forward else (lj, li)
        shells_first, shells_second = shells
        reverse_unambiguous = (
            hop.pair[0] == hop.pair[1] or second not in shells_first or first not in shells_second
        )
        names = []
        for channel in CHANNELS[(lo, hi)]:
            ordered = f"{_L_LETTER[first]}{_L_LETTER[second]}_{channel}"
            reverse = f"{_L_LETTER[second]}{_L_LETTER[first]}_{channel}"
            use_reverse = ordered not in hop.integrals and reverse_unambiguous
            names.append(reverse if use_reverse else ordered)
        nb = len(vectors)
        integrals = np.array([[hop.integrals.get(n, 0.0) for n in names]] * nb)
        exponents = np.array([[hop.exponents.get(n, HARRISON_EXPONENTS[(lo, hi)]) for n in names]] * nb)
        return two_centre_block(li, lj, vectors, integrals, np.full(nb, hop.distance), exponents)

    # ------------------------------------------------------------ Hamiltonian
    @cached_property
    def onsite_matrix(self) -> np.ndarray:
        """On-site energies plus SOC in the spinor basis, (n_basis, n_basis) eV."""
        energies = np.concatenate([self.species[a.symbol].onsite for a in self.atoms])
        lmat = np.zeros((3, self.n_orbitals, self.n_orbitals), dtype=complex)
        lam = np.zeros(self.n_orbitals)
        for a, orbs in enumerate(self.atom_orbitals):
            sl = slice(self.orbital_offset[a], self.orbital_offset[a + 1])
            lmat[:, sl, sl] = onsite_l_matrices(list(orbs))
            lam[sl] = self.species[self.atoms[a].symbol].soc
        return np.kron(np.eye(2), np.diag(energies)) + spin_orbit_matrix(lmat, lam)

    @cached_property
    def reciprocal_cell(self) -> np.ndarray:
        """Rows b_i with a_i·b_j = 2π δ_ij (1/Å)."""
        return 2 * np.pi * np.asarray(self.atoms.cell.reciprocal())

    def cartesian(self, k_reduced: np.ndarray) -> np.ndarray:
        """Reduced → Cartesian wavevectors (1/Å)."""
        return np.asarray(k_reduced, dtype=float) @ self.reciprocal_cell

    def bond_phases(self, k_reduced: np.ndarray) -> np.ndarray:
        """e^{ik·d} for every bond, (nk, nb), with d at the undisplaced positions."""
        return np.exp(1j * self.cartesian(np.atleast_2d(k_reduced)) @ self.bonds.vectors.T)

    def orbital_hamiltonian(self, k_reduced: np.ndarray, displacements: np.ndarray | None = None) -> np.ndarray:
        """Spin-independent hopping part H_orb(k), (nk, n_orb, n_orb) eV.

        ``displacements`` (natoms, 3) Å moves the atoms in the hopping integrals only;
        the Bloch phases stay at the undisplaced positions (docs/physics.md §10).
        """
        mats = self._bond_matrices
        if displacements is not None:
            u = np.asarray(displacements, dtype=float)
            moved = self.bonds.vectors + u[self.bonds.end] - u[self.bonds.start]
            mats = self.bond_matrices(moved)[0]
        return _phase_sum(self.bond_phases(k_reduced), mats)

    def hamiltonian(self, k_reduced: np.ndarray, displacements: np.ndarray | None = None) -> np.ndarray:
        """Spinor Bloch Hamiltonian H(k), (nk, n_basis, n_basis) eV."""
        h_orb = self.orbital_hamiltonian(k_reduced, displacements)
        nk, n = h_orb.shape[0], self.n_orbitals
        h = np.zeros((nk, 2 * n, 2 * n), dtype=complex)
        h[:, :n, :n] = h_orb
        h[:, n:, n:] = h_orb
        return h + self.onsite_matrix

    def eigh(self, k_reduced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Band energies (nk, n_basis) eV, ascending, and eigenvectors (nk, n_basis, n_basis) as columns.

        For a layer with the mirror σ_h and in-plane k, H(k) is block diagonal in the σ_h = ∓i
        subspaces (:attr:`mirror_basis`): the two blocks are built directly from the bond
        matrices (:attr:`_mirror_blocks`) and diagonalised at half size, and every eigenvector
        has a definite σ_h parity. Otherwise the full matrix.
        """
        k_reduced = np.atleast_2d(k_reduced)
        blocks = self._mirror_blocks
        if blocks is None or np.any(k_reduced[:, 2] != 0):
            return np.linalg.eigh(self.hamiltonian(k_reduced))
        phases = self.bond_phases(k_reduced)
        energies, vectors = [], []
        for weights, onsite, columns in blocks:
            e, v = np.linalg.eigh(_phase_sum(phases, weights) + onsite)
            energies.append(e)
            vectors.append(columns @ v)
        energies, vectors = np.concatenate(energies, axis=-1), np.concatenate(vectors, axis=-1)
        order = np.argsort(energies, axis=-1, kind="stable")
        return np.take_along_axis(energies, order, -1), np.take_along_axis(vectors, order[:, None, :], -1)

    @cached_property
    def _orbital_mirror(self) -> np.ndarray | None:
        """The mirror on one spin block, P (n_orb, n_orb) real: each orbital to the same orbital on the
        mirror-image atom, times its parity under z → −z; None without σ_h."""
        permutation = sigma_h_permutation(self.atoms)
        if permutation is None:
            return None
        p = np.zeros((self.n_orbitals, self.n_orbitals))
        for i, (atom, name) in enumerate(zip(self.orbital_atom, self.orbital_names, strict=True)):
            image = permutation[atom]
            if name not in self.atom_orbitals[image]:
                return None
            j = self.orbital_offset[image] + self.atom_orbitals[image].index(name)
            p[j, i] = mirror_parity(name)
        return p

    @cached_property
    def mirror_basis(self) -> np.ndarray | None:
        """Real orthogonal (n_basis, n_basis) whose first and second halves of columns span the σ_h = −i and +i
        eigenspaces of the spinor basis, or None for a structure without the mirror σ_h.

        σ_h = (−iσ_z) ⊗ P: the spin transforms as the rotation C₂z, and P maps each orbital to the same
        orbital on the mirror-image atom with its parity under z → −z. With P's even (P_e) and odd (P_o)
        real eigenvectors, σ_h = −i on ↑ ⊗ P_e and ↓ ⊗ P_o, +i on ↑ ⊗ P_o and ↓ ⊗ P_e. The Bloch sums
        of an in-plane k keep their phases (the mirror image has the same in-plane position).
        """
        p = self._orbital_mirror
        if p is None:
            return None
        values, vectors = np.linalg.eigh(p)
        even, odd = vectors[:, values > 0], vectors[:, values < 0]
        if even.shape[1] + odd.shape[1] != self.n_orbitals:
            return None
        zero_e, zero_o = np.zeros_like(even), np.zeros_like(odd)
        minus = np.block([[even, zero_o], [zero_e, odd]])  # ↑ ⊗ P_e, ↓ ⊗ P_o
        plus = np.block([[odd, zero_e], [zero_o, even]])  # ↑ ⊗ P_o, ↓ ⊗ P_e
        if minus.shape[1] != self.n_orbitals:
            return None  # the two eigenspaces are of different sizes: no half-size blocks
        return np.hstack([minus, plus])

    @cached_property
    def _mirror_blocks(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        """Per σ_h block (−i, +i): bond weights (nb, n, n) real, the on-site part (n, n) and the basis
        columns (n_basis, n), n = n_orb, such that the block of H(k) at in-plane k is
        Σ_b e^{ik·d_b} weights_b + on-site. None unless the blocks decouple exactly: the on-site
        matrix, and for every in-plane bond vector the sum of its bonds' hoppings, have no
        matrix elements between the two blocks (checked here, once)."""
        basis = self.mirror_basis
        if basis is None:
            return None
        n = self.n_orbitals
        spinor = np.einsum("st,bmn->bsmtn", np.eye(2), self._bond_matrices).reshape(-1, 2 * n, 2 * n)
        transformed = basis.T @ spinor @ basis  # (nb, n_basis, n_basis)
        onsite = basis.T @ self.onsite_matrix @ basis
        in_plane = np.round(self.bonds.vectors[:, :2], 6)
        _, group = np.unique(in_plane, axis=0, return_inverse=True)
        coupling = np.zeros((group.max() + 1, n, n))
        np.add.at(coupling, group.reshape(-1), transformed[:, :n, n:])
        scale = max(np.abs(transformed).max(), np.abs(onsite).max())
        if np.abs(coupling).max() > 1e-12 * scale or np.abs(onsite[:n, n:]).max() > 1e-12 * scale:
            return None
        return [
            (np.ascontiguousarray(transformed[:, half, half]), onsite[half, half], np.ascontiguousarray(basis[:, half]))
            for half in (slice(0, n), slice(n, 2 * n))
        ]

    def spin_expectation(self, vectors: np.ndarray) -> np.ndarray:
        """⟨σ_a⟩ of eigenvectors (…, n_basis, nbands) → (…, nbands, 3)."""
        shaped = vectors.reshape(*vectors.shape[:-2], 2, self.n_orbitals, vectors.shape[-1])
        return np.einsum("...snb,ast,...tnb->...ba", shaped.conj(), PAULI, shaped).real

    def onsite_form_factors(self, q_reduced: np.ndarray) -> np.ndarray | None:
        """Block-diagonal on-site form factors F_μν(q), (n_orb, n_orb); None without radial functions."""
        if not all(self.species[a.symbol].slater for a in self.atoms):
            return None
        q_cart = self.cartesian(np.asarray(q_reduced, dtype=float))[None]
        per_species = {
            symbol: onsite_form_factors(spec.orbitals, spec.slater, q_cart)[0]
            for symbol, spec in self.species.items()
        }
        result = np.zeros((self.n_orbitals, self.n_orbitals), dtype=complex)
        for a, atom in enumerate(self.atoms):
            sl = slice(self.orbital_offset[a], self.orbital_offset[a + 1])
            result[sl, sl] = per_species[atom.symbol]
        return result

    # ---------------------------------------------------------------- vertex
    def vertex(self, k_reduced: np.ndarray, q_reduced: np.ndarray) -> np.ndarray:
        """Orbital-basis vertex g_{μν}(k, q; κα) = ⟨φ_{k+q,μ}|∂H/∂u_κα(q)|φ_{k,ν}⟩.

        Returns (nk, natoms, 3, n_orb, n_orb) complex in eV/Å for a unit complex
        displacement pattern e^{iq·(R+τ_κ)} along Cartesian α. The spinor vertex is 1₂ ⊗ g.
        """
        k_reduced = np.atleast_2d(k_reduced)
        phase_k = self.bond_phases(k_reduced)
        phase_kq = self.bond_phases(k_reduced + np.asarray(q_reduced, dtype=float))
        ends, starts = self._vertex_weights
        shape = (len(k_reduced), len(self.atoms), 3, self.n_orbitals, self.n_orbitals)
        return (_phase_sum(phase_kq, ends) - _phase_sum(phase_k, starts)).reshape(shape)

    @cached_property
    def _vertex_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """∂E/∂d of each bond assigned to its end atom and to its start atom, (nb, natoms·3·n²)."""
        onehot = np.eye(len(self.atoms))
        grads = np.moveaxis(self._bond_gradients, -1, 1)  # (nb, α, μ, ν)
        ends = onehot[self.bonds.end][:, :, None, None, None] * grads[:, None]
        starts = onehot[self.bonds.start][:, :, None, None, None] * grads[:, None]
        nb = len(self.bonds.start)
        return ends.reshape(nb, -1), starts.reshape(nb, -1)

    # ------------------------------------------------------------------- gap
    def band_edges(self, kgrid: tuple[int, int, int] = (12, 12, 1)) -> tuple[float, float]:
        """(valence maximum, conduction minimum) in eV on a Γ-centred grid plus the lattice's high-symmetry points
        (K, K′, M of a hexagonal layer)."""
        axes = [np.arange(n) / n for n in kgrid]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        special = np.array(list(Crystal.from_atoms(self.atoms).special_points.values()))
        energies = np.linalg.eigvalsh(self.hamiltonian(np.vstack([grid, special])))
        n = self.occupied_bands
        return float(energies[:, n - 1].max()), float(energies[:, n].min())

    def check_gap(self, kgrid: tuple[int, int, int] = (12, 12, 1), minimum: float = 1e-3) -> float:
        """Band gap in eV; raises NoGapError when the occupied and empty bands overlap."""
        vbm, cbm = self.band_edges(kgrid)
        if cbm - vbm < minimum:
            raise NoGapError(
                f"the model has no gap with {self.occupied_bands} occupied bands: valence maximum "
                f"{vbm:.4f} eV ≥ conduction minimum {cbm:.4f} eV (gap {cbm - vbm:.4f} eV). The response "
                "needs an insulator: check 'occupied_bands' and the on-site energies of the model file"
            )
        return cbm - vbm
