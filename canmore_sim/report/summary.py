"""Reports: a plain summary of a run, rendered as a terminal table and a JSON file.

:func:`summarize` turns a :class:`~canmore_sim.run.pipeline.RunResult` into plain
Python data (numbers, lists, strings); :func:`~canmore_sim.report.text.render_table`
formats it for a terminal (the library never prints: the CLI does);
:func:`~canmore_sim.report.report_json.write_json` writes it atomically (it and the
readers of report.json are importable from here too).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim import __version__
from canmore_sim.report.aggregates import aggregate
from canmore_sim.report.layers import with_shares
from canmore_sim.report.noc_summary import by_router, noc_summary
from canmore_sim.report.notices import notices
from canmore_sim.report.replay import replay_section
from canmore_sim.report.report_json import (
    finite,
    jsonable,
    read_reference,
    read_report,
    write_json,
)
from canmore_sim.report.timing import timing_summary
from canmore_sim.report.trust import result_warnings

if TYPE_CHECKING:  # the pipeline (torch, SimPy) is only needed to summarize a run
    from canmore_sim.run.pipeline import RunResult

__all__ = ["by_router", "finite", "frame_table_columns", "read_reference", "read_report",
           "summarize", "write_json"]

#: Per-frame columns of the terminal table, in order: (key, header, format). Every
#: per-frame figure (these and more) is in report.json ``frames`` and frames.csv; the
#: documentation's docs/reference/report-columns.md defines each.
FRAME_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("label", "label", "{:.0f}"),
    ("prediction", "pred", "{:.0f}"),
    ("neurons_fired", "fired", "{:,.0f}"),
    ("spikes_sent", "sent", "{:,.0f}"),
    ("sops", "SOPs", "{:,.0f}"),
    ("packets", "packets", "{:,.0f}"),
    ("deliveries", "deliveries", "{:,.0f}"),
    ("hops", "hops", "{:,.0f}"),
    ("latency_mean_ns", "lat mean ns", "{:,.1f}"),
    ("wait_mean_ns", "wait mean ns", "{:,.1f}"),
    ("wait_sum_ns", "wait sum ns", "{:,.0f}"),
    ("late", "late", "{:,.0f}"),
    ("frame_latency_ns", "frame ns", "{:,.0f}"),
)

#: Per-frame keys that identify a frame rather than measure it: no mean or spread.
IDENTITY = ("data_index", "label", "prediction", "float_prediction")


def frame_table_columns(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Frame columns plus the total energy (its terms are in the energy line)."""
    unit = summary["energy_model"]["unit"]
    return [*FRAME_COLUMNS, ("energy_total_uj", f"E {unit}", "{:,.3f}")]


def summarize(result: RunResult) -> dict[str, Any]:
    """All numbers of a run as plain data (the content of report.json)."""
    from canmore_sim.cores.models import describe_dta_rule, describe_model

    frames = _frame_columns(result)
    graph = result.quantized
    summary = {
        "tool": {"name": "canmore-sim", "version": __version__},
        "model": {
            "spec": graph.spec,
            "source": str(graph.meta.get("source", "")),
            "meta": {k: v for k, v in result.graph.meta.items() if jsonable(v)},
            "neuron": result.config.neuron.model,
            "spikes_from": describe_model(result.quantized, result.config.neuron),
            "neuron_steps": (result.config.neuron.steps
                             if result.config.neuron.model != "dta-ttfs" else None),
            "weight_bits": result.config.core.weight_bits,
            "dta_rule": (describe_dta_rule(result.quantized, result.config.neuron)
                         if result.config.neuron.model == "dta-ttfs" else None),
        },
        "config": result.config.model_dump(mode="json"),
        "energy_model": {"preset": result.energy_preset.name,
                         "model": result.energy_preset.model,
                         "source": result.energy_preset.source,
                         "params": result.energy_preset.params,
                         "resolved": result.energy.params,
                         "terms": list(result.energy.terms),
                         "unit": "rel" if result.energy_preset.model == "normalized" else "uJ",
                         "depends": _depends(result)},
        "energy_reference": result.energy_reference,
        "accuracy": _accuracy(result),
        "mapping": _mapping_summary(result),
        "area": None if result.area is None else result.area.as_dict(),
        "late_share": result.noc.late_share,
        "frames": frames,
        "mean": {k: _mean(v, result) for k, v in frames.items() if k not in IDENTITY},
        "std": {k: _std(v, result) for k, v in frames.items() if k not in IDENTITY},
        "layers": with_shares(_layer_rows(result), list(result.energy.terms)),
        "sparsity": _sparsity(result),
        "energy_per_layer": _energy_per_layer(result),
        "cores": _core_columns(result),
        "io_port": _io_port(result),
        "noc": noc_summary(result),
    }
    replay = replay_section(result, frames)
    if replay is not None:
        summary["replay"] = replay
    for key in ("window", "provenance"):  # how the window was set; what model and data ran
        record = result.extra.get(key)
        if isinstance(record, dict):
            summary[key] = record
    summary["aggregates"] = aggregate(summary)  # from summary["frames"] alone (merged runs too)
    timing = timing_summary(result)
    if timing is not None:
        summary["timing"] = timing
    summary["warnings"] = result_warnings(summary)
    summary["notices"] = notices(summary)
    return summary


def _accuracy(result: RunResult) -> dict[str, Any]:
    """Accuracy of the float and quantized weights, and of the network's own model.

    ``quantized`` is the ideal answer of the quantized weights (under closed-loop timing,
    what the chip computed is the ``timing`` section's ``accuracy_on_chip``).
    """
    trace = result.trace if result.timing is None else result.timing.ideal
    known = trace.labels >= 0

    def accuracy(predictions: np.ndarray) -> float | None:
        return float(np.mean(predictions[known] == trace.labels[known])) if known.any() else None

    native = (result.float_predictions if result.native_predictions is None
              else result.native_predictions)
    floats = result.float_predictions  # None: no float pass (synthetic weights)
    return {"float": None if floats is None else accuracy(floats),
            "quantized": trace.accuracy(),
            "prediction_changed": (None if floats is None
                                   else float(np.mean(floats != trace.predictions))),
            "native_model": result.native_model or result.config.neuron.model,
            "native_float": None if native is None else accuracy(native),
            "frames_labelled": int(known.sum())}


def _energy_per_layer(result: RunResult) -> dict[str, list[float]]:
    """Mean energy per frame of every weight layer, by term and in total.

    How each term is split between layers is the energy model's (see
    :mod:`canmore_sim.energy`): for Eq. 12, SOPs by the layer's SOPs, hops by the hops
    of packets into the layer, static energy by the layer's share of the cores.
    """
    layer_terms = result.energy.layer_terms or {}
    out = {term: values.mean(axis=0).tolist() for term, values in layer_terms.items()}
    if layer_terms:
        out["total"] = np.sum([v.mean(axis=0) for v in layer_terms.values()], axis=0).tolist()
    return out


def _sparsity(result: RunResult) -> dict[str, Any]:
    """Sparsity as the official DTA-TTFS code defines it, mean and spread over frames."""
    from canmore_sim.cores.stats import official_sparsity

    g = result.quantized
    neurons = np.array([layer.n_neurons for layer in g.layers])
    values = official_sparsity(result.trace, neurons)
    return {"official": float(values.mean()), "std": float(values.std()),
            "spikes": float(values.mean() * neurons.sum()), "neurons": int(neurons.sum()),
            "output_neurons": int(neurons[-1]),
            "definition": "(spikes of all hidden layers + output neurons, counted as "
                          "spiking) / neurons of all weight layers (official DTA-TTFS code)"}


def _frame_columns(result: RunResult) -> dict[str, list[Any]]:
    from canmore_sim.cores.stats import official_sparsity

    noc = result.noc
    cols: dict[str, np.ndarray] = {
        "data_index": result.frame_ids,
        "label": result.trace.labels,
        "prediction": result.trace.predictions,
        "float_prediction": (result.trace.predictions if result.float_predictions is None
                             else result.float_predictions),  # (removed below when None)
        "neurons_fired": result.trace.neuron_spikes.sum(axis=1),
        "spikes_sent": result.spikes,
        "sparsity": official_sparsity(result.trace, np.array(
            [layer.n_neurons for layer in result.quantized.layers])),
        "sops": result.cores.sops_per_frame,
        "packets": noc.packets,
        "deliveries": noc.deliveries,
        "hops": noc.hops,
        "interchip_hops": noc.interchip_hops,
        "latency_mean_ns": noc.latency_mean_ns,
        "latency_max_ns": noc.latency_max_ns,
        "zero_load_mean_ns": noc.zero_load_mean_ns,
        "wait_sum_ns": noc.wait_sum_ns,
        "wait_mean_ns": noc.wait_mean_ns,
        "late": noc.late,
        "late_share": np.divide(noc.late, noc.deliveries, out=np.zeros(len(noc.late)),
                                where=noc.deliveries > 0),
        "late_max_ns": noc.late_max_ns,
        "frame_latency_ns": result.frame_latency_ns,
    }
    if noc.replayed is not None and noc.sampled:  # a frame not replayed: no timing (null)
        for key in ("late", "late_share"):
            cols[key] = np.where(noc.replayed, cols[key], np.nan)
    if result.float_predictions is None:  # no float pass (synthetic weights): no column
        del cols["float_prediction"]
    for term, values in result.energy.terms.items():
        cols[f"energy_{term}_uj"] = values
    cols["energy_total_uj"] = result.energy.total_uj
    if result.cores.effective_sops is not None:  # non-zero weights only (NeuroBench)
        cols["effective_sops"] = result.cores.effective_sops.sum(axis=1)
    return {k: np.asarray(v).tolist() for k, v in cols.items()}


def _depends(result: RunResult) -> dict[str, list[str]]:
    """For every energy term, what it grows with: activity, time (the frame latency),
    size (the chip grid's parts); an empty list is a constant per frame."""
    from canmore_sim.energy import term_dependence

    depends = term_dependence(result.energy_preset)
    return {term: list(depends.get(term, ())) for term in result.energy.terms}


def _mean(values: list[Any], result: RunResult) -> float:
    """Mean of a frame column (of the replayed frames for a timing column of a sample)."""
    if result.noc.sampled:
        with warnings.catch_warnings():  # a column without a value (replay none): NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(np.nanmean(np.asarray(values, dtype=np.float64)))
    return float(np.mean(values))


def _std(values: list[Any], result: RunResult) -> float:
    """Standard deviation of a frame column (as :func:`_mean`)."""
    if result.noc.sampled:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(np.nanstd(np.asarray(values, dtype=np.float64)))
    return float(np.std(values))


def _mapping_summary(result: RunResult) -> dict[str, Any]:
    m = result.mapping
    return {"cores": m.n_cores, "mesh": f"{m.chip_width}x{m.chip_height}",
            "chips": m.chips_used, "chip_grid": f"{m.chips_x}x{m.chips_y}",
            "routers": m.width * m.height, "placement": m.strategy,
            "interchip_hops": float(result.noc.interchip_hops.mean()),
            "cores_per_layer": np.bincount(m.groups.layer)[1:].tolist(),
            "core_xy": np.stack([m.x, m.y], axis=1).tolist()}


def _layer_rows(result: RunResult) -> list[dict[str, Any]]:
    from canmore_sim.run.frame_noc import into_weight_layers

    g, groups, noc = result.quantized, result.mapping.groups, result.noc
    into = {name: into_weight_layers(values).mean(axis=0) for name, values in (
        ("packets_in", noc.packets_per_layer), ("deliveries_in", noc.deliveries_per_layer),
        ("hops_in", noc.hops_per_layer), ("interchip_hops_in", noc.interchip_per_layer))}
    rows = []
    for l, layer in enumerate(g.layers, start=1):
        spikes_sent = (result.trace.layers[l].counts(result.n_frames).mean()
                       if l < len(result.trace.layers) else 0.0)
        rows.append({
            "layer": l, "name": layer.name, "kind": layer.kind,
            "shape": list(layer.out_shape), "neurons": layer.n_neurons,
            "synapses": layer.synapses, "cores": int(np.sum(groups.layer == l)),
            "weight_kib": float(groups.weight_bits[groups.layer == l].sum() / 8192),
            "neurons_fired": float(result.trace.neuron_spikes[:, l].mean()),
            "fired_fraction": float(result.trace.neuron_spikes[:, l].mean() / layer.n_neurons),
            "spikes_sent": float(spikes_sent),
            "sops": float(result.cores.sops_per_layer[:, l - 1].mean()),
            **{name: float(values[l - 1]) for name, values in into.items()},
            **{f"energy_{term}_uj": float(values[:, l - 1].mean())
               for term, values in (result.energy.layer_terms or {}).items()},
        })
        if result.cores.effective_sops_per_layer is not None:
            rows[-1]["effective_sops"] = float(
                result.cores.effective_sops_per_layer[:, l - 1].mean())
    return rows


def _core_columns(result: RunResult) -> dict[str, list[Any]]:
    """One entry per core (columnar): where it sits and what it did, mean per frame.

    Cores plus :func:`_io_port` add up to the frame totals: SOPs, spikes sent (the I/O
    port sends the input spikes), packets injected, deliveries ejected.
    """
    m, cores, noc = result.mapping, result.cores, result.noc
    names = [layer.name for layer in result.quantized.layers]
    return {
        "core": list(range(m.n_cores)),
        "layer": m.groups.layer.tolist(),
        "layer_name": [names[l - 1] for l in m.groups.layer.tolist()],
        "x": m.x.tolist(), "y": m.y.tolist(), "chip": m.chip.tolist(),
        "neurons": m.groups.neurons.tolist(),
        "sops": cores.sops.mean(axis=0).tolist(),
        "spikes_in": cores.spikes_in.mean(axis=0).tolist(),
        "spikes_out": cores.spikes_out.mean(axis=0).tolist(),
        "packets_injected": noc.core_injected.mean(axis=0).tolist(),
        "packets_ejected": noc.core_ejected.mean(axis=0).tolist(),
        "weight_kib": (cores.weight_bits / 8192).tolist(),
        **({} if cores.effective_sops is None else
           {"effective_sops": cores.effective_sops.mean(axis=0).tolist()}),
        **({} if result.area is None else
           {"area_um2": [result.area.core_um2 + result.area.router_um2] * m.n_cores}),
    }


def _io_port(result: RunResult) -> dict[str, Any]:
    """The I/O port: it sends the input spikes and receives the readouts (mean per frame)."""
    x, y = result.config.traffic.io_router
    return {"x": x, "y": y,
            "spikes_out": float(result.trace.layers[0].counts(result.n_frames).mean()),
            "packets_injected": float(result.noc.io_injected.mean()),
            "packets_ejected": float(result.noc.io_ejected.mean())}
