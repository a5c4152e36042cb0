"""IF/LIF neurons of NIR graphs: each NIR equation checked on small populations."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from canmore_sim.config import NeuronConfig
from canmore_sim.cores.models import resolve_model, simulate_neurons
from canmore_sim.cores.spiking import integrate, resolve_dt
from canmore_sim.errors import ConfigError, ModelError
from canmore_sim.models.graph import SpikingNeurons
from canmore_sim.models.nir_import import graph_from_nir
from tests.conftest import random_graph
from tests.nir_graphs import affine, chain, if_, small_cnn


def _population(kind: str, tau: float = 1.0, r: float = 1.0, threshold: float = 1.0,
                v_leak: float = 0.0, v_reset: float = 0.0) -> SpikingNeurons:
    a = np.array
    return SpikingNeurons(kind, a(r), a(threshold if kind != "li" else np.inf),  # type: ignore[arg-type]
                          a(v_reset), a(np.inf if kind == "if" else tau), a(v_leak))


def _constant(value: float, steps: int) -> torch.Tensor:
    return torch.full((1, steps, 1), value, dtype=torch.float64)


def test_if_integrates_dt_r_i_fires_above_threshold_and_resets() -> None:
    # dt R I = 0.5 * 2 * 0.3 = 0.3 per step: v = 0.3, 0.6, 0.9, 1.2 > 1 -> spike, reset to 0
    spikes, final, _ = integrate(_constant(0.3, 9), _population("if", r=2.0), dt=0.5)
    assert spikes.flatten().tolist() == [0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert final.item() == pytest.approx(0.3)


def test_if_reset_value_is_v_reset_not_subtraction() -> None:
    spikes, final, _ = integrate(_constant(0.6, 2), _population("if", v_reset=0.25), dt=1.0)
    assert spikes.flatten().tolist() == [0, 1] and final.item() == pytest.approx(0.25)


def test_lif_below_rheobase_follows_the_euler_solution_and_never_fires() -> None:
    # tau dv/dt = -v + R I with R I = 0.9 < threshold: v_n = 0.9 (1 - (1 - dt/tau)^n)
    dt, tau, n = 0.1, 0.5, 40
    spikes, final, _ = integrate(_constant(0.45, n), _population("lif", tau=tau, r=2.0), dt)
    assert spikes.sum() == 0
    assert final.item() == pytest.approx(0.9 * (1 - (1 - dt / tau) ** n))


def test_lif_above_rheobase_first_spike_at_the_analytic_step() -> None:
    dt, tau, drive = 0.1, 0.5, 1.5
    v = drive * (1 - (1 - dt / tau) ** np.arange(1, 30))
    first = int(np.argmax(v > 1.0))
    spikes, _, _ = integrate(_constant(drive, 30), _population("lif", tau=tau), dt)
    assert int(torch.nonzero(spikes.flatten())[0]) == first


def test_lif_rests_at_v_leak_and_li_never_fires() -> None:
    _, final, mean = integrate(_constant(0.0, 5), _population("lif", v_leak=-0.2), dt=0.1)
    assert final.item() == pytest.approx(-0.2) and mean.item() == pytest.approx(-0.2)
    spikes, final, _ = integrate(_constant(5.0, 20), _population("li", tau=1.0), dt=0.5)
    assert spikes.sum() == 0 and final.item() == pytest.approx(5.0, rel=1e-5)


def test_bias_is_a_current_at_every_step() -> None:
    # no input spike ever arrives (zero frames): the bias alone drives the IF neurons
    net = chain(("fc", affine(4, 64, bias=0.3)), ("n", if_((4,))), ("out", affine(10, 4)),
                ("n2", if_((10,))), shape=(64,))
    trace = simulate_neurons(graph_from_nir(net), np.zeros((1, 64)), None,
                             NeuronConfig(steps=8))
    assert len(trace.layers[0]) == 0
    # v = 0.3 t: spikes at t = 3 and 7 (v = 1.2 > 1, reset) for each of the 4 neurons
    assert np.sort(np.unique(trace.layers[1].time)).tolist() == [
        pytest.approx((3 + 2) / 8), pytest.approx((7 + 2) / 8)]
    assert trace.neuron_spikes[0, 1] == 8


def test_dt_from_tau_over_r_default_override_and_unstable() -> None:
    lif_graph = graph_from_nir(small_cnn("lif"))
    assert resolve_dt(lif_graph, NeuronConfig()) == (pytest.approx(1e-4), "tau/r")
    assert resolve_dt(graph_from_nir(small_cnn("if")), NeuronConfig()) == (1.0, "default")
    assert resolve_dt(lif_graph, NeuronConfig(dt=5e-4)) == (5e-4, "neuron.dt")
    with pytest.raises(ConfigError, match="neuron.dt = 0.01 exceeds the smallest tau 0.001"):
        resolve_dt(lif_graph, NeuronConfig(dt=1e-2))


def test_auto_runs_each_network_on_its_own_model_and_mismatches_are_refused() -> None:
    nir_graph, dta_graph = graph_from_nir(small_cnn()), random_graph()
    assert resolve_model(nir_graph, "auto") == "if-lif"
    assert resolve_model(dta_graph, "auto") == "dta-ttfs"
    with pytest.raises(ModelError, match="neuron model tq-ttfs cannot run"):
        resolve_model(nir_graph, "tq-ttfs")
    with pytest.raises(ConfigError, match="layer conv1 has none"):
        simulate_neurons(dta_graph, np.zeros((1, 1, 16, 16)), None, NeuronConfig(model="if-lif"))


def test_spiking_output_decides_by_spike_count_and_li_output_by_mean_potential() -> None:
    frames = np.random.default_rng(0).random((6, 1, 8, 8))
    spiking = simulate_neurons(graph_from_nir(small_cnn()), frames, None, NeuronConfig())
    counts = spiking.readout
    assert np.all(counts[np.arange(6), spiking.predictions] == counts.max(axis=1))
    assert spiking.neuron_spikes[:, 2].sum() == counts.sum()
    li = chain(*[(n, node) for n, node in small_cnn().nodes.items()
                 if n not in ("input", "output", "n2")],
               ("li", nir.LI(tau=np.full(10, 1e-3), r=np.full(10, 10.0), v_leak=np.zeros(10))))
    readout = simulate_neurons(graph_from_nir(li), frames, None, NeuronConfig())
    assert np.array_equal(readout.predictions, readout.readout.argmax(axis=1))
    assert readout.neuron_spikes[:, 2].sum() == 0
