"""Which layer costs most: each weight layer's total energy and its share of the energy,
the SOPs and the hops of a frame (report.json ``layers``, layers.csv, both tables).

The shares are computed from the per-layer rows alone, so a report.json written before
they existed gets them when it is rendered (:func:`with_shares`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["SHARE_KEYS", "costliest", "with_shares"]

#: Keys :func:`with_shares` adds to every row: the layer's total energy (the sum of its
#: ``energy_<term>_uj``) and its share (0-1) of the layers' energy, SOPs and hops in.
SHARE_KEYS = ("energy_total_uj", "energy_share", "sops_share", "hops_share")


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _shares(values: list[float | None]) -> list[float | None]:
    total = sum(v for v in values if v is not None)
    return [None if v is None or total <= 0 else v / total for v in values]


def with_shares(rows: list[dict[str, Any]], terms: list[str]) -> list[dict[str, Any]]:
    """``rows`` (report.json ``layers``), each a new dict with :data:`SHARE_KEYS` added.

    Parameters
    ----------
    rows
        One dict per weight layer with ``sops``, ``hops_in`` and ``energy_<term>_uj``
        (uJ or rel per frame) for the ``terms`` the energy model priced per layer.
    terms
        The energy model's terms (report.json ``energy_model.terms``).

    Returns
    -------
    list of dict
        The rows with ``energy_total_uj`` (None when no term was split per layer) and
        the three shares (None where the total over the layers is zero). Rows that
        already hold every key are returned unchanged.
    """
    if all(all(k in r for k in SHARE_KEYS) for r in rows):
        return rows
    priced = [t for t in terms if any(f"energy_{t}_uj" in r for r in rows)]
    totals = []
    for r in rows:
        parts = [_number(r.get(f"energy_{t}_uj")) for t in priced]
        totals.append(None if not priced or any(p is None for p in parts)
                      else float(sum(p for p in parts if p is not None)))
    columns = {"energy_share": _shares(totals),
               "sops_share": _shares([_number(r.get("sops")) for r in rows]),
               "hops_share": _shares([_number(r.get("hops_in")) for r in rows])}
    return [{**r, "energy_total_uj": totals[i], **{k: v[i] for k, v in columns.items()}}
            for i, r in enumerate(rows)]


def costliest(rows: list[dict[str, Any]], terms: list[str]) -> dict[str, Any] | None:
    """The layer with the most energy per frame (with its shares), or None."""
    known = [r for r in with_shares(rows, terms) if r.get("energy_total_uj") is not None]
    return max(known, key=lambda r: r["energy_total_uj"]) if known else None
