"""A chunk's spike trace as plain arrays: what the window pass hands to the run pass.

Under ``neuron.window_ns: auto`` a run of several chunks simulates each replayed chunk's
neurons in its window pass (:mod:`canmore_sim.chunked.window`), before the window is
known; the run pass needs the same spikes (the neurons do not depend on the window). The
window pass keeps them in ``work/spikes/NNNNN.npz`` (sealed like a chunk file), within
:data:`SPIKES_BUDGET_BYTES` for the run, and the run pass's chunk takes them instead of
simulating its neurons again; each file goes once its chunk's file is written.
:func:`trace_arrays` and :func:`trace_from_arrays` convert exactly (every array as it
is, dtypes included).
"""

from __future__ import annotations

import numpy as np

from canmore_sim.cores.trace import LayerSpikes, SpikeTrace

__all__ = ["SPIKES_BUDGET_BYTES", "trace_arrays", "trace_from_arrays"]

#: Most bytes of spike files a run keeps at once (VGG16: about 1.3 MB per frame, so the
#: spikes of some 800 frames); chunks beyond it simulate their neurons again.
SPIKES_BUDGET_BYTES = 1 << 30

_PREFIX = "spikes_"


def trace_arrays(trace: SpikeTrace) -> dict[str, np.ndarray]:
    """``trace`` as ``spikes_*`` arrays (per layer: frame, neuron, time and, where there
    is one, deadline; the per-frame fields; ``tw`` and ``end_time``, NaN for None)."""
    out = {f"{_PREFIX}n_frames": np.array(trace.n_frames, dtype=np.int64),
           f"{_PREFIX}tw": np.array(trace.tw, dtype=np.float64),
           f"{_PREFIX}end_time": np.array(np.nan if trace.end_time is None
                                          else trace.end_time, dtype=np.float64),
           f"{_PREFIX}depth": np.array(len(trace.layers), dtype=np.int64),
           f"{_PREFIX}neuron_spikes": trace.neuron_spikes, f"{_PREFIX}readout": trace.readout,
           f"{_PREFIX}predictions": trace.predictions, f"{_PREFIX}labels": trace.labels}
    for l, layer in enumerate(trace.layers):
        for name in ("frame", "neuron", "time", "deadline"):
            value = getattr(layer, name)
            if value is not None:
                out[f"{_PREFIX}{l}_{name}"] = value
    return out


def trace_from_arrays(arrays: dict[str, np.ndarray]) -> SpikeTrace:
    """The :class:`~canmore_sim.cores.trace.SpikeTrace` of :func:`trace_arrays`'s arrays."""
    p = _PREFIX
    layers = tuple(
        LayerSpikes(arrays[f"{p}{l}_frame"], arrays[f"{p}{l}_neuron"], arrays[f"{p}{l}_time"],
                    arrays.get(f"{p}{l}_deadline"))
        for l in range(int(arrays[f"{p}depth"])))
    end = float(arrays[f"{p}end_time"])
    return SpikeTrace(n_frames=int(arrays[f"{p}n_frames"]), tw=float(arrays[f"{p}tw"]),
                      layers=layers, neuron_spikes=arrays[f"{p}neuron_spikes"],
                      readout=arrays[f"{p}readout"], predictions=arrays[f"{p}predictions"],
                      labels=arrays[f"{p}labels"], end_time=None if np.isnan(end) else end)
