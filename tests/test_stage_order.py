"""The stages import only from themselves and earlier stages, and old module names warn."""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The data flow: models -> cores -> mapper -> noc -> energy (then the reports in canmore_sim/).
STAGES = ("models", "cores", "mapper", "noc", "energy")
#: Modules of canmore_sim/ every stage may use: helpers under all of them, no stage code.
GROUND = {"errors", "config", "registry", "cache", "atomic", "limits", "yamlio", "heap"}
#: Stage-neutral modules every stage may use: readers of untrusted files (the bounded array
#: reader), which themselves import only the ground.
NEUTRAL = {"datasets.arrays"}


def _runtime_imports(path: Path) -> list[str]:
    """canmore_sim modules imported by ``path`` outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for stmt in node.body for n in ast.walk(stmt)}
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n.split(".")[0] == "canmore_sim"]


def _violations(stage: str) -> list[str]:
    rank = STAGES.index(stage)
    found = []
    for path in sorted((ROOT / stage).glob("*.py")):
        if stage == "mapper" and path.stem in _SHIMS:
            continue  # the deprecated old names re-export earlier stages; allowed
        for name in _runtime_imports(path):
            parts = name.split(".")
            if len(parts) < 2:
                found.append(f"{path.name} imports {name}")
            elif parts[1] in STAGES:
                if STAGES.index(parts[1]) > rank:
                    found.append(f"{stage}/{path.name} imports {name} (a later stage)")
            elif parts[1] not in GROUND and ".".join(parts[1:3]) not in NEUTRAL:
                found.append(f"{stage}/{path.name} imports {name} (not a ground module)")
    return found


_SHIMS = {"_moved", "loaders", "checkpoint", "nir_import", "fx_import", "zoo", "spec",
          "graph", "quantize"}


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_a_later_stage_at_run_time(stage: str) -> None:
    assert (ROOT / stage).is_dir()
    assert _violations(stage) == []


@pytest.mark.parametrize("module", sorted(NEUTRAL))
def test_a_neutral_module_imports_only_the_ground(module: str) -> None:
    path = ROOT / (module.replace(".", "/") + ".py")
    imported = [name.split(".")[1] for name in _runtime_imports(path)]
    assert imported and set(imported) <= GROUND, imported


def test_the_check_sees_a_later_stage_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from canmore_sim.noc.engine import X\n"
                   "from canmore_sim.mapper import place\n")
    assert _runtime_imports(bad) == ["canmore_sim.mapper"]


@pytest.mark.parametrize("old", ["loaders", "checkpoint", "nir_import", "fx_import", "spec",
                                 "graph", "quantize"])
def test_old_module_name_warns_and_is_the_new_module(old: str) -> None:
    sys.modules.pop(f"canmore_sim.mapper.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"canmore_sim.models.{old}"):
        legacy = importlib.import_module(f"canmore_sim.mapper.{old}")
    assert legacy is importlib.import_module(f"canmore_sim.models.{old}")


def test_old_zoo_and_package_names_warn_and_are_the_new_objects() -> None:
    from canmore_sim.cores.calibrate import synthetic_graph
    from canmore_sim.models.graph import LayerGraph

    sys.modules.pop("canmore_sim.mapper.zoo", None)
    with pytest.warns(DeprecationWarning, match="canmore_sim.models.zoo"):
        legacy = importlib.import_module("canmore_sim.mapper.zoo")
    assert legacy.synthetic_graph is synthetic_graph
    import canmore_sim.mapper as mapper

    with pytest.warns(DeprecationWarning, match="canmore_sim.models.LayerGraph"):
        assert mapper.LayerGraph is LayerGraph
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mapper.place is importlib.import_module("canmore_sim.mapper.placement").place
