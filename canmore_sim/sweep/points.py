"""Sweep point files: what determines a point's result, sealed into its file, and checked
before ``--resume`` reuses it.

A point's *identity* is everything its result depends on: the SHA-256 of its resolved
configuration (frames and seed included), the model (the file's SHA-256, or the zoo
name with weights, sparsity and seed), the input data (the file's or folder's SHA-256,
or the bundled set's name), energy preset and reference files named by the
configuration (their SHA-256) and the tool's version. Its file stores that identity,
its ``key`` (the SHA-256 of the identity) and a ``checksum`` over the whole record, so
a point computed under anything else, a file edited by hand or damaged, a list instead
of a record or a record without its metrics is not reused: :func:`verify_point` says
why, and the point runs again.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from canmore_sim.run.identity import digest, path_identity, why_different
from canmore_sim.utils.atomic import read_bounded_text

__all__ = ["point_identity", "seal", "verify_point"]

#: Metrics every finished point carries (energy terms vary with the model and are extra).
#: Metrics of a point that are means per frame (report.json ``mean``), in sweep.csv order;
#: the energy terms of the preset follow ``energy_total_uj``.
MEAN_METRICS = ("energy_total_uj", "sops", "packets", "deliveries", "hops", "latency_mean_ns",
                "frame_latency_ns", "wait_sum_ns", "wait_mean_ns", "late", "spikes_sent",
                "neurons_fired")
#: Metrics of a point that describe the whole run; ``accuracy`` is the ideal answer of the
#: quantized weights, ``accuracy_on_chip`` what the chip computed under closed-loop timing
#: (``run.timing`` drop-late or arrival; null for an ideal run or without labels).
RUN_METRICS = ("cores", "chips", "late_share", "interchip_hops", "accuracy", "accuracy_on_chip",
               "area_mm2")
#: Every metric a finished point file must hold to be reused.
REQUIRED_METRICS = MEAN_METRICS + RUN_METRICS


def point_identity(common: dict[str, str], config: dict[str, Any]) -> dict[str, str]:
    """One point's identity: the shared part plus its resolved configuration's hash (and the
    contents of the energy preset, energy reference or area preset files it names)."""
    identity = {"config_sha256": digest(config), **common}
    run = config.get("run", {})
    for key in ("energy", "energy_reference", "area"):
        value = run.get(key)
        if isinstance(value, str) and Path(value).is_file():
            identity[f"{key}_file"] = path_identity(Path(value))
    return identity


def seal(record: dict[str, Any], identity: dict[str, str]) -> dict[str, Any]:
    """``record`` with its identity, key and checksum added (the form written to disk)."""
    sealed = {**record, "identity": identity, "key": digest(identity)}
    sealed["checksum"] = digest(sealed)
    return sealed


def verify_point(path: Path, index: int, values: dict[str, Any],
                 identity: dict[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    """Check a point file before reusing it.

    Returns
    -------
    (record, None)
        The file verifies: same identity, untouched, finished, with its metrics.
    (None, reason)
        It exists but must be run again; ``reason`` says why (one line).
    (None, None)
        There is no such file.
    """
    try:
        text = read_bounded_text(path)
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"its file cannot be read ({exc})"
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None, "its file is not valid JSON"
    if not isinstance(data, dict):
        return None, f"its file holds a JSON {type(data).__name__}, not a point record"
    reason = _record_problem(data, index, values, identity)
    return (data, None) if reason is None else (None, reason)


def _record_problem(data: dict[str, Any], index: int, values: dict[str, Any],
                    identity: dict[str, str]) -> str | None:
    body = {k: v for k, v in data.items() if k != "checksum"}
    try:
        intact = data.get("checksum") == digest(body)
    except (TypeError, ValueError):
        intact = False
    if data.get("key") != digest(identity) or data.get("identity") != identity:
        return why_different(data.get("identity"), identity)
    if not intact:
        return "its file was edited or damaged (checksum does not match)"
    if data.get("index") != index or data.get("values") != values:
        return "its file belongs to another point (index or swept values differ)"
    if data.get("status") != "done":
        return f"it failed before ({str(data.get('error', 'no error recorded'))[:200]})"
    metrics = data.get("metrics")
    if not isinstance(metrics, dict) or any(k not in metrics for k in REQUIRED_METRICS):
        return "its file has no complete metrics"
    if not isinstance(data.get("trust"), dict):
        return "its file has no trust record"
    if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                             and math.isfinite(v)) for v in metrics.values()):
        return "its metrics are not all numbers"
    return None
