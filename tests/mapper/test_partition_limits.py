"""Every core of every partition fits its core, and the cores tile each layer exactly.

A generated-spec property test over many networks with awkward shapes (heights that are not a
multiple of the pool, channels larger than a core, tight weight memories), plus the two
examples of issue 28: the leftover rows of a floor pooling that once overfilled the last row
band, and the rounding of a band's height to a multiple of the pool size.
"""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import CoreConfig
from canmore_sim.errors import MappingError
from canmore_sim.mapper.partition import CoreGroups, partition
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.spec import graph_from_spec, weight_shapes

_BITS_PER_KIB = 8192


def _graph(spec: str) -> LayerGraph:
    """The network of ``spec``; the partition reads shapes only, so the weights are zeros."""
    return graph_from_spec(spec, [np.zeros(s, dtype=np.float32) for s in weight_shapes(spec)])


def _random_spec(rng: np.random.Generator) -> str:
    """A valid spec with awkward sizes: odd heights, pools that do not divide them."""
    while True:
        h, w, c = (int(rng.integers(5, 72)), int(rng.integers(5, 72)), int(rng.integers(1, 4)))
        tokens: list[str] = []
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.choice([1, 3, 5]))
            conv = f"{int(rng.integers(1, 20))}C{k}"
            if rng.random() < 0.25:
                conv += f"s{int(rng.integers(1, 3))}p{int(rng.integers(0, k // 2 + 1))}"
            tokens.append(conv)
            if rng.random() < 0.6:
                tokens.append(f"P{int(rng.integers(2, 5))}")
        tokens += [f"{int(rng.integers(1, 300))}F" for _ in range(int(rng.integers(1, 3)))]
        spec = f"{h}x{w}x{c}:" + "-".join(tokens)
        try:
            weight_shapes(spec)
        except Exception:  # shrank to nothing: draw another
            continue
        return spec


def _assert_fits_and_tiles(graph: LayerGraph, groups: CoreGroups, core: CoreConfig) -> None:
    budget = int(core.sram_kib * _BITS_PER_KIB)
    assert (groups.neurons <= core.max_neurons).all(), (graph.spec, core.max_neurons)
    assert (groups.weight_bits <= budget).all(), (graph.spec, budget)
    assert (groups.neuron_hi - groups.neuron_lo == groups.neurons).all()
    for index, layer in enumerate(graph.layers, start=1):
        cores = groups.of_layer(index)
        # flat neuron ranges: disjoint and covering [0, n_neurons) -- counted, not assumed
        cover = np.zeros(layer.n_neurons, dtype=np.int64)
        for g in cores:
            cover[int(groups.neuron_lo[g]):int(groups.neuron_hi[g])] += 1
        assert (cover == 1).all(), (graph.spec, layer.name)
        assert int(groups.synapses[cores].sum()) == layer.synapses
        if layer.kind != "conv":
            continue
        _, height, width = layer.out_shape
        block = np.zeros((layer.channels, height), dtype=np.int64)
        for g in cores:
            lo, hi = int(groups.row_lo[g]), int(groups.row_hi[g])
            block[int(groups.ch_lo[g]):int(groups.ch_hi[g]), lo:hi] += 1
            assert int(groups.neurons[g]) == (int(groups.ch_hi[g]) - int(groups.ch_lo[g])) * (
                hi - lo) * width
            # pooling stays core-local: a band starts on a pool edge and ends on one or at the
            # bottom of the channel (the rows a floor pooling drops)
            assert lo % layer.pool == 0 and (hi % layer.pool == 0 or hi == height)
        assert (block == 1).all(), (graph.spec, layer.name)


def test_generated_networks_fit_their_cores_and_tile_every_layer() -> None:
    rng = np.random.default_rng(28)
    checked = split = 0
    for _ in range(240):
        graph = _graph(_random_spec(rng))
        widest = max(layer.out_shape[-1] * layer.pool for layer in graph.layers)
        core = CoreConfig(max_neurons=int(rng.integers(widest, 1400)),
                          sram_kib=float(rng.choice([0.05, 0.5, 4.0, 256.0])))
        try:
            groups = partition(graph, core)
        except MappingError as err:  # one channel or neuron larger than the weight memory
            assert "core.sram_kib" in str(err)
            continue
        _assert_fits_and_tiles(graph, groups, core)
        checked += 1
        split += int((groups.row_lo > 0).any())
    # the draw must exercise the cases: most networks map, many split a channel into bands
    assert checked >= 150 and split >= 40, (checked, split)


def test_leftover_rows_of_a_floor_pooling_do_not_overfill_the_last_band() -> None:
    # issue 28: rows 57-62 (5 x 65 = 325 neurons) once went to one 256-neuron core
    graph = _graph("62x65x2:16C3-P3-1500F")
    core = CoreConfig(max_neurons=256)
    groups = partition(graph, core)
    _assert_fits_and_tiles(graph, groups, core)
    conv = groups.layer == 1
    assert int(groups.neurons[conv].max()) == 3 * 65
    assert int(groups.row_hi[conv].max()) == 62


def test_a_band_is_a_whole_number_of_pools_within_the_core() -> None:
    # 42x48 with 2x2 pooling on 1,024 neurons: 21 rows fit, but 21 is not a whole number of
    # pools; without rounding down to 20 the bands are 20 + 22 rows (1,056 neurons on a core)
    graph = _graph("42x48x1:2C3-P2-10F")
    groups = partition(graph, CoreConfig())
    conv = groups.layer == 1
    heights = (groups.row_hi - groups.row_lo)[conv]
    assert (groups.neurons[conv] <= 1024).all()
    assert sorted(set(heights.tolist())) == [14]
    assert (heights % 2 == 0).all()


@pytest.mark.parametrize(("spec", "bands"), [
    ("64x64x1:4C3-P2-10F", {(0, 16), (16, 32), (32, 48), (48, 64)}),
    ("32x32x1:16C3-P2-32C3-P2-64C3-P2-10F", {(0, 32)}),
])
def test_heights_that_divide_the_pool_keep_their_bands(spec: str, bands: set) -> None:
    # the bands of a height that is a multiple of the pool are those of before the fix
    graph = _graph(spec)
    groups = partition(graph, CoreConfig())
    _assert_fits_and_tiles(graph, groups, CoreConfig())
    conv = groups.layer == 1
    pairs = zip(groups.row_lo[conv].tolist(), groups.row_hi[conv].tolist(), strict=True)
    assert set(pairs) == bands
