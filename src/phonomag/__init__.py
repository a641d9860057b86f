"""phonomag: phonon-induced charge and spin densities in crystals with spin-orbit coupling.

The equations and conventions are in docs/physics.md: the one-sided 2x2
charge-spin response N_qν of Iturbe-Beristain, Eiguren, Gurtubay, Commun. Phys. 3, 22
(2020). A script needs the names in ``__all__`` (see docs/api.md); they are imported on
first use, so ``import phonomag`` stays light.

Data flow: a material (:func:`load_material`) gives a response engine
(:class:`TightBindingEngine`, :class:`AbinitEngine`) and phonons (:class:`PhononModel`);
:func:`compute_mode_response` turns them into a :class:`ModeResponse` (RMS, results.nc);
:func:`compute_mode_fields` computes a mode's real-space fields, which :func:`render_mode` draws and writes.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Crystal": "phonomag.crystal.crystal",
    "load_material": "phonomag.crystal.materials",
    "MaterialSpec": "phonomag.crystal.materials",
    "LatticePlane": "phonomag.crystal.lattice_plane",
    "parse_qpoint": "phonomag.crystal.qpoints",
    "path_from_labels": "phonomag.crystal.kpath",
    "PhononModel": "phonomag.phonons.model",
    "PhononModes": "phonomag.phonons.modes",
    "mode_displacements": "phonomag.phonons.amplitudes",
    "ResponseEngine": "phonomag.engines.base",
    "compute_mode_response": "phonomag.engines.base",
    "compute_scattering_amplitudes": "phonomag.engines.base",
    "compute_mode_fields": "phonomag.engines.base",
    "TightBindingEngine": "phonomag.engines.tightbinding.engine",
    "AbinitEngine": "phonomag.engines.abinit.engine",
    "ModeResponse": "phonomag.response.modes",
    "PatternResponse": "phonomag.response.modes",
    "read_results": "phonomag.response.modes",
    "allowed_components": "phonomag.response.selection_rules",
    "CellField": "phonomag.response.fields",
    "ModeFields": "phonomag.response.fields",
    "compare_responses": "phonomag.response.comparison",
    "dynamic_structure_factor": "phonomag.response.structure_factor",
    "MapOptions": "phonomag.outputs.maps",
    "render_mode": "phonomag.outputs.maps",
    "plot_magnetization_dispersion": "phonomag.outputs.plotting.dispersion",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'phonomag' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
