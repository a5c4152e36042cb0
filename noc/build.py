"""Turn one frame's spikes and the mapping into NoC traffic.

A spike of a neuron on core S must reach every core holding at least one of
its postsynaptic neurons: one row per (spike, destination core). Input spikes
enter through the I/O port at ``traffic.io_router``. Times scale from model
units to ns by ``neuron.window_ns / neuron.tw``. A spike of layer ``l`` feeds layer
``l + 1``, which integrates until its own firing window closes at
``(l + 2) * window_ns`` (after that it can no longer fire; for the output layer
that is when the membrane readout is taken): a spike delivered later is *late*
and is lost to the computation. After the output window closes, at
``(L + 1) * window_ns``, every output core sends its readout (membrane
potentials, one packet) to the I/O router; those rows have layer ``L``. (A network read
at the output window START, the official DTA-TTFS rule, sends it at the same time: the
core has then integrated every input, and ``V(L Tw) = V((L+1) Tw) - Tw W`` follows from
the sums it holds.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.trace import LayerSpikes, SpikeTrace
from canmore_sim.errors import ConfigError
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.traffic import Traffic

__all__ = ["build_traffic", "io_router_index"]


def build_traffic(
    trace: SpikeTrace, frame: int, mapping: Mapping, links: list[LayerLinks], config: ArchConfig
) -> Traffic:
    """The packets of frame ``frame``, sorted by ready time, then spike id, then destination.

    Parameters
    ----------
    trace, frame
        The spikes and which frame to take.
    mapping
        Cores and their routers.
    links
        ``links[l]``: connectivity of the spikes of layer ``l`` (0..L-1).
    config
        Supplies ``neuron.window_ns``, ``neuron.tw``, ``traffic.io_router``,
        ``traffic.multicast``.

    Notes
    -----
    Spike ids count the spikes layer after layer (each layer's in trace order), then
    the readouts. Per-spike figures (time, source, layer, deadline) are computed once per
    spike, and each layer's spikes are sorted by (time, id) before its rows are made, in
    destination order (the destination cores of a layer taken in router order). When the
    layers follow each other in time (their windows do), the layers' rows put one after
    the other are already in (time, spike, destination) order and every per-row column is
    a repeat of its per-spike column; otherwise one gather of whole spikes sorts them
    (:func:`_sorted_rows`). Either way every column is built in its final dtype.
    """
    if not 0 <= frame < trace.n_frames:
        raise ValueError(f"frame {frame} out of range 0..{trace.n_frames - 1}")
    io_router = io_router_index(config, mapping.width, mapping.height)
    ns_per_unit = config.neuron.window / trace.tw
    blocks: list[_Block] = []
    first = 0
    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        blocks.append(_layer_block(spikes, link, frame, l, mapping, config, io_router,
                                   ns_per_unit, first))
        first += len(blocks[-1].spike)
    blocks.append(_readout_block(trace, mapping, links, config, io_router, first))
    spike, t_ns, src, layer, deadline, n_rows = (
        np.concatenate([getattr(b, name) for b in blocks])
        for name in ("spike", "t_ns", "src", "layer", "deadline", "n_rows"))
    dst = np.concatenate([b.dst for b in blocks])
    sops = np.concatenate([b.sops for b in blocks])
    del blocks  # the per-layer rows (VGG16: 12 bytes a row)
    common = {"width": mapping.width, "height": mapping.height,
              "multicast": config.traffic.multicast,
              "chip_width": mapping.chip_width if mapping.n_chips > 1 else 0,
              "chip_height": mapping.chip_height if mapping.n_chips > 1 else 0}
    if _ascending(t_ns):  # already in (time, spike) order: repeat the per-spike columns
        return Traffic(time_ns=np.repeat(t_ns, n_rows), src=np.repeat(src, n_rows), dst=dst,
                       spike=np.repeat(spike, n_rows), layer=np.repeat(layer, n_rows),
                       deadline_ns=np.repeat(deadline, n_rows), sops=sops, **common)
    order, rows = _sorted_rows(t_ns, n_rows)
    return Traffic(time_ns=t_ns[order], src=src[order], dst=dst[rows], spike=spike[order],
                   layer=layer[order], deadline_ns=deadline[order], sops=sops[rows], **common)


@dataclass(frozen=True, eq=False)
class _Block:
    """The spikes of one layer (or the readouts) in (time, id) order and their rows.

    Per spike: ``spike`` (int64 id), ``t_ns`` (float64), ``src`` (int32 router), ``layer``
    (int16), ``deadline`` (float64 ns), ``n_rows`` (int64); per row, spike after spike,
    each spike's rows in destination-router order: ``dst`` (int32), ``sops`` (int64).
    """

    spike: np.ndarray
    t_ns: np.ndarray
    src: np.ndarray
    layer: np.ndarray
    deadline: np.ndarray
    n_rows: np.ndarray
    dst: np.ndarray
    sops: np.ndarray


def _layer_block(
    spikes: LayerSpikes, link: LayerLinks, frame: int, l: int, mapping: Mapping,
    config: ArchConfig, io_router: int, ns_per_unit: float, first: int,
) -> _Block:
    """The spikes of layer ``l`` in frame ``frame`` (ids from ``first``, in trace order)
    sorted by (time, id), with their rows."""
    sel = spikes.frame == frame
    t_ns = (spikes.time[sel] * ns_per_unit).astype(np.float64)
    order = np.argsort(t_ns, kind="stable")
    t_ns = t_ns[order]
    neuron = spikes.neuron[sel][order]
    n = len(neuron)
    deadline = (np.full(n, (l + 2) * config.neuron.window) if spikes.deadline is None
                else (spikes.deadline[sel] * ns_per_unit)[order])
    dst_router = mapping.router[link.dst_cores].astype(np.int32)
    by_router = np.argsort(dst_router, kind="stable")
    counts = link.postsynaptic(neuron)
    if not np.array_equal(by_router, np.arange(len(by_router))):
        counts = counts[:, by_router]
    dst, sops, n_rows = _rows_of(counts, dst_router[by_router])
    del counts
    src_core = link.src_core[neuron]
    src = np.where(src_core < 0, io_router, mapping.router[np.maximum(src_core, 0)])
    return _Block(spike=first + order.astype(np.int64), t_ns=t_ns, src=src.astype(np.int32),
                  layer=np.full(n, l, dtype=np.int16), deadline=deadline.astype(np.float64),
                  n_rows=n_rows, dst=dst, sops=sops)


def _rows_of(counts: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dst, sops, rows per spike) of the positive entries of ``counts`` (spikes x
    destination cores), row-major: spike after spike, in the order of ``dst``."""
    positive = counts > 0
    n, cores = counts.shape
    if positive.all():  # every spike reaches every core (VGG16's layers): no selection
        return (np.tile(dst, n), counts.astype(np.int64, copy=False).reshape(-1),
                np.full(n, cores, dtype=np.int64))
    sops = counts[positive].astype(np.int64, copy=False)
    rows = np.count_nonzero(positive, axis=1).astype(np.int64)
    return np.broadcast_to(dst, counts.shape)[positive], sops, rows


def _ascending(values: np.ndarray) -> bool:
    """Whether ``values`` never decrease (False where a NaN is)."""
    return bool(np.all(values[1:] >= values[:-1]))


def _sorted_rows(t_ns: np.ndarray, n_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(spike of every output row, input row it takes) in (time, spike) order.

    The spikes (``t_ns``, in blocks of ascending id, each block sorted by (time, id))
    are sorted by time, ties by position (a stable sort), which is their id order; the
    rows of a spike are contiguous in the input (``n_rows`` of them) and keep their order.
    Returns positions into the per-spike columns, repeated once per row, and row indices.
    """
    order = np.argsort(t_ns, kind="stable")
    lens = n_rows[order]
    first = (np.cumsum(n_rows) - n_rows)[order]
    total = int(lens.sum())
    spike = np.repeat(order, lens)
    rows = np.arange(total, dtype=np.int64)
    rows += np.repeat(first - (np.cumsum(lens) - lens), lens)
    return spike, rows


def io_router_index(config: ArchConfig, width: int, height: int) -> int:
    """Router index of the I/O port (``traffic.io_router``), which must sit on the mesh edge.

    Raises
    ------
    ConfigError
        If the router is outside the mesh or not on its edge.
    """
    x, y = config.traffic.io_router
    if not (0 <= x < width and 0 <= y < height):
        raise ConfigError(f"traffic.io_router {[x, y]} is outside the {width}x{height} mesh",
                          key="traffic.io_router")
    if x not in (0, width - 1) and y not in (0, height - 1):
        raise ConfigError(f"traffic.io_router {[x, y]} is not on the edge of the {width}x{height} "
                          "mesh (the I/O port sits at the mesh edge)", key="traffic.io_router")
    return y * width + x


def _readout_block(trace: SpikeTrace, mapping: Mapping, links: list[LayerLinks],
                   config: ArchConfig, io_router: int, first: int) -> _Block:
    """One readout packet from every output core to the I/O router at the output window end
    (spike ids from ``first``): each readout is a spike of its own with one row."""
    depth = len(links)
    cores = np.flatnonzero(mapping.groups.layer == depth)
    n = len(cores)
    return _Block(spike=first + np.arange(n, dtype=np.int64),
                  t_ns=np.full(n, trace.end(depth) * config.neuron.window / trace.tw),
                  src=mapping.router[cores].astype(np.int32),
                  layer=np.full(n, depth, dtype=np.int16), deadline=np.full(n, np.inf),
                  n_rows=np.ones(n, dtype=np.int64), dst=np.full(n, io_router, dtype=np.int32),
                  sops=np.zeros(n, dtype=np.int64))
