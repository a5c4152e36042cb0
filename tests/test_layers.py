"""Every module of the package imports only its own folder and the layers below it.

The layers, from the bottom up (``LAYERS``): the ground (the files at the root of
``canmore_sim/``: errors, config, overrides, YAML reading; and the data folder
``configs/``), ``utils/``, the stages (``datasets/`` beside the data flow, then
``models/ -> cores/ -> mapper/ -> noc/ -> energy/``, each a layer of its own), and the
shell's wings ``run/ < pool/ < chunked/ | report/ < sweep/ < cli/ | api/``, and on top
the package's front door (``canmore_sim/__init__.py``, which hands out the Python API of
``api/`` on first use; importing the package itself counts as the ground, where its
errors and version are). Folders on one layer (``chunked/`` and ``report/``; ``cli/`` and
``api/``) do not import each other. Every import made at
run time counts, at the top of a module or inside a function; one under
``if TYPE_CHECKING:`` only names a type for annotations (a stage's docstrings and
signatures may name a later stage's types) and is not an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The top-level folders that are subpackages of canmore_sim (pyproject's package-dir).
STAGES = ("datasets", "models", "cores", "mapper", "noc", "energy")
#: Layers from the bottom up; a module may import its own folder and any lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ground", "configs"),
    ("utils",),
    *((stage,) for stage in STAGES),
    ("run",),
    ("pool",),
    ("chunked", "report"),
    ("sweep",),
    ("cli", "api"),
    ("front",),
)
RANK = {folder: rank for rank, folders in enumerate(LAYERS) for folder in folders}
#: The only modules at the root of canmore_sim/.
GROUND = {"__init__", "errors", "config", "overrides", "yamlio"}


def modules(root: Path) -> Iterator[tuple[Path, str]]:
    """Every module of the package under ``root``, with its folder (``ground`` for the
    files at the root of ``canmore_sim/``, ``front`` for its ``__init__.py``)."""
    package = root / "canmore_sim"
    for path in sorted(package.rglob("*.py")):
        inner = path.relative_to(package).parts
        if inner == ("__init__.py",):
            yield path, "front"
        else:
            yield path, "ground" if len(inner) == 1 else inner[0]
    for folder in (*STAGES, "configs"):
        for path in sorted((root / folder).rglob("*.py")):
            yield path, folder


def imported_folder(name: str) -> str | None:
    """The folder a ``canmore_sim`` module name lives in; None: not this package."""
    parts = name.split(".")
    if parts[0] != "canmore_sim":
        return None
    if len(parts) == 1 or parts[1] in GROUND:
        return "ground"
    return parts[1]


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module that ``path`` imports at run time (line, absolute name), outside
    ``if TYPE_CHECKING:`` blocks; a relative import is named as written (``.x``)."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                   for stmt in node.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, "." * node.level + (node.module or "")


def violations(root: Path) -> list[str]:
    """One line per import that runs up a layer, sideways to a peer folder, or is relative."""
    found = []
    for path, folder in modules(root):
        where = path.relative_to(root)
        for line, name in imports(path):
            if name.startswith("."):
                found.append(f"{where}:{line} imports {name} (a relative import)")
                continue
            target = imported_folder(name)
            if target is None or target == folder:
                continue
            if target not in RANK:
                found.append(f"{where}:{line} imports {name} (no layer holds {target})")
            elif RANK[target] >= RANK[folder]:
                what = "a peer folder" if RANK[target] == RANK[folder] else "a higher layer"
                found.append(f"{where}:{line} imports {name} ({what}: {target} is not below "
                             f"{folder})")
    return found


def test_every_folder_of_the_package_is_on_a_layer() -> None:
    folders = {folder for _, folder in modules(ROOT)}
    assert {"front", "ground", "utils", "run", "pool", "chunked", "report", "sweep", "cli",
            "api", *STAGES} <= folders
    assert folders <= set(RANK)
    wings = {p.name for p in (ROOT / "canmore_sim").iterdir()
             if p.is_dir() and p.name != "__pycache__"}
    assert wings <= set(RANK)
    assert all((ROOT / "canmore_sim" / wing / "__init__.py").is_file() for wing in wings)


def test_the_root_of_the_package_holds_only_the_ground() -> None:
    assert {p.stem for p in (ROOT / "canmore_sim").glob("*.py")} == GROUND


def test_no_module_imports_up_a_layer_or_sideways() -> None:
    assert violations(ROOT) == []


def _plant(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(("relative", "text", "expected"), [
    ("canmore_sim/utils/bad.py", "def f():\n    from canmore_sim.cli.main import main\n",
     "canmore_sim/utils/bad.py:2 imports canmore_sim.cli.main (a higher layer: cli is not "
     "below utils)"),
    ("canmore_sim/errors.py", "from canmore_sim.utils.atomic import read_json\n",
     "canmore_sim/errors.py:1 imports canmore_sim.utils.atomic (a higher layer: utils is "
     "not below ground)"),
    ("canmore_sim/chunked/bad.py", "import canmore_sim.report.summary\n",
     "canmore_sim/chunked/bad.py:1 imports canmore_sim.report.summary (a peer folder: "
     "report is not below chunked)"),
    ("models/bad.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from canmore_sim.mapper import Mapping\nimport canmore_sim.run.pipeline\n",
     "models/bad.py:4 imports canmore_sim.run.pipeline (a higher layer: run is not below "
     "models)"),
    ("mapper/bad.py", "from canmore_sim.noc import ENGINES\n",
     "mapper/bad.py:1 imports canmore_sim.noc (a higher layer: noc is not below mapper)"),
    ("canmore_sim/run/bad.py", "from .pipeline import run\n",
     "canmore_sim/run/bad.py:1 imports .pipeline (a relative import)"),
])
def test_the_check_flags_a_planted_import(tmp_path: Path, relative: str, text: str,
                                          expected: str) -> None:
    _plant(tmp_path, "canmore_sim/__init__.py", "")
    _plant(tmp_path, "canmore_sim/errors.py", "class CanmoreError(Exception):\n    pass\n")
    _plant(tmp_path, "canmore_sim/utils/atomic.py", "from canmore_sim.errors import X\n")
    _plant(tmp_path, "canmore_sim/cli/main.py", "import canmore_sim.run.pipeline\n")
    assert violations(tmp_path) == []  # downward imports pass
    _plant(tmp_path, relative, text)
    assert violations(tmp_path) == [expected]
