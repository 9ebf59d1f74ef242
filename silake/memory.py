"""Freed memory kept for the next sample (glibc's malloc), instead of handed back to the kernel and faulted in again.

A shard job allocates and frees a few hundred MB per sample: npz payloads, inflated arrays, Arrow batches,
Parquet pages. glibc serves each buffer over its mmap threshold (128 KiB, raised on the fly up to 32 MiB) with
a fresh mapping and unmaps it when freed, and trims the heap top beyond twice that: every sample's buffers were
new pages, each zeroed by the kernel at its first touch (on this VM, `clear_page_erms` was a sixth of a
one-shard run's CPU). With the threshold at glibc's maximum and the trim threshold at `keep_bytes`, freed
buffers stay in the heap and the next sample reuses them; the process keeps up to `keep_bytes` it no longer
uses (about its peak, which the caps bound: `silake.schemas.limits`).

Elsewhere (macOS, musl) nothing changes: `keep_freed_memory` says it did nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: The largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2); larger buffers stay mappings.
MAX_MMAP_THRESHOLD = 32 << 20

_lock = threading.Lock()
_applied: int | None = None


def keep_freed_memory(keep_bytes: int) -> bool:
    """Keep up to `keep_bytes` of freed heap in this process (and serve buffers up to 32 MiB from the heap);
    0 leaves glibc's defaults. Once per process and value; True if glibc's malloc took it."""
    global _applied
    if keep_bytes <= 0 or not sys.platform.startswith("linux"):
        return False
    with _lock:
        if _applied == keep_bytes:
            return True
        mallopt = _mallopt()
        if mallopt is None:
            return False
        # Setting either turns off glibc's moving thresholds: both are set, the mmap threshold first.
        trim = min(keep_bytes, 2**31 - 1)  # an int in C
        if not (mallopt(M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, trim)):
            log.debug("mallopt refused the thresholds: glibc's defaults stay")
            return False
        _applied = keep_bytes
        return True


def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's `mallopt`, or None (another C library)."""
    try:
        libc = ctypes.CDLL(None)  # this process's symbols: its C library's included
        libc.gnu_get_libc_version  # noqa: B018  (glibc only)
        fn = libc.mallopt
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return fn
