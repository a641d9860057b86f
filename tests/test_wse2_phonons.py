"""The built-in WSe2 phonons: ABINIT DFPT (LDA) force constants from the shipped DDB files.

References are independent of phonomag: the frequencies ABINIT itself printed for the
same DFPT runs (the .abo of scripts/wse2_dfpt_phonons.py, ABINIT 9.6.2) and published
Raman/DFT values.
"""

from __future__ import annotations

import numpy as np
import pytest

from phonomag.cli.systems import load_phonons
from phonomag.crystal.kpath import path_from_labels
from phonomag.crystal.materials import load_material

INV_CM_PER_MEV = 1 / 0.12398419843

# ABINIT's own "Phonon frequencies in cm-1" at the seven irreducible q of the 6×6 grid,
# before any acoustic-sum-rule correction (its Γ acoustic modes are 10–13 cm⁻¹ instead of 0).
ABINIT_PRINTED_CM = {
    (0, 0): [10.15490, 10.15490, 13.01898, 177.8226, 177.8226, 252.8743, 252.8743, 253.4875, 315.3213],
    (1 / 6, 0): [35.66181, 55.46903, 83.07127, 183.2105, 197.1870, 234.1104, 251.6781, 266.7242, 302.0964],
    (1 / 3, 0): [88.62910, 92.63301, 122.5953, 191.8384, 218.9366, 225.2093, 247.8406, 271.4612, 275.6103],
    (1 / 2, 0): [96.14956, 123.0336, 123.1737, 194.9007, 217.9297, 230.6211, 246.0353, 265.9772, 271.1263],
    (1 / 6, 1 / 6): [75.72515, 92.75462, 110.8462, 193.4262, 213.8701, 223.1262, 251.2350, 269.5475, 282.1555],
    (1 / 3, 1 / 6): [104.9802, 115.7264, 122.0719, 204.4107, 217.7346, 222.7242, 252.3962, 264.9097, 267.9242],
    (1 / 3, 1 / 3): [92.41605, 125.3372, 138.8486, 211.7461, 215.6520, 217.7296, 258.7558, 260.6781, 263.4584],
}
# phonomag imposes the acoustic sum rule (phonopy's symmetrisation of the force constants),
# which moves the other modes by up to 0.25 cm⁻¹: the tolerance of the comparison.
ASR_SHIFT_CM = 0.5

# Monolayer WSe2 at Γ, cm⁻¹: E'' ≈ 176 and the A2''-derived mode ≈ 310 (Raman peaks explained with
# DFT: X. Luo et al., Phys. Rev. B 88, 195313 (2013), abstract "Raman peaks we observe experimentally
# at ∼310 and 176 cm-1 in thin film WSe2"); E' and A1' quasi-degenerate "near 250 cm-1"
# (abstract of the circularly polarised Raman study of few-layer WSe2 at
# shamra-academia.com/show/3a43a453a34950; quasi-degeneracy in the monolayer: L. De Luca et al.,
# arXiv:1910.12503, abstract).
PUBLISHED_GAMMA_CM = {"E''": 176.0, "E'": 250.0, "A1'": 250.0, "A2''": 310.0}


@pytest.fixture(scope="module")
def engine():
    return load_phonons(load_material("WSe2"))


def test_builtin_phonons_come_from_the_dfpt_files(engine):
    assert engine.description.startswith("ABINIT DFPT, 7 irreducible q")


@pytest.mark.parametrize("q", list(ABINIT_PRINTED_CM))
def test_frequencies_on_the_grid_are_abinits(engine, q):
    ours = engine.modes([[q[0], q[1], 0.0]]).frequencies[0] * INV_CM_PER_MEV
    reference = np.array(ABINIT_PRINTED_CM[q])
    optical = slice(3, None) if q == (0, 0) else slice(None)
    assert np.abs(ours[optical] - reference[optical]).max() < ASR_SHIFT_CM
    if q == (0, 0):
        assert np.abs(ours[:3]).max() < 0.05  # acoustic sum rule restored


def test_gamma_optical_modes_within_15_percent_of_published_values(engine):
    modes = engine.modes([[0.0, 0.0, 0.0]])
    f, p = modes.frequencies[0] * INV_CM_PER_MEV, modes.parity[0]
    odd, even = f[p == -1], f[p == 1]  # σ_h: E' +2, A1' +1, E'' −2, A2'' −1
    ours = {"E''": odd[1], "A2''": odd[3], "E'": even[2], "A1'": even[4]}
    for irrep, reference in PUBLISHED_GAMMA_CM.items():
        assert abs(ours[irrep] - reference) <= 0.15 * reference, irrep
    assert odd[1] == pytest.approx(odd[2], abs=1e-6) and even[2] == pytest.approx(even[3], abs=1e-6)


def test_k_point_modes_and_parities(engine):
    # D3h at K: the W-out-of-plane (σ_h-odd) acoustic mode is the second lowest, as in the paper's DFT
    modes = engine.modes([[1 / 3, 1 / 3, 0.0]])
    assert modes.parity[0].tolist() == [1, -1, 1, -1, 1, -1, 1, -1, 1]
    w_z = np.abs(modes.eigenvectors[0, 1, 0, 2])
    assert w_z > 0.9 * np.linalg.norm(modes.eigenvectors[0, 1, 0])


def test_no_imaginary_frequencies_along_the_path(engine):
    qpoints = path_from_labels(load_material("WSe2").crystal, npoints=151)[0]
    freqs = engine.modes(qpoints).frequencies
    assert freqs.min() > -0.05  # meV
    gamma = np.flatnonzero(np.linalg.norm(qpoints, axis=1) < 1e-12)
    assert np.abs(freqs[gamma, :3]).max() < 0.05
