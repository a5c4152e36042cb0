"""What network a run used, as plain data for reports (issue 26: provenance).

The model file's SHA-256 (the bundled network's too), its format (a canmore-sim
checkpoint, an official-layout or other state_dict and the wrapper key it was found
under, a NIR graph, a traced module, synthetic weights) and the DTA-TTFS rule it runs
under, so that two reports can be told apart and a run reproduced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canmore_sim.models.graph import LayerGraph
from canmore_sim.utils.hashing import file_sha256

__all__ = ["describe_model_source", "model_format"]


def model_format(graph: LayerGraph) -> str:
    """One phrase naming the format ``graph`` was read from."""
    meta = graph.meta
    if meta.get("weights") == "synthetic":
        return "synthetic weights (calibrated)"
    kind = str(meta.get("format", "canmore-sim checkpoint"))
    if kind == "state_dict":
        kind = ("official DTA-TTFS state_dict" if meta.get("official_layout")
                else "state_dict")
        if meta.get("checkpoint_key"):
            kind += f" under key {meta['checkpoint_key']!r}"
    return {"nir": "NIR graph", "fx": "pickled nn.Module traced with torch.fx"}.get(kind, kind)


def describe_model_source(graph: LayerGraph, path: str | Path | None,
                          rule_text: str) -> dict[str, Any]:
    """Plain data: the model file (None for the bundled network or a zoo/spec name), its
    SHA-256, its format and the rule it runs under (``rule_text``, one line)."""
    if path is None:
        from importlib import resources

        from canmore_sim.models.loaders import DEFAULT_MODEL

        ref = resources.files("canmore_sim.models").joinpath(DEFAULT_MODEL)
        with resources.as_file(ref) as bundled:
            sha = file_sha256(Path(bundled))
        where = f"bundled:{DEFAULT_MODEL}"
    elif Path(path).is_file():
        sha, where = file_sha256(Path(path)), str(path)
    else:
        sha, where = None, str(path)
    return {"path": where, "sha256": sha, "format": model_format(graph), "rule": rule_text}
