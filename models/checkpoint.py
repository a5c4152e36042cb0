"""The project's own self-describing checkpoint, and safe model loading.

A canmore-sim checkpoint is a plain dictionary readable with
``torch.load(..., weights_only=True)`` (no code is ever executed on load)::

    {"format": "canmore-sim-checkpoint", "version": 2,
     "spec": "32x32x1:16C3-P2-32C3-P2-64C3-P2-10F",
     "weights": [Tensor, ...],            # one per weight layer, float32
     "names": ["conv1", ...],
     "neuron": {"model": "dta-ttfs", "tw": 1.0,
                "window_end_spike": False, "readout": "window-start"},
     "input": {"scale": 1.0, "dataset": "digits-32x32"},
     "meta": {"accuracy": 0.97, "seed": 0, ...}}

``neuron.window_end_spike`` and ``neuron.readout`` record the DTA-TTFS window-edge rule
the network was trained with (:class:`~canmore_sim.models.graph.DtaRule`). Version 1
checkpoints do not record it: canmore-sim wrote them before the rule followed the
official code, when it trained and ran every network with a spike at the window end and
the readout at the window end, so such a checkpoint loads with that rule
(:data:`~canmore_sim.models.graph.LEGACY_RULE`), the one its weights were trained for.
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from canmore_sim.datasets.arrays import check_declared
from canmore_sim.errors import ModelError
from canmore_sim.models.graph import LEGACY_RULE, READOUTS, DtaRule, LayerGraph
from canmore_sim.models.spec import graph_from_spec
from canmore_sim.utils.atomic import atomic_write_bytes

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "read_model_file"]

FORMAT = "canmore-sim-checkpoint"
VERSION = 2
#: Versions this module reads (1: no recorded window-edge rule, see the module docstring).
READABLE_VERSIONS = (1, 2)
#: Graph meta keys of the window-edge rule: saved under "neuron", not "meta".
_RULE_KEYS = ("window_end_spike", "readout", "dta_rule_source")


def save_checkpoint(graph: LayerGraph, path: str | Path, **meta: Any) -> Path:
    """Write ``graph`` as a self-describing checkpoint, atomically.

    Parameters
    ----------
    graph
        The network (its spec string must be set).
    path
        Destination file (``.pt``).
    **meta
        Extra provenance stored under ``"meta"`` (accuracy, data set, seed...):
        plain numbers, strings, lists and dicts only.
    """
    if not graph.spec:
        raise ModelError("cannot save a network without an architecture spec string")
    if graph.has_nir_features:
        raise ModelError("a network with biases, sum pooling or IF/LIF neurons (an imported "
                         "NIR graph) cannot be saved as a canmore-sim checkpoint; keep its "
                         ".nir file")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "spec": graph.spec,
        "weights": [torch.from_numpy(np.ascontiguousarray(layer.weight)) for layer in graph.layers],
        "names": [layer.name for layer in graph.layers],
        "neuron": {"model": "dta-ttfs", "tw": float(graph.tw),
                   "window_end_spike": graph.dta_rule.window_end_spike,
                   "readout": graph.dta_rule.readout},
        "input": {"scale": float(graph.input_scale)},
        "meta": {**{k: v for k, v in graph.meta.items() if _plain(v) and k not in _RULE_KEYS},
                 **meta},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # serialized in memory: torch names the zip records after a file's name, and a
    # temporary file's random name would make equal checkpoints differ bit for bit
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _plain(value: object) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), list, tuple, dict))


def read_model_file(path: str | Path) -> Any:
    """``torch.load`` a model file safely (``weights_only=True``).

    Raises
    ------
    ModelError
        Missing file, not a PyTorch file, or a file that needs code execution to
        load (a pickled module): the message says so; nothing from the file runs.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file not found: {path}", path=str(path))
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path}", path=str(path))
    size = _check_header(path)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols; errors say enough
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - the unpickler of an untrusted file may raise anything
        if isinstance(exc, pickle.UnpicklingError) and zipfile.is_zipfile(path):
            raise ModelError(
                f"{path}: the checkpoint holds pickled Python objects (e.g. a whole nn.Module) "
                "that could run code when loaded; refused by weights-only loading. If you trust "
                "the file, pass --trust-model (with --input-shape HxWxC)",
                path=str(path),
            ) from None
        kind = "damaged PyTorch checkpoint" if zipfile.is_zipfile(path) else \
            "not a PyTorch checkpoint"
        raise ModelError(f"{path}: {kind} ({_first_line(exc)})", path=str(path)) from None
    check_tensor_sizes(payload, size, str(path))
    return payload


#: Most weight values a model file may hold in all (2**31: 8 GiB of float32).
MAX_TENSOR_ELEMENTS = 1 << 31
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"


def _check_header(path: Path) -> int:
    """Refuse, with a message saying what the file is, what torch.load cannot read."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model file ({exc.strerror or exc})",
                         path=str(path)) from None
    if size == 0:
        raise ModelError(f"{path}: the model file is empty (0 bytes)", path=str(path))
    if head.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            raise ModelError(f"{path}: damaged or truncated PyTorch checkpoint (a zip archive "
                             f"without its directory: {size:,} bytes; was the copy cut short?)",
                             path=str(path))
        return size
    if head.startswith(_PICKLE_MAGIC):
        return size
    if _is_text(head):
        start = head.decode("utf-8", "replace").strip().splitlines()[0][:40] if head.strip() \
            else ""
        raise ModelError(f"{path}: a text file, not a PyTorch checkpoint (it starts with "
                         f"{start!r})", path=str(path))
    raise ModelError(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle; "
                     f"it starts with bytes {head[:4].hex(' ')})", path=str(path))


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def check_tensor_sizes(payload: Any, file_bytes: int, source: str) -> None:
    """Refuse tensors that declare more values than the file can hold.

    A tensor's shape is metadata: a 2 KB file can declare a 99856 x 99856 weight
    (a view with zero strides of one stored value) that would take 37 GiB once
    anything copies it. Each tensor's bytes must fit in the file, and all tensors
    together may hold at most :data:`MAX_TENSOR_ELEMENTS` values.

    Raises
    ------
    ModelError
        Naming the tensor, its shape and the file size.
    """
    total = 0
    for where, tensor in _tensors(payload, "", 0):  # the one rule of every array reader
        total += check_declared(source, where or "at the top level", tuple(tensor.shape),
                                tensor.element_size(), file_bytes, MAX_TENSOR_ELEMENTS,
                                error=ModelError)
        if total > MAX_TENSOR_ELEMENTS:
            raise ModelError(f"{source}: its tensors hold more than {MAX_TENSOR_ELEMENTS:,} "
                             "values, more than this tool maps", path=source)


def _tensors(value: Any, where: str, depth: int) -> list[tuple[str, torch.Tensor]]:
    if torch.is_tensor(value):
        return [(where, value)]
    if depth > 8:
        return []
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(f"{where}.{k}" if where else str(k), v)
                                        for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return []
    return [found for key, item in items for found in _tensors(item, key, depth + 1)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    line = line if len(line) <= 120 else line[:117] + "..."
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def load_checkpoint(path: str | Path) -> LayerGraph:
    """Load a canmore-sim checkpoint into a :class:`LayerGraph`.

    Raises
    ------
    ModelError
        If the file is missing, unreadable, unsafe, or not in this format.
    """
    payload = read_model_file(path)
    return graph_from_payload(payload, str(path))


def graph_from_payload(payload: Any, source: str) -> LayerGraph:
    """Build the graph from an already loaded checkpoint dictionary."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{source}: not a canmore-sim checkpoint (no 'format': '{FORMAT}' key)",
                         path=source)
    if payload.get("version") not in READABLE_VERSIONS:
        raise ModelError(f"{source}: checkpoint version {payload.get('version')!r} is not "
                         f"supported (expected one of "
                         f"{', '.join(map(str, READABLE_VERSIONS))})", path=source)
    try:
        spec = str(payload["spec"])
        weights = [np.asarray(w.detach().cpu().numpy() if torch.is_tensor(w) else w,
                              dtype=np.float32) for w in payload["weights"]]
        names = [str(n) for n in payload.get("names", [])] or None
        tw = float(payload.get("neuron", {}).get("tw", 1.0))
        scale = float(payload.get("input", {}).get("scale", 1.0))
        meta = dict(payload.get("meta", {}))
        rule, rule_source = _recorded_rule(dict(payload.get("neuron", {})))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ModelError(f"{source}: malformed canmore-sim checkpoint ({exc})",
                         path=source) from None
    meta.setdefault("source", source)
    meta.update(window_end_spike=rule.window_end_spike, readout=rule.readout,
                dta_rule_source=rule_source)
    return graph_from_spec(spec, weights, tw=tw, input_scale=scale, names=names, meta=meta)


def _recorded_rule(neuron: dict[str, Any]) -> tuple[DtaRule, str]:
    """The window-edge rule a checkpoint records, or the legacy rule when it records none.

    Raises
    ------
    ValueError
        If the recorded values are not a bool and one of :data:`READOUTS`.
    """
    if "window_end_spike" not in neuron and "readout" not in neuron:
        return LEGACY_RULE, ("checkpoint without a recorded rule (canmore-sim checkpoint "
                             "version 1, trained with the window-end rule)")
    end, point = neuron.get("window_end_spike"), neuron.get("readout")
    if not isinstance(end, bool):
        raise ValueError(f"neuron.window_end_spike must be true or false, got {end!r}")
    if point not in READOUTS:
        raise ValueError(f"neuron.readout must be one of {', '.join(READOUTS)}, got {point!r}")
    return DtaRule(end, point), "checkpoint"
