"""The shape of a report.json, checked when one is read back.

``canmore-sim report DIR`` re-renders every file from ``DIR/report.json`` and
``--energy-reference`` reads a report's means, so a damaged but valid JSON file
(keys dropped, types swapped, lists of different lengths, a mesh of a billion
routers) must be refused with one line naming the key, before any rendering.
Only what the renderers read is checked; other keys pass through.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import ValidationError

from canmore_sim.errors import DataError
from canmore_sim.report.schema_models import AggregatesModel, ReportModel

__all__ = ["MAX_REPORT_ROUTERS", "check_report"]

#: Most routers (all chips) a report may describe: the configuration's 1024 x 1024 mesh cap.
MAX_REPORT_ROUTERS = 1 << 20
_MESH = re.compile(r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$")


def check_report(data: Any, path: str) -> dict[str, Any]:
    """Check that ``data`` (a parsed report.json) has every key the renderers read.

    Returns
    -------
    dict
        ``data`` itself.

    Raises
    ------
    DataError
        Naming the file and the first key that is missing, of the wrong type, not
        finite, or inconsistent with the others (list lengths, routers, core places).
    """
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) \
            or data["tool"].get("name") != "canmore-sim":
        raise DataError(f"{path}: not a canmore-sim report.json")
    frames = data.get("frames")
    if isinstance(frames, dict) and "frame" in frames and "data_index" not in frames:
        raise DataError(f"{path}: written by an older canmore-sim "
                        f"{str(data['tool'].get('version', ''))[:40]} (no data_index / cores "
                        "figures); run 'canmore-sim map' again to write it in this version's "
                        "format")
    try:
        report = ReportModel.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise DataError(f"{path}: damaged report.json: {key}: {err['msg']}", key=key) from None
    _check_consistent(report, path)
    return data


def _check_consistent(report: ReportModel, path: str) -> None:
    def fail(message: str) -> DataError:
        return DataError(f"{path}: damaged report.json: {message}")

    frames, terms = report.frames, report.energy_model.terms
    identity = ("data_index", "label", "prediction")
    needed = [*identity, "neurons_fired", "spikes_sent", "sops", "packets", "deliveries", "hops",
              "latency_mean_ns", "wait_sum_ns", "wait_mean_ns", "late", "frame_latency_ns",
              *(f"energy_{t}_uj" for t in terms), "energy_total_uj"]
    for key in needed:
        if key not in frames:
            raise fail(f"frames.{key} is missing")
        if key not in identity and (key not in report.mean or key not in report.std):
            raise fail(f"mean.{key} or std.{key} is missing")
    n = len(frames["data_index"])  # (present: checked above)
    for key, column in frames.items():
        if len(column) != n:
            raise fail(f"frames.{key} has {len(column)} values, frames.data_index {n}")
    cores = report.cores
    n_cores = sum(report.mapping.cores_per_layer)
    for key in ("core", "layer_name", "x", "y", "sops", "spikes_in", "spikes_out",
                "packets_injected", "packets_ejected", "weight_kib"):
        if key not in cores:
            raise fail(f"cores.{key} is missing")
    for key, column in cores.items():
        if not isinstance(column, list) or len(column) != n_cores:
            raise fail(f"cores.{key} must hold one value for each of the {n_cores} cores")
        if key != "layer_name" and not all(v is None or _is_number(v) for v in column):
            raise fail(f"cores.{key} must hold numbers")
    for i, layer in enumerate(report.layers):
        for key, value in (layer.model_extra or {}).items():
            if ((key.startswith("energy_") or key == "fired_fraction")
                    and not (value is None or _is_number(value))):
                raise fail(f"layers.{i}.{key} is {value!r}, expected a number")
    acc = report.accuracy
    if acc.quantized is not None and (acc.float is None or acc.prediction_changed is None):
        raise fail("accuracy.float and accuracy.prediction_changed must be numbers when "
                   "accuracy.quantized is")
    if report.timing is not None and len(report.timing.ideal_predictions) != n:
        raise fail(f"timing.ideal_predictions has {len(report.timing.ideal_predictions)} "
                   f"values, frames.data_index {n}")
    _check_mesh(report, fail)
    if report.aggregates is not None:
        _check_aggregates(report.aggregates, n, fail)


def _check_aggregates(agg: AggregatesModel, n: int, fail: Any) -> None:
    """The aggregates section agrees with the frames and with itself."""
    if agg.frames != n:
        raise fail(f"aggregates.frames is {agg.frames}, frames.data_index holds {n} frames")
    if "energy_total_uj" not in agg.metrics:
        raise fail("aggregates.metrics.energy_total_uj is missing")
    for key, s in agg.metrics.items():
        if s.n + s.missing != n:
            raise fail(f"aggregates.metrics.{key}: n + missing must be the {n} frames")
        if s.ci_low is not None and s.ci_high is not None and s.ci_low > s.ci_high:
            raise fail(f"aggregates.metrics.{key}: ci_low is above ci_high")
    for name in ("quantized", "float"):
        a = getattr(agg.accuracy, name)
        if a is not None and not (a.correct <= a.labelled <= n
                                  and a.ci_low <= a.value <= a.ci_high):
            raise fail(f"aggregates.accuracy.{name}: needs correct <= labelled <= frames and "
                       "ci_low <= value <= ci_high")
    for i, c in enumerate(agg.classes):
        if c.correct > c.frames:
            raise fail(f"aggregates.classes.{i}: {c.correct} correct of {c.frames} frames")
    conf = agg.confusion
    if not len(conf.label) == len(conf.prediction) == len(conf.count):
        raise fail("aggregates.confusion: label, prediction and count differ in length")
    hist = agg.energy_histogram
    if len(hist.edges) != len(hist.counts) + (1 if hist.counts else 0):
        raise fail("aggregates.energy_histogram needs one more edge than counts")
    if any(b < a for a, b in zip(hist.edges[:-1], hist.edges[1:], strict=True)):
        raise fail("aggregates.energy_histogram.edges must be in ascending order")
    if sum(hist.counts) > n:
        raise fail(f"aggregates.energy_histogram counts more than the {n} frames")


def _check_mesh(report: ReportModel, fail: Any) -> None:
    width, height = report.noc.routers
    if width * height > MAX_REPORT_ROUTERS:
        raise fail(f"noc.routers {width}x{height} is more than {MAX_REPORT_ROUTERS:,} routers")
    ports = ("local", "north", "east", "south", "west")  # noc.stats.PORTS (no SimPy import)
    for key in ("router_flits", "router_wait_ns"):
        per_port = getattr(report.noc, key)
        if tuple(per_port) != ports or any(len(v) != width * height for v in per_port.values()):
            raise fail(f"noc.{key} must hold the ports {', '.join(ports)}, each with a value "
                       f"for each of the {width * height} routers")
    hist = report.noc.latency_histogram
    if len(hist.edges_ns) != len(hist.counts) + 1:
        raise fail("noc.latency_histogram needs one more edge than counts")
    m = report.mapping
    if not _MESH.match(m.mesh):
        raise fail(f"mapping.mesh {m.mesh!r} is not WIDTHxHEIGHT")
    if sum(m.cores_per_layer) != len(m.core_xy):
        raise fail(f"mapping.cores_per_layer adds up to {sum(m.cores_per_layer)} cores, "
                   f"mapping.core_xy has {len(m.core_xy)}")
    for i, (x, y) in enumerate(m.core_xy):
        if x >= width or y >= height:
            raise fail(f"mapping.core_xy[{i}] = ({x}, {y}) lies outside the {width}x{height} "
                       "routers")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)
