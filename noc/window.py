"""A layer window the chip can meet (``neuron.window_ns: auto``), derived from the traffic.

DESIGN.md ("Traffic and NoC"): a window shorter than the time the busiest link needs for
a layer's packets makes most deliveries late. Under deterministic routing the work each
resource must do for a layer's packets follows from the traffic alone, without the
replay (:mod:`canmore_sim.noc.engine` defines the service times used here):

* a **link** is held ``router_delay_ns + flits x link_delay_ns`` per packet crossing it
  (``multichip.interchip_link_delay_ns`` between chips); under multicast one copy per
  link of the packet's XY tree;
* an **ejection port** is held ``router_delay_ns + core.sop_ns x sops`` per delivery;
* the **longest path** takes its zero-load latency,
  ``(h + 1) x router_delay_ns + flits x (link delays of its h links)``.

A layer's *need* is the largest of: the busiest link's busy time, the busiest ejection
port's busy time, the longest path's latency. Spikes of layer ``l`` leave during window
``l`` and are due at the end of window ``l + 1``, where they share the links with the
spikes layer ``l + 1`` sends meanwhile; so the window is the largest need of two
consecutive layers on one resource (busy times added link by link and port by port),
over every frame, times :data:`MARGIN`, rounded up to a whole ns. The readout packets
(no deadline) are not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from canmore_sim.config import ArchConfig
from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import LayerLinks
from canmore_sim.mapper.placement import Mapping, interchip_hops
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
from canmore_sim.noc.needs import trace_layer_needs
from canmore_sim.noc.routing import get_routing, is_deterministic
from canmore_sim.noc.traffic import Traffic

__all__ = ["AUTO", "MARGIN", "LayerNeeds", "derive_window", "frames_pair_needs", "layer_needs",
           "window_from_needs", "with_window"]

#: ``neuron.window_ns`` value that derives the window from the traffic.
AUTO = "auto"

#: Safety factor on the derived need (head-of-line blocking and finite buffers make the
#: replay somewhat slower than the busiest resource alone).
MARGIN = 1.25
#: Window port (E, W, S, N) -> the engines' output port (local, N, E, S, W order).
_ENGINE_PORT = {EAST: 2, WEST: 4, SOUTH: 3, NORTH: 1}


@dataclass(frozen=True)
class LayerNeeds:
    """One frame's work per source layer ``l`` (rows ``0..L-1``), ns.

    ``link_ns[l]`` and ``eject_ns[l]``: busy time of every link ``(4, height, width)``
    (ports E, W, S, N of each router) and ejection port ``(height * width,)``;
    ``path_ns[l]``: the longest zero-load latency of the layer's packets.
    """

    link_ns: np.ndarray
    eject_ns: np.ndarray
    path_ns: np.ndarray

    def pair_need_ns(self) -> np.ndarray:
        """Per layer ``l``: the largest busy time of one resource for layers ``l`` and
        ``l + 1`` together (they share window ``l + 1``), or the longest path."""
        link, eject = self.link_ns, self.eject_ns
        nxt_link = np.concatenate([link[1:], np.zeros_like(link[:1])])
        nxt_eject = np.concatenate([eject[1:], np.zeros_like(eject[:1])])
        busy = np.maximum((link + nxt_link).reshape(len(link), -1).max(axis=1, initial=0.0),
                          (eject + nxt_eject).max(axis=1, initial=0.0))
        return np.maximum(busy, self.path_ns)


def _route_basis(config: ArchConfig) -> str:
    """How the links a packet crosses are found: ``xy`` or ``yx`` (dimension-order runs);
    ``table`` (a registered deterministic routing, its routes walked). A minimal adaptive
    routing (``west-first``, ``odd-even``) is taken along the XY routes: its routes have
    the same lengths, and adapting only spreads the XY load over other minimal links."""
    name = config.router.routing
    if name in ("xy", "yx"):
        return name
    return "table" if is_deterministic(get_routing(name)) else "xy"


def layer_needs(traffic: Traffic, config: ArchConfig, depth: int) -> LayerNeeds:
    """The work of one frame's ``traffic`` on every link and ejection port, per layer.

    Parameters
    ----------
    traffic
        One frame's packets (built with any window: times do not enter).
    config
        Supplies the router delays, flits per packet, ``core.sop_ns``, the inter-chip
        link delay and the routing (see :func:`_route_basis` for adaptive and table
        routings).
    depth
        Weight layers ``L``: source layers ``0..L-1`` are counted.

    Raises
    ------
    ConfigError
        For an unknown routing (listing the valid ones).
    SimulationError
        When a table routing's route does not reach its destination.
    """
    basis = _route_basis(config)
    w, h = traffic.width, traffic.height
    link = np.zeros((depth, 4, h, w))
    eject = np.zeros((depth, h * w))
    path = np.zeros(depth)
    keep = traffic.layer < depth
    if not keep.any():
        return LayerNeeds(link, eject, path)
    rd, flits = config.router.router_delay_ns, config.router.flits_per_packet
    sops = np.zeros(len(traffic), np.int64) if traffic.sops is None else traffic.sops
    layer = traffic.layer[keep].astype(np.int64)
    eject_cost = rd + config.core.sop_ns * sops[keep].astype(np.float64)
    np.add.at(eject, (layer, traffic.dst[keep]), eject_cost)
    if basis == "table":
        counts, hops, inter = _table_routes(traffic, config, depth)
        hops, inter = hops[keep], inter[keep]
    else:
        counts = _link_counts(traffic, keep, depth, basis == "yx")
        hops = traffic.manhattan()[keep]
        inter = interchip_hops(traffic.src, traffic.dst, traffic.width, traffic.chip_width,
                               traffic.chip_height)[keep]
    link = counts * link_cost(traffic, config)
    latency = (hops + 1) * rd + flits * ((hops - inter) * config.router.link_delay_ns
                                         + inter * config.multichip.interchip_link_delay_ns)
    np.maximum.at(path, layer, latency)
    return LayerNeeds(link, eject, path)


def _table_routes(traffic: Traffic, config: ArchConfig,
                  depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Under a table routing: packets (multicast: tree copies) crossing each link
    ``(depth, 4, height, width)``, and every row's route length and inter-chip links,
    from the exact route counts (:mod:`canmore_sim.noc.counts`) layer by layer."""
    from canmore_sim.noc.counts import route_counts

    w, h, flits = traffic.width, traffic.height, config.router.flits_per_packet
    counts = np.zeros((depth, 4, h, w))
    hops = np.zeros(len(traffic), np.int64)
    inter = np.zeros(len(traffic), np.int64)
    for layer in range(depth):
        rows = np.flatnonzero(traffic.layer == layer)
        if not len(rows):
            continue
        part = route_counts(traffic.rows(rows), config)
        for port, engine_port in _ENGINE_PORT.items():
            counts[layer, port] = (part.link_flits[:, engine_port] // flits).reshape(h, w)
        if traffic.multicast:  # a row's route is its own pair's, copies or not
            part = route_counts(replace(traffic.rows(rows), multicast=False), config)
        hops[rows], inter[rows] = part.hops, part.charged_interchip_hops
    return counts, hops, inter


def _link_counts(traffic: Traffic, keep: np.ndarray, depth: int, yx: bool) -> np.ndarray:
    """Packets (multicast: tree copies) crossing each link, ``(depth, 4, height, width)``.

    Dimension-order routing sends a packet along its first axis on the source's line,
    then along the second axis on each destination's line; a multicast packet's tree
    is the union of those paths: the first-axis run to the farthest destination on
    each side, then per destination line the run to the farthest destination there.
    Runs are added with difference arrays (a +1 at the run's start, a -1 past its end).
    Unicast rows with the same layer, source and destination are counted together.
    """
    w, h = traffic.width, traffic.height
    rows = np.flatnonzero(keep)
    layer = traffic.layer[rows].astype(np.int64)
    src, dst = traffic.src[rows].astype(np.int64), traffic.dst[rows].astype(np.int64)
    side = max(w, h)
    diff = np.zeros((depth, 4, side + 1, side + 1))  # [layer, direction, line, position]
    if traffic.multicast:
        _multicast_runs(diff, traffic, rows, layer, src, dst, yx)
    else:
        n = traffic.n_routers
        pairs, weight = np.unique((layer * n + src) * n + dst, return_counts=True)
        layer, src, dst = pairs // (n * n), pairs // n % n, pairs % n
        a_src, b_src = coords(src, w, yx)
        a_dst, b_dst = coords(dst, w, yx)
        side_runs(diff, layer, b_src, a_src, a_dst, a_dst, (EAST, WEST), weight)
        side_runs(diff, layer, a_dst, b_src, b_dst, b_dst, (SOUTH, NORTH), weight)
    runs = np.cumsum(diff, axis=3)[:, :, :side, :side]
    return to_grid(runs, yx, w, h)


def _multicast_runs(diff: np.ndarray, traffic: Traffic, rows: np.ndarray, layer: np.ndarray,
                    src: np.ndarray, dst: np.ndarray, yx: bool) -> None:
    """The runs of multicast trees: a packet is a spike's rows (contiguous)."""
    w = traffic.width
    packet = np.cumsum(traffic.packet_starts())[rows] - 1
    a_src, b_src = coords(src, w, yx)
    a_dst, b_dst = coords(dst, w, yx)
    first = np.flatnonzero(np.concatenate(([True], packet[1:] != packet[:-1])))
    side_runs(diff, layer[first], b_src[first], a_src[first],
               np.minimum.reduceat(a_dst, first), np.maximum.reduceat(a_dst, first),
               (EAST, WEST), np.ones(len(first)))
    key = packet * (max(w, traffic.height) + 1) + a_dst  # one group per (packet, line)
    order = np.argsort(key, kind="stable")
    key = key[order]
    lines = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    b_sorted = b_dst[order]
    side_runs(diff, layer[order][lines], a_dst[order][lines], b_src[order][lines],
               np.minimum.reduceat(b_sorted, lines), np.maximum.reduceat(b_sorted, lines),
               (SOUTH, NORTH), np.ones(len(lines)))


def window_from_needs(pair_needs: np.ndarray, n_frames: int,
                      config: ArchConfig) -> tuple[float, dict[str, Any]]:
    """The window and how it was derived, from the largest per-layer pair needs.

    Parameters
    ----------
    pair_needs
        ``(L,)`` per source layer, the largest :meth:`LayerNeeds.pair_need_ns` over the
        frames, ns.
    n_frames
        Frames the needs were taken over (for the record).

    Returns
    -------
    (window_ns, record)
        ``ceil(MARGIN x max(pair_needs))`` ns (at least 1), and plain data for reports.
    """
    need = float(np.max(pair_needs, initial=0.0))
    window = float(max(1, math.ceil(MARGIN * need)))
    layer = int(np.argmax(pair_needs)) if len(pair_needs) else 0
    routes = {"xy": "xy routes", "yx": "yx routes", "table": "the routing's table routes"}
    basis = _route_basis(config)
    record = {"mode": "auto", "window_ns": window, "margin": MARGIN,
              "routes": routes[basis] + ("" if basis == "table" or config.router.routing == basis
                                         else f" ({config.router.routing} adapts along "
                                              "minimal routes of the same length)"),
              "need_ns": need, "deciding_layer": layer, "frames": n_frames,
              "per_layer_need_ns": [float(v) for v in pair_needs],
              "rule": "per source layer l, the busiest link's and ejection port's busy time "
                      "for the packets of layers l and l+1 together, or the longest path's "
                      f"zero-load latency, the largest over {n_frames} frame(s), times "
                      f"{MARGIN}, rounded up to a whole ns"}
    return window, record


def frames_pair_needs(trace: SpikeTrace, mapping: Mapping, links: list[LayerLinks],
                      config: ArchConfig) -> np.ndarray:
    """Per source layer, the largest :meth:`LayerNeeds.pair_need_ns` over every frame of
    ``trace``, ns (exact: a maximum over frames, whatever frames are taken together).

    ``config.neuron.window_ns`` may be ``auto``: the traffic is built with a window of
    1 ns, whose times do not enter the needs.
    """
    from canmore_sim.noc.build import build_traffic

    depth = len(links)
    built = with_window(config, 1.0)
    basis = _route_basis(config)
    pair = np.zeros(depth)
    for f in range(trace.n_frames):
        if basis == "table":  # routes walked over the traffic's rows
            needs = layer_needs(build_traffic(trace, f, mapping, links, built), built, depth)
        else:  # the same needs without the rows (noc/needs.py, tested equal)
            needs = LayerNeeds(*trace_layer_needs(trace, f, mapping, links, built,
                                                  yx=basis == "yx"))
        pair = np.maximum(pair, needs.pair_need_ns())
    return pair


def with_window(config: ArchConfig, window_ns: float) -> ArchConfig:
    """``config`` with ``neuron.window_ns`` set to ``window_ns``."""
    from canmore_sim.config import with_overrides

    return with_overrides(config, {"neuron.window_ns": float(window_ns)})


def derive_window(trace: SpikeTrace, mapping: Mapping, links: list[LayerLinks],
                  config: ArchConfig) -> tuple[ArchConfig, dict[str, Any] | None]:
    """``config`` with ``neuron.window_ns: auto`` replaced by the derived window, and the
    derivation's record (None, and ``config`` unchanged, when the window is a number)."""
    if config.neuron.window_ns != AUTO:
        return config, None
    window, record = window_from_needs(frames_pair_needs(trace, mapping, links, config),
                                       trace.n_frames, config)
    return with_window(config, window), record
