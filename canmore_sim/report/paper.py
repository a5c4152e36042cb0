"""A run of VGG16 on CIFAR-10 against the figures of the paper that maps it (papers/004).

Wei et al., DTA-TTFS, ICCV 2023 (papers/004) maps VGG16 trained on CIFAR-10 onto CanMore
and reports per frame 0.073 M spikes (Table 2), 71 M SOPs and 45.4 M hops and an energy
of 50.36 uJ (Sec. 4.4.2). Its Eq. 12, E = E_SOP x SOPs + E_hop x Hops + E_static with
20 pJ, 100 pJ and 3.52 uJ, gives 5,963.52 uJ on those counts, not 50.36 uJ. The block
shows this run's counts beside the paper's and what Eq. 12 gives on each.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EQ12", "PAPER_VGG16", "SOURCE", "against_paper", "eq12_uj", "paper_cell",
           "paper_lines"]

#: The paper's own VGG16 / CIFAR-10 figures per frame (papers/004: Table 2, Sec. 4.4.2).
PAPER_VGG16 = {"spikes": 73_000.0, "sops": 71e6, "hops": 45.4e6, "energy_uj": 50.36}
#: Eq. 12's coefficients in papers/004, Sec. 4.4.2: pJ per SOP, pJ per hop, uJ per frame.
EQ12 = {"e_sop_pj": 20.0, "e_hop_pj": 100.0, "e_static_uj": 3.52}
SOURCE = "papers/004 (Wei et al., DTA-TTFS, ICCV 2023): Table 2, Sec. 4.4.2, Eq. 12"


def eq12_uj(sops: float, hops: float) -> float:
    """Eq. 12 of papers/004 with the paper's coefficients: energy per frame, uJ."""
    return (sops * EQ12["e_sop_pj"] + hops * EQ12["e_hop_pj"]) * 1e-6 + EQ12["e_static_uj"]


def _is_vgg16_cifar10(summary: dict[str, Any]) -> bool:
    """The network is the zoo's CIFAR-10 VGG16 (same layers, 32x32x3 in, 10 classes out)."""
    from canmore_sim.models.zoo import ZOO

    return summary.get("model", {}).get("spec") == ZOO["vgg16"]


def against_paper(summary: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Rows ``{"figure", "run", "paper"}`` (per frame) for VGG16 on CIFAR-10, else None.

    ``run`` are this run's means: spikes (official DTA-TTFS count, report.json
    ``sparsity.spikes``), SOPs, hops, the energy its own model priced, and Eq. 12 with the
    paper's coefficients on its SOPs and hops; ``paper`` the paper's figures and Eq. 12 on
    them.
    """
    if not _is_vgg16_cifar10(summary):
        return None
    mean, unit = summary["mean"], summary["energy_model"]["unit"]
    spikes = (summary.get("sparsity") or {}).get("spikes")
    sops, hops = mean.get("sops"), mean.get("hops")
    eq12 = None if sops is None or hops is None else eq12_uj(sops, hops)
    p = PAPER_VGG16
    return [{"figure": "spikes", "run": spikes, "paper": p["spikes"]},
            {"figure": "SOPs", "run": sops, "paper": p["sops"]},
            {"figure": "hops", "run": hops, "paper": p["hops"]},
            {"figure": f"energy as priced, {unit} (paper: as printed)",
             "run": mean.get("energy_total_uj"), "paper": p["energy_uj"]},
            {"figure": "Eq. 12 (20 pJ/SOP, 100 pJ/hop, 3.52 uJ) on the counts, uJ", "run": eq12,
             "paper": eq12_uj(p["sops"], p["hops"])}]


def paper_cell(value: Any, energy: bool) -> str:
    """A count as a whole number; an energy (``energy``) below 1,000 uJ with 2 decimals."""
    if value is None:
        return "-"
    return f"{value:,.2f}" if energy and value < 1000 else f"{value:,.0f}"


def paper_lines(summary: dict[str, Any]) -> list[str]:
    """The terminal's block (none unless the run is VGG16 on CIFAR-10)."""
    rows = against_paper(summary)
    if rows is None:
        return []
    width = max(len(r["figure"]) for r in rows)
    head = f"  {'per frame':<{width}}  {'this run':>14}  {'paper':>14}"
    body = [f"  {r['figure']:<{width}}  {paper_cell(r['run'], i >= 3):>14}  "
            f"{paper_cell(r['paper'], i >= 3):>14}" for i, r in enumerate(rows)]
    return [f"against the paper (VGG16 on CIFAR-10; {SOURCE}):", head, *body]
