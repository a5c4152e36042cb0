"""Reports: a plain summary of a run, rendered as a terminal table and a JSON file.

:func:`summarize` turns a :class:`~canmore_sim.pipeline.RunResult` into plain
Python data (numbers, lists, strings); :func:`render_table` formats it for a
terminal (the library never prints: the CLI does); :func:`write_json` writes
it atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim import __version__
from canmore_sim.atomic import atomic_write_text, read_json
from canmore_sim.cores.models import describe_model
from canmore_sim.noc.stats import PORTS
from canmore_sim.pipeline import RunResult

__all__ = ["finite", "read_report", "render_table", "summarize", "write_json"]

#: Per-frame columns of the report, in table order: (key, header, format).
FRAME_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("spikes", "spikes", "{:,.0f}"),
    ("sops", "SOPs", "{:,.0f}"),
    ("packets", "packets", "{:,.0f}"),
    ("hops", "hops", "{:,.0f}"),
    ("latency_mean_ns", "pkt lat ns", "{:,.1f}"),
    ("wait_ns", "wait ns", "{:,.0f}"),
    ("late", "late", "{:,.0f}"),
    ("frame_latency_ns", "frame ns", "{:,.0f}"),
)


def _columns(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Frame columns plus one per energy term of the run's model, then the total."""
    unit = summary["energy_model"]["unit"]
    energy = [(f"energy_{t}_uj", f"E_{t} {unit}", "{:,.3f}")
              for t in summary["energy_model"]["terms"]]
    return [*FRAME_COLUMNS, *energy, ("energy_total_uj", f"E {unit}", "{:,.3f}")]


def summarize(result: RunResult) -> dict[str, Any]:
    """All numbers of a run as plain data (the content of report.json)."""
    frames = _frame_columns(result)
    trace = result.trace
    known = trace.labels >= 0
    acc_q = trace.accuracy()
    acc_f = (float(np.mean(result.float_predictions[known] == trace.labels[known]))
             if known.any() else None)
    graph = result.quantized
    return {
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
        },
        "config": result.config.model_dump(mode="json"),
        "energy_model": {"preset": result.energy_preset.name,
                         "model": result.energy_preset.model,
                         "source": result.energy_preset.source,
                         "params": result.energy_preset.params,
                         "resolved": result.energy.params,
                         "terms": list(result.energy.terms),
                         "unit": "rel" if result.energy_preset.model == "normalized" else "uJ"},
        "accuracy": {"float": acc_f, "quantized": acc_q,
                     "prediction_changed": float(np.mean(
                         result.float_predictions != trace.predictions))},
        "mapping": _mapping_summary(result),
        "frames": frames,
        "mean": {k: float(np.mean(v)) for k, v in frames.items() if k != "frame"},
        "std": {k: float(np.std(v)) for k, v in frames.items() if k != "frame"},
        "layers": _layer_rows(result),
        "energy_per_layer": _energy_per_layer(result),
        "noc": _noc_summary(result),
    }


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


def _frame_columns(result: RunResult) -> dict[str, list[Any]]:
    noc = result.noc
    cols: dict[str, np.ndarray] = {
        "frame": result.frame_ids,
        "label": result.trace.labels,
        "prediction": result.trace.predictions,
        "spikes": result.spikes,
        "neuron_spikes": result.trace.neuron_spikes.sum(axis=1),
        "sops": result.cores.sops_per_frame,
        "packets": noc.packets,
        "hops": noc.hops,
        "latency_mean_ns": noc.latency_mean_ns,
        "latency_max_ns": noc.latency_max_ns,
        "zero_load_mean_ns": noc.zero_load_mean_ns,
        "wait_ns": noc.wait_ns,
        "late": noc.late,
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
    g, groups = result.quantized, result.mapping.groups
    rows = []
    for l, layer in enumerate(g.layers, start=1):
        spikes_out = (result.trace.layers[l].counts(result.n_frames).mean()
                      if l < len(result.trace.layers) else 0.0)
        rows.append({
            "layer": l, "name": layer.name, "kind": layer.kind,
            "shape": list(layer.out_shape), "neurons": layer.n_neurons,
            "synapses": layer.synapses, "cores": int(np.sum(groups.layer == l)),
            "weight_kib": float(groups.weight_bits[groups.layer == l].sum() / 8192),
            "neuron_spikes": float(result.trace.neuron_spikes[:, l].mean()),
            "spikes_out": float(spikes_out),
            "sops": float(result.cores.sops_per_layer[:, l - 1].mean()),
            "hops_in": float(result.noc.hops_per_layer[:, l - 1].mean()),
            **{f"energy_{term}_uj": float(values[:, l - 1].mean())
               for term, values in (result.energy.layer_terms or {}).items()},
        })
    return rows


def _noc_summary(result: RunResult) -> dict[str, Any]:
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
        "router_flits": (noc.link_flits / n).tolist(),
        "router_wait_ns": (noc.router_wait_ns / n).tolist(),
        "occupancy_mean": noc.occupancy_mean.tolist(),
        "occupancy_max": noc.occupancy_max.tolist(),
        "congested_ports": _congested(noc.router_wait_ns / n, noc.occupancy_max, m.width),
        "busiest_links": _busiest(noc.link_flits / n, m.width, result),
        "latency_histogram": {"edges_ns": edges.tolist(), "counts": counts.tolist()},
    }


def _congested(wait: np.ndarray, occ_max: np.ndarray, width: int,
               top: int = 8) -> list[dict[str, Any]]:
    """The router input ports where packets waited longest (per frame)."""
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


def render_table(summary: dict[str, Any], *, max_frames: int = 20) -> str:
    """Format a summary as a fixed-width terminal report (per frame, mean, per layer)."""
    frames = summary["frames"]
    columns = _columns(summary)
    header = ["frame"] + [h for _, h, _ in columns]
    rows = []
    for i in range(min(len(frames["frame"]), max_frames)):
        rows.append([str(frames["frame"][i])] + [_num(frames[k][i], fmt)
                                                for k, _, fmt in columns])
    rows.append(["mean"] + [_num(summary["mean"][k], fmt) for k, _, fmt in columns])
    rows.append(["std"] + [_num(summary["std"][k], fmt) for k, _, fmt in columns])
    lines = [_title(summary), "", *_grid(header, rows), "",
             *_layer_table(summary["layers"], summary["energy_model"])]
    lines += ["", *_noc_lines(summary["noc"]), "", _energy_line(summary)]
    return "\n".join(lines)


def _noc_lines(noc: dict[str, Any]) -> list[str]:
    flits = ", ".join(f"{k} {v:,.0f}" for k, v in noc["direction_flits"].items())
    lines = [f"flits per frame by output direction: {flits}"]
    if noc["multicast"]:
        lines.append(f"multicast: {noc['unicast_equivalent_hops']:,.0f} unicast hops become "
                     f"tree hops, saving {noc['multicast_saving']:.1%}")
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
    if summary["model"]["meta"].get("weights") == "synthetic":
        acc_note = "; SYNTHETIC WEIGHTS (accuracy is meaningless)"
        return (f"{summary['model']['spec']} ({summary['model']['meta'].get('zoo', '')}, "
                f"synthetic weights) on {m['mesh']} mesh{chips}: {m['cores']} cores, "
                f"placement {m['placement']}, {len(summary['frames']['frame'])} frames{acc_note}"
                f"{spikes_text}")
    return (f"{summary['model']['spec']} on {m['mesh']} mesh{chips}: {m['cores']} cores, "
            f"placement {m['placement']}, {len(summary['frames']['frame'])} frames{acc_text}"
            f"{spikes_text}")


def _layer_table(layers: list[dict[str, Any]], energy: dict[str, Any]) -> list[str]:
    terms = [t for t in energy["terms"] if any(f"energy_{t}_uj" in r for r in layers)]
    header = ["layer", "shape", "neurons", "cores", "weights KiB", "fired", "spikes out",
              "SOPs in", "hops in", *(f"E_{t} {energy['unit']}" for t in terms)]
    rows = [[f"{r['layer']} {r['name']}", "x".join(map(str, r["shape"])), f"{r['neurons']:,}",
             str(r["cores"]), f"{r['weight_kib']:.1f}", f"{r['neuron_spikes']:,.0f}",
             f"{r['spikes_out']:,.0f}", f"{r['sops']:,.0f}", f"{r['hops_in']:,.0f}",
             *(_num(r.get(f"energy_{t}_uj"), "{:,.4f}") for t in terms)]
            for r in layers]
    return _grid(header, rows)


def _num(value: Any, fmt: str) -> str:
    """Format a number, or "-" for a value that is missing or was not finite (null)."""
    return "-" if value is None else fmt.format(value)


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
    ref_text = (f"; relative to {reference} (latency {e['resolved']['latency_ref_ns']:,.0f} ns,"
                f" {e['resolved']['spikes_ref']:,.0f} spikes)" if reference else "")
    return f"energy ({e['preset']}, {e['source']}): {total_text} = {parts}{ref_text}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def render_inspect(rows: list[dict[str, Any]], title: str) -> str:
    """The layer table of ``canmore-sim inspect``."""
    header = ["layer", "kind", "input", "neurons", "pool", "count", "synapses", "FLOPs", "cores",
              "weights KiB"]
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
