"""run.replay: frames outside the replayed sample keep exact counts and energy, the
timing figures come from the replayed frames, and the reports say so."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from canmore_sim.chunked.run import run_map
from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.energy import load_preset
from canmore_sim.errors import ConfigError
from canmore_sim.models.loaders import load_model
from canmore_sim.noc import ROUTINGS
from canmore_sim.noc.routing import xy_port
from canmore_sim.noc.sample import replayed_frames
from canmore_sim.report.html import report_html
from canmore_sim.report.summary import summarize, write_json
from canmore_sim.report.text import render_table
from canmore_sim.run.pipeline import RunResult, run
from canmore_sim.run.replay import replay_plan
from canmore_sim.run.source import ModelSource

N = 8
COUNTS = ("packets", "deliveries", "hops", "unicast_hops", "interchip_hops", "zero_load_mean_ns",
          "io_injected", "io_ejected", "hops_per_layer", "packets_per_layer", "core_injected",
          "core_ejected")
TIMED = ("latency_mean_ns", "latency_max_ns", "wait_sum_ns", "late", "late_max_ns", "end_ns")


def _run(**overrides: object) -> RunResult:
    graph = load_model(None)
    frames, labels, ids = load_frames(None, graph.input_shape, N, 0)
    config = with_overrides(default_config(), {"run.frames": N, **overrides})
    return run(graph, frames, labels, config, frame_ids=ids)


@pytest.fixture(scope="module")
def full() -> RunResult:
    return _run()


@pytest.fixture(scope="module")
def sampled() -> RunResult:
    return _run(**{"run.replay": "sample", "run.replay_frames": 3})


def test_sample_keeps_every_count_and_energy_and_times_the_replayed(full, sampled) -> None:
    chosen = replayed_frames(N, "sample", 3, 0)
    assert sampled.replay is not None and sampled.replay.mode == "sample"
    assert np.array_equal(sampled.noc.replayed, chosen) and chosen.sum() == 3
    for key in COUNTS:
        assert np.array_equal(getattr(full.noc, key), getattr(sampled.noc, key)), key
    assert np.array_equal(full.noc.link_flits, sampled.noc.link_flits)
    assert full.energy.total_uj.tobytes() == sampled.energy.total_uj.tobytes()
    assert np.array_equal(full.cores.sops, sampled.cores.sops)
    for key in TIMED:
        ours, theirs = getattr(sampled.noc, key), getattr(full.noc, key)
        assert np.array_equal(ours[chosen], theirs[chosen]), key
    for key in ("latency_mean_ns", "wait_sum_ns", "end_ns", "late_max_ns"):
        assert np.isnan(getattr(sampled.noc, key)[~chosen]).all(), key
    assert np.isnan(sampled.frame_latency_ns[~chosen]).all()
    late = full.noc.late[chosen].sum() / full.noc.deliveries[chosen].sum()
    assert sampled.noc.late_share == pytest.approx(late)
    # waiting is summed over the replayed frames only (a part of every frame's)
    assert (sampled.noc.router_wait_ns <= full.noc.router_wait_ns).all()
    assert sampled.noc.router_wait_ns.sum() < full.noc.router_wait_ns.sum()


def test_the_report_states_the_sample_and_marks_its_figures(sampled, tmp_path) -> None:
    summary = summarize(sampled)
    section = summary["replay"]
    chosen = replayed_frames(N, "sample", 3, 0)
    assert section["frames_replayed"] == 3 and section["frames"] == N
    assert section["replayed_data_index"] == np.asarray(sampled.frame_ids)[chosen].tolist()
    assert "frames.latency_mean_ns" in section["sampled_figures"]
    estimate = section["estimates"]["latency_mean_ns"]
    values = np.asarray(summary["frames"]["latency_mean_ns"], dtype=float)[chosen]
    assert estimate["mean"] == pytest.approx(values.mean())
    assert estimate["ci95_half_width"] > 0
    assert summary["mean"]["latency_mean_ns"] == pytest.approx(values.mean())
    text = render_table(summary)
    assert "NoC replay: 3 of 8 frames" in text and "lat mean ns*" in text
    assert "estimated mean over all frames (95 % CI)" in text
    page = report_html(summary)
    assert "NoC replay" in page and "replayed frames of 8" in page
    path = write_json(summary, tmp_path / "report.json")
    back = json.loads(path.read_text())
    assert back["replay"]["frames_replayed"] == 3
    late = back["frames"]["late"]
    assert all((v is None) != bool(c) for v, c in zip(late, chosen, strict=True))


def test_a_full_replay_adds_no_section(full) -> None:
    summary = summarize(full)
    assert "replay" not in summary and full.noc.replayed is None
    assert "NoC replay" not in render_table(summary)


def test_no_replay_has_no_timing_and_no_late_warning() -> None:
    result = _run(**{"run.replay": "none"})
    assert not result.noc.replayed.any() and math.isnan(result.noc.late_share)
    summary = summarize(result)
    assert summary["replay"]["frames_replayed"] == 0
    assert not [w for w in summary["warnings"] if w["kind"] == "late"]
    assert np.isnan(result.noc.latency_mean_ns).all()
    assert (result.noc.hops > 0).all()


def test_closed_loop_replays_every_frame_and_says_so() -> None:
    config = with_overrides(default_config(), {"run.timing": "drop-late", "run.replay": "auto",
                                               "run.frames": 300})
    plan = replay_plan(config, 300, load_preset("canmore-22nm"))
    assert plan.replayed.all() and "closed-loop timing" in plan.reason
    result = _run(**{"run.timing": "drop-late", "run.replay": "sample",
                     "run.replay_frames": 2})
    assert result.noc.replayed is None and result.replay.mode == "all"
    section = summarize(result)["replay"]
    assert section["frames_replayed"] == N and "closed-loop" in section["reason"]


def test_auto_replays_all_of_a_small_run_and_samples_a_large_one() -> None:
    preset = load_preset("canmore-22nm")
    small = replay_plan(with_overrides(default_config(), {"run.frames": 256}), 256, preset)
    large = replay_plan(with_overrides(default_config(), {"run.frames": 10_000}), 10_000, preset)
    assert small.replayed.all() and large.replayed.sum() == 100
    assert "auto" in large.reason


def test_what_needs_every_frame_refuses_an_explicit_sample(monkeypatch) -> None:
    normalized = load_preset("truenorth")
    config = with_overrides(default_config(), {"run.replay": "sample", "run.energy": "truenorth"})
    with pytest.raises(ConfigError, match="prices the frame latency") as caught:
        replay_plan(config, 10, normalized)
    assert caught.value.facts["key"] == "run.replay"
    auto = with_overrides(config, {"run.replay": "auto", "run.frames": 1000})
    assert replay_plan(auto, 1000, normalized).replayed.all()

    def adaptive(here: int, dst: int, width: int) -> int:
        return xy_port(here, dst, width)

    adaptive.deterministic = False  # type: ignore[attr-defined]
    monkeypatch.setitem(ROUTINGS, "adaptive", adaptive)
    routed = with_overrides(default_config(), {"run.replay": "none",
                                               "router.routing": "adaptive"})
    with pytest.raises(ConfigError, match="adaptive"):
        replay_plan(routed, 10, load_preset("canmore-22nm"))


def test_a_chunked_run_samples_over_the_whole_run(sampled, tmp_path) -> None:
    """Chunks of 3 frames replay the frames drawn over all 8 (not per chunk), with the
    figures of the one-process run."""
    source = ModelSource()
    config = with_overrides(default_config(), {"run.frames": N, "run.chunk_frames": 3,
                                               "run.replay": "sample", "run.replay_frames": 3})
    merged = run_map(source.load(), source, config, tmp_path / "work")
    assert np.array_equal(merged.noc.replayed, sampled.noc.replayed)
    for key in (*COUNTS, *TIMED):
        ours, theirs = getattr(merged.noc, key), getattr(sampled.noc, key)
        assert np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"), key
    assert np.allclose(merged.noc.occupancy_mean, sampled.noc.occupancy_mean, rtol=1e-12)
    assert merged.energy.total_uj.tobytes() == sampled.energy.total_uj.tobytes()
    assert summarize(merged)["replay"]["frames_replayed"] == 3
