"""The DTA-TTFS neuron: ReL-PSP kernel with a dynamic firing threshold (papers/004).

Notation (papers/004): the encoded input is layer 0, weight layers are
``l = 1..L``; layer ``l`` may fire only inside its window ``[l*Tw, (l+1)*Tw]``,
where the threshold falls linearly from Tw to 0 (Eq. 5):

    theta_l(t) = Tw*(l+1) - t.

All inputs of layer ``l`` come from the previous window, so inside the window the
ReL-PSP membrane potential (Eq. 2-3) is linear in t,

    V_j(t) = sum_i w_ij (t - t_i) = t*W_j - S_j,   W_j = sum_i w_ij,  S_j = sum_i w_ij t_i,

over the inputs that spiked, and the first crossing V_j(t) >= theta_l(t) is
closed-form (Eq. 6/7):

* ``t_j = l*Tw`` if the potential already reaches the threshold at the window start;
* ``t_j = (Tw*(l+1) + S_j) / (1 + W_j)`` if ``1 + W_j > 0`` and the potential is above
  the (zero) threshold at the window end, ``V_j((l+1)Tw) > 0``: then ``t_j`` lies in
  ``(l*Tw, (l+1)*Tw)``;
* no spike otherwise.

In the activation space of the official code, ``a = 1 - t_rel`` (``t_rel`` the time in
the window over Tw, ``a = 0`` no spike) and ``P_j = sum_i w_ij a_i = V_j(l*Tw) / Tw``,
this is ``a_j = (W_j + P_j) / (1 + W_j)``, ``a_j = 1`` where ``P_j >= 1``, firing only
where ``a_j > 0``. A neuron that meets the threshold only at the window end
(``V_j((l+1)Tw) = 0``, e.g. none of its inputs spiked) therefore does not fire; the
network's :class:`~canmore_sim.models.graph.DtaRule` may say otherwise
(``window_end_spike``, then it fires at ``(l+1)Tw``) when it was trained so.

Inputs reach layer 1 in one of two encodings (``neuron.input_encoding``):

* ``ttfs``: papers/004 Eq. 1, ``t_i = (1 - a_i / a_max) Tw`` for intensities in [0, 1];
* ``direct``: the official code's proxy model on normalized real values ``x_i``: the
  inputs with ``x_i > 0`` are the input spikes (``W_j`` sums their weights; they travel
  at ``t_i = (1 - min(x_i, 1)) Tw``), and ``P_j = sum_i w_ij x_i`` over every input,
  negative values included; ``a_j`` (and so ``t_j``) follows by the hidden layers' rule,
  here from ``S_j = Tw (W_j - P_j)``, the ``S_j`` that gives ``V_j(Tw) = Tw P_j``.

Autograd through Eq. 6 yields exactly Eq. 9 and Eq. 10 (and zero gradient for
neurons firing at the window start or not firing). "No spike" is ``+inf``.
Max pooling is the earliest spike of the pool; the output layer does not spike: its
class scores are its membrane potential at the start of its window, ``V_j(L*Tw)``
(``Tw P_j``, the official code's trained model), or at its end, ``V_j((L+1)*Tw)``,
as the network's rule says.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from canmore_sim.cores.synapses import apply_weights
from canmore_sim.cores.trace import LayerSpikes, SpikeTrace
from canmore_sim.errors import DataError
from canmore_sim.models.graph import DtaRule, Layer, LayerGraph
from canmore_sim.utils.memory import return_free_memory

__all__ = [
    "NO_SPIKE",
    "assemble_trace",
    "spike_columns",
    "ENCODINGS",
    "encode",
    "input_times",
    "dta_spike_times",
    "dta_fires",
    "direct_first_layer",
    "layer_forward",
    "readout",
    "network_forward",
    "run_network",
    "weight_tensor",
]

#: Time of a neuron that does not spike.
NO_SPIKE = float("inf")
#: Input encodings (``neuron.input_encoding``, resolved).
ENCODINGS = ("ttfs", "direct")


def encode(frames: torch.Tensor, a_max: float, tw: float) -> torch.Tensor:
    """TTFS input encoding, papers/004 Eq. 1: ``t_i = (1 - a_i / a_max) * Tw``.

    Intensities are clipped to ``a_max``; zero (or negative) intensity sends no
    spike (``+inf``).

    Parameters
    ----------
    frames
        Input intensities, any shape.
    a_max
        Intensity that spikes at t = 0.
    tw
        Window length Tw, model time units.
    """
    ratio = torch.clamp(frames / a_max, max=1.0)
    times = (1.0 - ratio) * tw
    return torch.where(frames > 0, times, torch.full_like(times, NO_SPIKE))


def input_times(frames: torch.Tensor, a_max: float, tw: float,
                encoding: str = "ttfs") -> torch.Tensor:
    """Times of the input spikes (layer 0) under ``encoding``; ``+inf``: no spike.

    ``ttfs``: :func:`encode` (Eq. 1). ``direct``: values ``x > 0`` spike at
    ``(1 - min(x, 1)) Tw`` (``a_max`` is not used: the values are the activations).
    """
    if encoding == "ttfs":
        return encode(frames, a_max, tw)
    if encoding != "direct":
        raise ValueError(f"input encoding must be one of {ENCODINGS}, got {encoding!r}")
    times = (1.0 - torch.clamp(frames, max=1.0)) * tw
    return torch.where(frames > 0, times, torch.full_like(times, NO_SPIKE))


def direct_first_layer(layer: Layer, values: torch.Tensor, tw: float,
                       weight: torch.Tensor | None = None, *,
                       window_end_spike: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer 1 fed real values ``x_i`` directly (the official code's proxy model).

    ``W_j = sum_i w_ij [x_i > 0]``, ``P_j = sum_i w_ij x_i`` over every input; the spike
    time is Eq. 6/7 with ``S_j = Tw (W_j - P_j)``, i.e. ``a_j = (W_j + P_j) / (1 + W_j)``
    in the activation space. Returns ``(fired, pooled)`` as :func:`layer_forward`.
    """
    w = weight_tensor(layer, values.dtype) if weight is None else weight
    w_sum = apply_weights(layer, (values > 0).to(w.dtype), w)
    p_sum = apply_weights(layer, values, w)
    fired = dta_spike_times(w_sum, tw * (w_sum - p_sum), 1, tw,
                            window_end_spike=window_end_spike)
    if layer.kind == "conv" and layer.pool > 1:
        return fired, -F.max_pool2d(-fired, layer.pool)
    return fired, fired


#: Weights of at least this many values: before their copy in the simulation's dtype is
#: made, freed heap memory goes back to the system (VGG16's 4096 x 4096 layer: 134 MB).
_LARGE_WEIGHT = 1 << 22


def weight_tensor(layer: Layer, dtype: torch.dtype) -> torch.Tensor:
    """``layer``'s weight values as a new tensor of ``dtype`` (float64 or float32).

    Compact weights (:attr:`Layer.codes`) are decoded straight into it, without a
    float32 copy of the whole layer; the values are those of ``layer.weight`` of the
    uncompacted layer, exactly converted.
    """
    if layer.weight.size >= _LARGE_WEIGHT:
        return_free_memory()
    if layer.codes is None:
        return torch.as_tensor(layer.weight, dtype=dtype)
    if dtype == torch.float64:
        return torch.from_numpy(layer.codes.decode(np.float64))
    return torch.as_tensor(layer.codes.decode(np.float32), dtype=dtype)


def _sums(layer: Layer, times: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``W_j`` and ``S_j`` of Eq. 6 over the inputs that spiked."""
    spiked = torch.isfinite(times)
    mask = spiked.to(weight.dtype)
    t0 = torch.where(spiked, times, torch.zeros_like(times))
    return apply_weights(layer, mask, weight), apply_weights(layer, t0, weight)


def dta_spike_times(w_sum: torch.Tensor, s_sum: torch.Tensor, l: int, tw: float, *,
                    window_end_spike: bool = False) -> torch.Tensor:
    """Spike times of layer ``l`` from ``W_j`` and ``S_j`` (papers/004 Eq. 6/7).

    Parameters
    ----------
    w_sum, s_sum
        ``sum_i w_ij`` and ``sum_i w_ij t_i`` over the inputs that spiked.
    l
        Layer index (>= 1).
    tw
        Window length Tw.
    window_end_spike
        Whether a neuron whose potential meets the threshold only at the window end
        (``V((l+1)Tw) = 0``) fires there; False is the official code's rule.

    Returns
    -------
    torch.Tensor
        Spike times in ``[l*Tw, (l+1)*Tw)`` (``(l+1)*Tw`` included with
        ``window_end_spike``), ``+inf`` for no spike.
    """
    start, end = l * tw, (l + 1) * tw
    at_start = start * w_sum - s_sum >= tw  # V(l Tw) >= theta(l Tw) = Tw, i.e. P_j >= 1
    v_end = end * w_sum - s_sum  # V((l+1) Tw) against theta = 0, i.e. Tw (W_j + P_j)
    above = v_end >= 0 if window_end_spike else v_end > 0
    denom = 1.0 + w_sum
    safe = torch.where(denom > 0, denom, torch.ones_like(denom))
    t = torch.clamp((end + s_sum) / safe, min=start, max=end)  # Eq. 6; clamp: rounding only
    inside = (denom > 0) & above & ~at_start
    no_spike = torch.full_like(t, NO_SPIKE)
    return torch.where(at_start, torch.full_like(t, start), torch.where(inside, t, no_spike))


def dta_fires(w_sum: np.ndarray, s_sum: np.ndarray, l: int, tw: float, *,
              window_end_spike: bool = False) -> np.ndarray:
    """Whether each neuron of layer ``l`` spikes: ``isfinite(dta_spike_times(...))``.

    The same comparisons as :func:`dta_spike_times`, on NumPy arrays and without
    building the times (for calibration loops that only count spikes; IEEE arithmetic
    makes every comparison come out as in torch).

    Parameters
    ----------
    w_sum, s_sum
        float64 ``sum_i w_ij`` and ``sum_i w_ij t_i`` over the inputs that spiked.
    window_end_spike
        See :func:`dta_spike_times` (False: the official rule).

    Returns
    -------
    numpy.ndarray
        bool, True where the neuron fires in its window.
    """
    start, end = l * tw, (l + 1) * tw
    at_start = start * w_sum - s_sum >= tw
    v_end = end * w_sum - s_sum
    above = v_end >= 0 if window_end_spike else v_end > 0
    return at_start | ((1.0 + w_sum > 0) & above)


def layer_forward(
    layer: Layer, times: torch.Tensor, l: int, tw: float, weight: torch.Tensor | None = None,
    *, window_end_spike: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One hidden layer: spike times before and after its core-local max pooling.

    Parameters
    ----------
    layer
        The weight layer (``l`` = its index, 1-based).
    times
        Input spike times ``(N, *layer.in_shape)`` (or already flat for dense), ``+inf`` = none.
    weight
        Optional tensor to use instead of ``layer.weight`` (for training).
    window_end_spike
        See :func:`dta_spike_times` (False: the official rule).

    Returns
    -------
    (fired, pooled)
        Times of the layer's neurons ``(N, *out_shape)`` and of the spikes that
        leave the core ``(N, *spike_shape)`` (earliest spike of each pool).
    """
    w = weight_tensor(layer, times.dtype) if weight is None else weight
    w_sum, s_sum = _sums(layer, times, w)
    fired = dta_spike_times(w_sum, s_sum, l, tw, window_end_spike=window_end_spike)
    if layer.kind == "conv" and layer.pool > 1:
        return fired, -F.max_pool2d(-fired, layer.pool)
    return fired, fired


def readout(
    layer: Layer, times: torch.Tensor, l: int, tw: float, weight: torch.Tensor | None = None,
    *, point: str = "window-start",
) -> torch.Tensor:
    """Output layer membrane potential (Eq. 2), the class scores.

    Parameters
    ----------
    point
        ``"window-start"``: ``V_j(l*Tw) = Tw P_j`` (the official code's trained model);
        ``"window-end"``: ``V_j((l+1)*Tw) = Tw (W_j + P_j)``.
    """
    if point not in ("window-start", "window-end"):
        raise ValueError(f"readout point must be window-start or window-end, got {point!r}")
    w = weight_tensor(layer, times.dtype) if weight is None else weight
    w_sum, s_sum = _sums(layer, times, w)
    at = l * tw if point == "window-start" else (l + 1) * tw
    return at * w_sum - s_sum


def network_forward(
    graph: LayerGraph, frames: torch.Tensor, weights: list[torch.Tensor] | None = None,
    rule: DtaRule | None = None, encoding: str = "ttfs",
) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """Run the whole network on a batch (differentiable when ``weights`` require grad).

    Parameters
    ----------
    rule
        Window-edge rule; default: the network's own (``graph.dta_rule``).
    encoding
        ``ttfs`` (Eq. 1 on intensities) or ``direct`` (real values straight into layer
        1, the official code's proxy model; see the module docstring).

    Returns
    -------
    (fired, pooled, potential)
        ``fired[l]``/``pooled[l]`` for ``l = 0..L-1`` (index 0: the input spikes,
        identical in both lists) and the output potentials ``(N, n_classes)``.
    """
    rule = graph.dta_rule if rule is None else rule
    times = input_times(frames, graph.input_scale, graph.tw, encoding)
    fired, pooled = [times], [times]
    for l, layer in enumerate(graph.layers[:-1], start=1):
        w = None if weights is None else weights[l - 1]
        if l == 1 and encoding == "direct":
            f, times = direct_first_layer(layer, frames, graph.tw, w,
                                          window_end_spike=rule.window_end_spike)
        else:
            f, times = layer_forward(layer, times, l, graph.tw, w,
                                     window_end_spike=rule.window_end_spike)
        fired.append(f)
        pooled.append(times)
    w_out = None if weights is None else weights[-1]
    if graph.depth == 1 and encoding == "direct":  # the output layer reads the values
        return fired, pooled, _direct_readout(graph, frames, w_out, rule.readout)
    return fired, pooled, readout(graph.layers[-1], times, graph.depth, graph.tw, w_out,
                                  point=rule.readout)


def _direct_readout(graph: LayerGraph, values: torch.Tensor, weight: torch.Tensor | None,
                    point: str) -> torch.Tensor:
    """Output potential of a one-layer network fed real values: ``Tw P_j`` at the window
    start, ``Tw (W_j + P_j)`` at its end."""
    layer = graph.layers[0]
    w = weight_tensor(layer, values.dtype) if weight is None else weight
    p_sum = apply_weights(layer, values, w)
    if point == "window-start":
        return graph.tw * p_sum
    return graph.tw * (apply_weights(layer, (values > 0).to(w.dtype), w) + p_sum)


def run_network(
    graph: LayerGraph,
    frames: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int = 256,
    rule: DtaRule | None = None,
    encoding: str = "ttfs",
) -> SpikeTrace:
    """Every spike of every frame and layer, and the readout (float64, no gradient).

    Parameters
    ----------
    graph
        The network.
    frames
        ``(N, *graph.input_shape)`` input intensities (``a_max = graph.input_scale``).
    labels
        ``(N,)`` true classes, or None.
    batch_size
        Frames per forward pass (memory only; results do not depend on it).
    rule
        Window-edge rule; default: the network's own (``graph.dta_rule``).
    encoding
        Input encoding, ``ttfs`` or ``direct`` (:func:`network_forward`).

    Raises
    ------
    DataError
        If the frames or labels do not match the network.
    """
    frames = np.asarray(frames)
    if frames.ndim != len(graph.input_shape) + 1 or tuple(frames.shape[1:]) != graph.input_shape:
        raise DataError(f"frames have shape {tuple(frames.shape[1:])} per frame, the network "
                        f"expects {graph.input_shape}", expected=graph.input_shape,
                        got=tuple(frames.shape[1:]))
    n = len(frames)
    if labels is not None and len(labels) != n:
        raise DataError(f"{len(labels)} labels for {n} frames")
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if encoding not in ENCODINGS:
        raise ValueError(f"input encoding must be one of {ENCODINGS}, got {encoding!r}")
    return _run(graph, frames, labels, batch_size, graph.dta_rule if rule is None else rule,
                encoding)


def _run(graph: LayerGraph, frames: np.ndarray, labels: np.ndarray | None,
         batch_size: int, rule: DtaRule, encoding: str) -> SpikeTrace:
    n, depth = len(frames), graph.depth
    parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(depth)]
    counts = np.zeros((n, depth + 1), dtype=np.int64)
    potentials = []
    with torch.no_grad():
        for lo in range(0, n, batch_size):
            batch = torch.as_tensor(frames[lo:lo + batch_size], dtype=torch.float64)
            fired, pooled, potential = network_forward(graph, batch, rule=rule,
                                                       encoding=encoding)
            for l in range(depth):
                counts[lo:lo + len(batch), l] = torch.isfinite(fired[l]).flatten(1).sum(1).numpy()
                parts[l].append(spike_columns(pooled[l].flatten(1).numpy(), lo))
            potentials.append(potential.numpy())
    return assemble_trace(graph.tw, parts, counts, potentials, labels)


def assemble_trace(tw: float, parts: list[list[tuple[np.ndarray, ...]]], counts: np.ndarray,
                   potentials: list[np.ndarray], labels: np.ndarray | None) -> SpikeTrace:
    """The SpikeTrace of a batched run: ``parts[l]`` the :func:`spike_columns` of each
    batch of source layer ``l``, ``counts`` the neurons fired per frame and layer,
    ``potentials`` each batch's output potentials (the readout), ``labels`` or None."""
    n = len(counts)
    layers = tuple(LayerSpikes(*(np.concatenate(c) for c in zip(*p, strict=True)))
                   for p in parts)
    pot = np.concatenate(potentials).astype(np.float64)
    lab = (np.full(n, -1, dtype=np.int64) if labels is None
           else np.asarray(labels, dtype=np.int64))
    return SpikeTrace(n_frames=n, tw=tw, layers=layers, neuron_spikes=counts,
                      readout=pot, predictions=np.argmax(pot, axis=1).astype(np.int64),
                      labels=lab)


def spike_columns(times: np.ndarray, frame_offset: int) -> tuple[np.ndarray, ...]:
    """Trace rows (frame, neuron, time) of the finite entries of ``(B, n)`` times."""
    frame, neuron = np.nonzero(np.isfinite(times))
    return ((frame + frame_offset).astype(np.int32), neuron.astype(np.int64),
            times[frame, neuron].astype(np.float64))
