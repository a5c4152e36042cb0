"""The generated reference pages: every config key described, every option and key listed."""

from __future__ import annotations

import re

import pytest

import canmore_sim.config as config_module
import canmore_sim.config_sections as sections_module
from canmore_sim.overrides import config_keys

#: A unit at the end of a key's name, and how its description must name it.
UNITS = {"_ns": "ns", "_kib": "KiB", "_bits": "bits", "_s": " s", "_pj": "pJ", "_uj": "uJ",
         "_mw": "mW", "_mm2": "mm2", "_um2": "um2"}


def _models() -> list[type]:
    from pydantic import BaseModel

    return [m for module in (config_module, sections_module) for m in vars(module).values()
            if isinstance(m, type) and issubclass(m, BaseModel)
            and m.__module__ == module.__name__]


def test_every_config_key_has_a_description_with_its_unit(hooks) -> None:
    fields = list(hooks.config_fields())
    models = {model for model, _, _ in fields}
    assert models == {m.__name__ for m in _models() if m.model_fields}
    assert {"ArchConfig", "RouterConfig", "RunConfig"} <= models
    missing = [f"{model}.{name}" for model, name, info in fields
               if not (info.description or "").strip()]
    assert not missing, f"config keys without a description: {missing}"
    no_unit = [f"{model}.{name}" for model, name, info in fields
               for suffix, unit in UNITS.items()
               if name.endswith(suffix) and unit not in f" {info.description}"]
    assert not no_unit, f"config keys whose description does not name their unit: {no_unit}"


def test_the_description_check_fails_on_a_key_without_one(hooks, monkeypatch) -> None:
    from pydantic import Field

    from canmore_sim.config_sections import Frozen

    class UndescribedConfig(Frozen):
        depth: int = Field(4, ge=1)

    UndescribedConfig.__module__ = config_module.__name__
    monkeypatch.setattr(config_module, "UndescribedConfig", UndescribedConfig, raising=False)
    with pytest.raises(AssertionError, match=r"UndescribedConfig\.depth"):
        test_every_config_key_has_a_description_with_its_unit(hooks)


def test_config_reference_lists_every_key_with_default_bounds_and_description(hooks) -> None:
    page = hooks.config_reference()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_.]+)` \|.*$", page, re.M)}
    leaves = [k for k in config_keys() if not k.section]
    assert sorted(rows) == sorted(k.key for k in leaves)
    assert "| `router.buffer_depth` | integer | `4` | >= 1 | input FIFO depth per port, flits |" \
        in page
    assert "| `core.quant_scale` | one of `layer`, `channel` | `layer` |" in page
    assert "| `neuron.dt` | number or `null` | `null` | > 0 |" in page
    assert "| `mesh.width` | integer | `8` | >= 1, <= 1,024 |" in page


def test_cli_reference_lists_every_command_and_option_of_the_parser(hooks) -> None:
    page = hooks.cli_reference()
    parser = hooks._build_parser()
    for name, sub in hooks._subcommands(parser):
        assert f"## `canmore-sim {name}`" in page
        for action in sub._actions:
            for option in action.option_strings or [action.dest]:
                assert f"`{option}`" in page, (name, option)
    assert "{choices:" not in page  # registry choices expanded, as --help shows them
    assert "row-major" in page and "canmore-22nm" in page


def test_errors_reference_gives_each_error_its_exit_status(hooks) -> None:
    from canmore_sim import errors

    page = hooks.errors_reference()
    for cls in (errors.ConfigError, errors.ModelError, errors.DataError, errors.MappingError,
                errors.SimulationError, errors.OutputError):
        assert re.search(rf"^\| `{cls.__name__}` \| `\w+` \| {cls.exit_code} \|", page, re.M)


def test_markers_standing_alone_are_replaced_and_quoted_ones_are_not(hooks) -> None:
    text = "the `<!-- registries -->` marker\n<!-- registries -->\n"
    out = hooks.expand_markers(text)
    assert out.startswith("the `<!-- registries -->` marker\n| registry | names |")
    included = hooks.expand_markers("<!-- include: configs/arch/default.yaml -->")
    assert included.startswith("# Default architecture") and "buffer_depth: 4" in included
