"""Where the compiled engine is cached, and whether a run will compile it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canmore_sim.noc.jitcache import choose_cache_dir, configure


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody can create, root included: its parent is a regular file."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    return blocker / "pkg"


def test_writable_package_keeps_numbas_default(tmp_path: Path) -> None:
    assert choose_cache_dir(tmp_path, {"HOME": str(tmp_path)}) is None
    assert (tmp_path / "__pycache__").is_dir()


def test_user_setting_wins(tmp_path: Path) -> None:
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    assert choose_cache_dir(_unwritable(tmp_path), env) is None
    assert configure(env) is None and env == {"NUMBA_CACHE_DIR": str(tmp_path / "mine")}


def test_read_only_package_uses_the_user_cache(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    chosen = choose_cache_dir(_unwritable(tmp_path), env)
    assert chosen == str(tmp_path / "xdg" / "canmore-sim" / "numba")
    assert Path(chosen).is_dir()


def test_nothing_writable_falls_back_to_a_temporary_folder(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(_unwritable(tmp_path)), "HOME": str(tmp_path)}
    chosen = choose_cache_dir(_unwritable(tmp_path), env)
    assert chosen is not None and "canmore-sim-numba-" in chosen and Path(chosen).is_dir()


_PROBE = """
from canmore_sim.config import default_config
from canmore_sim.noc import fast
from tests.noc.conftest import make_traffic
before = fast.needs_compile()
fast.simulate(make_traffic([0], [5]), default_config())
print(before, fast.needs_compile())
"""


@pytest.mark.slow
def test_cache_is_written_where_numba_is_told_and_reused(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    runs = [subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                           text=True, check=True, timeout=600).stdout.split()
            for _ in range(2)]
    assert runs == [["True", "False"], ["False", "False"]]
    assert list((tmp_path / "cache").rglob("*.nbi")), "no numba index written there"


_BLAS_PROBE = """
import sys
from canmore_sim.config import default_config
from canmore_sim.noc import fast
from tests.noc.conftest import make_traffic
fast.simulate(make_traffic([0], [5]), default_config())
loaded = "scipy.linalg" in sys.modules
from numba.np import arraymath
from numba.np.linalg import ensure_blas
try:
    ensure_blas()
    real = True
except ImportError:
    real = False
print(loaded, type(arraymath._HAVE_BLAS).__name__, bool(arraymath._HAVE_BLAS) == real)
"""


def test_loading_the_engine_imports_no_scipy_and_keeps_numbas_blas_answer() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", _BLAS_PROBE], env=env, capture_output=True,
                         text=True, check=True, timeout=600).stdout.split()
    assert out == ["False", "_DeferredProbe", "True"]


def test_blas_probe_is_left_alone_once_numbas_registry_is_imported() -> None:
    from canmore_sim.noc import fast_kernel  # noqa: F401  imports the registry
    from canmore_sim.noc.jitcache import defer_blas_probe

    assert defer_blas_probe() is False


def test_deferred_probe_runs_once_and_only_when_tested() -> None:
    from canmore_sim.noc.jitcache import _DeferredProbe

    calls: list[int] = []
    value = _DeferredProbe(lambda: calls.append(1) or True)
    assert calls == []
    assert value and value and calls == [1]
