"""One chunk of a map run's frames, run anywhere: the task a worker runs and the file it
becomes.

A chunk task is plain data (:func:`chunk_task`): where the model and the frames come
from, the resolved configuration, the mapping and the data-set indices of the chunk's
frames. :func:`run_chunk` (run in a worker process, on a Dask worker or here) loads the
model and the data once per process, simulates the chunk through
:func:`canmore_sim.run.pipeline.run` with the run's fixed mapping, and returns its
*counts* as columnar numpy arrays (:data:`PER_FRAME` per frame; per-router sums and
maxima; the delivery latencies as exact 1-ns bin counts), never its SpikeTrace or
NocStats. Energy is not priced here (count first, price later: a normalized model's
reference is a mean over all frames). :func:`neuron_counts_task` /
:func:`run_neuron_counts` are the neuron-only pass that measured placement needs.

Chunk files (``NNNNN.npz``) hold those arrays and a sealed record of the chunk's
identity (everything that determines it, see :func:`chunk_identity`) with a checksum
over every array; :func:`read_chunk` reuses a file only when both match.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim.chunked.spikes import trace_arrays, trace_from_arrays
from canmore_sim.chunked.timing import chunk_arrays
from canmore_sim.datasets.inputs import frame_options
from canmore_sim.run.source import ModelSource

if TYPE_CHECKING:
    from canmore_sim.mapper.placement import Mapping
    from canmore_sim.run.replay import ReplayPlan

__all__ = ["NOC_PER_FRAME", "PER_FRAME", "TRACE_COLUMNS", "chunk_task",
           "forget_contexts", "neuron_counts_task", "run_chunk",
           "run_neuron_counts", "run_task", "traffic_arrays", "window_task"]

#: Per-frame fields of :class:`~canmore_sim.run.frame_noc.FrameNoc` a chunk keeps.
NOC_PER_FRAME = ("packets", "deliveries", "hops", "latency_mean_ns", "latency_max_ns",
                 "zero_load_mean_ns", "wait_sum_ns", "late", "late_max_ns", "end_ns",
                 "unicast_hops", "interchip_hops", "io_injected", "io_ejected",
                 "hops_per_layer", "interchip_per_layer", "packets_per_layer",
                 "deliveries_per_layer", "core_injected", "core_ejected", "replayed")
#: Arrays of a chunk with one row per frame (merged by concatenation, in chunk order).
PER_FRAME = ("ids", "labels", "predictions", "readout", "float_predictions",
             "native_predictions", "neuron_spikes", "sent", "sops", "spikes_in",
             "spikes_out", "sops_per_layer", "effective_sops", "effective_sops_per_layer",
             "frame_latency_ns", "input_positive", "input_negative", *NOC_PER_FRAME)


# ----------------------------------------------------------------------------- tasks


def chunk_task(index: int, ids: np.ndarray, *, source: ModelSource, model_identity: str,
               data: str | None, config: dict[str, Any], mapping: Mapping,
               mapping_key: str, trace: bool = False,
               replay: ReplayPlan | None = None) -> dict[str, Any]:
    """The plain-data task of chunk ``index`` (its frames: data-set indices ``ids``;
    ``trace``: also return every frame's traffic, :func:`traffic_arrays`; ``replay``: the
    run's replay plan over them, default every frame)."""
    return {"kind": "run", "index": index, "ids": np.asarray(ids, dtype=np.int64),
            "source": source, "model_identity": model_identity, "data": data,
            "config": config, "mapping": mapping, "mapping_key": mapping_key, "trace": trace,
            "replay": replay}


def neuron_counts_task(index: int, ids: np.ndarray, *, source: ModelSource,
                       model_identity: str, data: str | None,
                       config: dict[str, Any]) -> dict[str, Any]:
    """The task of one chunk of the neuron-only pass (spikes per neuron, for placement)."""
    return {"kind": "counts", "index": index, "ids": np.asarray(ids, dtype=np.int64),
            "source": source, "model_identity": model_identity, "data": data,
            "config": config}


def window_task(index: int, ids: np.ndarray, *, source: ModelSource, model_identity: str,
                data: str | None, config: dict[str, Any], mapping: Mapping,
                keep_spikes: bool = False) -> dict[str, Any]:
    """The task of one chunk of the window pass (``neuron.window_ns: auto`` over several
    chunks: each chunk's largest per-layer needs, :mod:`canmore_sim.noc.window`;
    ``keep_spikes``: its spikes too, for the run pass)."""
    return {"kind": "window", "index": index, "ids": np.asarray(ids, dtype=np.int64),
            "source": source, "model_identity": model_identity, "data": data,
            "config": config, "mapping": mapping, "keep_spikes": keep_spikes}


@dataclass
class _Context:
    """What a worker process keeps between chunks of one run: the float network, the data
    split and (made on first use) the quantized network, as integer codes."""

    graph: Any
    images: tuple[np.ndarray, np.ndarray] | None
    quantized_network: Any = None

    def quantized(self, config: Any) -> Any:
        """The quantized network (compact integer codes, the same values; made once)."""
        from canmore_sim.models.quantize import quantize_graph

        if self.quantized_network is None:
            self.quantized_network = quantize_graph(self.graph, config.core.weight_bits,
                                                    config.core.quant_scale == "channel",
                                                    compact=True)
        return self.quantized_network


_CONTEXTS: dict[tuple[str, str | None], _Context] = {}
_LOCK = threading.Lock()


def _context(task: dict[str, Any], config: Any, graph: Any = None,
             quantized: Any = None) -> _Context:
    """The network and the data split, loaded once per process (``graph``: the network
    this process loaded already, used instead of loading it again; ``quantized``: its
    quantized form, likewise)."""
    from canmore_sim.datasets.readers import read_split

    key = (task["model_identity"] + "|" + str(config.core.weight_bits) + config.core.quant_scale,
           task["data"])
    with _LOCK:
        found = _CONTEXTS.get(key)
        if found is None or (graph is not None and found.graph is not graph):
            _CONTEXTS.clear()  # one run at a time per process: keep memory bounded
            graph = task["source"].load() if graph is None else graph
            found = _Context(graph, None if "frames" in task  # shipped: no data files here
                             else read_split(task["data"], graph.input_shape))
            _CONTEXTS[key] = found
        if quantized is not None and found.quantized_network is None:
            found.quantized_network = quantized
        return found


def forget_contexts() -> None:
    """Drop what this process keeps between chunks (after a run, or once a chunk has
    released the network's weights)."""
    with _LOCK:
        _CONTEXTS.clear()


def run_chunk(task: dict[str, Any], progress: Any = None, *, graph: Any = None,
              quantized: Any = None, release_weights: bool = False) -> dict[str, np.ndarray]:
    """Simulate one chunk; its counts as columnar arrays (see the module docstring).

    Parameters
    ----------
    task
        From :func:`chunk_task`.
    progress
        Passed to :func:`canmore_sim.run.pipeline.run` (frames numbered within the chunk).
    graph
        The network, when this process has it loaded already (a run in this process).
    quantized
        ``graph`` quantized as the task's configuration says, when this process has it
        (default: quantized once per process and kept between its chunks).
    release_weights
        This is the last chunk this process runs with the network: let
        :func:`canmore_sim.run.pipeline.run` release its weights (``release_weights``) to save
        memory; the process then forgets its kept context.
    """
    from canmore_sim.config import ArchConfig, with_overrides
    from canmore_sim.run.pipeline import run

    # energy and area are priced after all chunks, by the client: count here under the
    # bundled presets (no reference run, no preset file read on a worker)
    config = with_overrides(ArchConfig.model_validate(task["config"]),
                            {"run.energy": "canmore-22nm", "run.energy_reference": None,
                             "run.area": "canmore-22nm"})
    ctx = _context(task, config, *_shipped(task, graph, quantized))
    frames, labels = _frames_of(task, ctx, config)
    observer = _NocSums()
    traffics: list[tuple[int, Any]] = []
    spikes = trace_from_arrays(task["spikes"]) if task.get("spikes") is not None else None
    result = run(ctx.graph, frames, labels, config, frame_ids=task["ids"], spikes=spikes,
                 mapping=task["mapping"], progress=progress, noc_observer=observer,
                 release_weights=release_weights, quantized=_kept_quantized(ctx, config),
                 traffic_observer=(lambda f, traffic: traffics.append((f, traffic)))
                 if task.get("trace") else None, replay=task.get("replay"))
    if release_weights:
        forget_contexts()
    extra = traffic_arrays(traffics, task["ids"]) if task.get("trace") else {}
    return {**_per_frame(result), **observer.arrays(result.noc.latency_bins),
            **chunk_arrays(result), **extra}


#: Columns of a chunk's traffic (``map --trace``), one row per delivery.
TRACE_COLUMNS = ("time_ns", "src", "dst", "spike", "layer", "deadline_ns", "sops")


def traffic_arrays(traffics: list[tuple[int, Any]], ids: np.ndarray) -> dict[str, np.ndarray]:
    """A chunk's frames' traffic as ``trace_*`` arrays: ``trace_frame`` (the data-set index
    of each row's frame), the :data:`TRACE_COLUMNS` and ``trace_mesh`` (width, height, chip
    width, chip height, multicast)."""
    out: dict[str, np.ndarray] = {
        "trace_frame": np.concatenate([np.full(len(t), ids[f], dtype=np.int64)
                                       for f, t in traffics] or [np.zeros(0, np.int64)])}
    for name in TRACE_COLUMNS:
        parts = [np.zeros(len(t), np.int64) if name == "sops" and t.sops is None
                 else getattr(t, name) for _, t in traffics]
        out[f"trace_{name}"] = np.concatenate(parts) if parts else np.zeros(0)
    t = traffics[0][1] if traffics else None
    out["trace_mesh"] = np.array([0, 0, 0, 0, 0] if t is None else
                                 [t.width, t.height, t.chip_width, t.chip_height,
                                  int(t.multicast)], dtype=np.int64)
    return out


def _kept_quantized(ctx: _Context, config: Any) -> Any:
    """The context's quantized network (integer codes) for a chunk's run; None where the
    run must quantize itself (:func:`canmore_sim.run.checks.needs_weight_arrays`)."""
    from canmore_sim.run.checks import needs_weight_arrays

    return None if needs_weight_arrays(config) else ctx.quantized(config)


def run_neuron_counts(task: dict[str, Any], *, graph: Any = None,
                      quantized: Any = None) -> dict[str, np.ndarray]:
    """Spikes per neuron and source layer of one chunk's frames under the quantized
    network (``layer_L`` arrays, int64) and ``n_frames`` (``graph``: as for
    :func:`run_chunk`; ``quantized`` likewise); for a :func:`window_task`, the chunk's
    largest per-layer needs instead (``pair_need_ns``), and with ``keep_spikes`` its
    spikes too (:func:`canmore_sim.chunked.spikes.trace_arrays`)."""
    from canmore_sim.config import ArchConfig
    from canmore_sim.cores.models import simulate_neurons

    config = ArchConfig.model_validate(task["config"])
    ctx = _context(task, config, *_shipped(task, graph, quantized))
    frames, labels = _frames_of(task, ctx, config)
    trace = simulate_neurons(ctx.quantized(config), frames, labels, config.neuron)
    if task["kind"] == "window":
        from canmore_sim.mapper.connectivity import layer_links
        from canmore_sim.noc.window import frames_pair_needs

        network, mapping = ctx.quantized(config), task["mapping"]
        links = [layer_links(network, mapping.groups, l) for l in range(network.depth)]
        kept = trace_arrays(trace) if task.get("keep_spikes") else {}
        return {"pair_need_ns": frames_pair_needs(trace, mapping, links, config), **kept}
    out = {f"layer_{l}": np.bincount(s.neuron).astype(np.int64)
           for l, s in enumerate(trace.layers)}
    out["n_frames"] = np.array(trace.n_frames, dtype=np.int64)
    return out


def _shipped(task: dict[str, Any], graph: Any, quantized: Any) -> tuple[Any, Any]:
    """The network (and its quantized form) this chunk runs: this process's own, else
    what the client shipped with the task (``network``: quantized, integer codes, once
    per run; ``graph``: the float network where a float pass or a re-quantization needs
    it), else (None, None): loaded here from the task's source."""
    if graph is not None or "network" not in task and "graph" not in task:
        return graph, quantized
    shipped = task.get("network")
    return (task["graph"] if task.get("graph") is not None else shipped), shipped


def _frames_of(task: dict[str, Any], ctx: _Context,
               config: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The chunk's frames and labels: shipped with the task, or read from its data."""
    from canmore_sim.datasets.readers import load_selected

    if "frames" in task:
        return task["frames"], task["labels"]
    return load_selected(task["data"], ctx.graph.input_shape, task["ids"], images=ctx.images,
                         **frame_options(config))


def run_task(task: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run a task of any kind (the function the executor sends to the workers)."""
    return run_chunk(task) if task["kind"] == "run" else run_neuron_counts(task)


def _per_frame(result: Any) -> dict[str, np.ndarray]:
    trace, cores, noc = result.trace, result.cores, result.noc
    n = trace.n_frames
    none = np.full(n, -1, dtype=np.int64)  # no float pass (synthetic weights): has_float
    floats = none if result.float_predictions is None else result.float_predictions
    native = floats if result.native_predictions is None else result.native_predictions
    out = {"ids": np.asarray(result.frame_ids, dtype=np.int64), "labels": trace.labels,
           "predictions": trace.predictions, "readout": trace.readout,
           "float_predictions": floats, "native_predictions": native,
           "has_float": np.array(result.float_predictions is not None),
           "has_native": np.array(result.native_predictions is not None),
           "native_model": np.array(result.native_model),
           "neuron_spikes": trace.neuron_spikes,
           "sent": np.stack([s.counts(n) for s in trace.layers], axis=1),
           "sops": cores.sops, "spikes_in": cores.spikes_in, "spikes_out": cores.spikes_out,
           "sops_per_layer": cores.sops_per_layer,
           "effective_sops": cores.effective_sops,
           "effective_sops_per_layer": cores.effective_sops_per_layer,
           "frame_latency_ns": result.frame_latency_ns,
           "link_flits": noc.link_flits, "router_wait_ns": noc.router_wait_ns,
           "occupancy_max": noc.occupancy_max, "tw": np.array(trace.tw),
           "end_time": np.array(np.nan if trace.end_time is None else trace.end_time),
           "input_positive": result.extra["inputs"]["positive"],
           "input_negative": result.extra["inputs"]["negative"],
           "window_need_ns": np.asarray(result.extra["window"].get("per_layer_need_ns", []),
                                        dtype=np.float64)}
    for key in NOC_PER_FRAME:
        out[key] = np.asarray(getattr(noc, key))
    if noc.replayed is None:  # every frame replayed
        out["replayed"] = np.ones(n, dtype=bool)
    return out


class _NocSums:
    """The time-averaged occupancies of a chunk's replayed frames, summed in frame order
    (their latency bins are the run's own, ``FrameNoc.latency_bins``)."""

    def __init__(self) -> None:
        self.occupancy: np.ndarray | None = None

    def __call__(self, stats: Any) -> None:
        if stats.mean_occupancy is not None:
            self.occupancy = (stats.mean_occupancy.astype(np.float64) if self.occupancy is None
                              else self.occupancy + stats.mean_occupancy)

    def arrays(self, bins: np.ndarray | None) -> dict[str, np.ndarray]:
        """The sums as chunk arrays, with the run's latency bins ``bins`` (a run's
        ``FrameNoc`` always has them; only a merged one has none)."""
        assert bins is not None
        occupancy = np.zeros(0) if self.occupancy is None else self.occupancy
        return {"occupancy_sum": occupancy, "latency_bins": bins}


# ----------------------------------------------------------------------------- files


