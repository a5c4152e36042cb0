"""One severity scale for everything a report points out: ``info`` and ``warning``.

A *warning* is a figure past its threshold (the ``report.*`` config keys; see
:mod:`canmore_sim.report.trust`): the figures should not be trusted as they are. An *info* is
worth knowing but within bounds: late deliveries below ``report.late_warn_share``, or
synthetic weights (whose accuracy means nothing). The terminal (``INFO:`` /
``WARNING:``), the page (a blue or a red box) and report.json ``notices`` show the same
list, built here from the summary alone (its ``warnings`` and figures), so a report.json
written before ``notices`` existed renders the same way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SEVERITIES", "notices", "notices_of", "worst"]

#: The scale, mildest first.
SEVERITIES = ("info", "warning")


def _count(value: Any) -> str:
    """A count (a mean of whole numbers per frame) shown as a whole number."""
    return "-" if value is None else f"{float(value):,.0f}"


def _late_info(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Late deliveries below the warning threshold (above it, :mod:`checks` warns)."""
    share = summary.get("late_share") or 0.0
    if share <= 0 or any(w.get("kind") == "late" for w in summary.get("warnings") or []
                         if isinstance(w, dict)):
        return None
    mean = summary["mean"]
    what = "deliveries" if "deliveries" in mean else "packets"
    threshold = (summary.get("config") or {}).get("report", {}).get("late_warn_share", 0.01)
    return {"severity": "info", "kind": "late",
            "message": f"{share:.1%} of {what} arrived after their consumer's window closed "
                       f"({_count(mean.get('late'))} of {_count(mean.get(what))} per frame), "
                       f"below the {threshold:.0%} warning threshold (report.late_warn_share)",
            "value": float(share), "threshold": threshold}


def notices(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every notice of a summary, warnings first: ``{"severity", "kind", "message"}``
    (warnings also keep their ``value``, ``threshold`` and ``settings``).

    Parameters
    ----------
    summary
        A report summary with ``warnings`` (:func:`canmore_sim.report.trust.result_warnings`),
        ``late_share``, ``mean``, ``model`` and ``config``.
    """
    out = [{**w, "severity": "warning"} if isinstance(w, dict) else
           {"severity": "warning", "kind": "warning", "message": str(w)}
           for w in summary.get("warnings") or []]
    late = _late_info(summary)
    if late:
        out.append(late)
    if (summary.get("model") or {}).get("meta", {}).get("weights") == "synthetic":
        out.append({"severity": "info", "kind": "synthetic_weights",
                    "message": "synthetic weights: the accuracy is meaningless (the energy "
                               "and traffic figures stand)"})
    return out


def notices_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The notices of a summary as the renderers show them: always :func:`notices` of its
    stored ``warnings`` (so an older report.json, without ``notices``, shows the same)."""
    return notices(summary)


def worst(found: list[dict[str, Any]], kind: str | None = None) -> str | None:
    """The highest severity among ``found`` (of one ``kind`` if given), or None."""
    levels = [SEVERITIES.index(n["severity"]) for n in found
              if kind is None or n.get("kind") == kind]
    return SEVERITIES[max(levels)] if levels else None
