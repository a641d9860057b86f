"""A material's structure, phonon model and response engine, loaded for the commands."""

from __future__ import annotations

from pathlib import Path

from phonomag.crystal.materials import MaterialSpec, load_material
from phonomag.engines.base import EngineCapabilityError
from phonomag.engines.kernel.data import file_qgrid, open_reduced
from phonomag.engines.tightbinding.engine import TightBindingEngine
from phonomag.engines.tightbinding.model import TightBindingModel
from phonomag.phonons.model import PhononModel, build_phonon_model


def load_model(material: str | Path) -> tuple[MaterialSpec, TightBindingModel]:
    """Material spec and its electronic model, with the gap checked."""
    spec = load_material(material)
    return spec, TightBindingModel.insulator_of(spec)


def load_phonons(spec: MaterialSpec) -> PhononModel:
    """Phonon model of a material: its ``[phonons]`` table, or, for a built-in material without one (AlSb), the
    DFPT phonons of its shipped kernel (:func:`kernel_phonons`)."""
    folder = SHIPPED_KERNELS.get(spec.name) if spec.source == f"built-in:{spec.name}" else None
    if spec.phonons or folder is None:
        return PhononModel.from_material(spec)  # a material without either is named there
    first = open_reduced(sorted(Path(folder).glob("q_*.nc"))[0])
    return kernel_phonons(spec, folder, file_qgrid(first))


def kernel_phonons(spec: MaterialSpec, folder: Path, qgrid: tuple[int, int, int]) -> PhononModel:
    """The phonons of a kernel's own DFPT runs (``[kernel] phonons = "kernel"``): the dynamical matrices of
    the DDB files ``q_*_DDB`` written beside its reduced files (same ground state, SOC and settings as the
    responses), at its irreducible q of the ``qgrid`` grid, as a material's ``abinit-ddb`` phonons."""
    ddb = sorted(path.name for path in Path(folder).glob("q_*_DDB"))
    if not ddb:
        raise EngineCapabilityError(f"{folder} has no DDB files q_*_DDB beside its reduced files: [kernel] phonons "
                                    "= 'kernel' needs them (use 'material' for the material's phonons)")
    return build_phonon_model(spec.atoms, {"source": "abinit-ddb", "ddb": ddb, "qgrid": list(qgrid)}, Path(folder))


def load_system(
    material: str | Path, kgrid: tuple[int, int, int]
) -> tuple[MaterialSpec, TightBindingEngine, PhononModel]:
    """(material spec, its tight-binding engine on ``kgrid``, its phonon model)."""
    spec = load_material(material)
    return spec, TightBindingEngine.from_material(spec, kgrid), PhononModel.from_material(spec)


#: The shipped first-principles pattern responses: WSe₂ (scripts/wse2_response_kernel.py) and AlSb
#: (production/AlSb_soc_dfpt/production.toml).
RESPONSE_DATA = Path(__file__).resolve().parents[1] / "data" / "response"
BUILTIN_KERNEL_DATA = RESPONSE_DATA / "WSe2_soc_dfpt"
#: Built-in material → its shipped first-principles kernel data, which the engine choice "auto" uses
#: (:mod:`phonomag.cli.engines`).
SHIPPED_KERNELS = {"WSe2": BUILTIN_KERNEL_DATA, "AlSb": RESPONSE_DATA / "AlSb_soc_dfpt"}


def shipped_kernel_unusable(exc: EngineCapabilityError, fallback: str) -> str:
    """Engine "auto" when the shipped kernel cannot be used (``exc`` says why): the summary line of the
    tight-binding model if ``fallback`` is "model" (``[run] fallback``), else an error naming the problem.
    Never a silent switch: the model's values differ from the kernel's up to 40-fold (docs/kernel.md)."""
    if fallback != "model":
        raise EngineCapabilityError(f"engine auto: the shipped first-principles kernel is not usable: {exc}; "
                                    "for the tight-binding model instead, ask for it: --engine model "
                                    "(or [run] fallback = \"model\")") from None
    return (f"engine auto: the tight-binding model ([run] fallback = \"model\"); the shipped first-principles "
            f"kernel is not usable: {exc}")
