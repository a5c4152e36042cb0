"""The pieces report.html is built of: escaping, numbers for people, tables, sections.

A page is a list of :class:`Section` (an id, a heading, its HTML); the navigation bar
links to each. Other figures (area, provenance, ...) join the page as one more function
returning a section.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["COUNT_KEYS", "HEADERS", "ID_KEYS", "PERCENT_KEYS", "Section", "count", "esc", "fmt",
           "kind_of", "nav", "pct", "rows_table", "table"]

#: Headers in words (with units) of report.json's per-layer and per-core keys; others as they are.
HEADERS = {
    "layer": "layer", "name": "name", "kind": "kind", "shape": "shape (CxHxW)",
    "neurons": "neurons", "synapses": "synapses", "cores": "cores",
    "weight_kib": "weight memory, KiB", "neuron_spikes": "neurons fired / frame",
    "neurons_fired": "neurons fired / frame", "spikes_out": "spikes sent / frame",
    "spikes_sent": "spikes sent / frame", "sops": "SOPs / frame", "sops_in": "SOPs in / frame",
    "hops_in": "hops in / frame", "core": "core", "x": "x", "y": "y", "router": "router",
    "chip": "chip", "port": "input port", "wait_ns": "waiting, ns / frame", "share": "share",
    "max_occupancy": "max flits", "direction": "direction", "flits": "flits / frame",
    "utilization": "utilization", "packets_in": "packets in / frame",
    "deliveries_in": "deliveries in / frame", "interchip_hops_in": "inter-chip hops in / frame",
    "layer_name": "layer name", "spikes_in": "spikes in / frame",
    "packets_injected": "packets injected / frame", "packets_ejected": "deliveries ejected / frame",
    "energy_total_uj": "energy, total, uJ", "energy_share": "share of energy",
    "sops_share": "share of SOPs", "hops_share": "share of hops",
    "fired_fraction": "fired, share of neurons",
}

#: Keys shown as a percentage.
PERCENT_KEYS = {"share", "utilization", "late_share", "energy_share", "sops_share",
                "hops_share", "fired_fraction"}
#: Keys that count whole things (a mean of counts per frame is shown as a whole number).
COUNT_KEYS = {"neurons", "synapses", "cores", "neurons_fired", "neuron_spikes", "spikes_sent",
              "spikes_out", "spikes_in", "sops", "sops_in", "packets", "packets_in",
              "deliveries", "deliveries_in", "hops", "hops_in", "interchip_hops",
              "interchip_hops_in", "packets_injected", "packets_ejected", "flits",
              "max_occupancy", "late", "core", "router", "x", "y", "chip", "layer", "frames",
              "correct"}
#: Keys that name a frame, class or place: whole numbers without thousands separators.
ID_KEYS = {"label", "prediction", "float_prediction", "data_index"}


@dataclass(frozen=True)
class Section:
    """One part of the page: ``id`` (the anchor), ``title`` (heading, navigation) and
    ``body`` (HTML); ``nav`` is the shorter name in the navigation bar."""

    id: str
    title: str
    body: str
    nav: str = ""

    def html(self) -> str:
        return f'<section id="{esc(self.id)}"><h2>{esc(self.title)}</h2>\n{self.body}</section>'


def esc(value: Any) -> str:
    return html.escape(str(value))


def fmt(value: Any, digits: int = 4) -> str:
    """A number for people: thousands separators, ``digits`` significant digits, "-" for null."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or abs(float(value)) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def count(value: Any) -> str:
    """A count, or a mean of counts per frame, as a whole number."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return fmt(value)
    return f"{value:,.0f}"


def _shown(value: Any, kind: str) -> str:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and kind == "id":  # an index or a label: no thousands separator
        return f"{value:.0f}"
    if number and kind == "pct":
        return f"{value:.1%}"
    if number and kind == "int":
        return count(value)
    return fmt(value)


def _cells(rows: Iterable[Sequence[Any]], kinds: Sequence[str]) -> list[str]:
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            sort = f' data-sort="{v!r}"' if number else ' class="text"'
            cells.append(f"<td{sort}>{esc(_shown(v, kinds[i] if i < len(kinds) else ''))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return body


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], sortable: bool = True,
          kinds: Sequence[str] = (), foot: Iterable[Sequence[Any]] = (),
          table_id: str = "") -> str:
    """A table in its own horizontally scrolling box; ``kinds`` per column: ``"pct"``,
    ``"int"`` (a count), ``"id"`` (an index, a label) or ``""`` (:func:`fmt`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    tail = f"<tfoot>{''.join(_cells(foot, kinds))}</tfoot>" if foot else ""
    cls = ' class="sortable"' if sortable else ""
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (f'<div class="scroll"><table{ident}{cls}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(_cells(rows, kinds))}</tbody>{tail}</table></div>')


def kind_of(key: str) -> str:
    """How a report.json key is shown: ``"pct"``, ``"id"``, ``"int"`` or ``""``."""
    if key in PERCENT_KEYS:
        return "pct"
    return "id" if key in ID_KEYS else "int" if key in COUNT_KEYS else ""


def rows_table(rows: list[dict[str, Any]], skip: Sequence[str] = (),
               unit: str = "uJ") -> str:
    """A table of report.json rows (one dict each), headers in words."""
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in skip]
    header = [HEADERS.get(k, k.replace("_uj", ", uJ").replace("_ns", ", ns").replace("_", " "))
              for k in keys]
    header = [h.replace(", uJ", f", {unit}") if k.endswith("_uj") else h
              for k, h in zip(keys, header, strict=True)]
    body = [["x".join(map(str, r[k])) if isinstance(r.get(k), list) else r.get(k)
             for k in keys] for r in rows]
    return table(header, body, kinds=[kind_of(k) for k in keys])


def nav(sections: Sequence[Section]) -> str:
    """The navigation bar: one link per section."""
    links = "".join(f'<a href="#{esc(s.id)}">{esc(s.nav or s.title)}</a>' for s in sections)
    return f'<nav id="nav" aria-label="sections">{links}</nav>'
