"""Keeping a long threaded export's resident memory flat under glibc.

Each thread allocating through glibc's malloc gets its own arena, and records
allocated in a worker thread but freed in the consuming thread fragment those
arenas: RSS then creeps up with the number of records although live data stays
bounded. Capping the arenas and trimming freed memory now and then keeps RSS
flat. Large blocks (a search result of thousands of containers) are also kept
on their own mappings: glibc otherwise raises its mmap threshold after the first
such block is freed and serves later ones from the fragmented heap. All of this
is a no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
_M_ARENA_MAX = -8


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def limit_malloc_arenas(arenas: int = 2, mmap_threshold: int = 256 * 1024) -> bool:
    """Cap the arenas threads created from now on may use and fix the mmap threshold.

    True when it took effect.
    """
    return bool(_LIBC and _LIBC.mallopt(_M_ARENA_MAX, arenas) and _LIBC.mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def release_free_memory() -> bool:
    """Give freed heap memory back to the operating system."""
    return bool(_LIBC and _LIBC.malloc_trim(0))
