"""Memory of a run's process: freed memory back to the system between the big stages, and
the process settings of one long batch job (:func:`tune_process`).

glibc's allocator keeps freed blocks of its heap for reuse instead of returning them
(and, after a large array is freed, serves arrays up to that size from the heap too), so
a run's resident memory stays at the high-water mark of its earlier stages: the VGG16
headline had about 150 MB of freed weights and temporaries resident when its NoC replay
began. ``malloc_trim(0)`` returns every free page of the heap; it changes no value, costs
milliseconds, and does nothing on other C libraries.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["GC_THRESHOLDS", "HUGEPAGE_VARIABLE", "return_free_memory", "tune_process"]

#: NumPy's switch for its transparent-huge-page advice on large arrays (Linux).
HUGEPAGE_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"

#: The collector's thresholds for a batch run (Python's default is 700, 10, 10).
GC_THRESHOLDS = (100_000, 50, 100)

_TRIM: list[Callable[[int], int] | None] = []


def return_free_memory() -> bool:
    """Return the free pages of the C heap to the system (glibc); whether it could."""
    if not _TRIM:
        _TRIM.append(_find_trim())
    trim = _TRIM[0]
    if trim is None:
        return False
    trim(0)
    return True


def _find_trim() -> Callable[[int], int] | None:
    """``malloc_trim`` of the running C library, or None (not glibc, not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


@contextmanager
def tune_process() -> Iterator[None]:
    """Settings of this process for one long batch job, restored on leaving; the CLI
    runs every command inside it.

    - **No huge pages for NumPy's arrays** (unless :data:`HUGEPAGE_VARIABLE` is set in the
      environment, which then decides). NumPy advises the kernel to back every large array
      with 2 MB pages. On a virtual machine whose host reclaims the guest's free memory
      (this project's 2-core machines), touching such memory for the first time is slow:
      300 MB of fresh arrays took 3.4-3.5 s with huge pages and 0.16-0.32 s without them,
      and the VGG16 headline spent about 2 s less in the kernel. With ordinary pages the
      values are the same; only page-table work changes.
    - **Fewer collections of the cyclic garbage collector**: :data:`GC_THRESHOLDS` instead
      of Python's ``(700, 10, 10)``. Importing torch, numba and matplotlib allocates
      hundreds of thousands of long-lived objects, and the default thresholds make the
      collector walk all of them several times over (about 0.7-1 s of the VGG16 headline);
      young cyclic garbage is still collected, the oldest generation rarely.

    Changes no computed value. Processes forked inside it (workers) inherit both.
    """
    thresholds = gc.get_threshold()
    own_variable = HUGEPAGE_VARIABLE not in os.environ
    previous = None
    if own_variable:
        os.environ[HUGEPAGE_VARIABLE] = "0"  # read by NumPy when it is first imported
        previous = _numpy_hugepages(False)
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if own_variable:
            os.environ.pop(HUGEPAGE_VARIABLE, None)
            if previous is not None:
                _numpy_hugepages(previous)


def _numpy_hugepages(enabled: bool) -> bool | None:
    """Set NumPy's huge-page advice when NumPy is already imported (its private switch);
    the previous setting, or None (NumPy not imported yet, or without that switch)."""
    numpy = sys.modules.get("numpy")
    core = getattr(numpy, "_core", None) or getattr(numpy, "core", None)
    switch = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    return bool(switch(enabled)) if callable(switch) else None
