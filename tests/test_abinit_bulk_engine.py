"""The ABINIT engine of a bulk crystal, without ABINIT: its own cell is accepted (a layer still needs a slab
cell), and Fourier components at any G, G₃ ≠ 0 included, are those of the fields on its FFT grid."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from phonomag.engines.abinit.engine import AbinitEngine
from phonomag.engines.base import EngineCapabilityError
from phonomag.io.abinit.inputs import AbinitSettings

SETTINGS = AbinitSettings(ecut=5.0, kgrid=(2, 2, 2), spin_orbit=True)


def test_a_bulk_cell_is_taken_and_gives_any_g(tmp_path):
    atoms = bulk("AlSb", "zincblende", a=6.1355)  # fcc: a₃ = (a/2, a/2, 0) mixes z with the plane
    engine = AbinitEngine(atoms, ["Al", "Sb"], SETTINGS, tmp_path)
    assert not engine.layer and "cell [[" in engine.provenance()["engine"]
    shape = (6, 5, 4)
    rng = np.random.default_rng(1)
    patterns = rng.normal(size=(2, 3, 4, *shape)) + 1j * rng.normal(size=(2, 3, 4, *shape))
    q = np.array([0.1, 0.2, 0.3])
    engine._runs[tuple(np.round(q, 10))] = (None, patterns)  # the runs at q, as the engine keeps them
    g = np.array([[0, 0, 0], [1, -1, 1], [0, 2, -1]])
    components = engine.fourier_response(q, g)
    frac = np.stack(np.meshgrid(*[np.arange(n) / n for n in shape], indexing="ij"), axis=-1)
    volume = atoms.get_volume()
    for i, gi in enumerate(g):
        phase = np.exp(-2j * np.pi * frac @ gi)
        direct = (patterns * phase).sum(axis=(-3, -2, -1)) * volume / np.prod(shape)
        assert np.allclose(components[i], direct, rtol=1e-12, atol=1e-12)
    with pytest.raises(EngineCapabilityError, match="beyond the FFT grid"):
        engine.fourier_response(q, [[4, 0, 0]])


def test_a_layer_in_a_tilted_cell_is_still_refused(tmp_path):
    from phonomag.crystal.materials import load_material

    atoms = load_material("WSe2").atoms.copy()
    atoms.set_cell([*atoms.cell.array[:2], [0.5, 0.0, 20.0]], scale_atoms=False)
    with pytest.raises(EngineCapabilityError, match="slab cell"):
        AbinitEngine(atoms, ["W", "Se", "Se"], SETTINGS, tmp_path)
