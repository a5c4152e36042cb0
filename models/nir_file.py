"""Reading a NIR file (HDF5) safely: declared sizes first, then the graph, and an error
that names the node and its type when the ``nir`` package cannot rebuild one.

``nir.read`` reports an unknown node type as a bare ``AssertionError`` and a missing field
as ``KeyError``; neither says which node of the file is at fault. When it fails, the file's
nodes are rebuilt one at a time to find the first that fails, and the error names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canmore_sim.datasets.arrays import check_declared
from canmore_sim.errors import ModelError

__all__ = ["read_nir_file"]

#: A compressed HDF5 array may unpack to at most this many times the file's size: real
#: weights hardly compress, so more means an array of fill values or a zip bomb.
_MAX_EXPANSION = 64


def read_nir_file(path: Path) -> Any:
    """The ``nir.NIRGraph`` of ``path``, its arrays' declared sizes checked first.

    Raises
    ------
    ModelError
        A file HDF5 cannot open, an array larger than the file can hold, or a node the
        ``nir`` package cannot rebuild (naming the node and its type).
    """
    import nir

    _check_sizes(path)
    try:  # shapes are checked later, naming the node (exporters differ in NIR's own types)
        return nir.read(str(path), type_check=False)
    except Exception as exc:  # noqa: BLE001 - h5py/nir raise many types on a bad file
        why = _failing_node(path) or _first_line(exc)
        raise ModelError(f"{path}: not a readable NIR graph ({why})", path=str(path)) from None


def _failing_node(path: Path) -> str | None:
    """Which node of the file cannot be rebuilt, and why, in a few words (None: unknown)."""
    import h5py
    import nir
    from nir.serialization import hdf2dict

    try:
        with h5py.File(path, "r") as handle:
            root = hdf2dict(handle["node"])
    except Exception:  # noqa: BLE001 - the file's top level itself is unreadable
        return None
    return _walk(root.get("nodes"), "", nir)


def _walk(nodes: Any, prefix: str, nir: Any) -> str | None:
    if not isinstance(nodes, dict):
        return f"graph {prefix or 'at the top level'} lists no nodes"
    for name, node in nodes.items():
        where = f"{prefix}{name}"
        kind = node.get("type") if isinstance(node, dict) else None
        if not isinstance(kind, str):
            return f"node {where!r} has no type"
        known = getattr(nir, kind, None)
        if not (isinstance(known, type) and issubclass(known, nir.NIRNode)):
            return (f"node {where!r} has type {kind!r}, which NIR {nir.__version__} does not "
                    "define")
        if kind == "NIRGraph":
            found = _walk(node.get("nodes"), f"{where}.", nir)
            if found:
                return found
            continue
        try:
            nir.dict2NIRNode(dict(node))
        except Exception as exc:  # noqa: BLE001 - the node's own constructor may raise anything
            detail = (f"missing field {exc}" if isinstance(exc, KeyError)
                      else f"{type(exc).__name__}: {_first_line(exc)}")
            return f"node {where!r} of type {kind} cannot be rebuilt ({detail})"
    return None


def _check_sizes(path: Path) -> None:
    """Refuse arrays that declare far more data than the file holds, before reading them."""
    import h5py

    from canmore_sim.models.checkpoint import MAX_TENSOR_ELEMENTS

    file_bytes = path.stat().st_size
    found: list[tuple[str, tuple[int, ...], int]] = []

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset):
            found.append((name, tuple(int(n) for n in item.shape), int(item.dtype.itemsize)))

    try:
        with h5py.File(path, "r") as handle:
            handle.visititems(visit)
    except Exception as exc:  # noqa: BLE001 - h5py raises many types on a bad file
        raise ModelError(f"{path}: not a readable NIR graph ({_first_line(exc)})",
                         path=str(path)) from None
    total = 0
    for name, shape, itemsize in found:  # the one rule of every array reader
        total += check_declared(str(path), name, shape, itemsize,
                                _MAX_EXPANSION * file_bytes + (1 << 20), MAX_TENSOR_ELEMENTS,
                                error=ModelError)
    if total > MAX_TENSOR_ELEMENTS:
        raise ModelError(f"{path}: its arrays hold more than {MAX_TENSOR_ELEMENTS:,} values, "
                         "more than this tool maps", path=str(path))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
