"""Each command imports what it needs: ``--help`` and ``report`` do without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from canmore_sim.cli.main import main

_HEAVY = ("torch", "numba", "matplotlib", "scipy", "networkx", "dask", "simpy", "sklearn")


def _modules_after(argv: list[str]) -> set[str]:
    """Top-level modules loaded by ``canmore-sim ARGV`` in a fresh interpreter."""
    code = ("import contextlib, io, sys\n"
            "from canmore_sim.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        code = main({argv!r})\n"
            "    except SystemExit as exc:\n"
            "        code = exc.code\n"
            "assert code == 0, code\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize(("argv", "allowed"), [
    # help lists the valid names read from the registries themselves, so it loads the
    # modules that define them (NoC engines: SimPy), nothing else: the neuron models and
    # the readers import torch only when they run
    (["--help"], {"simpy"}),
    (["map", "--help"], {"simpy"}),
    (["sweep", "--help"], {"simpy"}),
    (["report", "--help"], {"simpy"}),
    (["inspect", "--help"], {"simpy"}),
    (["--version"], set()),
])
def test_help_imports_nothing_heavy(argv: list[str], allowed: set[str]) -> None:
    loaded = _modules_after(argv)
    assert "canmore_sim" in loaded
    heavy = loaded & set(_HEAVY) - allowed
    assert not heavy, heavy


def test_report_rerenders_without_torch_or_the_simulators(tmp_path) -> None:
    assert main(["map", "--frames", "1", "--out", str(tmp_path), "--quiet"]) == 0
    loaded = _modules_after(["report", str(tmp_path)])
    assert "matplotlib" in loaded  # it does draw the plots
    assert not loaded & {"torch", "simpy", "scipy", "networkx", "sklearn", "dask"}
