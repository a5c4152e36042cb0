"""SpikeTrace: every spike of every frame and layer, as columnar arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CountedSpikes", "LayerSpikes", "SpikeTrace"]


@dataclass(frozen=True, eq=False)
class LayerSpikes:
    """The spikes that leave one layer, all frames together (one row per spike).

    Attributes
    ----------
    frame
        int32, index of the frame the spike belongs to.
    neuron
        int64, flat (C-order) index into the layer's ``spike_shape`` (after
        pooling); for layer 0, into the input shape ``(C, H, W)``.
    time
        float64, spike time in model time units (layer ``l`` fires in
        ``[l*Tw, (l+1)*Tw]``, papers/004 Eq. 5).
    deadline
        float64 or None: when the spike must have reached its consumers, model time units
        (time-stepped models); None: the end of the consuming layer's window.
    """

    frame: np.ndarray
    neuron: np.ndarray
    time: np.ndarray
    deadline: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.frame)
        if len(self.neuron) != n or len(self.time) != n:
            raise ValueError("LayerSpikes columns must have equal length")

    def __len__(self) -> int:
        return len(self.frame)

    def for_frame(self, f: int) -> LayerSpikes:
        """The spikes of frame ``f`` only."""
        sel = self.frame == f
        deadline = None if self.deadline is None else self.deadline[sel]
        return LayerSpikes(self.frame[sel], self.neuron[sel], self.time[sel], deadline)

    def counts(self, n_frames: int) -> np.ndarray:
        """Spikes per frame, int64 array of length ``n_frames``."""
        return np.bincount(self.frame, minlength=n_frames).astype(np.int64)


@dataclass(frozen=True, eq=False)
class SpikeTrace:
    """What a network did on a batch of frames.

    Attributes
    ----------
    n_frames
        Number of frames.
    tw
        Spike window Tw, model time units.
    layers
        ``layers[0]`` are the encoded input spikes (Eq. 1); ``layers[l]`` for
        ``l = 1..L-1`` are the (pooled) spikes that leave weight layer ``l``.
        The output layer L does not spike (membrane readout), so there are L
        entries for a network of L weight layers.
    neuron_spikes
        int64 ``(n_frames, L + 1)``: neurons that fired per layer before pooling
        (column 0: input spikes; column L: output layer, 0 with membrane readout).
    readout
        float64 ``(n_frames, n_classes)``: the class scores; for DTA-TTFS the output
        membrane potential at the readout point of the network's rule (the start of the
        output window, or its end; :class:`~canmore_sim.models.graph.DtaRule`).
    predictions
        int64 ``(n_frames,)``: argmax of ``readout``.
    labels
        int64 ``(n_frames,)``: true labels, -1 where unknown.
    end_time
        When the frame's computation ends, model time units (None: ``(L + 1) * Tw``, the
        end of the output window).
    """

    n_frames: int
    tw: float
    layers: tuple[LayerSpikes, ...]
    neuron_spikes: np.ndarray
    readout: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    end_time: float | None = None

    def end(self, depth: int) -> float:
        """End of the frame's computation, model time units."""
        return (depth + 1) * self.tw if self.end_time is None else self.end_time

    def accuracy(self) -> float | None:
        """Fraction of frames whose prediction equals the label (None without labels)."""
        known = self.labels >= 0
        if not known.any():
            return None
        return float(np.mean(self.predictions[known] == self.labels[known]))


@dataclass(frozen=True, eq=False)
class CountedSpikes(LayerSpikes):
    """The spikes of one layer reduced to their count per frame (the spike rows of a
    chunk are dropped once it is counted): what reports read of a merged run's trace."""

    per_frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def of(cls, per_frame: np.ndarray) -> CountedSpikes:
        """Counts ``per_frame`` (int64, one per frame)."""
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty.astype(np.int32), empty, empty.astype(np.float64), None,
                   np.asarray(per_frame, dtype=np.int64))

    def counts(self, n_frames: int) -> np.ndarray:
        if n_frames != len(self.per_frame):
            raise ValueError(f"counts of {len(self.per_frame)} frames, not {n_frames}")
        return self.per_frame

    def __len__(self) -> int:
        return int(self.per_frame.sum())
