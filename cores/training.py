"""Training a DTA-TTFS network (papers/004, section 3.2).

Gradients come from autograd through the closed-form spike time (Eq. 6), which
gives exactly Eq. 9 and Eq. 10. The forward pass is the one inference runs
(:func:`canmore_sim.cores.neuron.network_forward`) under the window-edge rule of
``TrainSettings.rule``, by default the official code's (no spike at the window end;
cross-entropy on the output potential at the START of the output window, as the
official code trains its model); the trained network records that rule, so it is
evaluated and mapped the way it was trained. Adam with milestone learning-rate decay,
as in the paper. Optionally the last epochs train through 4-bit weight quantization
(straight-through estimator), so the deployed network loses little accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.cores.neuron import network_forward
from canmore_sim.models.graph import OFFICIAL_RULE, DtaRule, LayerGraph
from canmore_sim.models.spec import graph_from_spec, weight_shapes

__all__ = ["TrainSettings", "train_dta", "evaluate"]


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of :func:`train_dta`.

    Attributes
    ----------
    epochs, batch_size, lr
        Passes over the data, frames per step, Adam learning rate.
    milestones
        Epochs at which the learning rate is multiplied by ``gamma``.
    qat_bits, qat_epochs
        Quantization-aware fine-tuning: the last ``qat_epochs`` epochs run the
        forward pass on ``qat_bits``-bit weights (0 disables).
    seed
        Seed of weight initialization and batch order.
    device
        ``"auto"`` (a CUDA GPU when present, else the CPU), ``"cpu"`` or ``"cuda"``.
    rule
        DTA-TTFS window-edge rule of the forward pass (default: the official code's),
        recorded in the trained network.
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    milestones: tuple[int, ...] = (25, 35)
    gamma: float = 0.2
    qat_bits: int = 4
    qat_epochs: int = 3
    seed: int = 0
    device: str = "auto"
    rule: DtaRule = OFFICIAL_RULE


def _init_weights(spec: str, gen: torch.Generator) -> list[torch.Tensor]:
    weights = []
    for shape in weight_shapes(spec):
        fan_in = int(np.prod(shape[1:]))
        w = torch.randn(shape, generator=gen, dtype=torch.float32) * (1.0 / fan_in) ** 0.5
        weights.append(w.requires_grad_(True))
    return weights


def _fake_quant(w: torch.Tensor, bits: int) -> torch.Tensor:
    levels = 2 ** (bits - 1) - 1
    scale = w.detach().abs().max().clamp_min(1e-12) / levels
    q = torch.clamp(torch.round(w / scale), -levels, levels) * scale
    return w + (q - w).detach()  # straight-through estimator


def train_dta(
    spec: str,
    frames: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings = TrainSettings(),
    *,
    tw: float = 1.0,
    input_scale: float = 1.0,
) -> LayerGraph:
    """Train a DTA-TTFS network of architecture ``spec`` on ``frames``.

    Parameters
    ----------
    spec
        Architecture spec string (:mod:`canmore_sim.models.spec`).
    frames, labels
        float ``(N, C, H, W)`` intensities in [0, input_scale] and int ``(N,)`` classes.
    settings
        Hyper-parameters; the result is a deterministic function of them and the data.

    Returns
    -------
    LayerGraph
        The trained network (float32 weights).
    """
    if len(frames) != len(labels) or len(frames) == 0:
        raise ValueError("frames and labels must be non-empty and of equal length")
    device = _device(settings.device)
    gen = torch.Generator().manual_seed(settings.seed)
    weights = _init_weights(spec, gen)
    graph = graph_from_spec(spec, [w.detach().numpy() for w in weights], tw=tw,
                            input_scale=input_scale)
    weights = [w.detach().to(device).requires_grad_(True) for w in weights]
    opt = torch.optim.Adam(weights, lr=settings.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(settings.milestones), settings.gamma)
    x = torch.as_tensor(frames, dtype=torch.float32).to(device)
    y = torch.as_tensor(labels).to(device)
    for epoch in range(settings.epochs):
        quant = settings.qat_bits if epoch >= settings.epochs - settings.qat_epochs else 0
        order = torch.randperm(len(x), generator=gen)
        for lo in range(0, len(x), settings.batch_size):
            idx = order[lo:lo + settings.batch_size].to(device)
            used = [_fake_quant(w, quant) for w in weights] if quant else weights
            _, _, potential = network_forward(graph, x[idx], used, settings.rule)
            loss = F.cross_entropy(potential, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    rule = {"window_end_spike": settings.rule.window_end_spike,
            "readout": settings.rule.readout,
            "dta_rule_source": "trained by canmore-sim (cores/training.py)"}
    return graph_from_spec(spec, [w.detach().cpu().numpy().copy() for w in weights], tw=tw,
                           input_scale=input_scale, meta=rule)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def evaluate(graph: LayerGraph, frames: np.ndarray, labels: Sequence[int]) -> float:
    """Fraction of frames classified correctly (membrane readout argmax, the network's rule)."""
    with torch.no_grad():
        _, _, potential = network_forward(graph, torch.as_tensor(frames, dtype=torch.float64))
    return float((potential.argmax(1).numpy() == np.asarray(labels)).mean())
