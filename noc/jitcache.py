"""numba's set-up for the fast NoC engine: where it keeps the compiled code, also when the
package is read-only (:func:`configure`), and no SciPy import when that code is loaded
(:func:`defer_blas_probe`).

numba caches a ``cache=True`` function in ``__pycache__`` beside its source, falls back
to a user-wide directory, and refuses to import the module at all when neither is
writable. An installed package may sit in a read-only site-packages and a container may
have a read-only home, so before numba is imported :func:`configure` points
``NUMBA_CACHE_DIR`` at the first writable place (unless the user has set it):
the package's ``__pycache__`` (numba's own default, nothing is set), else
``$XDG_CACHE_HOME/canmore-sim/numba`` (``~/.cache/...``), else a per-user temporary folder.

The first call of a compiled function in a process, even one loaded from the cache, makes
numba load its CPU target's registries, and one of them (``numba.np.arraymath``) probes
for a BLAS at import by importing ``scipy.linalg``: 0.15-0.3 s of the headline's NoC
replay (with ``numpy.f2py`` where nothing imported it before), for code that never calls
a BLAS. :func:`defer_blas_probe` imports that registry with the probe deferred to the
first time numba asks for its answer (compiling an inner product), so nothing changes
for other numba code in the process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path

__all__ = ["choose_cache_dir", "configure", "defer_blas_probe"]

_ENV = "NUMBA_CACHE_DIR"
#: the module numba's BLAS probe imports (``numba.np.linalg.ensure_blas``)
_BLAS = "scipy.linalg.cython_blas"


def choose_cache_dir(package_dir: Path, environ: Mapping[str, str]) -> str | None:
    """The directory to give numba, or None when numba's default (``__pycache__``) is writable.

    Parameters
    ----------
    package_dir
        Folder of the module whose functions are cached.
    environ
        The process environment (``NUMBA_CACHE_DIR``, ``XDG_CACHE_HOME``, ``HOME``).

    Returns
    -------
    str or None
        None if the user set ``NUMBA_CACHE_DIR`` or ``package_dir/__pycache__`` is writable.
    """
    if environ.get(_ENV):
        return None
    if _writable(package_dir / "__pycache__"):
        return None
    home = environ.get("HOME") or str(Path.home())
    base = Path(environ.get("XDG_CACHE_HOME") or Path(home) / ".cache")
    candidates = [base / "canmore-sim" / "numba",
                  Path(tempfile.gettempdir()) / f"canmore-sim-numba-{_user_id()}"]
    for candidate in candidates:
        if _writable(candidate):
            return str(candidate)
    return str(candidates[-1])  # numba will report that it cannot cache there


def configure(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` for this process if the package folder is not writable.

    Call before numba is imported. Returns the directory set, or None if nothing was set.
    If numba is already imported, its configuration is updated as well.
    """
    env = os.environ if environ is None else environ
    chosen = choose_cache_dir(Path(__file__).resolve().parent, env)
    if chosen is not None:
        env[_ENV] = chosen
        import sys

        config = sys.modules.get("numba.core.config")
        if config is not None and not getattr(config, "CACHE_DIR", ""):
            config.CACHE_DIR = chosen  # type: ignore[attr-defined]
    return chosen


def defer_blas_probe() -> bool:
    """Import numba's array-math registry with its BLAS probe deferred; whether it was.

    ``numba.np.arraymath`` sets ``_HAVE_BLAS = _check_blas()`` at import, which imports
    SciPy's BLAS. Here it is imported while that import fails at once (``None`` in
    ``sys.modules``, removed straight after), and ``_HAVE_BLAS`` becomes a
    :class:`_DeferredProbe` of the same ``_check_blas``: it runs the probe when numba
    first tests it, so numba's choices are those of an undisturbed import. Does nothing
    (False) when the registry or SciPy's BLAS is already imported, or when this numba
    version has no such probe.
    """
    import sys

    if "numba.np.arraymath" in sys.modules or _BLAS in sys.modules:
        return False
    sys.modules[_BLAS] = None  # type: ignore[assignment]
    try:
        from numba.np import arraymath
    finally:
        if _BLAS in sys.modules and sys.modules[_BLAS] is None:
            del sys.modules[_BLAS]
    probe = getattr(arraymath, "_check_blas", None)
    if not callable(probe) or getattr(arraymath, "_HAVE_BLAS", None) is not False:
        return False
    arraymath._HAVE_BLAS = _DeferredProbe(probe)
    return True


class _DeferredProbe:
    """A truth value computed by ``probe()`` the first time it is tested, then kept."""

    def __init__(self, probe: Callable[[], object]) -> None:
        self._probe = probe
        self._value: bool | None = None

    def __bool__(self) -> bool:
        if self._value is None:
            self._value = bool(self._probe())
        return self._value


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (created if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else os.environ.get("USERNAME", "user")
