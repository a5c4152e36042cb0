"""Deterministic synthetic weights for an architecture, calibrated on the neuron model.

:func:`synthetic_graph` builds weights whose hidden layers fire at a chosen fraction of
their neurons: per layer, ``w = (z + m) / sqrt(fan_in)`` with ``z`` standard normal from
the seed and the offset ``m`` found by bisection so that the DTA-TTFS neurons of that
layer (:mod:`canmore_sim.cores.neuron`) fire at the target rate on seeded calibration
frames (:func:`canmore_sim.models.zoo.calibration_frames`). Such a network computes
nothing useful; reports say "synthetic weights".
"""

from __future__ import annotations

import numpy as np
import torch

from canmore_sim.cores.neuron import dta_fires, encode, layer_forward
from canmore_sim.cores.synapses import apply_weights
from canmore_sim.errors import ModelError
from canmore_sim.models.graph import Layer, LayerGraph
from canmore_sim.models.spec import graph_from_spec, weight_shapes
from canmore_sim.models.zoo import calibration_frames
from canmore_sim.utils.cache import read_cached, write_cached

__all__ = ["synthetic_graph"]


def synthetic_graph(spec: str, *, firing_rate: float = 0.25, seed: int = 0,
                    frames: np.ndarray | None = None, name: str = "") -> LayerGraph:
    """A network of architecture ``spec`` with calibrated synthetic weights.

    Parameters
    ----------
    spec
        Architecture spec string (or use :func:`canmore_sim.models.zoo.zoo_spec`).
    firing_rate
        Target fraction of each hidden layer's neurons that spike per frame, in (0, 1).
    seed
        Seed of the weights and of the calibration frames.
    frames
        Calibration frames; default: :func:`calibration_frames`.
    name
        Zoo name, recorded in ``meta``.

    Notes
    -----
    The calibrated offsets of the default calibration frames are cached on disk
    (:mod:`canmore_sim.utils.cache`, keyed by spec, rate, seed and the torch and NumPy
    versions); with them the weights are the same numbers without any bisection.
    The standard normal ``z`` of every layer is drawn from one generator, layer after
    layer, in chunks (the same numbers as one draw per layer; no float64 copy of a whole
    layer); with cached offsets each chunk of draws becomes its chunk of weights at once,
    so no array of ``z`` is made at all. Each bisection step evaluates only whether each
    neuron fires (:func:`~canmore_sim.cores.neuron.dta_fires`, the same comparisons as the
    spike times), with the calibration inputs' spike mask and times computed once per layer
    and the trial weights written into one reused buffer, so the weights are bit for bit
    those of evaluating every step in full.
    """
    if not 0.0 < firing_rate < 1.0:
        raise ModelError(f"firing rate must be in (0, 1), got {firing_rate}")
    shapes = weight_shapes(spec)
    # the architecture with zero-stride placeholder weights (no memory): shapes only
    skeleton = graph_from_spec(spec, [np.broadcast_to(np.float32(0), s) for s in shapes])
    key = _cache_key(spec, firing_rate, seed) if frames is None else None
    cached = _cached_offsets(key, skeleton.depth - 1) if key is not None else None
    offsets = [] if cached is None else cached
    rng = np.random.default_rng(seed)
    times = None
    if cached is None:
        x = calibration_frames(skeleton.input_shape, seed=seed) if frames is None else frames
        times = encode(torch.as_tensor(x, dtype=torch.float64), skeleton.input_scale,
                       skeleton.tw)
    weights = []
    for l, layer in enumerate(skeleton.layers, start=1):
        scale = 1.0 / np.sqrt(layer.fan_in)
        if times is None:  # offsets known: the weights straight from the draws
            offset = None if l == skeleton.depth else offsets[l - 1]
            weights.append(_synthetic_weight(rng, layer.weight.shape, offset, scale))
            continue
        z = _standard_normal(rng, layer.weight.shape)
        if l == skeleton.depth:
            weights.append((z * scale).astype(np.float32))
            break
        offsets.append(_bisect_offset(layer, z, scale, times, l, skeleton.tw, firing_rate))
        w = _affine(z, offsets[l - 1], scale, np.float32)
        del z
        weights.append(w)
        _, times = layer_forward(layer.with_weight(w), times, l, skeleton.tw)
    if cached is None and key is not None:
        write_cached("synthetic-offsets", key, offsets)
    return graph_from_spec(spec, weights, meta={"weights": "synthetic", "zoo": name,
                                                "firing_rate": firing_rate, "seed": seed})


#: Version of the calibration procedure, part of the cache key of its offsets (2: the
#: official DTA-TTFS window-end rule, no spike at the window end).
_CALIBRATION_VERSION = 2


def _cache_key(spec: str, firing_rate: float, seed: int) -> dict[str, object]:
    """Everything the calibrated offsets depend on (default calibration frames)."""
    return {"spec": spec, "firing_rate": firing_rate, "seed": seed,
            "version": _CALIBRATION_VERSION, "torch": torch.__version__,
            "numpy": np.__version__}


def _cached_offsets(key: dict[str, object], n: int) -> list[float] | None:
    """The ``n`` offsets stored for ``key``, or None (absent or not ``n`` finite floats)."""
    value = read_cached("synthetic-offsets", key)
    if (not isinstance(value, list) or len(value) != n
            or not all(isinstance(v, float) and np.isfinite(v) for v in value)):
        return None
    return value


#: Elements per chunk of the element-wise weight arithmetic: its float64 and float32
#: buffers (768 KiB) stay in the CPU cache and are reused, so each chunk passes through
#: memory once and no fresh pages are touched for temporaries.
_CHUNK = 1 << 16


def _standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """``rng.standard_normal(shape).astype(np.float32)``, drawn in chunks (same numbers)."""
    out = np.empty(int(np.prod(shape)), dtype=np.float32)
    draws = np.empty(min(_CHUNK, out.size), dtype=np.float64)
    for lo in range(0, out.size, _CHUNK):
        hi = min(lo + _CHUNK, out.size)
        rng.standard_normal(out=draws[:hi - lo])
        out[lo:hi] = draws[:hi - lo]
    return out.reshape(shape)


def _synthetic_weight(rng: np.random.Generator, shape: tuple[int, ...], offset: float | None,
                      scale: np.float64) -> np.ndarray:
    """float32 ``(z + offset) * scale`` (``z * scale`` when ``offset`` is None) with ``z`` the
    next ``_standard_normal(rng, shape)``, chunk by chunk: the numbers of
    ``_affine(_standard_normal(rng, shape), offset, scale, np.float32)`` (and of
    ``(z * scale).astype(np.float32)``) without an array of ``z``.
    """
    out = np.empty(int(np.prod(shape)), dtype=np.float32)
    draws = np.empty(min(_CHUNK, out.size), dtype=np.float64)
    z = np.empty(len(draws), dtype=np.float32)
    for lo in range(0, out.size, _CHUNK):
        hi = min(lo + _CHUNK, out.size)
        n = hi - lo
        rng.standard_normal(out=draws[:n])
        z[:n] = draws[:n]  # rounded to float32 as _standard_normal stores it
        if offset is not None:
            np.add(z[:n], offset, out=z[:n])
        # the float64 product (scale is float64), rounded to float32 as it is stored
        np.multiply(z[:n], scale, out=out[lo:hi], casting="unsafe")
    return out.reshape(shape)


def _affine(z: np.ndarray, offset: float, scale: np.float64, dtype: type,
            out: np.ndarray | None = None) -> np.ndarray:
    """``((z + offset) * scale).astype(dtype)`` in chunks, bit for bit.

    ``z + offset`` rounds to float32 (``offset`` is a Python float) and the product to
    float64 (``scale`` is a NumPy float64), then to ``dtype`` as it is stored: exactly the
    rounding of the whole-array expression. ``out`` (flat, ``dtype``) is reused when given.
    """
    flat = z.reshape(-1)
    result = np.empty(flat.size, dtype=dtype) if out is None else out
    tmp32 = np.empty(min(_CHUNK, flat.size), dtype=np.float32)
    for lo in range(0, flat.size, _CHUNK):
        hi = min(lo + _CHUNK, flat.size)
        n = hi - lo
        np.add(flat[lo:hi], offset, out=tmp32[:n])
        np.multiply(tmp32[:n], scale, out=result[lo:hi], casting="unsafe")
    return result.reshape(z.shape)


def _bisect_offset(layer: Layer, z: np.ndarray, scale: np.float64, times: torch.Tensor,
                   l: int, tw: float, target: float) -> float:
    """Offset ``m`` so that weights ``(z + m) * scale`` make layer ``l`` fire at ``target``."""
    spiked = torch.isfinite(times)
    mask = spiked.to(torch.float64)
    t0 = torch.where(spiked, times, torch.zeros_like(times))
    buffer = np.empty(z.size, dtype=np.float64)
    lo, hi = -4.0, 4.0
    for _ in range(24):
        mid = (lo + hi) / 2
        w = torch.from_numpy(_affine(z, mid, scale, np.float64, out=buffer))
        w_sum, s_sum = _weighted_sums(layer, mask, t0, w)
        fires = torch.from_numpy(dta_fires(w_sum.numpy(), s_sum.numpy(), l, tw))
        rate = float(fires.double().mean())  # the mean as torch takes it
        if rate < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _weighted_sums(layer: Layer, mask: torch.Tensor, t0: torch.Tensor,
                   weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``W_j`` and ``S_j`` (Eq. 6) from the inputs' spike mask and times (0 where none).

    The same operations as :func:`~canmore_sim.cores.neuron.layer_forward` performs.
    """
    return apply_weights(layer, mask, weight), apply_weights(layer, t0, weight)
