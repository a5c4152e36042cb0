"""MkDocs hooks: the reference pages that come from the code, generated at build time.

A page holds a marker and the build replaces it with text made from the code itself, so
the site cannot drift from the tool:

``<!-- cli-reference -->``
    every command, argument, default and choice of ``canmore-sim``, read from its
    argparse parser (``build_parser()``), registry choices expanded as ``--help`` does;
``<!-- config-reference -->``
    every configuration key: type, default, bounds and description, read from the
    pydantic models of ``canmore_sim/config.py`` and ``config_sections.py``;
``<!-- errors-reference -->``
    the exception tree of ``canmore_sim/errors.py`` with each class's exit status;
``<!-- energy-presets -->``
    the bundled energy presets (``configs/energy/*.yaml``): model, source, coefficients;
``<!-- registries -->``
    the names of every registry (placements, routings, engines, ...);
``<!-- include: PATH -->``
    the text of a file of the repository (``CHANGELOG.md``, a YAML preset).

``on_config`` also lets mkdocstrings read the package as it is installed: the stage
folders (``models/``, ``noc/``, ...) are ``canmore_sim.models``, ``canmore_sim.noc``, ...
only through pyproject's ``package-dir`` mapping, which griffe's static loader does not
follow, so a temporary tree of links with that layout is handed to it as its search path.
"""

from __future__ import annotations

import argparse
import atexit
import re
import shutil
import sys
import tempfile
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from mkdocs.plugins import event_priority
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from canmore_sim.cli.help import yaml_text

ROOT = Path(__file__).resolve().parents[1]
_INCLUDE = re.compile(r"<!-- include: ([^ ]+) -->")
_MARKER = re.compile(r"^<!-- [a-z-]+(?:: [^ ]+)? -->$", re.M)


# ----------------------------------------------------------------------------- hooks


@event_priority(100)  # before mkdocstrings' own on_config, which may create the handler
def on_config(config: Any) -> Any:
    """Point mkdocstrings at a tree of links laid out as the installed package."""
    tree = Path(tempfile.mkdtemp(prefix="canmore-docs-api-"))
    atexit.register(shutil.rmtree, tree, ignore_errors=True)
    package_tree(tree)
    handler = config["plugins"]["mkdocstrings"].config["handlers"].setdefault("python", {})
    handler["paths"] = [str(tree)]
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the markers of a page by the text generated from the code."""
    return expand_markers(markdown)


def expand_markers(markdown: str) -> str:
    """``markdown`` with every marker that stands alone on its line replaced by its text.

    A marker quoted inside a sentence (as on the development page) is left as it is.
    """
    def replace(match: re.Match[str]) -> str:
        marker = match.group(0)
        if marker in GENERATORS:
            return GENERATORS[marker]()
        include = _INCLUDE.fullmatch(marker)
        return (ROOT / include.group(1)).read_text().rstrip("\n") if include else marker

    return _MARKER.sub(replace, markdown)


# ----------------------------------------------------------------------------- package tree


def package_dirs() -> dict[str, Path]:
    """``{"canmore_sim": ROOT/canmore_sim, "canmore_sim.noc": ROOT/noc, ...}`` from pyproject.

    The ``package-dir`` table is one inline table of quoted names and folders, read by a
    pattern (``tomllib`` is Python 3.11+, and the package supports 3.10).
    """
    text = (ROOT / "pyproject.toml").read_text()
    table = re.search(r"^package-dir\s*=\s*\{(.*)\}\s*$", text, re.M)
    if table is None:
        raise RuntimeError("pyproject.toml: no [tool.setuptools] package-dir table")
    pairs = re.findall(r'"([\w.]+)"\s*=\s*"([^"]+)"', table.group(1))
    return {name: ROOT / folder for name, folder in pairs}


def package_tree(target: Path) -> None:
    """Lay out links under ``target`` so that ``target/canmore_sim`` is the installed package.

    Every package of the ``package-dir`` mapping becomes a folder at its dotted place
    whose files (and sub-folders that are not mapped packages themselves) are links to
    the repository's.
    """
    dirs = package_dirs()
    for name in sorted(dirs, key=lambda n: n.count(".")):
        folder = target.joinpath(*name.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        for entry in dirs[name].iterdir():
            if f"{name}.{entry.name}" in dirs or entry.name == "__pycache__":
                continue
            link = folder / entry.name
            if not link.exists():
                link.symlink_to(entry, target_is_directory=entry.is_dir())


# ----------------------------------------------------------------------------- CLI


def _build_parser() -> argparse.ArgumentParser:
    from canmore_sim.cli.main import build_parser

    return build_parser()


def _help_formatter() -> type[argparse.HelpFormatter]:
    from canmore_sim.cli.help import HelpFormatter

    return HelpFormatter


def cli_reference() -> str:
    """Markdown of every ``canmore-sim`` command and argument, from the parser."""
    parser = _build_parser()
    formatter = _help_formatter()("canmore-sim")
    out = [_usage_block(parser), "", _options_table(parser, formatter)]
    for name, sub in _subcommands(parser):
        out += ["", f"## `canmore-sim {name}`", "", sub.description or "", "",
                _usage_block(sub), "", _options_table(sub, formatter)]
    return "\n".join(out)


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, Any]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _usage_block(parser: argparse.ArgumentParser) -> str:
    usage = " ".join(parser.format_usage().removeprefix("usage: ").split())
    return f"```text\n{usage}\n```"


def _options_table(parser: argparse.ArgumentParser, formatter: Any) -> str:
    """One row per argument: its names, its value, and its help as ``--help`` prints it."""
    rows = ["| argument | value | meaning (and default) |", "| --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                rows.append(f"| [`{choice.dest}`](#canmore-sim-{choice.dest}) | | "
                            f"{_cell(choice.help or '')} |")
            continue
        names = ", ".join(f"`{n}`" for n in action.option_strings) or f"`{action.dest}`"
        text = formatter._expand_help(action) if action.help else ""
        rows.append(f"| {names} | {_value_of(action)} | {_cell(text)} |")
    return "\n".join(rows)


def _value_of(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return " \\| ".join(f"`{c}`" for c in action.choices)
    metavar = action.metavar or (action.dest.upper() if action.option_strings else action.dest)
    repeat = " (repeatable)" if isinstance(action, argparse._AppendAction) else ""
    return f"`{metavar}`{repeat}"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# ----------------------------------------------------------------------------- configuration


def config_sections() -> list[tuple[str, type[BaseModel], FieldInfo | None]]:
    """``(name, model, field)`` of ``ArchConfig`` itself (name ``""``) and each section."""
    from canmore_sim.config import ArchConfig

    out: list[tuple[str, type[BaseModel], FieldInfo | None]] = [("", ArchConfig, None)]
    for name, field in ArchConfig.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            out.append((name, field.annotation, field))
    return out


def config_reference() -> str:
    """Markdown tables of every configuration key, one per section, from the models."""
    out: list[str] = []
    for name, model, field in config_sections()[1:]:
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("``", "`")
        out += [f"### `{name}`", "", " ".join(doc.split()), ""]
        if field is not None and field.description:
            out += [f"*{field.description}*", ""]
        out += ["| key | type | default | bounds | description |",
                "| --- | --- | --- | --- | --- |"]
        for key, info in model.model_fields.items():
            out.append(f"| `{name}.{key}` | {type_name(info.annotation, info.metadata)} | "
                       f"`{yaml_text(info.default)}` | {bounds(info.metadata)} | "
                       f"{_cell(info.description or '')} |")
        out.append("")
    return "\n".join(out).rstrip("\n")


def type_name(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> str:
    """A YAML reader's name for a field's type: ``integer``, ``number``, ``one of ...``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0], args[1:])
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{yaml_text(a)}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or `null`" if type(None) in args else "")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = type_name(args[0])
            each = bounds(_inner_metadata(args[0]))
            return f"list of {inner}s" + (f" (each {each})" if each else "")
        names = [type_name(a) for a in args]
        if len(set(names)) == 1:
            return f"list of {len(names)} {names[0]}s"
        return "list of " + ", ".join(names)
    names = {int: "integer", float: "number", bool: "boolean", str: "text"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _inner_metadata(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is not typing.Annotated:
        return []
    out: list[Any] = []
    for item in typing.get_args(annotation)[1:]:
        out += item.metadata if isinstance(item, FieldInfo) else [item]
    return out


def bounds(metadata: list[Any] | tuple[Any, ...]) -> str:
    """The numeric and length bounds of a field (``>= 1``, ``<= 1024``, ``at least 1 item``)."""
    symbols = ((annotated_types.Ge, "ge", ">="), (annotated_types.Gt, "gt", ">"),
               (annotated_types.Le, "le", "<="), (annotated_types.Lt, "lt", "<"))
    parts: list[str] = []
    for item in metadata:
        for kind, attribute, symbol in symbols:
            if isinstance(item, kind):
                parts.append(f"{symbol} {getattr(item, attribute):,}")
        if isinstance(item, annotated_types.MinLen):
            parts.append(f"at least {item.min_length} item(s)")
        if isinstance(item, annotated_types.MaxLen):
            parts.append(f"at most {item.max_length} item(s)")
    return ", ".join(parts)


def config_fields() -> Iterator[tuple[str, str, FieldInfo]]:
    """``(model name, field name, field)`` of every field of every model in config.py and
    config_sections.py."""
    import canmore_sim.config as config
    import canmore_sim.config_sections as sections

    for module in (config, sections):
        for model in vars(module).values():
            if (isinstance(model, type) and issubclass(model, BaseModel)
                    and model.__module__ == module.__name__):
                for name, info in model.model_fields.items():
                    yield model.__name__, name, info


# ----------------------------------------------------------------------------- errors


def errors_reference() -> str:
    """The exception tree of ``canmore_sim.errors``: class, base, exit status, meaning."""
    import canmore_sim.errors as errors

    rows = ["| exception | base | CLI exit status | raised when |", "| --- | --- | --- | --- |"]
    classes = [c for c in vars(errors).values() if isinstance(c, type)
               and issubclass(c, Exception) and c.__module__ == errors.__name__]
    for cls in sorted(classes, key=lambda c: (len(c.__mro__), c.__name__)):
        base = cls.__bases__[0].__name__
        code = getattr(cls, "exit_code", None)
        status = "" if code is None or issubclass(cls, Warning) else str(code)
        doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        rows.append(f"| `{cls.__name__}` | `{base}` | {status} | {_cell(doc)} |")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- presets, registries


def energy_presets() -> str:
    """One table row per bundled energy preset (``configs/energy/*.yaml``)."""
    rows = ["| preset | model | coefficients | source |", "| --- | --- | --- | --- |"]
    for path in sorted((ROOT / "configs" / "energy").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        coefficients = ", ".join(f"`{k}: {yaml_text(v)}`" for k, v in data.items()
                                 if k not in ("model", "source"))
        rows.append(f"| `{path.stem}` | `{data['model']}` | {coefficients} | "
                    f"{_cell(str(data.get('source', '')))} |")
    return "\n".join(rows)


def registries() -> str:
    """Every registry's names, as ``--help`` lists them."""
    from canmore_sim.cli.help import REGISTRIES

    rows = ["| registry | names |", "| --- | --- |"]
    for name, names in REGISTRIES.items():
        rows.append(f"| {name} | {', '.join(f'`{n}`' for n in names())} |")
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "<!-- cli-reference -->": cli_reference,
    "<!-- config-reference -->": config_reference,
    "<!-- errors-reference -->": errors_reference,
    "<!-- energy-presets -->": energy_presets,
    "<!-- registries -->": registries,
}

if __name__ == "__main__":  # print the generated text, for a look without building the site
    sys.stdout.write("\n\n".join(make() for make in GENERATORS.values()) + "\n")
