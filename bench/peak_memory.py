"""Runs a Python script in this process and prints its peak resident memory in GiB on the last line.

    python bench/peak_memory.py SCRIPT [ARGS ...]

The peak is the process's own high-water mark (``VmHWM``), which starts afresh at ``exec``; the
``ru_maxrss`` of a child would also count the parent's memory it was forked with.
"""
import runpy
import sys


def peak_resident_gib() -> float:
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kib / 2 ** 20


if __name__ == "__main__":
    sys.argv = sys.argv[1:]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as done:
        if done.code:
            raise
    print(f"peak {peak_resident_gib():.3f}")
