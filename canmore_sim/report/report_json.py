"""report.json as a file: written as strictly valid JSON (:func:`write_json`, a figure
without a value as ``null``), read back checked (:func:`read_report`), and read as the
reference of a normalized energy model (:func:`read_reference`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from canmore_sim.utils.atomic import atomic_write_text, read_json

__all__ = ["finite", "jsonable", "named_reference", "read_reference", "read_report",
           "write_json"]


def jsonable(value: object) -> bool:
    """Whether ``value`` can be written as JSON as it is."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


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
        see :mod:`canmore_sim.report.schema`).
    """
    from canmore_sim.errors import DataError
    from canmore_sim.report.schema import check_report

    return check_report(read_json(path, DataError, "report"), str(path))


def read_reference(path: str | Path) -> dict[str, float]:
    """Mean frame latency (ns) and spikes per frame of an earlier run, from its report.json:
    the reference a normalized energy model is priced against
    (:func:`canmore_sim.run.pipeline.run`'s ``reference``).

    Raises
    ------
    DataError
        The file is not a report (:func:`read_report`), or its mean frame latency or
        spike count is not a positive number.
    """
    from canmore_sim.errors import DataError

    mean = read_report(Path(path))["mean"]
    fired = mean.get("neurons_fired", mean.get("neuron_spikes"))
    values = {"frame_latency_ns": mean.get("frame_latency_ns"), "neurons_fired": fired}
    for key, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise DataError(f"--energy-reference {path}: mean.{key} is {value!r}; a reference "
                            "run needs a positive mean frame latency and spike count")
    return {"frame_latency_ns": float(values["frame_latency_ns"]),
            "spikes": float(values["neurons_fired"])}


def named_reference(path: str | Path | None) -> dict[str, Any]:
    """The reference run at ``path`` (a report.json, :func:`read_reference`) as
    :func:`canmore_sim.run.pipeline.run`'s (and ``run_map``'s) ``reference`` and
    ``reference_label``; empty for no path.

    Raises
    ------
    DataError
        As :func:`read_reference`.
    """
    if not path:
        return {}
    return {"reference": read_reference(path), "reference_label": f"reference run {path}"}
