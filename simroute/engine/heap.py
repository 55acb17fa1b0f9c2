"""The C allocator's settings for a process that runs simulations (glibc on Linux; elsewhere nothing).

A run allocates and frees numpy arrays of a few MB (the packed records, the KPI columns). By default
glibc serves such blocks with fresh ``mmap`` pages and hands them back on ``free``, so every run pays a
page fault per 4 KiB touched again: about 5 % of a 200,000-call run measured here. Raising the mmap and
trim thresholds keeps freed blocks in the heap for the next array, with a bound: blocks above 64 MiB
still come from ``mmap`` and go back at once, and at most 256 MiB of free heap is kept at its top.
These are glibc's documented tunables (``mallopt``, or ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` in the environment, which Dask's docs also recommend for workers).

It changes the whole process (a notebook's, a Dask worker's), so nothing calls it on import or on engine
start: it is an opt-in, ``simulate(..., tune_heap=True)`` or ``simroute run --tune-heap``.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["keep_freed_memory"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 256 << 20

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Set the thresholds once per process; True when the C library took them."""
    global _done
    if _done is None:
        _done = False
        if sys.platform.startswith("linux"):
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):  # no C library symbols to call, or not glibc's
                return False
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            )
    return _done
