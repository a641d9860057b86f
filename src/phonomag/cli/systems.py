"""A material's structure, phonon model and response engine, loaded for the commands."""

from __future__ import annotations

from pathlib import Path

from phonomag.crystal.materials import MaterialSpec, load_material
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.phonons.model import PhononModel


def load_model(material: str | Path) -> tuple[MaterialSpec, TightBindingModel]:
    """Material spec and its electronic model, with the gap checked."""
    spec = load_material(material)
    return spec, TightBindingModel.insulator_of(spec)


def load_phonons(spec: MaterialSpec) -> PhononModel:
    """Phonon model of a material from its ``[phonons]`` table."""
    return PhononModel.from_material(spec)


def load_system(material: str | Path, kgrid: tuple[int, int, int]) -> tuple[MaterialSpec, TightBindingEngine, PhononModel]:
    """(material spec, its tight-binding engine on ``kgrid``, its phonon model)."""
    spec = load_material(material)
    return spec, TightBindingEngine.from_material(spec, kgrid), PhononModel.from_material(spec)
