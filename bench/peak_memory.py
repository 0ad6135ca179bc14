"""Runs a Python script in this process and prints its peak resident memory in GiB on the last line.

    python bench/peak_memory.py SCRIPT [ARGS ...]
"""
import resource
import runpy
import sys

if __name__ == "__main__":
    sys.argv = sys.argv[1:]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as done:
        if done.code:
            raise
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20:.3f}")
