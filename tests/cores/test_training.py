"""DTA-TTFS training: it learns real digits, deterministically, through the zoo example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from canmore_sim.cores.neuron import run_network
from canmore_sim.cores.training import TrainSettings, evaluate, train_dta
from canmore_sim.datasets.readers import load_frames
from canmore_sim.models.checkpoint import load_checkpoint
from canmore_sim.models.graph import LEGACY_RULE, OFFICIAL_RULE

SPEC = "16x16x1:8C3-P2-10F"


def test_training_learns_and_is_deterministic() -> None:
    x, y, _ = load_frames("digits", (1, 16, 16), 600, split="train")
    xt, yt, _ = load_frames("digits", (1, 16, 16), 200, split="test")
    settings = TrainSettings(epochs=3, milestones=(2,), qat_epochs=1, device="cpu")
    a = train_dta(SPEC, x, y, settings)
    b = train_dta(SPEC, x, y, settings)
    assert all(np.array_equal(p.weight, q.weight) for p, q in zip(a.layers, b.layers, strict=True))
    assert evaluate(a, xt, yt) > 0.6  # chance is 0.1


def test_zoo_training_example_writes_a_checkpoint(tmp_path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "train_zoo.py"
    out = tmp_path / "mlp.pt"
    proc = subprocess.run([sys.executable, str(example), "--model", "64:32F-10F", "--data",
                           "digits", "--epochs", "2", "--out", str(out)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "held-out accuracy" in proc.stdout
    graph = load_checkpoint(out)
    assert graph.spec == "64:32F-10F" and graph.meta["trained_by"] == "examples/train_zoo.py"
    assert graph.dta_rule == OFFICIAL_RULE and graph.dta_rule_source == "checkpoint"


def test_training_records_and_is_evaluated_under_its_window_edge_rule() -> None:
    x, y, _ = load_frames("digits", (1, 16, 16), 200, split="train")
    official = TrainSettings(epochs=1, milestones=(), qat_epochs=0, device="cpu")
    a = train_dta(SPEC, x, y, official)
    b = train_dta(SPEC, x, y, TrainSettings(epochs=1, milestones=(), qat_epochs=0,
                                            device="cpu", rule=LEGACY_RULE))
    assert a.dta_rule == OFFICIAL_RULE and b.dta_rule == LEGACY_RULE
    # the forward pass differs (window-end spikes, readout point), so do the gradients
    assert not np.array_equal(a.layers[0].weight, b.layers[0].weight)
    for graph in (a, b):
        trace = run_network(graph, x, y)
        assert evaluate(graph, x, y) == trace.accuracy()
