"""Traffic: the packets one frame sends over the mesh, as columnar arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Traffic"]


@dataclass(frozen=True, eq=False)
class Traffic:
    """Packets to replay through the network-on-chip (one row per (spike, destination)).

    Under unicast every row is its own packet. Under multicast the rows that
    share a ``spike`` id form one packet, copied at routers along the XY tree.
    Rows are sorted by ``time_ns`` then ``spike`` (stable), so replays are
    deterministic.

    Attributes
    ----------
    width, height
        Mesh size in routers; router ``r`` sits at ``x = r % width``, ``y = r // width``.
    time_ns
        float64, when the spike is ready for injection at its source, ns.
    src, dst
        int32 router indices of the source core (or of the I/O router for input
        spikes) and the destination core.
    spike
        int64 id of the spike (unique within the frame).
    layer
        int16 layer that emitted the spike (0 = input frame through the I/O port).
    deadline_ns
        float64, end of the consuming layer's integration window, ns; a packet
        delivered after it is *late*.
    multicast
        Whether rows sharing a spike id travel as one multicast packet.
    sops
        int64 synaptic operations the packet causes at its destination core (the
        postsynaptic neurons it meets there); with ``core.sop_ns`` the core is
        busy that long per packet and can back up into the network. None: all 0.
    chip_width, chip_height
        Size of one chip in routers when the mesh tiles several chips (0: one
        chip, the whole mesh). A link between routers of different chips is an
        inter-chip link (its own delay and energy).
    """

    width: int
    height: int
    time_ns: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    spike: np.ndarray
    layer: np.ndarray
    deadline_ns: np.ndarray
    multicast: bool = False
    chip_width: int = 0
    chip_height: int = 0
    sops: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.time_ns)
        for name in ("src", "dst", "spike", "layer", "deadline_ns"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Traffic column {name} has the wrong length")
        if self.sops is not None and len(self.sops) != n:
                raise ValueError("Traffic column sops has the wrong length")

    def __len__(self) -> int:
        return len(self.time_ns)

    def rows(self, selection: slice | np.ndarray) -> Traffic:
        """The rows ``selection`` (a slice: views; indices or a mask: copies) as a Traffic of
        the same mesh; a multicast packet stays whole when its rows are selected together."""
        return replace(self, time_ns=self.time_ns[selection], src=self.src[selection],
                       dst=self.dst[selection], spike=self.spike[selection],
                       layer=self.layer[selection], deadline_ns=self.deadline_ns[selection],
                       sops=None if self.sops is None else self.sops[selection])

    @property
    def n_routers(self) -> int:
        return self.width * self.height

    def packet_starts(self) -> np.ndarray:
        """bool per row: the row is the first of its packet.

        Under unicast every row is a packet; under multicast the rows of one spike
        (consecutive, as rows are sorted by time then spike) travel as one packet, so
        ``packet_starts().sum()`` is the number of packets injected and ``len(self)``
        the number of deliveries (one per destination core).
        """
        if not self.multicast or not len(self):
            return np.ones(len(self), dtype=bool)
        return np.concatenate([[True], self.spike[1:] != self.spike[:-1]])

    def manhattan(self) -> np.ndarray:
        """Manhattan distance of every row, in hops (int64)."""
        w = self.width
        return (np.abs(self.src % w - self.dst % w) + np.abs(self.src // w - self.dst // w)).astype(
            np.int64
        )

    @classmethod
    def empty(cls, width: int, height: int, multicast: bool = False) -> Traffic:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int32)
        return cls(width, height, z, zi, zi, np.zeros(0, dtype=np.int64),
                   np.zeros(0, dtype=np.int16), z, multicast)
