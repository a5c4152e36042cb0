"""The stages import only from themselves and earlier stages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The data flow: models -> cores -> mapper -> noc -> energy (then the reports in canmore_sim/).
STAGES = ("models", "cores", "mapper", "noc", "energy")
#: Modules of canmore_sim/ every stage may use: helpers under all of them, no stage code.
GROUND = {"errors", "config", "yamlio", "utils"}


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
        for name in _runtime_imports(path):
            parts = name.split(".")
            if len(parts) < 2:
                found.append(f"{path.name} imports {name}")
            elif parts[1] in STAGES:
                if STAGES.index(parts[1]) > rank:
                    found.append(f"{stage}/{path.name} imports {name} (a later stage)")
            elif parts[1] not in GROUND:
                found.append(f"{stage}/{path.name} imports {name} (not a ground module)")
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_a_later_stage_at_run_time(stage: str) -> None:
    assert (ROOT / stage).is_dir()
    assert _violations(stage) == []


def test_the_check_sees_a_later_stage_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from canmore_sim.noc.engine import X\n"
                   "from canmore_sim.mapper import place\n")
    assert _runtime_imports(bad) == ["canmore_sim.mapper"]
