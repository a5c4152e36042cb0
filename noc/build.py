"""Turn one frame's spikes and the mapping into NoC traffic.

A spike of a neuron on core S must reach every core holding at least one of
its postsynaptic neurons: one row per (spike, destination core). Input spikes
enter through the I/O port at ``traffic.io_router``. Times scale from model
units to ns by ``neuron.window_ns / neuron.tw``. A spike of layer ``l`` feeds layer
``l + 1``, which integrates until its own firing window closes at
``(l + 2) * window_ns`` (after that it can no longer fire; for the output layer
that is when the membrane readout is taken): a spike delivered later is *late*
and is lost to the computation.
"""

from __future__ import annotations

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.traffic import Traffic

__all__ = ["build_traffic"]


def build_traffic(
    trace: SpikeTrace, frame: int, mapping: Mapping, links: list[LayerLinks], config: ArchConfig
) -> Traffic:
    """The packets of frame ``frame``, sorted by ready time then spike id.

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
    """
    if not 0 <= frame < trace.n_frames:
        raise ValueError(f"frame {frame} out of range 0..{trace.n_frames - 1}")
    io_x, io_y = config.traffic.io_router
    if not (0 <= io_x < mapping.width and 0 <= io_y < mapping.height):
        raise ValueError(f"traffic.io_router {config.traffic.io_router} is outside the mesh")
    io_router = io_y * mapping.width + io_x
    ns_per_unit = config.neuron.window_ns / trace.tw
    parts: list[tuple[np.ndarray, ...]] = []
    spike_base = 0
    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        sel = spikes.frame == frame
        neuron, time = spikes.neuron[sel], spikes.time[sel]
        counts = link.postsynaptic(neuron)
        row, col = np.nonzero(counts > 0)
        src_core = link.src_core[neuron[row]]
        src = np.where(src_core < 0, io_router, mapping.router[np.maximum(src_core, 0)])
        dst = mapping.router[link.dst_cores[col]]
        t_ns = time[row] * ns_per_unit
        deadline = np.full(len(row), (l + 2) * config.neuron.window_ns)
        parts.append((t_ns, src, dst, spike_base + row, np.full(len(row), l), deadline))
        spike_base += len(neuron)
    if not parts:
        return Traffic.empty(mapping.width, mapping.height, config.traffic.multicast)
    t_ns, src, dst, spike, layer, deadline = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.lexsort((dst, spike, t_ns))
    return Traffic(
        width=mapping.width, height=mapping.height,
        time_ns=t_ns[order].astype(np.float64), src=src[order].astype(np.int32),
        dst=dst[order].astype(np.int32), spike=spike[order].astype(np.int64),
        layer=layer[order].astype(np.int16), deadline_ns=deadline[order].astype(np.float64),
        multicast=config.traffic.multicast,
    )
