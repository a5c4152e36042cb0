"""Every module of the package imports only its own folder and the layers below it.

The layers, from the bottom up (``LAYERS``): the ground (the files at the root of
``canmore_sim/``: errors, config and its sections, overrides, YAML reading; and the data folder
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
GROUND = {"__init__", "errors", "config", "config_sections", "overrides", "yamlio"}


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


def _names(node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    """The modules an import statement loads: ``from a.b import c`` loads ``a.b.c`` when
    that is a module of ``known``, else ``a.b``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def module_name(root: Path, path: Path) -> str:
    """``canmore_sim.x.y`` for ``canmore_sim/x/y.py`` and for a stage's ``x/y.py``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    parts = parts if parts[0] == "canmore_sim" else ["canmore_sim", *parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_circles(root: Path) -> list[str]:
    """Every import circle of the package, one line each (its modules in order), counting
    every import made at run time: at the top of a module or inside a function (a circle
    of function-level imports is still a knot, only hidden). A package's ``__getattr__``
    (PEP 562: ``canmore_sim.simulate`` loaded on first use) is its front door, not an
    arrow: every module lives inside the package it would import."""
    paths = {module_name(root, path): path for path, _ in modules(root)}
    known = set(paths)
    arrows: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _typing_only(tree)
        if path.name == "__init__.py":
            skipped |= {id(n) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
                        and fn.name == "__getattr__" for n in ast.walk(fn)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skipped:
                arrows[name] |= {t for t in _names(node, known) if t in known and t != name}
    return [" -> ".join(circle) for circle in _circles(arrows)]


def _circles(arrows: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(here: str) -> None:
        index[here] = low[here] = len(index)
        stack.append(here)
        for there in sorted(arrows[here]):
            if there not in index:
                visit(there)
                low[here] = min(low[here], low[there])
            elif there in stack:
                low[here] = min(low[here], index[there])
        if low[here] == index[here]:
            group = stack[stack.index(here):]
            del stack[stack.index(here):]
            if len(group) > 1:
                found.append(sorted(group))

    for name in sorted(arrows):
        if name not in index:
            visit(name)
    return sorted(found)


def _typing_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:`` (names for annotations, not imports
    made at run time)."""
    return {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for stmt in node.body for n in ast.walk(stmt)}


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module that ``path`` imports at run time (line, absolute name), outside
    ``if TYPE_CHECKING:`` blocks; a relative import is named as written (``.x``)."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = _typing_only(tree)
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


def test_no_import_circle_anywhere() -> None:
    """No circle, whether its imports stand at the top of a module or inside a function
    (one made only of function-level imports hides a knot in the design)."""
    assert import_circles(ROOT) == []


def test_the_circle_check_flags_a_planted_circle(tmp_path: Path) -> None:
    _plant(tmp_path, "canmore_sim/__init__.py", "def __getattr__(name):\n"
           "    import canmore_sim.run.a\n")  # the package's front door: not an arrow
    _plant(tmp_path, "canmore_sim/run/__init__.py", "")
    _plant(tmp_path, "canmore_sim/run/a.py", "import canmore_sim.run.b\n")
    _plant(tmp_path, "canmore_sim/run/b.py", "def f():\n    from canmore_sim.run import c\n")
    _plant(tmp_path, "canmore_sim/run/c.py", "import numpy\n")
    assert import_circles(tmp_path) == []  # a lazy import for its cost alone is no circle
    _plant(tmp_path, "canmore_sim/run/c.py", "def g():\n    from canmore_sim.run.a import x\n")
    assert import_circles(tmp_path) == [
        "canmore_sim.run.a -> canmore_sim.run.b -> canmore_sim.run.c"]


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
