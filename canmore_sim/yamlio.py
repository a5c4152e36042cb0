"""Bounded, strict YAML reading for every YAML file the tool accepts.

Configuration files are small; a hostile or broken one must not hang the tool or
exhaust memory, and must not be read differently from how it looks. So:

* a file over :data:`MAX_YAML_BYTES` is refused before it is parsed;
* aliases may not expand the document beyond :data:`MAX_YAML_NODES` values (the
  "billion laughs" bomb), nesting may not exceed :data:`MAX_YAML_DEPTH`, and an
  alias may not refer to itself;
* a key given twice in one mapping (a duplicate key or section) is an error, not
  "last one wins";
* scalars resolve as in YAML 1.2's core schema: ``0x8``, ``0o17``, ``1_000``,
  ``1:30`` (sexagesimal) and ``yes``/``no``/``on``/``off`` stay strings instead of
  YAML 1.1's hex, octal, base-60 numbers and booleans; ``010`` is ten, ``1e9`` a float.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from canmore_sim.errors import ConfigError

__all__ = ["MAX_INT_DIGITS", "MAX_YAML_BYTES", "MAX_YAML_DEPTH", "MAX_YAML_NODES", "bundled_names",
           "load_yaml", "named_yaml_text",
           "read_yaml_text"]

#: Largest YAML file read, bytes (configs, sweeps and presets are a few KB).
MAX_YAML_BYTES = 1 << 20
#: Most values (scalars, lists, mappings) a document may hold after alias expansion.
MAX_YAML_NODES = 100_000
#: Deepest nesting of lists and mappings.
MAX_YAML_DEPTH = 50
#: Most digits of an integer (YAML files and ``--set``), counted before it is converted.
MAX_INT_DIGITS = 100


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema resolution of ints, floats and booleans."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                           "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    digits = len(text.lstrip("+-"))
    if digits > MAX_INT_DIGITS:  # bounded before conversion (Python refuses 4,300 and more)
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {digits:,} digits; at most {MAX_INT_DIGITS} are read",
            node.start_mark)
    return int(text)  # decimal only: the resolver admits nothing else


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_yaml_text(path: str | Path, what: str, key: str | None = None) -> str:
    """The text of a YAML file, refused when it is larger than :data:`MAX_YAML_BYTES`.

    Parameters
    ----------
    path
        The file.
    what
        What it should be, for messages ("config file", "sweep file").
    key
        Config key the file was named by, stored on the error.

    Raises
    ------
    ConfigError
        Missing, unreadable, not UTF-8, or too large.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {what} is {size:,} bytes, more than the "
                              f"{MAX_YAML_BYTES:,} bytes a YAML file may have", key=key,
                              file=str(path))
        with path.open("rb") as handle:  # the file may grow between stat and read
            raw = handle.read(MAX_YAML_BYTES + 1)
        return _text(raw, path, what, key)
    except FileNotFoundError:
        raise ConfigError(f"cannot read {what} {path}: not found", key=key,
                          file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}", key=key,
                          file=str(path)) from None


def _text(raw: bytes, path: Path, what: str, key: str | None) -> str:
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: {what} is more than the {MAX_YAML_BYTES:,} bytes a YAML "
                          "file may have", key=key, file=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte {exc.start})", key=key,
                          file=str(path)) from None


def load_yaml(text: str, filename: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document within the limits of this module.

    Parameters
    ----------
    text
        The document.
    filename
        Where it came from, for messages.

    Returns
    -------
    (data, root)
        The plain Python data (None for an empty document) and its node tree (for
        line numbers).

    Raises
    ------
    ConfigError
        Invalid YAML, too large, too deep, a self-referring alias, too many values
        after alias expansion, or a duplicate key; naming the file and line.
    """
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{filename}: more than the {MAX_YAML_BYTES:,} characters a YAML "
                          "file may have", file=filename)
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _Budget(filename).walk(root, 0)
        return loader.construct_document(root), root
    except yaml.YAMLError as exc:
        raise ConfigError(f"{_where(exc, filename)}: invalid YAML: {_problem(exc)}",
                          file=filename) from None
    except RecursionError:
        raise ConfigError(f"{filename}: YAML nested too deeply (at most {MAX_YAML_DEPTH} "
                          "levels)", file=filename) from None
    finally:
        loader.dispose()


class _Budget:
    """Counts the values of a node tree as aliases expand it; finds duplicate keys."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.total = 0

    def walk(self, node: yaml.Node, depth: int) -> int:
        """Expanded size of ``node``; raises when a limit is passed."""
        if id(node) in self.sizes:  # an alias of a finished node: counted again, not walked
            return self._add(self.sizes[id(node)], node)
        if id(node) in self.open:
            raise ConfigError(f"{self._at(node)}: an alias refers to the value that contains "
                              "it (a recursive YAML structure)", file=self.filename)
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(f"{self._at(node)}: YAML nested more than {MAX_YAML_DEPTH} "
                              "levels deep", file=self.filename)
        self.open.add(id(node))
        size = 1
        self._add(1, node)
        if isinstance(node, yaml.MappingNode):
            self._no_duplicates(node)
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        before = self.total
        for child in children:
            self.walk(child, depth + 1)
        size += self.total - before
        self.open.discard(id(node))
        self.sizes[id(node)] = size
        return size

    def _add(self, count: int, node: yaml.Node) -> int:
        self.total += count
        if self.total > MAX_YAML_NODES:
            raise ConfigError(
                f"{self._at(node)}: the YAML document expands to more than {MAX_YAML_NODES:,} "
                "values (aliases repeating aliases?); configuration files are small",
                file=self.filename)
        return count

    def _no_duplicates(self, node: yaml.MappingNode) -> None:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                raise ConfigError(
                    f"{self.filename}:{line}: key {key_node.value!r} is given twice (first on "
                    f"line {seen[key_node.value]}); give each key and section once",
                    file=self.filename, line=line, key=str(key_node.value))
            seen[key_node.value] = line

    def _at(self, node: yaml.Node) -> str:
        return f"{self.filename}:{node.start_mark.line + 1}"


def _where(exc: yaml.YAMLError, filename: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"{filename}:{mark.line + 1}" if mark is not None else filename


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    if problem:
        return str(problem)
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


def bundled_names(folder: str) -> list[str]:
    """Names (without ``.yaml``) of the bundled YAML files in ``configs/<folder>``."""
    from importlib import resources

    found = resources.files("canmore_sim.configs").joinpath(folder)
    return sorted(p.name[: -len(".yaml")] for p in found.iterdir() if p.name.endswith(".yaml"))


def named_yaml_text(name: str, folder: str, what: str, key: str) -> tuple[str, str, str]:
    """``(name, text, file name)`` of a bundled YAML file named ``name`` in
    ``configs/<folder>``, or of the YAML file at path ``name`` (``*.yaml``, ``*.yml``; its
    name is the file's stem).

    Parameters
    ----------
    name
        A bundled name or a file path.
    folder
        The bundled files' folder under ``configs/`` (``energy``, ``area``).
    what
        What the file is, for messages (``energy preset``, ``area preset``).
    key
        The config key that named it, stored on the error.

    Raises
    ------
    ConfigError
        An unknown bundled name (listing the valid ones), or a file that is missing,
        unreadable, not UTF-8 or too large (:func:`read_yaml_text`).
    """
    from importlib import resources

    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        return path.stem, read_yaml_text(path, f"{what} file", key=key), str(path)
    names = bundled_names(folder)
    if name not in names:
        article = "an" if what[0] in "aeiou" else "a"
        raise ConfigError(f"unknown {what} {name!r}; valid: {', '.join(names)} "
                          f"(or {article} {what} .yaml file)", key=key, value=name)
    ref = resources.files("canmore_sim.configs").joinpath(f"{folder}/{name}.yaml")
    return name, ref.read_text(encoding="utf-8"), f"{name}.yaml"
