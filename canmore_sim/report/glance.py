"""The terminal's default view: one screen, within 120 columns, whatever the frame count.

Besides the summary lines (:mod:`canmore_sim.report`), it shows the notices on one
severity scale (:mod:`canmore_sim.report.notices`), a short per-layer table (total
energy and the shares of energy, SOPs and hops), the top problems (the costliest layer,
where packets waited, the busiest link) and a last line saying how many rows frames.csv
holds and that ``--verbose`` prints the detail tables.
"""

from __future__ import annotations

from typing import Any

from canmore_sim.report.grid import grid, wrap
from canmore_sim.report.layers import costliest, with_shares
from canmore_sim.report.notices import notices_of
from canmore_sim.report.plots import frame_count

__all__ = ["footer_lines", "layer_glance", "notice_lines", "problem_lines"]


def notice_lines(summary: dict[str, Any]) -> list[str]:
    """Every notice as ``WARNING: ...`` or ``INFO: ...``, warnings first, wrapped."""
    lines = []
    for n in notices_of(summary):
        lines += wrap(f"{n['severity'].upper()}: {n['message']}")
    return lines


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def layer_glance(summary: dict[str, Any]) -> list[str]:
    """Per layer: cores, SOPs, hops in, energy, and each one's share of the frame's."""
    e = summary["energy_model"]
    rows = with_shares(summary["layers"], e["terms"])
    header = ["layer", "cores", "SOPs", "SOPs %", "hops in", "hops %", f"energy {e['unit']}",
              "energy %"]
    body = [[f"{r['layer']} {r['name']}", f"{r['cores']:,}", f"{r['sops']:,.0f}",
             _pct(r["sops_share"]), f"{r['hops_in']:,.0f}", _pct(r["hops_share"]),
             "-" if r["energy_total_uj"] is None else f"{r['energy_total_uj']:,.4g}",
             _pct(r["energy_share"])] for r in rows]
    return ["per layer, mean per frame (all figures in layers.csv):", *grid(header, body)]


def problem_lines(summary: dict[str, Any]) -> list[str]:
    """The top problems: the costliest layer, the router port where packets waited
    longest, the busiest link."""
    e, noc = summary["energy_model"], summary["noc"]
    lines = []
    top = costliest(summary["layers"], e["terms"])
    if top is not None:
        lines.append(f"  costliest layer: {top['name']}, {top['energy_total_uj']:,.4g} "
                     f"{e['unit']} per frame ({_pct(top['energy_share'])} of the energy, "
                     f"{_pct(top['sops_share'])} of the SOPs, {_pct(top['hops_share'])} of "
                     "the hops)")
    ports = noc.get("congested_ports") or []
    if ports:
        p = ports[0]
        lines.append(f"  packets waited longest at router ({p['x']},{p['y']}), {p['port']} "
                     f"input: {p['share']:.1%} of all waiting ({p['wait_ns']:,.0f} ns per "
                     "frame)")
    links = noc.get("busiest_links") or []
    if links:
        link = links[0]
        lines.append(f"  busiest link: router ({link['x']},{link['y']}) {link['direction']}, "
                     f"{link['flits']:,.0f} flits per frame ({link['utilization']:.1%} "
                     "utilized)")
    return ["top problems:", *[w for line in lines for w in wrap(line)]] if lines else []


def footer_lines(summary: dict[str, Any], verbose: bool) -> list[str]:
    """How many rows frames.csv holds, and where the detail is."""
    n = frame_count(summary)
    rows = f"frames.csv holds {n:,} row{'' if n == 1 else 's'} (one per frame)"
    if verbose:
        return [f"{rows}; report.html has every table and the plots"]
    return wrap(f"{rows}; --verbose prints the detail tables (frames, spread, classes, "
                "layers, cores, NoC)")
