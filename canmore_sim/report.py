"""Reports: a plain summary of a run, rendered as a terminal table and a JSON file.

:func:`summarize` turns a :class:`~canmore_sim.pipeline.RunResult` into plain
Python data (numbers, lists, strings); :func:`render_table` formats it for a
terminal (the library never prints: the CLI does); :func:`write_json` writes
it atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from canmore_sim import __version__
from canmore_sim.aggregates import aggregate
from canmore_sim.atomic import atomic_write_text, read_json
from canmore_sim.checks import result_warnings
from canmore_sim.report_aggregates import aggregate_lines, class_lines
from canmore_sim.report_timing import timing_lines, timing_summary

if TYPE_CHECKING:  # the pipeline (torch, SimPy) is only needed to summarize a run
    from canmore_sim.pipeline import RunResult

__all__ = ["by_router", "core_table", "finite", "read_report", "render_table", "summarize",
           "trust_lines", "write_json"]

#: Per-frame columns of the terminal table, in order: (key, header, format). Every
#: per-frame figure (these and more) is in report.json ``frames`` and frames.csv; the
#: README's "Report columns" defines each.
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


def _columns(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
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
            "meta": {k: v for k, v in result.graph.meta.items() if _jsonable(v)},
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
                         "unit": "rel" if result.energy_preset.model == "normalized" else "uJ"},
        "energy_reference": result.energy_reference,
        "accuracy": _accuracy(result),
        "mapping": _mapping_summary(result),
        "late_share": result.noc.late_share,
        "frames": frames,
        "mean": {k: float(np.mean(v)) for k, v in frames.items() if k not in IDENTITY},
        "std": {k: float(np.std(v)) for k, v in frames.items() if k not in IDENTITY},
        "layers": _layer_rows(result),
        "sparsity": _sparsity(result),
        "energy_per_layer": _energy_per_layer(result),
        "cores": _core_columns(result),
        "io_port": _io_port(result),
        "noc": _noc_summary(result),
    }
    summary["aggregates"] = aggregate(summary)  # from summary["frames"] alone (merged runs too)
    timing = timing_summary(result)
    if timing is not None:
        summary["timing"] = timing
    summary["warnings"] = result_warnings(summary)
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
    return {"float": accuracy(result.float_predictions), "quantized": trace.accuracy(),
            "prediction_changed": float(np.mean(result.float_predictions != trace.predictions)),
            "native_model": result.native_model or result.config.neuron.model,
            "native_float": accuracy(native), "frames_labelled": int(known.sum())}


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
        "float_prediction": result.float_predictions,
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
    for term, values in result.energy.terms.items():
        cols[f"energy_{term}_uj"] = values
    cols["energy_total_uj"] = result.energy.total_uj
    return {k: np.asarray(v).tolist() for k, v in cols.items()}


def _mapping_summary(result: RunResult) -> dict[str, Any]:
    m = result.mapping
    return {"cores": m.n_cores, "mesh": f"{m.chip_width}x{m.chip_height}",
            "chips": m.chips_used, "chip_grid": f"{m.chips_x}x{m.chips_y}",
            "routers": m.width * m.height, "placement": m.strategy,
            "interchip_hops": float(result.noc.interchip_hops.mean()),
            "cores_per_layer": np.bincount(m.groups.layer)[1:].tolist(),
            "core_xy": np.stack([m.x, m.y], axis=1).tolist()}


def _layer_rows(result: RunResult) -> list[dict[str, Any]]:
    from canmore_sim.frame_noc import into_weight_layers

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
    }


def _io_port(result: RunResult) -> dict[str, Any]:
    """The I/O port: it sends the input spikes and receives the readouts (mean per frame)."""
    x, y = result.config.traffic.io_router
    return {"x": x, "y": y,
            "spikes_out": float(result.trace.layers[0].counts(result.n_frames).mean()),
            "packets_injected": float(result.noc.io_injected.mean()),
            "packets_ejected": float(result.noc.io_ejected.mean())}


def _noc_summary(result: RunResult) -> dict[str, Any]:
    from canmore_sim.noc.stats import PORTS

    noc, m, n = result.noc, result.mapping, result.n_frames
    hops, unicast = float(noc.hops.mean()), float(noc.unicast_hops.mean())
    edges, counts = noc.latency_hist_ns
    return {
        "routers": [m.width, m.height],
        "direction_flits": dict(zip(PORTS, (noc.link_flits.sum(axis=0) / n).tolist(),
                                    strict=True)),
        "multicast": result.config.traffic.multicast,
        "unicast_equivalent_hops": unicast,
        "multicast_saving": 1.0 - hops / unicast if unicast else 0.0,
        "interchip_hops": float(noc.interchip_hops.mean()),
        "router_flits": _by_port(noc.link_flits / n),
        "router_wait_ns": _by_port(noc.router_wait_ns / n),
        "occupancy_mean": _by_port(noc.occupancy_mean),
        "occupancy_max": _by_port(noc.occupancy_max),
        "congested_ports": _congested(noc.router_wait_ns / n, noc.occupancy_max, m.width),
        "busiest_links": _busiest(noc.link_flits / n, m.width, result),
        "latency_histogram": {"edges_ns": edges.tolist(), "counts": counts.tolist()},
    }


def _by_port(per_router: np.ndarray) -> dict[str, list[float]]:
    """A ``(n_routers, 5)`` array as ``{port: [value per router]}`` (ports of :data:`PORTS`)."""
    from canmore_sim.noc.stats import PORTS

    return {port: per_router[:, i].tolist() for i, port in enumerate(PORTS)}


def by_router(per_port: dict[str, list[Any]]) -> np.ndarray:
    """Inverse of the report's per-port mappings: a float ``(n_routers, 5)`` array (null: NaN)."""
    from canmore_sim.noc.stats import PORTS

    return np.array([per_port[port] for port in PORTS], dtype=np.float64).T


def _congested(wait: np.ndarray, occ_max: np.ndarray, width: int,
               top: int = 8) -> list[dict[str, Any]]:
    """The router input ports where packets waited longest (per frame)."""
    from canmore_sim.noc.stats import PORTS

    total = float(wait.sum()) or 1.0
    order = np.argsort(-wait, axis=None, kind="stable")[:top]
    rows = []
    for flat in order:
        router, port = divmod(int(flat), 5)
        if wait[router, port] <= 0:
            break
        rows.append({"router": router, "x": router % width, "y": router // width,
                     "port": PORTS[port], "wait_ns": float(wait[router, port]),
                     "share": float(wait[router, port]) / total,
                     "max_occupancy": int(occ_max[router, port])})
    return rows


def _busiest(flits: np.ndarray, width: int, result: RunResult,
             top: int = 8) -> list[dict[str, Any]]:
    """The router-to-router links that carried most flits, and how busy they were.

    Utilization: flits x the time one flit holds the link (router + link delay) over
    the mean frame latency.
    """
    from canmore_sim.noc.stats import PORTS

    r = result.config.router
    per_flit = r.router_delay_ns + r.link_delay_ns
    frame = float(np.mean(result.frame_latency_ns)) or 1.0
    links = flits[:, 1:]  # output ports N, E, S, W
    order = np.argsort(-links, axis=None, kind="stable")[:top]
    rows = []
    for flat in order:
        router, port = divmod(int(flat), 4)
        if links[router, port] <= 0:
            break
        rows.append({"router": router, "x": router % width, "y": router // width,
                     "direction": PORTS[port + 1], "flits": float(links[router, port]),
                     "utilization": float(links[router, port]) * per_flit / frame})
    return rows


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def render_table(summary: dict[str, Any], *, max_frames: int = 20, top_cores: int = 8) -> str:
    """Format a summary as a fixed-width terminal report.

    The title, the late share and every warning first; then per frame (with the mean),
    the figures over the frames (mean +- confidence interval, spread; accuracy with its
    interval; see :mod:`canmore_sim.report_aggregates`), per class, per layer, the
    busiest ``top_cores`` cores, the NoC, the energy line, and the warnings again at
    the end.
    """
    frames = summary["frames"]
    columns = _columns(summary)
    header = ["data idx"] + [h for _, h, _ in columns]
    rows = []
    for i in range(min(len(frames["data_index"]), max_frames)):
        rows.append([str(frames["data_index"][i])] + [_num(frames[k][i], fmt)
                                                     for k, _, fmt in columns])
    rows.append(["mean"] + ["" if k in IDENTITY else _num(summary["mean"][k], fmt)
                            for k, _, fmt in columns])
    trust = trust_lines(summary)
    classes = class_lines(summary)
    rule = (summary["model"].get("dta_rule") or {}).get("text")
    lines = [_title(summary), *trust, *([rule] if rule else []), *_summary_lines(summary),
             *timing_lines(summary), "",
             *_grid(header, rows), "", *aggregate_lines(summary), "",
             *classes, *([""] if classes else []),
             *_layer_table(summary["layers"], summary["energy_model"]),
             *_sparsity_lines(summary.get("sparsity"))]
    lines += ["", *core_table(summary, top_cores)]
    lines += ["", *_noc_lines(summary["noc"]), "", _energy_line(summary)]
    warnings = summary.get("warnings", [])
    if warnings:
        lines += ["", *(f"WARNING: {w['message']}" for w in warnings)]
    return "\n".join(lines)


def trust_lines(summary: dict[str, Any]) -> list[str]:
    """The late share (when any delivery was late) and every warning, one line each."""
    lines = []
    late = summary.get("late_share") or 0.0
    if late > 0:
        mean = summary["mean"]
        lines.append(f"LATE: {late:.1%} of deliveries arrived after their consumer's window "
                     f"closed ({mean['late']:,.0f} of {mean['deliveries']:,.0f} per frame)")
    lines += [f"WARNING: {w['message']}" for w in summary.get("warnings", [])]
    return lines


def core_table(summary: dict[str, Any], top: int = 8) -> list[str]:
    """The ``top`` busiest cores by SOPs (per frame), with the I/O port's share below."""
    cores = summary.get("cores")
    if not cores or not cores["core"] or top <= 0:
        return []
    sops = np.array(cores["sops"], dtype=np.float64)
    order = np.argsort(-np.nan_to_num(sops), kind="stable")[:top]
    total = float(np.nansum(sops)) or 1.0
    header = ["busiest cores", "layer", "router", "SOPs", "share", "spikes in", "spikes out",
              "pkts injected", "pkts ejected", "weights KiB"]
    body = [[f"core {cores['core'][i]}", str(cores["layer_name"][i]),
             f"({cores['x'][i]},{cores['y'][i]})", _num(cores["sops"][i], "{:,.0f}"),
             _num(sops[i] / total, "{:.1%}"), _num(cores["spikes_in"][i], "{:,.0f}"),
             _num(cores["spikes_out"][i], "{:,.0f}"),
             _num(cores["packets_injected"][i], "{:,.0f}"),
             _num(cores["packets_ejected"][i], "{:,.0f}"),
             _num(cores["weight_kib"][i], "{:,.1f}")] for i in order]
    io = summary.get("io_port")
    if io:
        body.append(["I/O port", "", f"({io['x']},{io['y']})", "", "", "",
                     _num(io["spikes_out"], "{:,.0f}"), _num(io["packets_injected"], "{:,.0f}"),
                     _num(io["packets_ejected"], "{:,.0f}"), ""])
    shown = f"top {len(order)} of {len(cores['core'])} cores by SOPs per frame; all in cores.csv"
    return [shown, *_grid(header, body)]


def _noc_lines(noc: dict[str, Any]) -> list[str]:
    flits = ", ".join(f"{k} {v:,.0f}" for k, v in noc["direction_flits"].items())
    lines = [f"flits per frame by output direction: {flits}"]
    if noc["multicast"]:
        lines.append(f"multicast: {noc['unicast_equivalent_hops']:,.0f} unicast hops become "
                     f"tree hops, saving {noc['multicast_saving']:.1%}; one packet per spike, "
                     "copied to every destination core (deliveries)")
    if noc["interchip_hops"]:
        lines.append(f"inter-chip hops per frame: {noc['interchip_hops']:,.0f}")
    header = ["where packets waited", "input port", "wait ns/frame", "share", "max flits"]
    rows = [[f"router ({r['x']},{r['y']})", r["port"], f"{r['wait_ns']:,.0f}",
             f"{r['share']:.1%}", str(r["max_occupancy"])] for r in noc["congested_ports"]]
    lines += ["", *_grid(header, rows)] if rows else ["no packet waited"]
    links = [[f"router ({r['x']},{r['y']})", r["direction"], f"{r['flits']:,.0f}",
              f"{r['utilization']:.1%}"] for r in noc.get("busiest_links", [])]
    if links:
        lines += ["", *_grid(["busiest links", "direction", "flits/frame", "utilization"],
                             links)]
    return lines


def _title(summary: dict[str, Any]) -> str:
    m, acc = summary["mapping"], summary["accuracy"]
    acc_text = ("" if acc["quantized"] is None else
                f"; accuracy float {acc['float']:.3f}, {summary['model']['weight_bits']}-bit "
                f"{acc['quantized']:.3f} ({acc['prediction_changed']:.1%} of predictions changed)")
    chips = (f" x {m['chips']} chips ({m['chip_grid']} grid, "
             f"{m.get('interchip_hops', 0):,.0f} inter-chip hops/frame)" if m["chips"] > 1 else "")
    spikes = summary["model"].get("spikes_from", "")
    spikes_text = f"; spikes from {spikes}" if summary["model"]["neuron"] != "dta-ttfs" else ""
    engine = f", NoC engine {summary.get('config', {}).get('run', {}).get('engine', '?')}"
    n_frames = len(summary["frames"]["data_index"])
    if summary["model"]["meta"].get("weights") == "synthetic":
        acc_note = "; SYNTHETIC WEIGHTS (accuracy is meaningless)"
        return (f"{summary['model']['spec']} ({summary['model']['meta'].get('zoo', '')}, "
                f"synthetic weights) on {m['mesh']} mesh{chips}: {m['cores']} cores, "
                f"placement {m['placement']}{engine}, {n_frames} frames{acc_note}"
                f"{spikes_text}")
    return (f"{summary['model']['spec']} on {m['mesh']} mesh{chips}: {m['cores']} cores, "
            f"placement {m['placement']}{engine}, {n_frames} frames{acc_text}"
            f"{spikes_text}")


def _layer_table(layers: list[dict[str, Any]], energy: dict[str, Any]) -> list[str]:
    terms = [t for t in energy["terms"] if any(f"energy_{t}_uj" in r for r in layers)]
    header = ["layer", "shape", "neurons", "cores", "weights KiB", "fired", "fired %", "sent",
              "SOPs", "packets in", "deliveries in", "hops in",
              *(f"E_{t} {energy['unit']}" for t in terms)]
    rows = [[f"{r['layer']} {r['name']}", "x".join(map(str, r["shape"])), f"{r['neurons']:,}",
             str(r["cores"]), f"{r['weight_kib']:.1f}", f"{r['neurons_fired']:,.0f}",
             _num(r.get("fired_fraction"), "{:.1%}"),
             f"{r['spikes_sent']:,.0f}", f"{r['sops']:,.0f}", f"{r['packets_in']:,.0f}",
             f"{r['deliveries_in']:,.0f}", f"{r['hops_in']:,.0f}",
             *(_num(r.get(f"energy_{t}_uj"), "{:,.4f}") for t in terms)]
            for r in layers]
    return _grid(header, rows)


def _sparsity_lines(sparsity: dict[str, Any] | None) -> list[str]:
    """The official-definition sparsity under the per-layer table (absent in old reports)."""
    if not sparsity or sparsity.get("official") is None:
        return []
    return [f"sparsity (official DTA-TTFS definition: hidden spikes + "
            f"{sparsity['output_neurons']:,} output neurons, over {sparsity['neurons']:,} "
            f"neurons): {sparsity['official']:.4f} per frame (std {sparsity['std']:.4f}; "
            f"{sparsity['spikes']:,.0f} spikes)"]


def _num(value: Any, fmt: str) -> str:
    """Format a number, or "-" for a value that is missing or was not finite (null)."""
    return "-" if value is None else fmt.format(value)


def _summary_lines(summary: dict[str, Any]) -> list[str]:
    """The figures read first (means per frame), a few lines above the detail tables."""
    mean, m, acc = summary["mean"], summary["mapping"], summary["accuracy"]
    accuracy = ("no labels" if acc["quantized"] is None else
                f"{summary['model']['weight_bits']}-bit {acc['quantized']:.3f}, float "
                f"{_num(acc['float'], '{:.3f}')}")
    late = summary.get("late_share")
    return ["summary, mean per frame:",
            f"  {_energy_line(summary)}",
            f"  {m['cores']} cores on {m['chips']} chip(s) of {m['mesh']} routers; "
            f"{_num(mean['sops'], '{:,.0f}')} SOPs, {_num(mean['packets'], '{:,.0f}')} packets, "
            f"{_num(mean['deliveries'], '{:,.0f}')} deliveries, {_num(mean['hops'], '{:,.0f}')} "
            f"hops; frame latency {_num(mean['frame_latency_ns'], '{:,.0f}')} ns",
            f"  accuracy {accuracy}; late deliveries {_num(late, '{:.1%}')}"]


def _energy_line(summary: dict[str, Any]) -> str:
    e = summary["energy_model"]
    mean, unit = summary["mean"], e["unit"]
    total = mean["energy_total_uj"] or 1.0
    shown = []
    for t in e["terms"]:
        value = mean[f"energy_{t}_uj"]
        share = None if value is None else value / total
        shown.append(f"{t} {_num(value, '{:.4g}')} {unit} ({_num(share, '{:.0%}')})")
    parts = ", ".join(shown)
    total_text = f"{_num(mean['energy_total_uj'], '{:.4g}')} {unit}/frame"
    reference = e.get("resolved", {}).get("reference")
    ref_text = (f"; 1 rel = {reference} (frame latency {e['resolved']['latency_ref_ns']:,.0f} ns,"
                f" {e['resolved']['spikes_ref']:,.0f} neurons fired per frame)"
                if reference else "")
    return f"energy ({e['preset']}, {e['source']}): {total_text} = {parts}{ref_text}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def render_inspect(rows: list[dict[str, Any]], title: str) -> str:
    """The layer table of ``canmore-sim inspect``."""
    header = ["layer", "kind", "input", "output", "pool", "neurons", "synapses", "FLOPs",
              "cores", "weights KiB"]
    body = [[f"{r['layer']} {r['name']}".strip(), r["kind"], r["input"], r["neurons_shape"],
             str(r["pool"]), f"{r['neurons']:,}", f"{r['synapses']:,}", f"{r['flops']:,}",
             f"{r['cores']:,}", f"{r['weight_kib']:,.1f}"] for r in rows]
    return "\n".join([title, "", *_grid(header, body)])


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, +-inf) replaced by None, recursively.

    JSON has no NaN: a report with one would not load in a strict reader (a browser's
    ``JSON.parse``, jq), so a figure that has no value is written as ``null``.
    """
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.generic):
        return finite(value.item())
    return value


def write_json(summary: dict[str, Any], path: str | Path) -> Path:
    """Write the summary as indented, strictly valid JSON (NaN -> null), atomically."""
    text = json.dumps(finite(summary), indent=2, sort_keys=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def read_report(path: str | Path) -> dict[str, Any]:
    """Load a report.json written by :func:`write_json`.

    Raises
    ------
    CanmoreError
        (a DataError) if the file is missing, not JSON, not a canmore-sim report, or
        damaged (a key the renderers read is missing, of the wrong type or inconsistent;
        see :mod:`canmore_sim.report_check`).
    """
    from canmore_sim.errors import DataError
    from canmore_sim.report_check import check_report

    return check_report(read_json(path, DataError, "report"), str(path))
