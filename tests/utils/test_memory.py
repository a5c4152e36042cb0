"""The process settings of a batch run (canmore_sim.utils.memory.tune_process)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from canmore_sim.utils.memory import (
    GC_THRESHOLDS,
    HUGEPAGE_VARIABLE,
    _numpy_hugepages,
    tune_process,
)


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HUGEPAGE_VARIABLE, raising=False)


def test_inside_the_collector_thresholds_are_raised_and_restored(no_variable: None) -> None:
    before = gc.get_threshold()
    with tune_process():
        assert gc.get_threshold() == GC_THRESHOLDS
        assert os.environ[HUGEPAGE_VARIABLE] == "0"
        assert _numpy_hugepages(False) is False  # numpy's advice was off inside
    assert gc.get_threshold() == before
    assert HUGEPAGE_VARIABLE not in os.environ


def test_numpy_advice_is_restored_after_an_error(no_variable: None) -> None:
    previous = _numpy_hugepages(True)
    try:
        with pytest.raises(RuntimeError), tune_process():
            raise RuntimeError("inside")
        assert _numpy_hugepages(True) is True  # restored to what it was
    finally:
        _numpy_hugepages(bool(previous))


def test_a_variable_the_user_set_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUGEPAGE_VARIABLE, "1")
    previous = _numpy_hugepages(True)
    try:
        with tune_process():
            assert os.environ[HUGEPAGE_VARIABLE] == "1"
            assert _numpy_hugepages(True) is True  # left as numpy had it
        assert os.environ[HUGEPAGE_VARIABLE] == "1"
    finally:
        _numpy_hugepages(bool(previous))


def test_a_fresh_process_imports_numpy_without_huge_pages() -> None:
    """The variable is set before the first NumPy import of the console script's process."""
    code = ("from canmore_sim.utils.memory import tune_process\n"
            "with tune_process():\n"
            "    import numpy as np\n"
            "    print(np._core.multiarray._set_madvise_hugepage(False))\n")
    env = {k: v for k, v in os.environ.items() if k != HUGEPAGE_VARIABLE}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.strip()
    assert out == "False"

