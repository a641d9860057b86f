"""Selection rules from the symmetry of q (docs/physics.md §12) against the computed cell moments of both engines.

The rule is derived from the crystal's space group alone (spglib); the moments are computed by the
tight-binding engine and by the first-principles kernel, which know nothing of it. Every component the
rule makes zero must be zero as computed; the control, M treated as a polar vector, predicts zeros that
the engines do not give.
"""

import numpy as np
import pytest

from phonomag.cli.systems import load_phonons
from phonomag.crystal.crystal import Crystal
from phonomag.engines.base import compute_mode_response
from phonomag.engines.kernel.engine import KernelEngine
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.response.modes import ModeResponse
from phonomag.response.selection_rules import allowed_components

#: Γ, K, K′, M, a general in-plane q and a point on Γ–K: little co-groups D3h, C3h∩exact = Cs, C2v, Cs, Cs.
QPOINTS = np.array([[0, 0, 0], [1 / 3, 1 / 3, 0], [-1 / 3, -1 / 3, 0], [0.5, 0, 0], [0.13, 0.27, 0], [0.2, 0.2, 0]])
#: A computed component is zero below this fraction of the largest moment. The shipped material gives a₂ to 6
#: decimals, so its phonons and the kernel keep the symmetry to ~1e-7 (largest derived zero of the kernel measured
#: at 1.6e-7, its symmetry images agree to 4.6e-7, docs/kernel.md); allowed components are 1e-2 typically.
ZERO = 1e-6


def _moments(engine, spec):
    modes = load_phonons(spec).modes(QPOINTS)
    return compute_mode_response(engine, modes, progress=False)


def _check(data: ModeResponse, crystal: Crystal):
    computed_zero = np.abs(data.cell_moments) < ZERO * np.abs(data.cell_moments).max()
    rule = allowed_components(crystal, data.qpoints, data.frequencies, data.displacements)
    assert np.array_equal(rule, data.allowed)  # the pipeline stores the same rule
    assert not np.any(~rule & ~computed_zero), np.argwhere(~rule & ~computed_zero)
    polar = allowed_components(crystal, data.qpoints, data.frequencies, data.displacements, axial=False)
    assert np.any(~polar & ~computed_zero)  # control: the wrong transformation of M is caught
    return rule


@pytest.fixture(scope="module")
def tight_binding(hexagonal_wse2):
    return _moments(TightBindingEngine.from_material(hexagonal_wse2, (9, 9, 1)), hexagonal_wse2), hexagonal_wse2


def test_tight_binding_zeros_are_the_derived_zeros(tight_binding):
    data, spec = tight_binding
    rule = _check(data, spec.crystal)
    # at Γ (D3h) the rule forbids more than σ_h does: even E′ modes carry neither n⁰ nor M_z
    even = data.parity[0] == 1
    assert np.any(even & ~rule[0, :, 0] & ~rule[0, :, 3])


def test_the_sigma_h_rule_is_reproduced_off_gamma(tight_binding):
    data, spec = tight_binding
    rule = data.allowed[1:]
    parity = data.parity[1:]
    sigma_h = np.where((parity == 1)[..., None], [True, False, False, True], [False, True, True, False])
    assert np.all(~sigma_h[parity != 0] <= ~rule[parity != 0])  # every σ_h zero is derived
    general = rule[3]  # the general q: only σ_h is left
    assert np.array_equal(general, sigma_h[3])


def test_first_principles_kernel_zeros_are_the_derived_zeros():
    from importlib import resources

    from phonomag.crystal.materials import load_material

    spec = load_material("WSe2")
    folder = resources.files("phonomag") / "data" / "response" / "WSe2_soc_dfpt"
    engine = KernelEngine.from_reduced_files(folder, spec.labels)
    _check(_moments(engine, spec), spec.crystal)


def test_results_file_keeps_the_rule(tight_binding, tmp_path):
    data, _ = tight_binding
    path = data.write(tmp_path / "results.nc")
    from phonomag.response.modes import read_results

    again, dataset = read_results(path)
    assert np.array_equal(again.allowed, data.allowed)
    assert dataset["allowed"].dims == ("q", "mode", "component")
