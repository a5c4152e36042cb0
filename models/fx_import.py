"""Trace a plain PyTorch module with torch.fx into a LayerGraph.

Supported, in execution order: ``Conv2d`` (square kernel, no bias, groups=1,
dilation=1), ``MaxPool2d`` (square, stride = kernel, after a convolution),
``Linear`` (no bias), ``Flatten`` / ``torch.flatten``, and layers that do not change
what a TTFS network computes here (``ReLU``, ``Identity``, ``Dropout``). Anything
else is an error naming the layer, so a network is never silently altered.
"""

from __future__ import annotations

import operator

import torch
import torch.fx
import torch.nn as nn

from canmore_sim.errors import ModelError
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.spec import graph_from_spec

__all__ = ["graph_from_module", "input_spec"]

_PASS = (nn.ReLU, nn.Identity, nn.Dropout, nn.Flatten)


def input_spec(shape: tuple[int, ...]) -> str:
    """``(C, H, W)`` -> ``"HxWxC"``; ``(N,)`` -> ``"N"``."""
    return f"{shape[1]}x{shape[2]}x{shape[0]}" if len(shape) == 3 else str(shape[0])


def graph_from_module(module: nn.Module, input_shape: tuple[int, ...], *,
                      source: str = "") -> LayerGraph:
    """Trace ``module`` and build the equivalent layer graph (its weights included).

    Raises
    ------
    ModelError
        For a module torch.fx cannot trace, or an unsupported layer (named).
    """
    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as exc:  # noqa: BLE001 - fx raises many kinds of errors
        raise ModelError(f"{source or 'module'}: torch.fx cannot trace it ({exc})".splitlines()[0],
                         path=source) from None
    tokens: list[str] = []
    weights = []
    names = []
    for node in traced.graph.nodes:
        if node.op == "call_module":
            layer = traced.get_submodule(node.target)
            token = _token(str(node.target), layer, source)
            if token is None:
                continue
            if token.startswith("P"):
                tokens.append(token)
                continue
            tokens.append(token)
            weight = layer.weight
            if not isinstance(weight, torch.Tensor):
                raise ModelError(f"{source or 'module'}: layer {node.target} has no weight tensor",
                                 layer=str(node.target))
            weights.append(weight.detach().cpu().float().numpy())
            names.append(str(node.target))
        elif node.op == "call_function" and node.target not in (torch.flatten, operator.getitem,
                                                               torch.relu):
            raise ModelError(f"{source or 'module'}: unsupported operation "
                             f"{getattr(node.target, '__name__', node.target)} at {node.name}",
                             path=source, layer=node.name)
    if not weights:
        raise ModelError(f"{source or 'module'}: no Conv2d or Linear layers found", path=source)
    spec = f"{input_spec(input_shape)}:{'-'.join(tokens)}"
    return graph_from_spec(spec, weights, names=names, meta={"source": source, "format": "fx"})


def _token(name: str, layer: nn.Module, source: str) -> str | None:
    where = source or "module"
    if isinstance(layer, nn.Conv2d):
        k, s, p = layer.kernel_size, layer.stride, layer.padding
        if (layer.bias is not None or layer.groups != 1 or layer.dilation != (1, 1)
                or k[0] != k[1] or s[0] != s[1] or isinstance(p, str) or p[0] != p[1]):
            raise ModelError(f"{where}: layer {name} ({layer}) is not supported: convolutions "
                             "need square kernels, no bias, groups=1, dilation=1", layer=name)
        return f"{layer.out_channels}C{k[0]}s{s[0]}p{p[0]}"
    if isinstance(layer, nn.Linear):
        if layer.bias is not None:
            raise ModelError(f"{where}: layer {name} has a bias; DTA-TTFS layers have none",
                             layer=name)
        return f"{layer.out_features}F"
    if isinstance(layer, nn.MaxPool2d):
        kernel: int = (layer.kernel_size if isinstance(layer.kernel_size, int)
                       else int(layer.kernel_size[0]))
        stride = layer.stride if isinstance(layer.stride, int) else int(layer.stride[0])
        if stride != kernel or layer.padding not in (0, (0, 0)):
            raise ModelError(f"{where}: layer {name}: max pooling needs stride = kernel and no "
                             "padding", layer=name)
        return f"P{kernel}"
    if isinstance(layer, _PASS):
        return None
    raise ModelError(f"{where}: layer {name} ({type(layer).__name__}) is not supported "
                     "(Conv2d, Linear, MaxPool2d, Flatten, ReLU, Dropout)", layer=name)
