"""What inversion with time reversal (PT) allows for the one-sided response (docs/physics.md §12.2), computed.

The derivation (docs/physics.md §12.2): with an inversion centre at the origin, P carries the unit pattern of
atom κ at q onto minus that of Pκ at −q, and the response with it (n⁰ a scalar, M axial: both even under P);
T carries the one-sided response at q onto its complex conjugate at −q, M with a minus sign. Together, at the
same q and for every site s and its partner Ps,

    n̄^α_{q,Pκβ}(Ps) = −t_α [n̄^α_{q,κβ}(s)]*,   t = (+1, −1, −1, −1) for (n⁰, M_x, M_y, M_z),

and for a mode mapped onto itself by PT (u_{Pκ} = −u_κ*): n̄⁰ real and every M̄ component imaginary. The
one-sided M is not zero: it is in quadrature with the charge.

The check is independent of the derivation: the tight-binding engine knows nothing of it. The crystal is a
centrosymmetric 1T layer made from the WSe₂ model's species and bonds (Se above and below W at opposite
in-plane sites: point group D3d, W the inversion centre); the control is the 2H layer of the same model, which
has no inversion, where the same relation fails.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from phonomag.crystal.materials import load_material
from phonomag.engines.tightbinding.engine import TightBindingEngine

#: t_α: how T acts on the Pauli components of the one-sided response.
T_SIGN = np.array([1.0, -1.0, -1.0, -1.0])
#: P swaps the two Se sublayers (sites and atoms 1 ↔ 2) and keeps W (0).
PARTNER = [0, 2, 1]
#: A general q (no symmetry but PT and the identity) and a point on Γ–M.
QPOINTS = [(0.13, 0.27, 0.0), (0.25, 0.0, 0.0)]


def one_t_layer(tmp_path):
    """The WSe₂ model with Se_b moved under the other hollow site (1T, D3d); the vertical Se–Se bond of 2H,
    absent in 1T, dropped; 18 filled bands (the metal's t2g-like d bands full, the d⁶ filling of 1T-PtSe₂:
    a 3.7 eV gap, where 14 leave a metal); no phonons or maps (the test uses the patterns)."""
    text = (resources.files("phonomag") / "data" / "materials" / "WSe2.toml").read_text(encoding="utf-8")
    text = text.split("[phonons]")[0]
    text = text.replace("position = [0.0, 1.877466, -1.665697]", "position = [1.625933, 0.938733, -1.665697]")
    start = text.index('[[electrons.hoppings]]\n# vertical Se_t–Se_b')
    end = text.index("[[electrons.hoppings]]", start + 10)
    path = tmp_path / "WSe2_1T.toml"
    text = text[:start] + text[end:]
    path.write_text(text.replace("occupied_bands = 14", "occupied_bands = 18"), encoding="utf-8")
    return load_material(path)


def pt_residual(engine, q) -> tuple[float, float]:
    """(largest |n̄_{Pκβ}(Ps) + t [n̄_{κβ}(s)]*|, largest |n̄|) over patterns, sites and components at q."""
    tensor = engine.pattern_response(np.array(q)).tensor  # (κ, β, site, α)
    partner = tensor[PARTNER][:, :, PARTNER]
    return float(np.abs(partner + T_SIGN * tensor.conj()).max()), float(np.abs(tensor).max())


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    one_t = one_t_layer(tmp_path_factory.mktemp("one_t"))
    two_h = load_material("WSe2")
    return ((TightBindingEngine.from_material(one_t, (9, 9, 1)), one_t),
            (TightBindingEngine.from_material(two_h, (9, 9, 1)), two_h))


def test_the_1t_layer_is_centrosymmetric_and_the_2h_is_not(engines):
    (_, one_t), (_, two_h) = engines
    assert one_t.crystal.space_group == ("P-3m1", 164)
    assert two_h.crystal.space_group == ("P-6m2", 187)


@pytest.mark.parametrize("q", QPOINTS)
def test_pt_relates_each_site_to_its_inversion_partner(engines, q):
    (one_t_engine, _), (two_h_engine, _) = engines
    residual, scale = pt_residual(one_t_engine, q)
    assert residual <= 1e-10 * scale
    residual, scale = pt_residual(two_h_engine, q)
    assert residual > 1e-2 * scale  # control: without inversion the relation fails


def test_a_pt_invariant_mode_has_real_charge_and_imaginary_magnetization(engines):
    (engine, _), _ = engines
    rng = np.random.default_rng(4)
    top = rng.normal(size=3) + 1j * rng.normal(size=3)
    u = np.stack([1j * rng.normal(size=3), top, -top.conj()])  # u_{Pκ} = −u_κ*: W purely imaginary
    moments = engine.pattern_response(np.array(QPOINTS[0])).for_displacements(u)  # (site, α)
    cell = moments.sum(axis=0)
    assert abs(cell[0].imag) <= 1e-10 * abs(cell[0]) and abs(cell[0].real) > 0
    assert np.abs(cell[1:].real).max() <= 1e-10 * np.abs(cell[1:]).max()
    assert np.abs(cell[1:].imag).max() > 1e-3 * abs(cell[0])  # not zero: M in quadrature with the charge
    # sublayer by sublayer: the Se partners carry conjugate charges and opposite conjugate M
    assert np.allclose(moments[2], T_SIGN * moments[1].conj(), atol=1e-10 * np.abs(moments).max())
