"""Normalized energy without an explicit reference: priced against a rate-IF run.

papers/004 Table 2 and papers/002 Table II normalize to rate coding; the pipeline runs
the same network on the same frames and chip under ``neuron.model: rate-if`` itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import default_config, with_overrides
from canmore_sim.datasets.readers import load_frames
from canmore_sim.report.summary import summarize
from canmore_sim.report.text import render_table
from canmore_sim.run.pipeline import run
from tests.conftest import random_graph

SPEC = "32x32x1:4C3-P2-8C3-P2-10F"


@pytest.fixture(scope="module")
def setup():
    graph = random_graph(SPEC, seed=2)
    config = with_overrides(default_config(), {"mesh": "4x4", "run.frames": 2,
                                               "run.energy": "truenorth"})
    frames, labels, ids = load_frames(None, graph.input_shape, 2, 0)
    return graph, config, frames, labels


@pytest.fixture(scope="module")
def priced(setup):
    graph, config, frames, labels = setup
    return run(graph, frames, labels, config)


def test_ttfs_run_is_priced_against_a_rate_if_run_of_the_same_network(setup, priced) -> None:
    graph, config, frames, labels = setup
    # the reference runs on the same chip: the run's window (derived from the run's traffic)
    rate = run(graph, frames, labels, with_overrides(config, {
        "neuron.model": "rate-if", "run.energy": "canmore-22nm",
        "neuron.window_ns": priced.config.neuron.window_ns}), mapping=priced.mapping)
    params, ref = priced.energy.params, priced.energy_reference
    assert ref is not None and ref["origin"].startswith("rate-if run of the same network")
    assert params["reference"] == ref["origin"] and ref["neuron_model"] == "rate-if"
    assert params["latency_ref_ns"] == pytest.approx(np.mean(rate.frame_latency_ns), rel=1e-12)
    assert params["spikes_ref"] == pytest.approx(np.mean(rate.trace.neuron_spikes.sum(axis=1)),
                                                 rel=1e-12)
    assert ref["late_share"] == rate.noc.late_share
    fired = priced.trace.neuron_spikes.sum(axis=1)
    np.testing.assert_allclose(priced.energy.terms["dynamic"], 0.4 * fired / params["spikes_ref"])
    np.testing.assert_allclose(priced.energy.terms["static"],
                               0.6 * priced.frame_latency_ns / params["latency_ref_ns"])
    assert fired.mean() < params["spikes_ref"]  # TTFS fires less than rate coding


def test_the_report_says_which_reference_priced_the_run(priced) -> None:
    summary = summarize(priced)
    assert summary["energy_reference"] == priced.energy_reference
    assert summary["energy_model"]["resolved"]["reference"] == priced.energy_reference["origin"]
    energy_line = next(line for line in render_table(summary, verbose=True).splitlines()
                       if line.startswith("energy ("))
    assert "1 rel = rate-if run of the same network on the same frames and chip" in energy_line


def test_a_rate_coded_run_is_its_own_reference(setup) -> None:
    graph, config, frames, labels = setup
    result = run(graph, frames, labels, with_overrides(config, {"neuron.model": "rate-if"}))
    assert result.energy_reference["origin"] == "this run (rate-if is rate-coded itself)"
    assert result.energy.total_uj.mean() == pytest.approx(1.0)


def test_an_explicit_reference_or_preset_keys_win(setup, tmp_path) -> None:
    graph, config, frames, labels = setup
    given = run(graph, frames, labels, config,
                reference={"frame_latency_ns": 1e5, "spikes": 1e3}, reference_label="base run")
    assert given.energy_reference == {"origin": "base run", "frame_latency_ns": 1e5,
                                      "neurons_fired": 1e3}
    assert given.energy.params["latency_ref_ns"] == 1e5
    preset = tmp_path / "tn.yaml"
    preset.write_text("model: normalized\nsource: test\ne_static: 0.6\ne_dynamic: 0.4\n"
                      "latency_ref_ns: 50000\nspikes_ref: 2000\n")
    keyed = run(graph, frames, labels, with_overrides(config, {"run.energy": str(preset)}))
    assert keyed.energy_reference["origin"] == "the preset's latency_ref_ns and spikes_ref"
    assert keyed.energy.params["spikes_ref"] == 2000
