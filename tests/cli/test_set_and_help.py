"""``--set key=value`` (validated like YAML) and ``--help`` listing defaults and choices."""

from __future__ import annotations

import json

import pytest

from canmore_sim.cli.main import build_parser, main
from canmore_sim.config import default_config, load_config
from canmore_sim.errors import ConfigError
from canmore_sim.overrides import apply_sets, config_keys, parse_sets


@pytest.mark.parametrize(("item", "yaml_text"), [
    ("router.buffer_depth=8", "router:\n  buffer_depth: 8\n"),
    ("neuron.window_ns=1.5e4", "neuron:\n  window_ns: 1.5e4\n"),
    ("traffic.multicast=true", "traffic:\n  multicast: true\n"),
    ("traffic.io_router=[3, 0]", "traffic:\n  io_router: [3, 0]\n"),
    ("neuron.dt=0.5", "neuron:\n  dt: 0.5\n"),
    ("neuron.q=[1, 2, 2, 1]", "neuron:\n  q: [1, 2, 2, 1]\n"),
    ("mesh=4x2", "mesh: 4x2\n"),
    ("mesh.height=3", "mesh:\n  height: 3\n"),
    ("run.placement=snake", "run:\n  placement: snake\n"),
])
def test_set_gives_the_config_of_the_same_partial_yaml(tmp_path, item: str,
                                                       yaml_text: str) -> None:
    path = tmp_path / "partial.yaml"  # a partial YAML: every other key keeps its default
    path.write_text(yaml_text)
    from_yaml = load_config(path)
    from_set = apply_sets(default_config(), [item])
    assert from_set == from_yaml
    assert from_set != default_config()


def test_later_set_wins_and_values_are_yaml_scalars() -> None:
    assert parse_sets(["router.buffer_depth=2", "router.buffer_depth=16"]) == {
        "router.buffer_depth": 16}
    parsed = parse_sets(["mesh=8x8", "core.sram_kib=128.5", "run.energy_reference=null"])
    assert parsed == {"mesh": "8x8", "core.sram_kib": 128.5, "run.energy_reference": None}


@pytest.mark.parametrize(("item", "expected"), [
    ("router.bufer_depth=8", "unknown config key 'router.bufer_depth' (did you mean "
                             "'router.buffer_depth'?)"),
    ("ruoter.buffer_depth=8", "(did you mean 'router.buffer_depth'?)"),
    ("neuron.windw_ns=5000", "(did you mean 'neuron.window_ns'?)"),
    ("router.buffer_depth=0", "router.buffer_depth: Input should be greater than or equal to 1"),
    ("router.buffer_depth=many", "router.buffer_depth: Input should be a valid integer"),
    ("mesh=eight", "mesh: expected WIDTHxHEIGHT"),
    ("traffic.multicast=perhaps", "traffic.multicast: Input should be a valid boolean"),
    ("router.buffer_depth", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
])
def test_bad_set_is_one_line_naming_the_key(tmp_path, capsys, item: str, expected: str) -> None:
    status = main(["map", "--set", item, "--frames", "1", "--quiet", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith(f"canmore-sim: error: --set {item}".split("=")[0]) and "\n" not in err
    assert expected in err
    assert not (tmp_path / "report.json").exists()  # refused before any simulation


def test_set_reaches_the_run_and_its_report(tmp_path) -> None:
    out = tmp_path / "run"
    assert main(["map", "--frames", "1", "--quiet", "--out", str(out), "--mesh", "8x8",
                 "--set", "router.buffer_depth=8", "--set", "neuron.window_ns=1e4",
                 "--set", "mesh=6x6"]) == 0
    config = json.loads((out / "report.json").read_text())["config"]
    assert config["router"]["buffer_depth"] == 8
    assert config["neuron"]["window_ns"] == 10000.0
    assert config["mesh"] == {"width": 6, "height": 6}  # --set wins over --mesh


def test_inspect_takes_set(capsys) -> None:
    assert main(["inspect", "--set", "core.max_neurons=512"]) == 0
    small = capsys.readouterr().out
    assert main(["inspect"]) == 0
    default = capsys.readouterr().out
    assert "cores of 512 neurons" in small and "cores of 1024 neurons" in default
    assert main(["inspect", "--set", "core.max_neuron=512"]) == 2
    assert "did you mean 'core.max_neurons'" in capsys.readouterr().err


def test_sweep_set_changes_the_base_and_an_axis_wins(tmp_path) -> None:
    from canmore_sim.sweep.spec import load_sweep

    path = tmp_path / "s.yaml"
    path.write_text("frames: 1\ngrid:\n  router.buffer_depth: [1, 2]\n")
    _, points = load_sweep(path, sets=["neuron.window_ns=5000", "router.buffer_depth=9"])
    assert [p.config.neuron.window_ns for p in points] == [5000.0, 5000.0]
    assert [p.config.router.buffer_depth for p in points] == [1, 2]
    with pytest.raises(ConfigError, match="did you mean 'traffic.multicast'"):
        load_sweep(path, sets=["traffic.multicas=true"])


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command].format_help()  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["map", "sweep", "inspect"])  # report: none applies
def test_help_lists_every_registry_from_the_registry(monkeypatch, command: str) -> None:
    from canmore_sim.cores.models import NEURON_MODELS
    from canmore_sim.datasets.readers import READERS
    from canmore_sim.energy.presets import preset_names
    from canmore_sim.mapper.placement import PLACEMENTS
    from canmore_sim.models.zoo import ZOO
    from canmore_sim.noc import ENGINES, ROUTINGS

    monkeypatch.setitem(ENGINES, "plugged-in-engine", ENGINES["simpy"])
    text = " ".join(_help(command).split())
    assert "plugged-in-engine" in text  # read from the registry at help time
    for names in (PLACEMENTS, ROUTINGS, ENGINES, NEURON_MODELS, ZOO, READERS, preset_names()):
        for name in names:
            assert name in text, (command, name)
    assert "cifar10:DIR" in text and "auto" in text


@pytest.mark.parametrize("command", ["map", "sweep", "inspect"])
def test_help_shows_every_config_key_with_its_default_and_units(command: str) -> None:
    text = _help(command)
    for key in config_keys():
        assert f"  {key.key}" in text, key.key
    assert "router.buffer_depth = 4" in text and "flits" in text
    assert "neuron.window_ns = auto" in text and "traffic.io_router = [0, 0]" in text
    assert "partial YAML is" in " ".join(text.split())


def test_map_help_shows_option_defaults() -> None:
    text = " ".join(_help("map").split())
    assert "(default: canmore-out)" in text and "(default: 0.25)" in text
    assert "(default: the config's mesh, 8x8)" in text

