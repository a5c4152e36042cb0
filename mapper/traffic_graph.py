"""The core-to-core traffic graph: expected packets per frame between cores.

Built from the layer connectivity (:mod:`canmore_sim.mapper.connectivity`): a
spike of a neuron on core ``a`` sends one unicast packet to every core ``b``
holding one of its postsynaptic neurons. Without a measured trace every neuron
that can spike is assumed to spike with probability ``spike_rate``; with a
:class:`~canmore_sim.cores.trace.SpikeTrace` the measured spikes (mean per frame)
are used instead. Input spikes come from the I/O port (source ``IO = -1``), and
every output core sends one readout packet to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from canmore_sim.cores.trace import SpikeTrace
from canmore_sim.mapper.connectivity import layer_links
from canmore_sim.mapper.partition import CoreGroups
from canmore_sim.models.graph import LayerGraph

if TYPE_CHECKING:  # networkx is imported only by the functions that return its graphs
    import networkx as nx

__all__ = ["IO", "CoreTraffic", "NeuronCounts", "core_traffic", "core_traffic_graph",
           "neuron_counts", "to_networkx"]

#: Node id of the I/O port in the traffic graph.
IO = -1


@dataclass(frozen=True, eq=False)
class CoreTraffic:
    """Directed traffic between cores (columnar edge list).

    Attributes
    ----------
    src, dst
        int64 core ids (``IO`` = -1 for the I/O port).
    packets
        float64 expected unicast packets per frame on the edge.
    """

    src: np.ndarray
    dst: np.ndarray
    packets: np.ndarray

    def __len__(self) -> int:
        return len(self.src)


@dataclass(frozen=True, eq=False)
class NeuronCounts:
    """Spikes per neuron summed over frames, per source layer: all a measured traffic
    graph needs of a :class:`~canmore_sim.cores.trace.SpikeTrace` (so the counts of many
    chunks of frames add up, exactly, without keeping their traces).

    Attributes
    ----------
    counts
        int64 per source layer ``l`` (0 = input): spikes of each neuron (flat index of
        the layer's spike shape) over all frames; may be shorter than the layer.
    n_frames
        Frames counted.
    """

    counts: tuple[np.ndarray, ...]
    n_frames: int

    def __add__(self, other: NeuronCounts) -> NeuronCounts:
        if len(self.counts) != len(other.counts):
            raise ValueError("counts of different networks cannot be added")
        return NeuronCounts(tuple(_padded_sum(a, b) for a, b in zip(self.counts, other.counts,
                                                                     strict=True)),
                            self.n_frames + other.n_frames)


def _padded_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(max(len(a), len(b)), dtype=np.int64)
    out[:len(a)] += a
    out[:len(b)] += b
    return out


def neuron_counts(trace: SpikeTrace) -> NeuronCounts:
    """The :class:`NeuronCounts` of a trace (its spikes per neuron and layer)."""
    return NeuronCounts(tuple(np.bincount(s.neuron).astype(np.int64) for s in trace.layers),
                        trace.n_frames)


def core_traffic(
    graph: LayerGraph,
    groups: CoreGroups,
    *,
    spike_rate: float = 0.25,
    trace: SpikeTrace | NeuronCounts | None = None,
) -> CoreTraffic:
    """Expected packets per frame between every pair of communicating cores.

    Parameters
    ----------
    graph, groups
        The network and its partition.
    spike_rate
        Fraction of neurons assumed to spike per frame (ignored with ``trace``).
    trace
        Measured spikes (a trace, or their :class:`NeuronCounts`); the weights become
        mean spikes per frame.
    """
    if not 0.0 <= spike_rate <= 1.0:
        raise ValueError(f"spike_rate must be in [0, 1], got {spike_rate}")
    edges: dict[tuple[int, int], float] = {}
    for l in range(graph.depth):
        links = layer_links(graph, groups, l)
        size = len(links.src_core)
        if isinstance(trace, NeuronCounts):
            per_neuron = _padded_sum(trace.counts[l], np.zeros(size, np.int64)) / trace.n_frames
        elif trace is not None:
            per_neuron = np.bincount(trace.layers[l].neuron, minlength=size) / trace.n_frames
        else:
            per_neuron = np.full(size, spike_rate)
        reached = links.postsynaptic(np.arange(size)) > 0  # (neurons, dst cores)
        src_cores = np.where(links.src_core < 0, IO, links.src_core)
        for src in np.unique(src_cores):
            sel = src_cores == src
            weights = per_neuron[sel] @ reached[sel]
            for j, dst in enumerate(links.dst_cores):
                if weights[j] > 0:
                    edges[(int(src), int(dst))] = float(weights[j])
    for core in groups.of_layer(graph.depth):
        edges[(int(core), IO)] = 1.0  # one readout packet per output core
    keys = sorted(edges)
    return CoreTraffic(np.array([k[0] for k in keys], dtype=np.int64),
                       np.array([k[1] for k in keys], dtype=np.int64),
                       np.array([edges[k] for k in keys], dtype=np.float64))


def to_networkx(traffic: CoreTraffic) -> nx.DiGraph:
    """The traffic as a networkx DiGraph with edge attribute ``weight`` (packets/frame)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_weighted_edges_from(zip(traffic.src.tolist(), traffic.dst.tolist(),
                                  traffic.packets.tolist(), strict=True))
    return g


def core_traffic_graph(
    graph: LayerGraph,
    groups: CoreGroups,
    *,
    spike_rate: float = 0.25,
    trace: SpikeTrace | None = None,
) -> nx.DiGraph:
    """The core-to-core traffic graph as a networkx DiGraph.

    Nodes are core ids (and :data:`IO` for the I/O port); edge attribute
    ``weight`` is the expected unicast packets per frame. Parameters as for
    :func:`core_traffic`.
    """
    return to_networkx(core_traffic(graph, groups, spike_rate=spike_rate, trace=trace))
