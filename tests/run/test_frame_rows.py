"""A frame's per-layer and per-core counts from the (layer, source, destination) table equal
the row-by-row counts, on generated traffics replayed through the fast engine."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from canmore_sim.noc.fast import simulate
from canmore_sim.run import frame_rows
from canmore_sim.run.frame_rows import row_figures
from tests.noc.diffcases import make_case


def _frame(seed: int):  # type: ignore[no-untyped-def]
    """A generated traffic with layers (readouts at the last one, inputs at layer 0), its
    replay (some without deadlines), and a core table: every router a core in a shuffled
    order, or only the routers that send or receive core packets (the others -1)."""
    case = make_case(seed)
    rng = np.random.default_rng(seed)
    t = case.traffic
    depth = int(rng.integers(1, 6))
    layer = rng.integers(0, depth + 1, len(t)).astype(np.int16)
    if t.multicast and len(t):  # the rows of a packet share their layer
        packet = np.cumsum(t.packet_starts()) - 1
        layer = layer[np.flatnonzero(t.packet_starts())][packet]
    traffic = replace(t, layer=layer)
    if seed % 4 == 1:  # nothing late
        traffic = replace(traffic, deadline_ns=np.full(len(t), np.inf))
    stats = simulate(traffic, case.config)
    n = traffic.n_routers
    core_of_router = rng.permutation(n).astype(np.int64)
    starts = traffic.packet_starts()
    if seed % 3 == 0:
        used = np.zeros(n, dtype=bool)
        used[traffic.src[starts & (layer > 0)]] = True
        used[traffic.dst[layer < depth]] = True
        core_of_router = np.full(n, -1, dtype=np.int64)
        core_of_router[used] = np.arange(int(used.sum()))
    n_cores = int(core_of_router.max()) + 1 if n else 0
    return traffic, stats, starts, depth, core_of_router, n_cores, case.name


@pytest.mark.parametrize("seed", range(80))
def test_table_counts_equal_the_row_by_row_counts(seed: int) -> None:
    traffic, stats, starts, depth, core_of_router, n_cores, name = _frame(seed)
    got = row_figures(traffic, stats, starts, depth, core_of_router, n_cores)
    expected = frame_rows._by_chunks(traffic, stats, starts, depth, core_of_router, n_cores)
    for key in ("hops", "interchip", "packets", "deliveries", "injected", "ejected"):
        a, b = getattr(got, key), getattr(expected, key)
        assert a.dtype == b.dtype == np.int64 and np.array_equal(a, b), (key, name)
    assert got.late_max_ns == expected.late_max_ns, name
    assert got.unicast_hops == expected.unicast_hops == int(traffic.manhattan().sum()), name
    assert int(got.hops.sum()) == stats.link_hops and int(got.deliveries.sum()) == len(traffic)


def test_generated_frames_cover_late_multicast_chips_and_empty_routers() -> None:
    frames = [_frame(seed) for seed in range(80)]
    assert any(f[1].late.any() for f in frames) and any(not f[1].late.any() for f in frames)
    assert any(f[0].multicast for f in frames) and any(f[0].chip_width for f in frames)
    assert any((f[4] < 0).any() for f in frames)
    assert any(f[1].interchip_hops > 0 for f in frames)


def test_a_mesh_beyond_the_table_counts_row_by_row(monkeypatch) -> None:
    """Past TABLE_ENTRIES the counts come from the chunks (the same numbers)."""
    traffic, stats, starts, depth, core_of_router, n_cores, _ = _frame(4)
    table = row_figures(traffic, stats, starts, depth, core_of_router, n_cores)
    monkeypatch.setattr(frame_rows, "TABLE_ENTRIES", 0)
    calls = []
    monkeypatch.setattr(frame_rows, "_by_chunks",
                        lambda *a: calls.append(1) or table)
    assert row_figures(traffic, stats, starts, depth, core_of_router, n_cores) is table
    assert calls == [1]


def test_rows_at_a_router_without_a_core_are_an_error() -> None:
    traffic, stats, starts, depth, core_of_router, n_cores, _ = _frame(1)
    core_of_router = core_of_router.copy()
    core_of_router[traffic.dst[traffic.layer < depth][0]] = -1
    with pytest.raises(ValueError, match="no core"):
        row_figures(traffic, stats, starts, depth, core_of_router, n_cores)
