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
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.errors import ConfigError
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping
from canmore_sim.noc.traffic import Traffic

__all__ = ["build_traffic", "io_router_index"]


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
    io_router = io_router_index(config, mapping.width, mapping.height)
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
        deadline = (np.full(len(row), (l + 2) * config.neuron.window_ns)
                    if spikes.deadline is None else spikes.deadline[sel][row] * ns_per_unit)
        parts.append((t_ns, src, dst, spike_base + row, np.full(len(row), l), deadline,
                      counts[row, col]))
        spike_base += len(neuron)
    parts.append(_readout_rows(trace, mapping, links, config, io_router, spike_base))
    t_ns, src, dst, spike, layer, deadline, sops = (np.concatenate(c)
                                                    for c in zip(*parts, strict=True))
    order = np.lexsort((dst, spike, t_ns))
    return Traffic(
        width=mapping.width, height=mapping.height,
        time_ns=t_ns[order].astype(np.float64), src=src[order].astype(np.int32),
        dst=dst[order].astype(np.int32), spike=spike[order].astype(np.int64),
        layer=layer[order].astype(np.int16), deadline_ns=deadline[order].astype(np.float64),
        multicast=config.traffic.multicast, sops=sops[order].astype(np.int64),
        chip_width=mapping.chip_width if mapping.n_chips > 1 else 0,
        chip_height=mapping.chip_height if mapping.n_chips > 1 else 0,
    )


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
    io_router: int, spike_base: int,
) -> tuple[np.ndarray, ...]:
    """One readout packet from every output core to the I/O router at the output window end."""
    depth = len(links)
    cores = np.flatnonzero(mapping.groups.layer == depth)
    n = len(cores)
    t_ns = np.full(n, trace.end(depth) * config.neuron.window_ns / trace.tw)
    return (t_ns, mapping.router[cores], np.full(n, io_router), spike_base + np.arange(n),
            np.full(n, depth), np.full(n, np.inf), np.zeros(n, dtype=np.int64))
