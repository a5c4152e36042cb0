"""A frame's window needs straight from its spikes and the mapping, without its Traffic.

:func:`canmore_sim.noc.window.layer_needs` takes a frame's :class:`~canmore_sim.noc.traffic.Traffic`
(one row per spike and destination core, sorted by time: VGG16, 1.5 M rows). Under XY or
YX routes (and the minimal adaptive routings, taken along XY routes) the same needs
follow from the copies each source router sends to each destination core
(:meth:`~canmore_sim.mapper.connectivity.LayerLinks.frame_sums`, the source router
standing for the frame), with no rows made, gathered or sorted:

* the **links**: unicast packets counted per (source router, destination router) pair,
  multicast trees from each spike's farthest destinations on each side and line (the
  spike-by-core matrix of :meth:`~canmore_sim.mapper.connectivity.LayerLinks.postsynaptic`),
  then the same run arithmetic (:func:`canmore_sim.noc.link_runs.side_runs`): integer
  counts, exact in any order;
* the **ejection ports**: each destination's busy time added copy after copy in the
  traffic's row order (time, then spike), a sequential sum of the same float terms as the
  row-by-row sum, so equal bit for bit; with ``core.sop_ns`` 0 (the default) every term is
  the router delay, so a port's sum is that of its number of copies, and no order is needed;
* the **longest path**: the largest of the same per-pair latencies.

Equal to ``layer_needs(build_traffic(...))`` bit for bit (``tests/noc/test_needs.py``);
table routings (whose routes are walked) keep the Traffic-based path.
"""

from __future__ import annotations

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping, interchip_hops
from canmore_sim.noc.build import io_router_index
from canmore_sim.noc.link_runs import (
    EAST,
    NORTH,
    SOUTH,
    WEST,
    coords,
    link_cost,
    side_runs,
    to_grid,
)
from canmore_sim.noc.traffic import Traffic

__all__ = ["trace_layer_needs"]


def trace_layer_needs(trace: SpikeTrace, frame: int, mapping: Mapping, links: list[LayerLinks],
                      config: ArchConfig, yx: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(link_ns, eject_ns, path_ns) of frame ``frame``, as
    :class:`~canmore_sim.noc.window.LayerNeeds` holds them (ns), under XY (``yx`` False)
    or YX routes; ``config.neuron.window_ns`` is 1 ns, as
    :func:`~canmore_sim.noc.window.frames_pair_needs` builds its traffic with (the spikes'
    order in time is what matters here).
    """
    w, h, depth = mapping.width, mapping.height, len(links)
    side = max(w, h)
    io = io_router_index(config, w, h)
    ns_per_unit = config.neuron.window / trace.tw
    rd, flits = config.router.router_delay_ns, config.router.flits_per_packet
    chip = (mapping.chip_width, mapping.chip_height) if mapping.n_chips > 1 else (0, 0)
    eject = np.zeros((depth, h * w))
    path = np.zeros(depth)
    diff = np.zeros((depth, 4, side + 1, side + 1))
    for l, (spikes, link) in enumerate(zip(trace.layers, links, strict=True)):
        sel = spikes.frame == frame
        neuron = spikes.neuron[sel]
        if not len(neuron):
            continue
        dst = mapping.router[link.dst_cores].astype(np.int64)
        src_core = link.src_core[neuron]
        src = np.where(src_core < 0, io, mapping.router[np.maximum(src_core, 0)]).astype(np.int64)
        routers, group = np.unique(src, return_inverse=True)
        # spikes of each source router that reach each destination core
        arrived = link.frame_sums(group.reshape(-1), neuron, len(routers))[1]
        if not arrived.any():
            continue
        if config.core.sop_ns == 0.0:  # every busy term is rd: no matrix, no order
            eject[l] = _constant_busy(rd, np.bincount(dst, weights=arrived.sum(axis=0),
                                                      minlength=h * w))
        else:
            order = np.argsort((spikes.time[sel] * ns_per_unit).astype(np.float64),
                               kind="stable")
            _add_busy(eject[l], link.postsynaptic(neuron[order]), dst, rd, config.core.sop_ns)
        pair_src, pair_dst, weight = _pairs(routers, dst, arrived, mapping.width * mapping.height)
        hops = _manhattan(pair_src, pair_dst, w)
        inter = interchip_hops(pair_src, pair_dst, w, *chip)
        latency = (hops + 1) * rd + flits * ((hops - inter) * config.router.link_delay_ns
                                             + inter * config.multichip.interchip_link_delay_ns)
        path[l] = max(path[l], float(latency.max(initial=0.0)))
        if config.traffic.multicast:
            _tree_runs(diff, l, src, dst, link.postsynaptic(neuron) > 0, w, yx)
        else:
            _pair_runs(diff, l, pair_src, pair_dst, weight, w, yx)
    runs = np.cumsum(diff, axis=3)[:, :, :side, :side]
    counts_grid = to_grid(runs, yx, w, h)
    return counts_grid * link_cost(_empty_traffic(mapping, config), config), eject, path


def _constant_busy(term: float, copies: np.ndarray) -> np.ndarray:
    """Each ejection port's busy time when every copy adds the same ``term`` (ns): the
    sequential sum of ``copies`` terms, as the row-by-row sum makes it (``copies``: per
    router, whole numbers)."""
    counts = copies.astype(np.int64)
    sums = np.zeros(int(counts.max(initial=0)) + 1)
    np.cumsum(np.full(len(sums) - 1, term), out=sums[1:])  # 0, t, t + t, (t + t) + t, ...
    return sums[counts]


def _add_busy(eject: np.ndarray, raw: np.ndarray, dst: np.ndarray, rd: float,
              sop_ns: float) -> None:
    """Add each copy's busy time (``rd + sop_ns x`` its postsynaptic count, ns) to its
    destination's port, spike after spike (``raw``: the counts, in the traffic's row
    order), as the row-by-row sum does."""
    sent = raw > 0
    terms = np.where(sent, rd + sop_ns * raw.astype(np.float64), 0.0)
    if len(np.unique(dst)) == len(dst):
        eject[dst] += np.cumsum(terms, axis=0)[-1]
    else:  # two destination cores on one router: add them row by row
        rows, cols = np.nonzero(sent)
        np.add.at(eject, dst[cols], terms[rows, cols])


def _pairs(routers: np.ndarray, dst: np.ndarray, arrived: np.ndarray,
           n_routers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, destination, copies) of every (source router, destination router) pair
    used (``arrived``: copies per source router ``routers[g]`` and destination core)."""
    copies = arrived.reshape(-1)
    used = copies > 0
    key = (routers[:, None] * n_routers + dst[None, :]).reshape(-1)[used]
    pairs, index = np.unique(key, return_inverse=True)
    weight = np.bincount(index.reshape(-1), weights=copies[used], minlength=len(pairs))
    return pairs // n_routers, pairs % n_routers, weight


def _manhattan(src: np.ndarray, dst: np.ndarray, w: int) -> np.ndarray:
    return (np.abs(src % w - dst % w) + np.abs(src // w - dst // w)).astype(np.int64)



def _pair_runs(diff: np.ndarray, l: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
               w: int, yx: bool) -> None:
    """Unicast: each pair's dimension-order route, counted ``weight`` times."""
    layer = np.full(len(src), l, dtype=np.int64)
    a_src, b_src = coords(src, w, yx)
    a_dst, b_dst = coords(dst, w, yx)
    side_runs(diff, layer, b_src, a_src, a_dst, a_dst, (EAST, WEST), weight)
    side_runs(diff, layer, a_dst, b_src, b_dst, b_dst, (SOUTH, NORTH), weight)


def _tree_runs(diff: np.ndarray, l: int, src: np.ndarray, dst: np.ndarray, sent: np.ndarray,
               w: int, yx: bool) -> None:
    """Multicast: each spike's tree, the first-axis run to its farthest destination on
    each side, then per destination line the run to the farthest destination there."""
    big = np.iinfo(np.int64).max
    packets = sent.any(axis=1)
    a_src, b_src = coords(src[packets], w, yx)
    a_dst, b_dst = coords(dst, w, yx)
    reach = sent[packets]
    lowest = np.where(reach, a_dst[None, :], big).min(axis=1)
    highest = np.where(reach, a_dst[None, :], -1).max(axis=1)
    layer = np.full(len(a_src), l, dtype=np.int64)
    ones = np.ones(len(a_src))
    side_runs(diff, layer, b_src, a_src, lowest, highest, (EAST, WEST), ones)
    for line in np.unique(a_dst):
        on_line = a_dst == line
        here = reach[:, on_line]
        has = here.any(axis=1)
        if not has.any():
            continue
        lo = np.where(here[has], b_dst[on_line][None, :], big).min(axis=1)
        hi = np.where(here[has], b_dst[on_line][None, :], -1).max(axis=1)
        count = int(has.sum())
        side_runs(diff, layer[:count], np.full(count, line, dtype=np.int64), b_src[has],
                   lo, hi, (SOUTH, NORTH), ones[:count])


def _empty_traffic(mapping: Mapping, config: ArchConfig) -> Traffic:
    """No packets on the mapping's mesh (what :func:`canmore_sim.noc.link_runs.link_cost`
    reads: the mesh and chip sizes)."""
    empty = np.zeros(0)
    chip = (mapping.chip_width, mapping.chip_height) if mapping.n_chips > 1 else (0, 0)
    return Traffic(width=mapping.width, height=mapping.height, time_ns=empty,
                    src=empty.astype(np.int32), dst=empty.astype(np.int32),
                    spike=empty.astype(np.int64), layer=empty.astype(np.int16),
                    deadline_ns=empty, multicast=config.traffic.multicast,
                   chip_width=chip[0], chip_height=chip[1])
