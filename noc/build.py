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
    Per-spike figures (time, source, layer, deadline) are computed once per spike and
    the spikes sorted by (time, id); a spike's rows are made in destination order (the
    destination cores of a layer taken in router order), so the rows need no sort of
    their own: one gather puts them in the order of a full (time, spike, destination)
    sort, and every column is built in its final dtype.
    """
    if not 0 <= frame < trace.n_frames:
        raise ValueError(f"frame {frame} out of range 0..{trace.n_frames - 1}")
    io_router = io_router_index(config, mapping.width, mapping.height)
    ns_per_unit = config.neuron.window / trace.tw
    spike_parts: list[tuple[np.ndarray, ...]] = []
    row_parts: list[tuple[np.ndarray, np.ndarray]] = []
    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        per_spike, per_row = _layer_rows(spikes, link, frame, l, mapping, config, io_router,
                                         ns_per_unit)
        spike_parts.append(per_spike)
        row_parts.append(per_row)
    per_spike, per_row = _readout_rows(trace, mapping, links, config, io_router)
    spike_parts.append(per_spike)
    row_parts.append(per_row)
    t_ns, src, layer, deadline, n_rows = (np.concatenate(c)
                                          for c in zip(*spike_parts, strict=True))
    dst, sops = (np.concatenate(c) for c in zip(*row_parts, strict=True))
    spike, rows = _sorted_rows(t_ns, n_rows)
    return Traffic(
        width=mapping.width, height=mapping.height, time_ns=t_ns[spike], src=src[spike],
        dst=dst[rows], spike=spike, layer=layer[spike], deadline_ns=deadline[spike],
        multicast=config.traffic.multicast, sops=sops[rows],
        chip_width=mapping.chip_width if mapping.n_chips > 1 else 0,
        chip_height=mapping.chip_height if mapping.n_chips > 1 else 0,
    )


def _layer_rows(
    spikes: LayerSpikes, link: LayerLinks, frame: int, l: int, mapping: Mapping,
    config: ArchConfig, io_router: int, ns_per_unit: float,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray]]:
    """Per-spike columns and the rows (destination, SOPs) of one layer's spikes in a frame.

    Returns
    -------
    ((time_ns, src, layer, deadline_ns, n_rows), (dst, sops))
        One entry per spike (float64, int32, int16, float64, int64), then one per row,
        spike after spike, each spike's rows in destination-router order (int32, int64).
    """
    sel = spikes.frame == frame
    neuron, time = spikes.neuron[sel], spikes.time[sel]
    dst_router = mapping.router[link.dst_cores].astype(np.int32)
    by_router = np.argsort(dst_router, kind="stable")
    counts = link.postsynaptic(neuron)[:, by_router]
    row, col = np.nonzero(counts > 0)
    src_core = link.src_core[neuron]
    src = np.where(src_core < 0, io_router, mapping.router[np.maximum(src_core, 0)])
    n = len(neuron)
    deadline = (np.full(n, (l + 2) * config.neuron.window) if spikes.deadline is None
                else spikes.deadline[sel] * ns_per_unit)
    per_spike = ((time * ns_per_unit).astype(np.float64), src.astype(np.int32),
                 np.full(n, l, dtype=np.int16), deadline.astype(np.float64),
                 np.bincount(row, minlength=n).astype(np.int64))
    return per_spike, (dst_router[by_router][col], counts[row, col].astype(np.int64))


def _sorted_rows(t_ns: np.ndarray, n_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spike id of every output row and the input row it takes, in (time, spike) order.

    Spikes are sorted by time, ties by id (a stable sort); the rows of a spike are
    contiguous in the input (``n_rows`` of them) and keep their order.
    """
    order = np.argsort(t_ns, kind="stable")
    lens = n_rows[order]
    first = (np.cumsum(n_rows) - n_rows)[order]
    total = int(lens.sum())
    spike = np.repeat(order, lens)
    rows = np.arange(total, dtype=np.int64)
    rows += np.repeat(first - (np.cumsum(lens) - lens), lens)
    return spike.astype(np.int64), rows


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


def _readout_rows(
    trace: SpikeTrace, mapping: Mapping, links: list[LayerLinks], config: ArchConfig,
    io_router: int,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray]]:
    """One readout packet from every output core to the I/O router at the output window end.

    Each readout is a spike of its own with one row (columns as :func:`_layer_rows`).
    """
    depth = len(links)
    cores = np.flatnonzero(mapping.groups.layer == depth)
    n = len(cores)
    t_ns = np.full(n, trace.end(depth) * config.neuron.window / trace.tw)
    per_spike = (t_ns, mapping.router[cores].astype(np.int32), np.full(n, depth, dtype=np.int16),
                 np.full(n, np.inf), np.ones(n, dtype=np.int64))
    return per_spike, (np.full(n, io_router, dtype=np.int32), np.zeros(n, dtype=np.int64))
