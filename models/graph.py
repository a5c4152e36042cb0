"""The layer graph: a feed-forward spiking network (TTFS, or IF/LIF from NIR) as plain data.

A :class:`LayerGraph` is what every loader produces and every later stage
consumes. It holds only *weight layers* (convolution and dense); a pooling
stage after a convolution is an attribute of that convolution, because with the
feature-dimension partition a core holds whole channels, pooling is core-local
and only pooled spikes leave the core (docs/explanation/domain-rules.md, "Neuron").
Layers from NIR graphs also carry a bias and their IF/LIF neuron parameters.

Layer numbering follows papers/004: the encoded input is layer 0 and the
weight layers are 1..L, so weight layer ``l`` fires in the window
``[l*Tw, (l+1)*Tw]`` (Eq. 5). ``graph.layers[l - 1]`` is weight layer ``l``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from canmore_sim.errors import ModelError

__all__ = ["DtaRule", "LEGACY_RULE", "OFFICIAL_RULE", "READOUTS", "Layer", "LayerGraph",
           "SpikingNeurons", "WeightCodes"]

Shape = tuple[int, ...]

#: The neuron model a graph runs on when ``neuron.model`` is ``auto`` and its meta says none.
DEFAULT_NEURON_MODEL = "dta-ttfs"

#: Where a DTA-TTFS output layer is read: the membrane potential at the start of its
#: window (the official code's trained model) or at its end.
READOUTS = ("window-start", "window-end")


@dataclass(frozen=True)
class DtaRule:
    """How a DTA-TTFS network computes at the edges of its windows (papers/004).

    A property of the network, fixed by how it was trained, so it travels with it
    (``meta["window_end_spike"]``, ``meta["readout"]``).

    Attributes
    ----------
    window_end_spike
        Whether a neuron whose potential meets the falling threshold only at the window
        end, ``V((l+1)Tw) = 0`` (for example one none of whose inputs spiked), fires
        there. The official code does not (activation ``a = 0``).
    readout
        ``"window-start"``: the class scores are the output potentials at the start of
        the output window, ``P_j = sum_i w_ij a_i`` (the official code's trained model);
        ``"window-end"``: at its end, ``W_j + P_j``.
    """

    window_end_spike: bool = False
    readout: Literal["window-start", "window-end"] = "window-start"

    def __post_init__(self) -> None:
        if self.readout not in READOUTS:
            raise ModelError(f"readout must be one of {', '.join(READOUTS)}, got "
                             f"{self.readout!r}", got=self.readout)

    def describe(self) -> str:
        """One line for reports."""
        edge = "fires at the window end" if self.window_end_spike else \
            "no spike at the window end"
        return f"{edge}, readout at the {self.readout.replace('-', ' ')}"


#: The official DTA-TTFS code's rule (its activation-space model: ``a_j > 0`` fires,
#: output read at the window start); the default of every network that records none.
OFFICIAL_RULE = DtaRule(window_end_spike=False, readout="window-start")
#: What canmore-sim trained with before checkpoints recorded a rule (checkpoint version 1).
LEGACY_RULE = DtaRule(window_end_spike=True, readout="window-end")


def _check_finite(values: np.ndarray, what: str, layer: str) -> None:
    """Refuse NaN and infinite values (they would make every later number meaningless).

    The sum of the values decides without a mask: a NaN or an infinity makes it NaN or
    infinite, so a finite sum proves every value finite; only a sum that is not finite
    (bad values, or finite ones whose float sum overflows) takes the exact test. Axes of
    zero stride (a broadcast array such as a released weight) repeat one slice, which is
    all that is read of them. Integers and booleans are always finite.
    """
    if values.dtype.kind in "biu":
        return
    if values.dtype.kind in "fc":
        with np.errstate(over="ignore", invalid="ignore"):  # decided by the exact test
            if np.isfinite(np.sum(_distinct(values))):
                return
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelError(f"{what} has {int(bad.sum()):,} values that are NaN or infinite "
                         f"(the first at index {first}: {values[first]}); a trained network "
                         "has finite weights", layer=layer)


def _distinct(values: np.ndarray) -> np.ndarray:
    """``values`` without the repeats of its zero-stride axes (the first slice of each)."""
    if all(values.strides) or not values.size:
        return values
    return values[tuple(slice(0, 1) if stride == 0 else slice(None)
                        for stride in values.strides)]


@dataclass(frozen=True, eq=False)
class SpikingNeurons:
    """Per-neuron parameters of an IF, LIF or LI population, as a NIR graph states them.

    The NIR definitions (``nir.IF``, ``nir.LIF``, ``nir.LI``) are continuous in time:

    * IF:  ``dv/dt = R I``;
    * LIF: ``tau dv/dt = (v_leak - v) + R I``;
    * LI:  the LIF equation without firing (a leaky integrator readout);

    a neuron fires when ``v > v_threshold`` and its potential is then set to
    ``v_reset``. :mod:`canmore_sim.cores.spiking` integrates them step by step.

    Attributes
    ----------
    kind
        ``"if"``, ``"lif"`` or ``"li"``.
    r, v_threshold, v_reset, tau, v_leak
        float64 arrays that broadcast to the layer's ``out_shape`` (one value, one per
        channel as ``(C, 1, 1)``, or one per neuron). ``tau`` is in the NIR graph's time
        unit; IF neurons have ``tau = inf`` and ``v_leak = 0``; LI neurons have
        ``v_threshold = inf``.
    source
        Name of the NIR node the parameters come from (for error messages).
    """

    kind: Literal["if", "lif", "li"]
    r: np.ndarray
    v_threshold: np.ndarray
    v_reset: np.ndarray
    tau: np.ndarray
    v_leak: np.ndarray
    source: str = ""

    @property
    def spiking(self) -> bool:
        """Whether these neurons fire (IF and LIF) rather than only integrate (LI)."""
        return self.kind != "li"

    def arrays(self) -> dict[str, np.ndarray]:
        """The parameter arrays by name."""
        return {"r": self.r, "v_threshold": self.v_threshold, "v_reset": self.v_reset,
                "tau": self.tau, "v_leak": self.v_leak}


@dataclass(frozen=True, eq=False)
class WeightCodes:
    """Quantized weights held compactly: integer levels and their scale.

    The weight values are ``(codes.astype(float32) * scale).astype(float32)``, the same
    operations (and so the same bits) as :func:`canmore_sim.models.quantize.quantize_array`
    ends with, and ``-0.0`` where the code is the integer type's minimum (a negative weight
    rounded to level 0; no level uses that code); :meth:`decode` computes them a slice of
    output channels at a time.

    Attributes
    ----------
    codes
        int8 levels, the layer's weight shape.
    scale
        The quantization step: a 0-d array (one per layer) or one per output channel
        (shape ``(C_out, 1, ...)``), as ``quantize_array`` computed it.
    """

    codes: np.ndarray
    scale: np.ndarray

    def decode(self, dtype: type = np.float32) -> np.ndarray:
        """The weight values as a new array of ``dtype`` (float32 values, exactly converted).

        A slice of output channels at a time; with a float32 scale (what
        :func:`~canmore_sim.models.quantize.quantize_graph` makes) the float32 product is
        written straight into the result (or into one reused buffer when ``dtype`` is
        wider, then converted), and ``-0.0`` set where the code says so.
        """
        out: np.ndarray = np.empty(self.codes.shape, dtype=dtype)
        if not out.size:
            return out
        step = max(1, _DECODE_CHUNK // max(1, int(np.prod(self.codes.shape[1:]))))
        rows = min(step, len(out))
        per_channel = self.scale.ndim > 0
        single = np.result_type(np.float32, self.scale.dtype) == np.float32
        buffer = None if out.dtype == np.float32 or not single else \
            np.empty((rows, *out.shape[1:]), dtype=np.float32)
        negative_zero = _NegativeZero(self.codes.dtype, self.scale, (rows, *out.shape[1:]),
                                      single)
        for first in range(0, len(self.codes), step):
            part = slice(first, first + step)
            scale = self.scale[part] if per_channel else self.scale
            codes = self.codes[part]
            if not single:
                out[part] = np.multiply(codes.astype(np.float32), scale).astype(np.float32)
                negative_zero.apply(out[part], codes)
                continue
            values = out[part] if buffer is None else buffer[:len(codes)]
            np.multiply(codes, scale, out=values, dtype=np.float32)  # as astype(f32) * scale
            negative_zero.apply(values, codes)
            if buffer is not None:
                out[part] = values
        return out


class _NegativeZero:
    """Writes ``-0.0`` where a code is its integer type's minimum, in decoded values.

    When the values are float32 products and the minimum code decodes to a finite negative
    number under every scale (a positive finite scale whose product does not overflow),
    the values are multiplied by ``0.0`` there and ``1.0`` elsewhere (exact, and ``-0.0``
    from a negative number): much faster than a masked copy on a mask as irregular as
    these. Otherwise a masked copy.
    """

    def __init__(self, codes: np.dtype, scale: np.ndarray, shape: tuple[int, ...],
                 single: bool) -> None:
        self.minimum = np.iinfo(codes).min
        with np.errstate(all="ignore"):  # an overflow here only means: the masked copy
            probe = np.multiply(self.minimum, scale, dtype=np.float32) if single else None
        self.mask = np.empty(shape, dtype=bool)
        self.factor = None if probe is None or not np.all(np.isfinite(probe) & (probe < 0)) \
            else np.empty(shape, dtype=np.float32)

    def apply(self, values: np.ndarray, codes: np.ndarray) -> None:
        """Set ``values`` (decoded from ``codes``, same shape) to ``-0.0`` at minimum codes."""
        mask = self.mask[:len(codes)]
        np.equal(codes, self.minimum, out=mask)
        if self.factor is None or values.dtype != np.float32:
            np.copyto(values, -0.0, where=mask)
            return
        factor = self.factor[:len(codes)]
        np.logical_not(mask, out=factor)
        np.multiply(values, factor, out=values)


#: Weights decoded per slice of output channels (elements).
_DECODE_CHUNK = 1 << 16


@dataclass(frozen=True, eq=False)
class Layer:
    """One weight layer and its core-local pooling.

    Attributes
    ----------
    name
        A stable name such as ``"conv1"`` or ``"fc2"``.
    kind
        ``"conv"`` (2-D convolution) or ``"linear"`` (dense).
    weight
        float32 array: ``(C_out, C_in, k, k)`` for conv, ``(N_out, N_in)`` for linear.
    in_shape
        Shape of the spikes arriving: ``(C, H, W)`` for conv, ``(N,)`` for linear
        (a linear layer after a conv layer sees the flattened ``C*H*W`` spikes).
    stride, padding
        Convolution stride and zero padding, pixels (conv only).
    pool
        Pool kernel and stride applied to this layer's spikes before they leave the
        core; 1 means no pooling.
    pool_mode
        ``"max"``: the pool's earliest spike (TTFS) or one spike per step if any neuron of
        the pool fired; ``"sum"``: every spike leaves, addressed to its pool (NIR
        ``SumPool2d`` after the neurons, as event-driven chips remap addresses), so the
        next layer sees spike counts.
    bias
        float32 ``(C_out,)`` current added at every time step (NIR ``Conv2d``/``Affine``),
        or None. TTFS neuron models have no bias.
    neurons
        IF/LIF/LI parameters of this layer's neurons (NIR graphs), or None for the
        configured neuron model (and for a non-spiking NIR readout layer).
    codes
        Quantized weights held compactly (``quantize_graph(..., compact=True)``), or None.
        With codes, ``weight`` is a read-only zero placeholder of the weight's shape and
        the values are :meth:`weight_values` (VGG16: 34 MB instead of 134 MB).
    """

    name: str
    kind: Literal["conv", "linear"]
    weight: np.ndarray
    in_shape: Shape
    stride: int = 1
    padding: int = 0
    pool: int = 1
    pool_mode: Literal["max", "sum"] = "max"
    bias: np.ndarray | None = None
    neurons: SpikingNeurons | None = None
    codes: WeightCodes | None = None

    def __post_init__(self) -> None:
        if self.stride < 1 or self.pool < 1 or self.padding < 0:
            raise ModelError(
                f"layer {self.name}: stride {self.stride}, pooling {self.pool} and padding "
                f"{self.padding} must be >= 1, >= 1 and >= 0", layer=self.name)
        expected_ndim = 4 if self.kind == "conv" else 2
        if self.weight.ndim != expected_ndim:
            raise ModelError(
                f"layer {self.name}: {self.kind} weight must have {expected_ndim} dimensions, "
                f"got shape {tuple(self.weight.shape)}",
                layer=self.name, got=tuple(self.weight.shape),
            )
        fan_in_ch = self.weight.shape[1]
        have = self.in_shape[0] if self.kind == "conv" else int(np.prod(self.in_shape))
        if fan_in_ch != have:
            raise ModelError(
                f"layer {self.name}: weight expects {fan_in_ch} inputs, previous layer gives "
                f"{have} (input shape {self.in_shape}, weight shape {tuple(self.weight.shape)})",
                layer=self.name, expected=have, got=fan_in_ch,
            )
        if any(d < 1 for d in (*self.out_shape, *self.spike_shape)):
            raise ModelError(
                f"layer {self.name}: output shape {self.out_shape} is empty "
                f"(input {self.in_shape} too small for kernel/stride/pool)",
                layer=self.name,
            )
        _check_finite(self.weight, f"layer {self.name}: weight", self.name)
        if self.bias is not None:
            _check_finite(self.bias, f"layer {self.name}: bias", self.name)
        self._check_extras()

    def _check_extras(self) -> None:
        """Bias and neuron parameters must fit the layer's channels and neurons."""
        if self.codes is not None and self.codes.codes.shape != self.weight.shape:
            raise ModelError(f"layer {self.name}: weight codes have shape "
                             f"{tuple(self.codes.codes.shape)}, the weight "
                             f"{tuple(self.weight.shape)}", layer=self.name)
        if self.bias is not None and self.bias.shape != (self.channels,):
            raise ModelError(
                f"layer {self.name}: bias has shape {tuple(self.bias.shape)}, expected "
                f"({self.channels},)", layer=self.name, got=tuple(self.bias.shape))
        if self.neurons is None:
            return
        for key, value in self.neurons.arrays().items():
            try:
                np.broadcast_to(value, self.out_shape)
            except ValueError:
                raise ModelError(
                    f"layer {self.name}: neuron parameter {key} of shape {value.shape} does not "
                    f"fit the layer's {self.out_shape} neurons", layer=self.name,
                    expected=self.out_shape, got=tuple(value.shape)) from None

    # -- shapes -------------------------------------------------------------------------
    @property
    def kernel(self) -> int:
        """Kernel side, pixels (1 for linear)."""
        return int(self.weight.shape[-1]) if self.kind == "conv" else 1

    @property
    def out_shape(self) -> Shape:
        """Shape of this layer's neurons (before pooling)."""
        if self.kind == "linear":
            return (int(self.weight.shape[0]),)
        _, h, w = self.in_shape
        k, s, p = self.kernel, self.stride, self.padding
        return (int(self.weight.shape[0]), (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)

    @property
    def spike_shape(self) -> Shape:
        """Shape of the spikes that leave the core (after pooling)."""
        if self.kind == "linear" or self.pool == 1:
            return self.out_shape
        c, h, w = self.out_shape
        return (c, h // self.pool, w // self.pool)

    @property
    def n_neurons(self) -> int:
        """Neurons of this layer (before pooling)."""
        return int(np.prod(self.out_shape))

    @property
    def channels(self) -> int:
        """Feature dimension: output channels (conv) or neurons (linear)."""
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        """Synapses per neuron: ``C_in * k * k`` (conv) or ``N_in`` (linear)."""
        return int(np.prod(self.weight.shape[1:]))

    @property
    def synapses(self) -> int:
        """Synaptic connections of the whole layer (padding excluded)."""
        if self.kind == "linear":
            return int(self.weight.size)
        return int(self.channels * self.in_shape[0] * self.fan_out_map().sum())

    @property
    def flops(self) -> int:
        """FLOPs as papers/001 defines them: ``k^2 W H C_in C_out`` (conv, output W x H)
        or ``C_in C_out`` (dense)."""
        if self.kind == "linear":
            return int(self.weight.size)
        _, h, w = self.out_shape
        return int(self.kernel**2 * w * h * self.in_shape[0] * self.channels)

    def fan_out_map(self) -> np.ndarray:
        """Per input spatial position, how many output positions it reaches.

        Returns an ``(H_in, W_in)`` int64 array; multiply by ``C_out`` for the
        number of postsynaptic neurons of one input spike (conv only).
        """
        _, h, w = self.in_shape
        _, ho, wo = self.out_shape
        k, s, p = self.kernel, self.stride, self.padding
        rows = _cover_counts(h, ho, k, s, p)
        cols = _cover_counts(w, wo, k, s, p)
        return np.outer(rows, cols).astype(np.int64)

    def with_weight(self, weight: np.ndarray) -> Layer:
        """A copy of this layer with other weights of the same shape."""
        if weight.shape != self.weight.shape:
            raise ModelError(
                f"layer {self.name}: new weight shape {weight.shape} != {self.weight.shape}",
                layer=self.name,
            )
        return replace(self, weight=weight.astype(np.float32, copy=False), codes=None)

    def with_codes(self, codes: WeightCodes) -> Layer:
        """A copy of this layer holding its weights as ``codes`` (compact, see ``codes``)."""
        return replace(self, weight=_placeholder(self.weight), codes=codes)

    def __getstate__(self) -> dict[str, object]:
        """Pickled state: a placeholder weight (compact or released layer) travels as its
        shape and dtype, not as the full array its broadcast view would pickle into
        (VGG11's compact network: 28 MB instead of 140 MB, sent to every worker)."""
        state = dict(self.__dict__)
        weight = state["weight"]
        if isinstance(weight, np.ndarray) and weight.size and not any(weight.strides):
            state["weight"] = ("placeholder", weight.shape, weight.dtype.str)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        weight = state["weight"]
        if isinstance(weight, tuple) and weight and weight[0] == "placeholder":
            state = {**state, "weight": np.broadcast_to(np.zeros((), dtype=np.dtype(weight[2])),
                                                        weight[1])}
        self.__dict__.update(state)  # frozen: the state is set once, as the class would

    def weight_values(self, dtype: type = np.float32) -> np.ndarray:
        """The weight values as ``dtype``: ``weight`` itself when it holds them (no copy for
        float32), else decoded from ``codes`` into a new array."""
        if self.codes is not None:
            return self.codes.decode(dtype)
        return self.weight.astype(dtype, copy=False)


def _placeholder(weight: np.ndarray) -> np.ndarray:
    """A read-only zero array of ``weight``'s shape and dtype that holds one scalar."""
    return np.broadcast_to(np.zeros((), dtype=weight.dtype), weight.shape)


def _cover_counts(n_in: int, n_out: int, k: int, s: int, p: int) -> np.ndarray:
    """For each input index, the number of output windows that cover it (1-D)."""
    counts = np.zeros(n_in, dtype=np.int64)
    for o in range(n_out):
        lo = max(o * s - p, 0)
        hi = min(o * s - p + k, n_in)
        if hi > lo:
            counts[lo:hi] += 1
    return counts


@dataclass(frozen=True, eq=False)
class LayerGraph:
    """A feed-forward TTFS network: input description plus weight layers.

    Attributes
    ----------
    input_shape
        ``(C, H, W)`` of one input frame.
    layers
        Weight layers 1..L in order; the last one is the output (readout) layer.
    spec
        The architecture spec string this graph was built from (see
        :mod:`canmore_sim.models.spec`), for reports and checkpoints.
    tw
        Spike-window length Tw in model time units (papers/004, Eq. 5).
    input_scale
        ``a_max`` of Eq. 1: input intensity that spikes at the window start.
    meta
        Free-form provenance (data set, accuracy, source file, weight bits).
    """

    input_shape: Shape
    layers: tuple[Layer, ...]
    spec: str = ""
    tw: float = 1.0
    input_scale: float = 1.0
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ModelError("the network has no weight layers")
        for name, value in (("tw (the spike window)", self.tw),
                            ("input scale (a_max)", self.input_scale)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not np.isfinite(value) or value <= 0:
                raise ModelError(f"the network's {name} must be a finite number > 0, got "
                                 f"{value!r}", got=value)
        if self.layers[-1].pool != 1:
            raise ModelError("the output layer cannot be followed by pooling",
                             layer=self.layers[-1].name)

    @property
    def native_model(self) -> str:
        """The neuron model this network was built for (``neuron.model: auto`` runs it)."""
        return str(self.meta.get("neuron_model", DEFAULT_NEURON_MODEL))

    @property
    def dta_rule(self) -> DtaRule:
        """The window-edge rule this network was trained with (official when unrecorded)."""
        end = self.meta.get("window_end_spike", OFFICIAL_RULE.window_end_spike)
        point = self.meta.get("readout", OFFICIAL_RULE.readout)
        if not isinstance(end, bool) or point not in READOUTS:
            raise ModelError(f"network records an invalid DTA-TTFS rule (window_end_spike "
                             f"{end!r}, readout {point!r})")
        return DtaRule(end, point)  # type: ignore[arg-type]

    @property
    def dta_rule_source(self) -> str:
        """Where :attr:`dta_rule` comes from (for reports)."""
        return str(self.meta.get("dta_rule_source", "default (official DTA-TTFS code)"))

    @property
    def has_nir_features(self) -> bool:
        """Whether any layer has a bias, sum pooling or IF/LIF parameters (NIR graphs)."""
        return any(layer.bias is not None or layer.neurons is not None
                   or layer.pool_mode == "sum" for layer in self.layers)

    @property
    def n_classes(self) -> int:
        return self.layers[-1].channels

    @property
    def depth(self) -> int:
        """L, the number of weight layers."""
        return len(self.layers)

    def with_layers(self, layers: tuple[Layer, ...], **meta: object) -> LayerGraph:
        """A copy with other layers (same shapes) and extra provenance."""
        return replace(self, layers=layers, meta={**self.meta, **meta})

    @property
    def weights_released(self) -> bool:
        """Whether :meth:`release_weights` has replaced the weight values."""
        return any(layer.codes is None and layer.weight.size and not any(layer.weight.strides)
                   for layer in self.layers)

    def release_weights(self) -> None:
        """Free the weight arrays, keeping the structure.

        Every layer's ``weight`` becomes a read-only zero placeholder of the same shape
        and dtype (one broadcast scalar), so shapes, fan-in, weight memory and
        connectivity stay and the values are gone (the arrays are freed when nothing
        else holds them). For a caller that gives the network up once its values have
        been used: ``pipeline.run(..., release_weights=True)``, as the CLI's ``map``
        does after the neuron simulation (VGG16: 2 x 134 MB before the NoC replay).
        Simulating a released network is refused (:class:`ModelError`).
        """
        for layer in self.layers:
            # frozen dataclass: the one sanctioned in-place change of a graph
            object.__setattr__(layer, "weight", _placeholder(layer.weight))
            object.__setattr__(layer, "codes", None)
