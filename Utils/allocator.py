"""The C allocator's settings for a process that allocates and frees large arrays chunk after chunk.

By default glibc gives arrays of more than about 128 kB to the kernel when they are freed (a threshold that
rises as it goes), and gives each thread its own heap, whose large requests it maps afresh. Every new array
then costs page faults and pages the kernel clears first, and under a virtual machine a page the host has
taken back costs much more than that. Kept in one heap and reused instead, a separation's pages are
faulted in once per process (measured in bench/results/separate_speed_findings.md).
"""
import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's malloc.h
LARGEST_HEAP_ALLOCATION = 32 << 20  # the largest mmap threshold glibc accepts on 64-bit systems
KEPT_FREE = 1 << 30  # free memory kept at the heap's top rather than handed back to the kernel


def reuse_freed_memory() -> bool:
    """Keeps freed memory for reuse: one heap for every thread, arrays up to 32 MB on it, and up to 1 GiB of
    free memory kept. Returns whether the C library took the settings (glibc does; elsewhere nothing changes)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # no mallopt (macOS, Windows)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all([mallopt(M_ARENA_MAX, 1), mallopt(M_MMAP_THRESHOLD, LARGEST_HEAP_ALLOCATION),
                mallopt(M_TRIM_THRESHOLD, KEPT_FREE)])
