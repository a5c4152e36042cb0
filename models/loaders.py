"""Every way a trained network comes in, as one function: :func:`load_model`.

Sources, tried in this order:

* ``None``: the bundled DTA-TTFS digits network;
* a zoo name (``vgg16``...) with ``weights="synthetic"`` (:mod:`.zoo`);
* a file, always opened with ``torch.load(weights_only=True)`` first:
  - the project's own checkpoint (``format: canmore-sim-checkpoint``), self-describing;
  - the official DTA-TTFS layout: a bare state_dict with keys ``conv.{i}.cnn.weight``
    and ``fc.{i}.linear.weight`` (no biases), which needs ``arch`` (a zoo name or a
    spec string, since pooling positions are not in the keys);
  - any other state_dict of 4-D conv and 2-D dense weights, in key order, with ``arch``;
  - a state_dict wrapped as training scripts save it, ``{'net': sd, 'acc': ...}``,
    ``{'state_dict': sd}``, ``{'model': sd}`` (:data:`WRAPPER_KEYS`): found under that
    key, which the graph records (``meta['checkpoint_key']``); keys ``module.*`` (a
    ``DataParallel`` model's) lose that prefix;
* a NIR graph (an HDF5 file, :mod:`.nir_import`), which describes its own architecture
  and IF/LIF neurons;
* a file holding a pickled ``nn.Module`` is refused unless ``trust_model=True``; then
  it is unpickled (which can run code from the file) and traced with torch.fx
  (:mod:`.fx_import`), given ``input_shape``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from canmore_sim.errors import ModelError
from canmore_sim.models.checkpoint import FORMAT, graph_from_payload, read_model_file
from canmore_sim.models.graph import OFFICIAL_RULE, LayerGraph
from canmore_sim.models.nir_import import NIR_SUFFIXES, is_nir_file, load_nir
from canmore_sim.models.spec import graph_from_spec, parse_spec
from canmore_sim.models.zoo import ZOO

__all__ = ["DEFAULT_MODEL", "WRAPPER_KEYS", "Synthesize", "is_official_layout", "load_model",
           "resolve_arch", "unwrap_state_dict"]

DEFAULT_MODEL = "dta_digits.pt"

#: Makes synthetic weights: ``(spec, *, firing_rate, seed, name) -> LayerGraph``.
Synthesize = Callable[..., LayerGraph]
_OFFICIAL = re.compile(r"^(conv|fc)\.(\d+)\.(cnn|linear)\.weight$")
#: Keys under which training scripts commonly save a state_dict, tried in this order.
WRAPPER_KEYS = ("state_dict", "net", "model", "model_state_dict", "state")


def is_official_layout(graph: LayerGraph) -> bool:
    """Whether ``graph`` came from an official DTA-TTFS state_dict (``conv.{i}.cnn.weight``,
    ``fc.{i}.linear.weight``)."""
    return bool(graph.meta.get("official_layout", False))


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(torch.is_tensor(v)
                                                           for v in value.values())


def unwrap_state_dict(payload: Any, source: str) -> tuple[dict[str, Any], str | None]:
    """The state_dict in ``payload`` and the wrapper key it was under (None: bare).

    Raises
    ------
    ModelError
        If ``payload`` is neither a state_dict nor a dict holding one under one of
        :data:`WRAPPER_KEYS`; the message lists the keys seen.
    """
    if _is_state_dict(payload):
        key = None
    else:
        found = [k for k in WRAPPER_KEYS if isinstance(payload, dict)
                 and _is_state_dict(payload.get(k))]
        if not found:
            seen = (", ".join(repr(k) for k in list(payload)[:12]) if isinstance(payload, dict)
                    else f"a {type(payload).__name__}, not a dict")
            raise ModelError(f"{source}: not a model this tool reads: no state_dict of tensors "
                             f"at the top level or under {', '.join(map(repr, WRAPPER_KEYS))} "
                             f"(keys seen: {seen}); give a canmore-sim checkpoint, a state_dict "
                             "with --arch, or a pickled nn.Module with --trust-model",
                             path=source)
        key = found[0]
        payload = payload[key]
    if all(str(k).startswith("module.") for k in payload):
        payload = {str(k).removeprefix("module."): v for k, v in payload.items()}
    return payload, key


def is_spec(source: str) -> bool:
    """True when ``source`` is an architecture spec string (``32x32x1:16C3-P2-10F``), not
    an existing file."""
    if Path(source).exists() or ":" not in source:
        return False
    try:
        parse_spec(source)
    except ModelError:
        return False
    return True


def resolve_arch(arch: str) -> str:
    """A zoo name or a spec string -> spec string."""
    return ZOO.get(arch, arch)


def load_model(
    source: str | None = None,
    *,
    arch: str | None = None,
    weights: str | None = None,
    trust_model: bool = False,
    input_shape: tuple[int, ...] | None = None,
    sparsity: float = 0.25,
    seed: int = 0,
    synthesize: Synthesize | None = None,
) -> LayerGraph:
    """Load a network from any supported source (see the module docstring).

    Raises
    ------
    ModelError
        One line naming what is wrong: missing file, unsafe file without
        ``trust_model``, missing or mismatching ``arch`` (layer and both shapes),
        unsupported layers; synthetic weights asked for without ``synthesize``.

    Notes
    -----
    ``synthesize`` makes the synthetic weights of a zoo network or a spec string
    (``weights="synthetic"``): :func:`canmore_sim.cores.calibrate.synthetic_graph`, which
    calibrates them on the neuron model of the cores stage, a later stage than this one,
    so the caller hands it in.
    """
    if source is None:
        ref = resources.files("canmore_sim.models").joinpath(DEFAULT_MODEL)
        with resources.as_file(ref) as bundled:
            graph = graph_from_payload(read_model_file(bundled), str(bundled))
        return graph.with_layers(graph.layers, source=f"bundled:{DEFAULT_MODEL}")
    if source in ZOO and not Path(source).exists():
        if weights != "synthetic":
            raise ModelError(f"no trained weights for zoo network {source!r} here; add "
                             "--weights synthetic (or give a checkpoint file)", path=source)
        graph = _calibrator(synthesize, source)(ZOO[source], firing_rate=sparsity, seed=seed,
                                                name=source)
        return graph.with_layers(graph.layers, source=f"zoo:{source}")
    if is_spec(source):
        if weights != "synthetic":
            raise ModelError(f"a spec string ({source}) has no weights; add --weights synthetic "
                             "(or give a checkpoint file with --arch)", path=source)
        graph = _calibrator(synthesize, source)(source, firing_rate=sparsity, seed=seed,
                                                name=source)
        return graph.with_layers(graph.layers, source=f"spec:{source}")
    if weights is not None:
        raise ModelError(f"--weights {weights} needs a zoo network name or a spec string, not "
                         f"a file (zoo: {', '.join(sorted(ZOO))})", path=source)
    if is_nir_file(source) or Path(source).suffix.lower() in NIR_SUFFIXES:
        if arch is not None:
            raise ModelError(f"{source}: a NIR graph states its own architecture; drop --arch",
                             path=source)
        return load_nir(source)
    if trust_model:
        return _trusted(Path(source), input_shape)
    payload = read_model_file(source)
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        _no_other_arch(payload, source, arch)
        return graph_from_payload(payload, source)
    state, key = unwrap_state_dict(payload, source)
    return _from_state_dict(state, source, arch, key)


def _calibrator(synthesize: Synthesize | None, source: str) -> Synthesize:
    """The weight calibrator, or a ModelError naming the one to pass."""
    if synthesize is None:
        raise ModelError(f"synthetic weights of {source!r} need a calibrator: pass "
                         "synthesize=canmore_sim.cores.calibrate.synthetic_graph", path=source)
    return synthesize


def _no_other_arch(payload: dict[str, Any], source: str, arch: str | None) -> None:
    """A self-describing checkpoint is not silently re-read with another --arch."""
    if arch is None:
        return
    own = str(payload.get("spec"))
    if resolve_arch(arch) != own:
        raise ModelError(f"{source}: a canmore-sim checkpoint states its own architecture "
                         f"{own!r}; --arch {arch!r} differs (drop --arch)", path=source,
                         expected=own, got=arch)


def _from_state_dict(state: dict[str, Any], source: str, arch: str | None,
                     wrapper: str | None = None) -> LayerGraph:
    if arch is None:
        raise ModelError(f"{source}: a bare state_dict does not say where the pooling layers "
                         "are; give --arch (vgg11, vgg16, mnist-cnn, ... or a spec string)",
                         path=source)
    biases = [k for k in state if k.endswith(".bias")]
    if biases:
        raise ModelError(f"{source}: {biases[0]} is a bias; DTA-TTFS layers have no biases",
                         path=source, layer=biases[0])
    official = {k: _OFFICIAL.match(k) for k in state}
    if all(official.values()):
        rank = {k: (0 if m.group(1) == "conv" else 1, int(m.group(2)))
                for k, m in official.items() if m is not None}
        keys = sorted(state, key=rank.__getitem__)
    else:
        keys = [k for k in state if state[k].ndim in (2, 4)]
        ignored = [k for k in state if state[k].ndim not in (2, 4)]
        if ignored:
            raise ModelError(f"{source}: tensor {ignored[0]} of shape "
                             f"{tuple(state[ignored[0]].shape)} is neither a conv nor a dense "
                             "weight", path=source, layer=ignored[0])
    weights = [np.asarray(state[k].detach().cpu().float().numpy()) for k in keys]
    rule = ({"window_end_spike": OFFICIAL_RULE.window_end_spike,
             "readout": OFFICIAL_RULE.readout, "official_layout": True,
             "dta_rule_source": "official DTA-TTFS state_dict"} if all(official.values()) else {})
    wrapped = {} if wrapper is None else {"checkpoint_key": wrapper}
    graph = graph_from_spec(resolve_arch(arch), weights, names=[k.removesuffix(".weight")
                                                                for k in keys],
                            meta={"source": source, "format": "state_dict", **rule, **wrapped})
    return graph


def _trusted(path: Path, input_shape: tuple[int, ...] | None) -> LayerGraph:
    from canmore_sim.models.fx_import import graph_from_module

    if not path.is_file():
        raise ModelError(f"model file not found: {path}", path=str(path))
    try:
        module = torch.load(path, map_location="cpu", weights_only=False)  # trusted by the user
    except Exception as exc:  # noqa: BLE001 - arbitrary unpickling errors
        raise ModelError(f"{path}: cannot unpickle ({type(exc).__name__}: {exc})".splitlines()[0],
                         path=str(path)) from None
    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"{path}: --trust-model expects a pickled nn.Module, found "
                         f"{type(module).__name__}", path=str(path))
    if input_shape is None:
        raise ModelError(f"{path}: a pickled module does not record its input; give "
                         "--input-shape HxWxC (or N for a flat input)", path=str(path))
    return graph_from_module(module, input_shape, source=str(path))
