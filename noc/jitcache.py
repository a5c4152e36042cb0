"""Where numba keeps the compiled fast NoC engine, also when the package is read-only.

numba caches a ``cache=True`` function in ``__pycache__`` beside its source, falls back
to a user-wide directory, and refuses to import the module at all when neither is
writable. An installed package may sit in a read-only site-packages and a container may
have a read-only home, so before numba is imported :func:`configure` points
``NUMBA_CACHE_DIR`` at the first writable place (unless the user has set it):
the package's ``__pycache__`` (numba's own default, nothing is set), else
``$XDG_CACHE_HOME/canmore-sim/numba`` (``~/.cache/...``), else a per-user temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = ["choose_cache_dir", "configure"]

_ENV = "NUMBA_CACHE_DIR"


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
