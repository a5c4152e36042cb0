"""The provenance and the window of a run, as the terminal and the page show them.

report.json holds the records (``provenance``: the model and the data; ``window``: the
layer window and how it was derived); these functions turn them into the title tag, the
lines under the terminal title and the HTML title block.
"""

from __future__ import annotations

from typing import Any

__all__ = ["provenance_lines", "title_tag", "window_text"]


def _short(sha: Any) -> str:
    return f"sha256 {str(sha)[:12]}" if sha else "no file hash"


def window_text(window: dict[str, Any] | None) -> str:
    """``window 41,738 ns (auto: ...)`` or ``window 20,000 ns (fixed)``; empty without one."""
    if not window:
        return ""
    value = float(window["window_ns"])
    if window.get("mode") != "auto":
        return f"window {value:,.0f} ns (fixed by neuron.window_ns)"
    return (f"window {value:,.0f} ns (auto: {window['margin']} x the need "
            f"{float(window['need_ns']):,.0f} ns of source layer {window['deciding_layer']} "
            f"and the next, over {window['frames']} frame(s))")


def _shape(shape: list[int]) -> str:
    return (f"{shape[1]}x{shape[2]}x{shape[0]}" if len(shape) == 3
            else "x".join(str(d) for d in shape))


def _norm(data: dict[str, Any]) -> str:
    norm = data.get("normalization")
    return "none" if not norm else str(norm.get("name"))


def title_tag(summary: dict[str, Any], limit: int = 250) -> str:
    """One line under the terminal title: model and data hashes, inputs, window (at most
    ``limit`` characters; empty when the report records no provenance)."""
    prov, parts = summary.get("provenance") or {}, []
    if not prov:  # a run made through the Python API without a recorded source
        return ""
    model, data = prov.get("model"), prov.get("data")
    if model:
        parts.append(f"model {_short(model.get('sha256'))} ({model.get('format')})")
    if data:
        shape = (f", {_shape(data.get('original_shape', []))} -> "
                 f"{_shape(data.get('fed_shape', []))}" if data.get("adapted") else "")
        parts.append(f"data {data.get('reader')} {_short(data.get('sha256'))} "
                     f"({data.get('split')}{shape}), {data.get('encoding')} encoding, "
                     f"normalization {_norm(data)}")
    window = summary.get("window")
    if window:
        parts.append(f"window {float(window['window_ns']):,.0f} ns {window.get('mode')}")
    line = f"provenance: {'; '.join(parts)}" if parts else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


def provenance_lines(summary: dict[str, Any]) -> list[str]:
    """One line on the model, one on the data, one on the window (those recorded)."""
    prov, lines = summary.get("provenance") or {}, []
    model, data = prov.get("model"), prov.get("data")
    if model:
        lines.append(f"model: {model.get('path')} ({model.get('format')}; "
                     f"{model.get('sha256') or 'no file hash'})")
    if data:
        adapted = ("; adapted: " + "; ".join(data.get("steps", []))) if data.get("adapted") \
            else ""
        values = data.get("input_values") or {}
        counts = (f"; input values {values.get('positive', 0):,} positive (spikes), "
                  f"{values.get('negative', 0):,} negative" if values else "")
        lines.append(f"data: {data.get('reader')} {data.get('path')} ({data.get('split')} "
                     f"split; {data.get('sha256') or 'no file hash'}), frames "
                     f"{_ids(data.get('frame_ids', []))}, "
                     f"{_shape(data.get('original_shape', []))} fed as "
                     f"{_shape(data.get('fed_shape', []))}{adapted}; normalization "
                     f"{_norm(data)}, {data.get('encoding')} encoding "
                     f"({data.get('chosen_by')}){counts}")
    text = window_text(summary.get("window"))
    if text:
        lines.append(text)
    return lines


def _ids(ids: list[int], shown: int = 8) -> str:
    head = ", ".join(str(i) for i in ids[:shown])
    return head + (f", ... ({len(ids)} in all)" if len(ids) > shown else "")
