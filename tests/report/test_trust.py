"""Warnings about untrustworthy figures: late deliveries, collapsed accuracy, quantization.

Real runs of the bundled network; the thresholds are read from the summary's config.
"""

from __future__ import annotations

import copy

import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.loaders import load_model
from canmore_sim.report.files import report_html
from canmore_sim.report.summary import summarize
from canmore_sim.report.text import render_table
from canmore_sim.report.trust import result_warnings
from canmore_sim.run.pipeline import run


def _summary(frames: int, **overrides: object) -> dict:
    graph = load_model(None)
    config = with_overrides(default_config(), {"run.frames": frames, **overrides})
    x, labels, ids = load_frames(None, graph.input_shape, frames, 0)
    return summarize(run(graph, x, labels, config, frame_ids=ids))


@pytest.fixture(scope="module")
def short_window() -> dict:
    # 10 us windows: about 16 % of the default network's deliveries arrive late
    return _summary(1, **{"neuron.window_ns": 10_000.0})


def test_late_share_past_the_threshold_is_a_warning_naming_what_to_change(short_window) -> None:
    s = short_window
    assert s["late_share"] == pytest.approx(s["mean"]["late"] / s["mean"]["deliveries"])
    assert s["late_share"] > 0.01
    late = [w for w in s["warnings"] if w["kind"] == "late"]
    assert len(late) == 1 and late[0]["value"] == s["late_share"] and late[0]["threshold"] == 0.01
    for key in ("neuron.window_ns", "traffic.multicast: true", "run.placement: anneal"):
        assert key in late[0]["message"]
    lines = render_table(s).splitlines()
    assert lines[1].startswith("LATE: ") and f"{s['late_share']:.1%}" in lines[1]
    assert lines[2].startswith("WARNING: ") and lines[-1] == f"WARNING: {late[0]['message']}"
    assert "LATE: " in report_html(s) and "neuron.window_ns" in report_html(s)


def test_late_share_below_the_threshold_is_stated_without_a_warning(short_window) -> None:
    s = copy.deepcopy(short_window)
    s["config"]["report"]["late_warn_share"] = 0.5
    s["warnings"] = result_warnings(s)
    assert not [w for w in s["warnings"] if w["kind"] == "late"]
    assert render_table(s).splitlines()[1].startswith("LATE: ")


def test_no_late_delivery_no_late_line(short_window) -> None:
    s = copy.deepcopy(short_window)
    s["late_share"] = 0.0
    assert not [w for w in result_warnings(s) if w["kind"] == "late"]
    assert "LATE: " not in render_table({**s, "warnings": result_warnings(s)})


def test_accuracy_collapse_under_a_coding_scheme_the_weights_were_not_trained_for() -> None:
    # DTA-TTFS weights under TQ-TTFS: 50 % against 100 % on these 2 frames
    s = _summary(2, **{"neuron.model": "tq-ttfs", "neuron.steps": 8,
                       "neuron.window_ns": 160_000.0})
    acc = s["accuracy"]
    assert acc["native_model"] == "dta-ttfs" and acc["native_float"] > acc["quantized"] + 0.1
    (collapse,) = [w for w in s["warnings"] if w["kind"] == "accuracy_collapse"]
    assert "under tq-ttfs" in collapse["message"] and "dta-ttfs" in collapse["message"]
    assert collapse["value"] == pytest.approx(acc["native_float"] - acc["quantized"])


def test_quantization_that_changes_many_predictions_is_a_warning() -> None:
    s = _summary(2, **{"core.weight_bits": 2})  # 2-bit weights: both predictions change
    kinds = {w["kind"]: w for w in s["warnings"]}
    assert s["accuracy"]["prediction_changed"] > 0.1
    assert "prediction_change" in kinds and "core.weight_bits" in kinds["prediction_change"][
        "message"]
    assert "2-bit weights reach" in kinds["accuracy_collapse"]["message"]
    synthetic = copy.deepcopy(s)
    synthetic["model"]["meta"]["weights"] = "synthetic"  # accuracy means nothing there
    assert not [w for w in result_warnings(synthetic) if w["kind"] != "late"]
    strict = copy.deepcopy(s)
    strict["config"]["report"].update(accuracy_drop_warn=1.0, prediction_change_warn=1.0)
    assert not [w for w in result_warnings(strict) if w["kind"] != "late"]


def test_a_bad_threshold_is_a_config_error_naming_the_key() -> None:
    from canmore_sim.errors import ConfigError

    with pytest.raises(ConfigError, match="report.late_warn_share"):
        with_overrides(default_config(), {"report.late_warn_share": 2.0})
