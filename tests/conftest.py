"""Shared fixtures: small real networks and configurations."""

from __future__ import annotations

import numpy as np
import pytest

from canmore_sim.config import ArchConfig, default_config
from canmore_sim.models.graph import LayerGraph
from canmore_sim.models.spec import graph_from_spec, weight_shapes

SMALL_SPEC = "16x16x1:8C3-P2-16C3-P2-10F"


def random_graph(spec: str = SMALL_SPEC, seed: int = 0, scale: float = 0.3) -> LayerGraph:
    """A network of the given spec with seeded random weights (positive mean, so it fires)."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.05, scale, size=s).astype(np.float32) for s in weight_shapes(spec)]
    return graph_from_spec(spec, weights)


@pytest.fixture
def small_graph() -> LayerGraph:
    return random_graph()


@pytest.fixture
def config() -> ArchConfig:
    return default_config()


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Tests never read or write the user's cache (canmore_sim.utils.cache): one of their own."""
    import os

    previous = os.environ.get("CANMORE_SIM_CACHE")
    os.environ["CANMORE_SIM_CACHE"] = str(tmp_path_factory.mktemp("canmore-cache"))
    yield
    if previous is None:
        os.environ.pop("CANMORE_SIM_CACHE", None)
    else:
        os.environ["CANMORE_SIM_CACHE"] = previous
