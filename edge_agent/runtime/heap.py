"""Give the C allocator's free memory back to the system after each recording (glibc only).

Each recording's analysis and FLAC encoding allocate a few MiB of short-lived buffers; glibc's
malloc keeps what they free inside its heaps (pieces in the middle of a heap cannot be shrunk
away), so the agent's resident memory holds megabytes it does not use (issue 18,
docs/scaling.md: malloc_info counted 6.6-9.3 of the thread heaps' 9.4-10.1 MiB as free).
`malloc_trim(0)` returns every whole free page of every heap (glibc >= 2.8 also gives back the
middle of a heap, with MADV_DONTNEED). It walks all heaps, 10-40 ms on the development machine,
so it runs on a worker thread, never on the event loop.

Elsewhere (musl, macOS) there is no such call; `release_free_heap` then does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import platform
from collections.abc import Callable

__all__ = ["release_free_heap", "trimmer"]


@functools.cache
def trimmer() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # this process's own C library
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap() -> bool:
    """Hand free heap pages back to the system; True if glibc released any."""
    trim = trimmer()
    return bool(trim(0)) if trim is not None else False
