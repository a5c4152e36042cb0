"""Architecture spec strings: ``"32x32x1:16C3-P2-32C3-P2-64C3-P2-10F"``.

Grammar
-------
``INPUT ":" LAYER ("-" LAYER)*`` where

* ``INPUT`` is ``HxWxC`` (height, width, channels), or ``N`` for a flat input;
* ``{C}C{k}`` is a k x k convolution with C output channels, stride 1 and
  'same' padding (k // 2); suffixes ``s{S}`` set the stride and ``p{P}`` the
  padding in pixels (``p0`` is 'valid'), for example ``64C3s2p1``;
* ``P{k}`` is max pooling with kernel and stride k after the preceding
  convolution (in a TTFS network: the earliest spike of each pool);
* ``{N}F`` (or a bare ``{N}``) is a dense layer of N neurons; the first dense
  layer after a convolution sees its spikes flattened (C, H, W order).

The last layer is the output (readout) layer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from canmore_sim.errors import ModelError
from canmore_sim.models.graph import Layer, LayerGraph

__all__ = ["LayerSpec", "parse_spec", "graph_from_spec", "weight_shapes"]

_CONV = re.compile(r"^(\d+)C(\d+)(?:s(\d+))?(?:p(\d+))?$")
_POOL = re.compile(r"^P(\d+)$")
_DENSE = re.compile(r"^(\d+)F?$")
_INPUT = re.compile(r"^(\d+)x(\d+)x(\d+)$")


@dataclass(frozen=True)
class LayerSpec:
    """One weight layer as written in a spec string."""

    kind: str  # "conv" | "linear"
    out: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    pool: int = 1


def parse_spec(spec: str) -> tuple[tuple[int, ...], list[LayerSpec]]:
    """Parse a spec string into the input shape ``(C, H, W)`` and layer specs.

    Raises
    ------
    ModelError
        Naming the offending token.
    """
    if ":" not in spec:
        raise ModelError(f"architecture spec {spec!r}: expected 'INPUT:LAYERS', e.g. "
                         "'32x32x1:16C3-P2-10F'", spec=spec)
    head, body = spec.split(":", 1)
    input_shape = _parse_input(head.strip(), spec)
    layers: list[LayerSpec] = []
    for token in (t.strip() for t in body.split("-")):
        layers.append(_parse_token(token, layers, spec))
    if not layers:
        raise ModelError(f"architecture spec {spec!r} has no layers", spec=spec)
    return input_shape, layers


def _parse_input(head: str, spec: str) -> tuple[int, ...]:
    match = _INPUT.match(head)
    shape: tuple[int, ...] | None = None
    if match:
        h, w, c = (int(g) for g in match.groups())
        shape = (c, h, w)
    elif head.isdigit():
        shape = (int(head),)
    if shape is not None:
        if min(shape) < 1:
            raise ModelError(f"architecture spec {spec!r}: input {head!r} has a zero size",
                             spec=spec)
        return shape
    raise ModelError(f"architecture spec {spec!r}: input {head!r} is not HxWxC or N", spec=spec)


def _parse_token(token: str, layers: list[LayerSpec], spec: str) -> LayerSpec:
    if match := _CONV.match(token):
        out, k = int(match.group(1)), int(match.group(2))
        stride = int(match.group(3) or 1)
        pad = int(match.group(4)) if match.group(4) is not None else k // 2
        if out < 1 or k < 1 or stride < 1:
            raise ModelError(f"architecture spec {spec!r}: bad conv {token!r}", spec=spec)
        return LayerSpec("conv", out, k, stride, pad)
    if match := _POOL.match(token):
        if int(match.group(1)) < 1:
            raise ModelError(f"architecture spec {spec!r}: pooling {token!r} needs a kernel of "
                             "at least 1 (P2 halves each side)", spec=spec)
        if not layers or layers[-1].kind != "conv" or layers[-1].pool != 1:
            raise ModelError(f"architecture spec {spec!r}: pooling {token!r} must follow a "
                             "convolution (once)", spec=spec)
        last = layers.pop()
        return LayerSpec(last.kind, last.out, last.kernel, last.stride, last.padding,
                         int(match.group(1)))
    if match := _DENSE.match(token):
        if int(match.group(1)) < 1:
            raise ModelError(f"architecture spec {spec!r}: dense layer {token!r} needs at least "
                             "one neuron", spec=spec)
        return LayerSpec("linear", int(match.group(1)))
    raise ModelError(f"architecture spec {spec!r}: cannot read layer {token!r}", spec=spec)


def weight_shapes(spec: str) -> list[tuple[int, ...]]:
    """The weight shape of every weight layer the spec describes."""
    input_shape, layer_specs = parse_spec(spec)
    shapes: list[tuple[int, ...]] = []
    shape = input_shape
    for ls in layer_specs:
        if ls.kind == "conv":
            if len(shape) != 3:
                raise ModelError(f"architecture spec {spec!r}: convolution after a dense layer",
                                 spec=spec)
            shapes.append((ls.out, shape[0], ls.kernel, ls.kernel))
            h = (shape[1] + 2 * ls.padding - ls.kernel) // ls.stride + 1
            w = (shape[2] + 2 * ls.padding - ls.kernel) // ls.stride + 1
            shape = (ls.out, h // ls.pool, w // ls.pool)
            if min(shape) < 1:
                raise ModelError(f"architecture spec {spec!r}: layer {len(shapes)} shrinks its "
                                 f"input to nothing ({h}x{w} before pooling {ls.pool})",
                                 spec=spec)
        else:
            shapes.append((ls.out, int(np.prod(shape))))
            shape = (ls.out,)
    return shapes


def graph_from_spec(
    spec: str,
    weights: Sequence[np.ndarray],
    *,
    tw: float = 1.0,
    input_scale: float = 1.0,
    names: Sequence[str] | None = None,
    meta: dict[str, object] | None = None,
) -> LayerGraph:
    """Build a :class:`LayerGraph` from a spec string and one weight array per layer.

    Raises
    ------
    ModelError
        If the number of weight arrays or any shape disagrees with the spec; the
        message names the layer and both shapes.
    """
    input_shape, layer_specs = parse_spec(spec)
    shapes = weight_shapes(spec)
    if names is not None and len(names) != len(layer_specs):
        raise ModelError(f"architecture spec {spec!r} has {len(layer_specs)} weight layers but "
                         f"{len(names)} layer names were given", expected=len(layer_specs),
                         got=len(names))
    if len(weights) != len(layer_specs):
        raise ModelError(f"architecture spec {spec!r} has {len(layer_specs)} weight layers but "
                         f"{len(weights)} weight tensors were given",
                         expected=len(layer_specs), got=len(weights))
    layers: list[Layer] = []
    shape: tuple[int, ...] = input_shape
    conv_i = fc_i = 0
    for i, (ls, w, expected) in enumerate(zip(layer_specs, weights, shapes, strict=True)):
        if ls.kind == "conv":
            conv_i += 1
            default_name = f"conv{conv_i}"
        else:
            fc_i += 1
            default_name = f"fc{fc_i}"
        name = names[i] if names is not None else default_name
        w = np.asarray(w, dtype=np.float32)
        if tuple(w.shape) != expected:
            raise ModelError(f"layer {name}: spec {spec!r} needs weight shape {expected}, "
                             f"file has {tuple(w.shape)}", layer=name, expected=expected,
                             got=tuple(w.shape))
        layer = Layer(name=name, kind="conv" if ls.kind == "conv" else "linear", weight=w,
                      in_shape=shape, stride=ls.stride, padding=ls.padding, pool=ls.pool)
        layers.append(layer)
        shape = layer.spike_shape
    return LayerGraph(input_shape=input_shape, layers=tuple(layers), spec=spec, tw=tw,
                      input_scale=input_scale, meta=dict(meta or {}))
