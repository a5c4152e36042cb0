"""report.json's ``noc`` section (:func:`noc_summary`), from a run's NoC figures: per
direction and per router port (``{port: [value per router]}``, :func:`by_router` reads
them back), the congested ports and the busiest links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the pipeline (torch, SimPy) is only needed to summarize a run
    from canmore_sim.run.pipeline import RunResult

__all__ = ["by_router", "noc_summary"]


def noc_summary(result: RunResult) -> dict[str, Any]:
    """report.json's ``noc`` section: traffic per direction and router port, waiting and
    buffer occupancy per port (means per frame; waiting over the replayed frames), the
    congested ports, the busiest links and the delivery latency histogram."""
    from canmore_sim.noc.stats import PORTS

    noc, m, n = result.noc, result.mapping, result.n_frames
    timed = n if noc.replayed is None else max(1, int(np.sum(noc.replayed)))  # replayed
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
        "router_flits": _by_port(noc.link_flits / n),
        "router_wait_ns": _by_port(noc.router_wait_ns / timed),
        "occupancy_mean": _by_port(noc.occupancy_mean),
        "occupancy_max": _by_port(noc.occupancy_max),
        "congested_ports": _congested(noc.router_wait_ns / timed, noc.occupancy_max, m.width),
        "busiest_links": _busiest(noc.link_flits / n, m.width, result),
        "latency_histogram": {"edges_ns": edges.tolist(), "counts": counts.tolist()},
    }


def _by_port(per_router: np.ndarray) -> dict[str, list[float]]:
    """A ``(n_routers, 5)`` array as ``{port: [value per router]}`` (ports of :data:`PORTS`)."""
    from canmore_sim.noc.stats import PORTS

    return {port: per_router[:, i].tolist() for i, port in enumerate(PORTS)}


def by_router(per_port: dict[str, list[Any]]) -> np.ndarray:
    """Inverse of the report's per-port mappings: a float ``(n_routers, 5)`` array (null: NaN)."""
    from canmore_sim.noc.stats import PORTS

    return np.array([per_port[port] for port in PORTS], dtype=np.float64).T


def _congested(wait: np.ndarray, occ_max: np.ndarray, width: int,
               top: int = 8) -> list[dict[str, Any]]:
    """The router input ports where packets waited longest (per frame)."""
    from canmore_sim.noc.stats import PORTS

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
    from canmore_sim.noc.stats import PORTS

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
