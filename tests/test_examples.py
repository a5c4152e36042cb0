"""The snnTorch and sinabs examples (docs/guides/nir.md, "Bringing an snnTorch or sinabs
model") run end to end where the package is installed (always in CI: .ci/run installs both):
train, export to NIR, load and map with canmore-sim."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize(("package", "example", "nodes"), [
    ("snntorch", "snntorch_to_nir", ["Conv2d", "LIF", "AvgPool2d", "Flatten", "Affine", "LIF"]),
    ("sinabs", "sinabs_to_nir", ["Conv2d", "IF", "SumPool2d", "Flatten", "Affine", "IF"]),
])
def test_exporter_example_runs(tmp_path, package: str, example: str, nodes: list[str]) -> None:
    if os.environ.get("CI"):  # .ci/run installs both (.ci/exporters.txt): never skipped there
        importlib.import_module(package)
    else:
        pytest.importorskip(package)
    import nir

    out = tmp_path / f"{example}.nir"
    figures = _example(example).main(["--epochs", "1", "--frames", "2", "--out", str(out)])
    graph = nir.read(str(out))
    kinds = [type(n).__name__ for n in graph.nodes.values()]
    assert [k for k in kinds if k not in ("Input", "Output")] == nodes
    assert figures["cores"] == 3  # 8 channels of 16x16 on 2 cores, the output layer on one
    assert figures["packets"] > 0 and figures["energy_uj"] > 0
    assert 0.0 <= figures["accuracy"] <= 1.0
