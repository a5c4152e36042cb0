"""Give freed memory back to the operating system between the big stages of a run.

glibc's allocator keeps freed blocks of its heap for reuse instead of returning them
(and, after a large array is freed, serves arrays up to that size from the heap too), so
a run's resident memory stays at the high-water mark of its earlier stages: the VGG16
headline had about 150 MB of freed weights and temporaries resident when its NoC replay
began. ``malloc_trim(0)`` returns every free page of the heap; it changes no value, costs
milliseconds, and does nothing on other C libraries.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

__all__ = ["return_free_memory"]

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
