"""NocStats: what the network-on-chip did with one frame's traffic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NocStats", "PORTS"]

#: Router port order used by every per-port array: local, north, east, south, west.
#: North is +y... by convention y grows downwards (row index), so "north" is y - 1.
PORTS = ("local", "north", "east", "south", "west")


@dataclass(frozen=True, eq=False)
class NocStats:
    """Counts and times of one simulated frame (columnar).

    Per-packet arrays have one entry per row of the :class:`~canmore_sim.noc.traffic.Traffic`
    that was simulated (one entry per destination, also under multicast).

    Attributes
    ----------
    hops
        int64 per packet: router-to-router links crossed (injection/ejection excluded).
    inject_ns, deliver_ns
        float64 per packet: ready-at-source time and delivery time into the destination core, ns.
    zero_load_ns
        float64 per packet: latency the packet would have had alone in the network, ns.
    late
        bool per packet: delivered after its consumer's integration window closed.
    link_flits
        int64 ``(n_routers, 5)``: flits sent out of each router port (order :data:`PORTS`).
    wait_ns
        float64 ``(n_routers, 5)``: waiting beyond zero-load, attributed to the router
        and *input* port where the packet waited, ns.
    max_occupancy
        int64 ``(n_routers, 5)``: most flits ever held in each input buffer.
    mean_occupancy
        float64 ``(n_routers, 5)``: time-averaged flits held in each input buffer over
        the frame (0 to ``end_ns``).
    link_hops
        int64, total links crossed by all flits (multicast counts each tree edge once);
        the number priced by the energy model.
    end_ns
        float64: time the last packet was delivered, ns (0 for an empty frame).
    interchip_hops
        int64, the part of ``link_hops`` that crossed a link between two chips.
    charged_hops, charged_interchip_hops
        int64 per row, or None (an engine that does not count them): the links crossed
        by the packet copies carrying this row, each link charged to one row only (the
        first row of the copy that crossed it), so ``charged_hops.sum() == link_hops``
        and ``charged_interchip_hops.sum() == interchip_hops``. Under unicast equal to
        ``hops``; under multicast the shared links of a tree are charged once.
    """

    hops: np.ndarray
    inject_ns: np.ndarray
    deliver_ns: np.ndarray
    zero_load_ns: np.ndarray
    late: np.ndarray
    link_flits: np.ndarray
    wait_ns: np.ndarray
    max_occupancy: np.ndarray
    link_hops: int
    end_ns: float
    interchip_hops: int = 0
    mean_occupancy: np.ndarray | None = None
    charged_hops: np.ndarray | None = None
    charged_interchip_hops: np.ndarray | None = None

    @property
    def latency_ns(self) -> np.ndarray:
        """Per-packet latency (delivery minus ready time), ns."""
        return self.deliver_ns - self.inject_ns

    @property
    def direction_flits(self) -> np.ndarray:
        """Flits sent per output direction over all routers, int64 ``(5,)``, :data:`PORTS` order."""
        return self.link_flits.sum(axis=0)

    @property
    def total_wait_ns(self) -> float:
        """Sum over packets of latency beyond zero-load, ns."""
        return float(np.sum(self.latency_ns - self.zero_load_ns))
