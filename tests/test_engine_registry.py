"""The engine registry (phonomag.cli.engines): an engine added to it is selectable and the pipeline uses
it by its declared capabilities; the pipeline never tests engine names; outputs never call an engine."""

import re
from pathlib import Path

import pytest
import xarray as xr

from phonomag.cli import engines
from phonomag.cli.config import RunConfig
from phonomag.cli.engines import Capability, EngineEntry, select
from phonomag.cli.main import main
from phonomag.crystal.materials import load_material
from phonomag.engines.tightbinding.engine import TightBindingEngine

SRC = Path(__file__).resolve().parents[1] / "src" / "phonomag"

CONFIG = """
[run]
engine = "{engine}"
[path]
npoints = 4
[response]
kgrid = [3, 3, 1]
[outputs]
figures = false
movies = false
field_files = true
summary_q = ["K"]
[maps]
cells = [1, 1]
points_per_cell = 6
[[maps.modes]]
name = "K_map"
q = "K"
mode = 2
"""


class FakeEngine(TightBindingEngine):
    """A new engine: the tight-binding sums under another name (what it computes is not under test here)."""

    name = "fake-engine"


def fake_entry(capabilities, built: list, auto: bool = False) -> EngineEntry:
    def build(config, spec, output, data=None):
        engine = FakeEngine.from_material(spec, config.response.kgrid)
        built.append(engine)
        return engine

    return EngineEntry(name="fake", aliases=("fake-engine",), engine_name="fake-engine", title="the fake engine",
                       capabilities=frozenset(capabilities), gives="the static one-sided response", build=build,
                       data_noun="fake data",
                       auto_data=(lambda config, spec: engines.AutoData(Path("nowhere"), False)) if auto else None)


STATIC = {Capability.STATIC_ONE_SIDED, Capability.PLANE_FIELDS, Capability.FOURIER_IN_PLANE, Capability.ANY_Q}


@pytest.mark.parametrize("volumes", [False, True])
def test_a_registered_engine_runs_through_the_pipeline_by_its_capabilities(tmp_path, monkeypatch, capsys, volumes):
    """``[run] engine = "fake"`` builds the registered engine; results.nc carries its name; field files exist
    only when it declares volume fields (the control), and no model runs beside it (not first principles)."""
    built = []
    monkeypatch.setitem(engines.REGISTRY, "fake", fake_entry(STATIC | ({Capability.VOLUME_FIELDS} if volumes
                                                                        else set()), built))
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(engine="fake"))
    main(["run", "-c", str(config), "-o", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert len(built) == 1 and isinstance(built[0], FakeEngine)
    with xr.open_dataset(tmp_path / "out" / "results.nc") as data:
        assert data.attrs["engine"] == "fake-engine"
    cubes = sorted(p.name for p in (tmp_path / "out" / "maps").glob("*.cube"))
    assert ("K_map_n0.cube" in cubes) is volumes and (cubes == []) is not volumes
    assert ("field files: none, the fake engine" in printed) is not volumes
    assert not (tmp_path / "out" / "model_results.nc").exists()


def test_auto_takes_a_registered_engine_that_has_what_the_run_needs(monkeypatch):
    """"auto" tries the registry in order: a candidate with data and the needed capability is taken (built
    once); one without it is passed over for the model, with the reason."""
    built = []
    fake = fake_entry(STATIC, built, auto=True)
    monkeypatch.setattr(engines, "REGISTRY", {"fake": fake, **engines.REGISTRY})
    monkeypatch.setitem(engines._shipped_kernels(), "WSe2", None)  # the shipped kernel out of the way
    spec = load_material("WSe2")
    small = RunConfig().updated({"response.kgrid": (3, 3, 1)})
    chosen = select("auto", small, spec, {Capability.STATIC_ONE_SIDED: "static"})
    assert chosen.entry is fake and chosen.engine is built[0] and "the fake engine" in chosen.why
    chosen = select("auto", small, spec, {Capability.FULL: "the full response"})
    assert chosen.entry.name == "model" and "not the full response" in chosen.why and len(built) == 1
    assert select("fake-engine", RunConfig(), spec, {}).entry is fake  # the alias


#: A comparison of an engine or engine choice with a string other than "auto": a choice by name.
NAME_TEST = re.compile(r"""(\.name|\bengine\w*|\bchoice)\s*(==|!=)\s*["'](?!auto["'])|"""
                       r"""(\.name|\bengine\w*|\bchoice)\s+(not\s+)?in\s+[(\[{]\s*["']""")


def test_the_pipeline_asks_for_capabilities_never_for_engine_names():
    assert NAME_TEST.search('if config.engine == "abinit":') and NAME_TEST.search('engine.name != "dfpt-kernel"')
    assert NAME_TEST.search('engine not in ("auto", "kernel")') and not NAME_TEST.search('if choice != "auto":')
    found = [f"{path.name}:{n}: {line.strip()}" for path in sorted((SRC / "cli").glob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if NAME_TEST.search(line)]
    assert found == []


#: A call of an engine method: what only the pipeline does.
ENGINE_CALL = re.compile(r"\.(plane_field|volume_field|pattern_responses?|fourier_responses?|frequency_responses)\(")


def test_outputs_only_read():
    """No output module calls an engine (import-linter forbids the import, this the duck-typed call)."""
    assert ENGINE_CALL.search("wave = engine.plane_field(q, u, plane, options.points)")
    found = [f"{path.relative_to(SRC)}:{n}" for path in sorted((SRC / "outputs").rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if ENGINE_CALL.search(line)]
    assert found == []
