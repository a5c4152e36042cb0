"""``--help`` text of the command line: defaults, units, and the choices of every registry.

The choices are read from the registries themselves (placements, routings, NoC
engines, neuron models, energy presets, zoo networks, data readers), so a plug-in
added to a registry shows up in the help without editing it. They are looked up
only when help is printed: a help string holds ``{choices:NAME}`` and the
formatter expands it, so building the parser imports nothing heavy.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Callable

from canmore_sim.overrides import config_keys

__all__ = ["REGISTRIES", "HelpFormatter", "choices", "config_epilog", "registries_epilog"]


def _placements() -> list[str]:
    from canmore_sim.mapper.placement import PLACEMENTS

    return list(PLACEMENTS)


def _routings() -> list[str]:
    from canmore_sim.noc import ROUTINGS

    return list(ROUTINGS)


def _engines() -> list[str]:
    from canmore_sim.noc import ENGINES

    return list(ENGINES)


def _neuron_models() -> list[str]:
    from canmore_sim.cores.models import AUTO, NEURON_MODELS

    return [AUTO, *NEURON_MODELS]


def _energy_presets() -> list[str]:
    from canmore_sim.energy.presets import preset_names

    return preset_names()


def _zoo() -> list[str]:
    from canmore_sim.models.zoo import ZOO

    return list(ZOO)


def _readers() -> list[str]:
    from canmore_sim.datasets.readers import READERS

    return [f"{name}:{arg}" if arg else name for name, (arg, _) in READERS.items()]


#: Registry name (as written in help strings) -> the names it holds, looked up on demand.
REGISTRIES: dict[str, Callable[[], list[str]]] = {
    "placements": _placements,
    "routings": _routings,
    "engines": _engines,
    "neuron-models": _neuron_models,
    "energy-presets": _energy_presets,
    "zoo": _zoo,
    "data-readers": _readers,
}

_TOKEN = re.compile(r"\{choices:([a-z-]+)\}")


def choices(name: str) -> list[str]:
    """The names registered in the registry ``name`` (a key of :data:`REGISTRIES`)."""
    return REGISTRIES[name]()


def _expand(text: str) -> str:
    return _TOKEN.sub(lambda m: ", ".join(choices(m.group(1))), text)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows every option's default, and expands ``{choices:NAME}`` from the registries."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" not in text and default not in (None, False, argparse.SUPPRESS, [])
                and action.option_strings):
            text += " (default: %(default)s)"
        return text

    def _expand_help(self, action: argparse.Action) -> str:
        return _expand(super()._expand_help(action))

    def _format_text(self, text: str) -> str:
        return super()._format_text(_expand(text))


def registries_epilog() -> str:
    """Epilog lines naming every registry's choices (expanded when printed)."""
    lines = ["choices (read from the registries):"]
    lines += [f"  {name:15s} {{choices:{name}}}" for name in REGISTRIES]
    return "\n".join(lines)


def config_epilog() -> str:
    """Every configuration key a ``--set`` can name, with its default and unit.

    The defaults are those of a key that a YAML file (or ``--set``) leaves out:
    a partial YAML file is enough, every missing key keeps its default.
    """
    lines = ["config keys for --set KEY=VALUE (and for a YAML --config; a partial YAML is",
             "enough: every key left out keeps the default shown):"]
    for k in config_keys():
        if k.section:
            lines.append(f"  {k.key}: {k.description.strip().splitlines()[0]}")
            continue
        text = f"    {k.key} = {_yaml(k.default)}"
        if not k.description:
            lines.append(text)
            continue
        wrapped = textwrap.wrap(k.description, width=60)
        if len(text) > 38:
            lines += [text, *(" " * 39 + w for w in wrapped)]
        else:
            lines += [f"{text:38s} {wrapped[0]}", *(" " * 39 + w for w in wrapped[1:])]
    return "\n".join(lines)


def _yaml(value: object) -> str:
    """A default as it would be written in YAML (``null``, ``false``, ``[0, 0]``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)
