"""Bounded, strict YAML (canmore_sim.yamlio) and central cutting of long messages."""

from __future__ import annotations

import pytest

from canmore_sim.errors import MAX_MESSAGE_CHARS, ConfigError, ModelError, cut
from canmore_sim.yamlio import MAX_YAML_DEPTH, load_yaml, read_yaml_text


def test_yaml_1_2_scalars() -> None:
    data, _ = load_yaml("a: 0x8\nb: 010\nc: 1e9\nd: yes\ne: true\nf: 1:30\ng: 1_000\nh: -7\n",
                        "t.yaml")
    assert data == {"a": "0x8", "b": 10, "c": 1e9, "d": "yes", "e": True, "f": "1:30",
                    "g": "1_000", "h": -7}
    assert isinstance(data["c"], float) and isinstance(data["b"], int)


def test_merge_keys_and_plain_aliases_still_work() -> None:
    data, _ = load_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nsame: *b\n", "t.yaml")
    assert data["other"] == {"x": 1, "y": 3} and data["same"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(("text", "match"), [
    ("a: 1\nb: 2\na: 3\n", r"t.yaml:3: key 'a' is given twice \(first on line 1\)"),
    ("a: &x [*x]\n", "recursive"),
    ("a: " + "[" * (MAX_YAML_DEPTH + 2) + "]" * (MAX_YAML_DEPTH + 2) + "\n", "nested"),
    ("a: [1, 2\n", "invalid YAML"),
    ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcd", "bcde", strict=True)),
     "expands to more than"),
])
def test_bad_yaml_is_a_config_error(text, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load_yaml(text, "t.yaml")


def test_size_limit_before_reading(tmp_path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(ConfigError, match="more than the 1,048,576 bytes"):
        read_yaml_text(big, "config file")
    with pytest.raises(ConfigError, match="not found"):
        read_yaml_text(tmp_path / "absent.yaml", "config file")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_yaml_text(tmp_path / "bin.yaml", "config file")


def test_long_messages_are_cut_in_one_place() -> None:
    text = "value " + "x" * 1_000_000 + " end"
    line = cut(text)
    assert len(line) < MAX_MESSAGE_CHARS + 60 and line.startswith("value x") \
        and line.endswith("x end") and "characters cut" in line
    assert cut("two\nlines") == "two lines"
    error = ModelError("bad value " + "y" * 50_000)
    assert len(str(error)) < MAX_MESSAGE_CHARS + 60 and "\n" not in str(error)
