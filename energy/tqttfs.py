"""TQ-TTFS energy (papers/001): frequency-scaled additive operations.

    E = E_AC x sum_l FLOPs(l) x alpha_l x spikes_l / neurons_l,   alpha_l = T1 / (T0 x Q_l)

``FLOPs(l)`` is ``k^2 x W x H x C_in x C_out`` for a conv layer and ``C_in x C_out``
for a dense one (papers/001, "Energy Efficiency Analysis"); W x H is the layer's
*output* map, as the paper's table "neurons and FLOPs in each layer" shows for its
SCNN: layer 1, 16C5 on 28x28 with same padding, 12544 = 16x28x28 neurons and
313600 = 5^2 x 28 x 28 x 1 x 16 FLOPs. ``spikes_l / neurons_l`` is the firing rate
of the layer's own (output) neurons, total spikes over a frame (papers/001 folds the
time steps T into the total). ``Q_l`` is the layer's temporal quantization and
``T0``, ``T1`` the average inference time steps of the regular and the quantized
network (papers/001: T0 = 4.766, T1 = 7.102 for its 1-2-2-4-4 SCNN, alpha =
1.490, 0.745, 0.745, 0.372, 0.372). E_AC = 0.9 pJ per addition (45 nm CMOS).
With T0 = T1 and Q_l = 1 (the preset's defaults) alpha_l = 1: a regular TTFS
network such as DTA-TTFS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.energy.canmore import EnergyBreakdown
from canmore_sim.energy.counts import FrameCounts

__all__ = ["TqttfsParams", "tqttfs_energy"]


@dataclass(frozen=True)
class TqttfsParams:
    """Coefficients of the TQ-TTFS energy.

    Attributes
    ----------
    e_ac_pj
        Energy per additive operation, pJ.
    t0, t1
        Inference time steps of the regular and of the temporally quantized network.
    q
        Temporal quantization per weight layer (one value for all layers, or one per layer).
    """

    e_ac_pj: float = 0.9
    t0: float = 1.0
    t1: float = 1.0
    q: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        values = [self.e_ac_pj, self.t0, self.t1, *self.q]
        if not self.q or any(not np.isfinite(v) or v <= 0 for v in values):
            raise ValueError("e_ac_pj, t0, t1 and every q must be finite numbers > 0")

    def alpha(self, layers: int) -> np.ndarray:
        """alpha_l = T1 / (T0 x Q_l) for ``layers`` weight layers."""
        q = np.asarray(self.q, dtype=np.float64)
        if len(q) == 1:
            q = np.full(layers, q[0])
        if len(q) != layers:
            raise ValueError(f"q has {len(q)} values for {layers} weight layers")
        return self.t1 / (self.t0 * q)


def tqttfs_energy(params: TqttfsParams, counts: FrameCounts) -> EnergyBreakdown:
    """TQ-TTFS energy per frame (term ``ac``) and per layer, uJ."""
    if counts.layer_spikes is None or counts.layer_neurons is None or counts.layer_flops is None:
        raise ValueError("the tq-ttfs energy needs layer_spikes, layer_neurons and layer_flops")
    spikes = np.asarray(counts.layer_spikes, dtype=np.float64)
    neurons = np.asarray(counts.layer_neurons, dtype=np.float64)
    flops = np.asarray(counts.layer_flops, dtype=np.float64)
    per_layer = params.e_ac_pj * 1e-6 * flops * params.alpha(len(flops)) * spikes / neurons
    return EnergyBreakdown({"ac": per_layer.sum(axis=1)}, {"ac": per_layer},
                           {"e_ac_pj": params.e_ac_pj, "t0": params.t0, "t1": params.t1,
                            "q": list(params.q),
                            "alpha": params.alpha(len(flops)).tolist()})
