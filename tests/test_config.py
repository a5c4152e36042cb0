from __future__ import annotations

import pytest
from pydantic import ValidationError

from canmore_sim.config import default_config, load_config, parse_mesh, with_overrides
from canmore_sim.errors import ConfigError


def test_default_config_loads() -> None:
    cfg = default_config()
    assert (cfg.mesh.width, cfg.mesh.height) == (8, 8)
    assert cfg.core.max_neurons == 1024 and cfg.core.weight_bits == 4


def test_config_is_frozen() -> None:
    cfg = default_config()
    with pytest.raises(ValidationError):
        cfg.mesh.width = 3  # type: ignore[misc]


def test_misspelt_key_names_key_line_and_closest(tmp_path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text("mesh: 4x4\nrouter:\n  bufer_depth: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "router.bufer_depth" in msg and "buffer_depth" in msg and f"{path}:3" in msg
    assert info.value.facts["key"] == "router.bufer_depth" and info.value.facts["line"] == 3


def test_impossible_value_names_key(tmp_path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text("router:\n  buffer_depth: 0\n")
    with pytest.raises(ConfigError, match=r"router.buffer_depth"):
        load_config(path)


def test_bad_mesh_string(tmp_path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text("mesh: eight\n")
    with pytest.raises(ConfigError, match="mesh"):
        load_config(path)
    with pytest.raises(ConfigError):
        parse_mesh("0x4")


def test_missing_and_invalid_yaml(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mesh: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)


def test_overrides_revalidate() -> None:
    cfg = with_overrides(default_config(), {"mesh": "4x2", "router.buffer_depth": 2})
    assert (cfg.mesh.width, cfg.mesh.height, cfg.router.buffer_depth) == (4, 2, 2)
    with pytest.raises(ConfigError, match="buffer_dept"):
        with_overrides(default_config(), {"router.buffer_dept": 2})
    with pytest.raises(ConfigError):
        with_overrides(default_config(), {"run.frames": -1})


def test_dta_rule_keys_default_to_auto_and_refuse_other_values(tmp_path) -> None:
    neuron = default_config().neuron
    assert neuron.window_end_spike == "auto" and neuron.readout == "auto"
    cfg = tmp_path / "a.yaml"
    cfg.write_text("neuron:\n  window_end_spike: false\n  readout: window-end\n")
    loaded = load_config(cfg).neuron
    assert loaded.window_end_spike is False and loaded.readout == "window-end"
    cfg.write_text("neuron:\n  readout: end\n")
    with pytest.raises(ConfigError, match=r"a.yaml:2: neuron.readout: .*'window-start'"):
        load_config(cfg)
    cfg.write_text("neuron:\n  window_end_spike: maybe\n")
    with pytest.raises(ConfigError, match=r"a.yaml:2: neuron.window_end_spike: "):
        load_config(cfg)
