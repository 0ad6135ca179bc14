"""What every benchmark shares: the machine's description, timing, and writing result tables."""
import argparse
import csv
import datetime
import os
import platform
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence

from Runs.folders import RUNS_DIR, newest_run_folder
from Utils.hardware import cpu_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(ROOT, "bench", "results"))  # elsewhere: runs compared by a bench


def machine() -> Dict[str, str]:
    """CPU, cores, memory and versions, for the header of every result file."""
    import keras
    import numpy
    import tensorflow as tf
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "cpu": cpu, "vector": vector_units(),
            "cores": str(os.cpu_count()),
            "memory": f"{memory:.0f} GiB", "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__,
            "gpu": ", ".join(d.name for d in tf.config.list_physical_devices("GPU")) or "none"}


def vector_units() -> str:
    """The CPU's widest vector extension and whether TensorFlow computes with oneDNN (on by default where the
    CPU has AVX-512 VNNI or BF16): machines that share a model name ("AMD EPYC") can differ in both, and
    training speed and the last bits of results with them."""
    flags = cpu_flags()
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "other"
    try:  # a module of TensorFlow's own, not its API: where it is gone, the state is unknown
        from tensorflow.python.util import _pywrap_util_port
        onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except (ImportError, AttributeError):
        onednn = "unknown"
    return f"{widest}, oneDNN {onednn}"


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def timed_in_turn(cases: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, List[float]]:
    """Seconds of each case, timed in turn ``repeats`` times (round robin), so that a machine whose speed
    drifts from minute to minute (shared hosts) affects every case alike. Each round starts one case later
    than the last, so that no case always follows the same one (a heavy process can slow the next)."""
    seconds = {name: [] for name in cases}
    names = list(cases)
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            with Timer() as timer:
                cases[name]()
            seconds[name].append(timer.seconds)
    return seconds


def report(name: str, title: str, columns: Sequence[str], rows: List[Sequence], command: str, notes: str = "") -> str:
    """Prints a table and writes it as markdown and CSV to ``bench/results/<name>.{md,csv}``."""
    os.makedirs(RESULTS, exist_ok=True)
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(str(c)) for c in column) for column in zip(columns, *cells)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(columns, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    info = machine()
    header = [f"# {title}", "", f"Reproduce: `{command}`", "",
              "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), ""]
    text = "\n".join(header + lines + ([""] + [notes] if notes else [])) + "\n"
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as handle:
        handle.write(text)
    with open(os.path.join(RESULTS, f"{name}.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["# " + ", ".join(f"{k}={v}" for k, v in info.items())])
        writer.writerow(columns)
        writer.writerows(rows)
    print(text)
    return text


def write_markdown(name: str, text: str) -> str:
    """Writes ``bench/results/<name>.md`` and prints it."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as handle:
        handle.write(text)
    print(text)
    return text


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def study_arguments(doc: str, store: str) -> argparse.ArgumentParser:
    """The options every resumable study takes (``--analyse``, ``--store``), its description ``doc``'s first
    paragraph; the study adds its own before parsing."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--analyse", action="store_true", help="only the tables, from the stored runs")
    parser.add_argument("--store", default=store, help="where finished runs are kept (default %(default)s)")
    return parser


def demo_corpus(families: bool = False) -> str:
    """The demo corpus folder (rendered if needed; with ``families``, the shifted families too)."""
    out = os.path.join(ROOT, "data", "demo")
    subprocess.run([sys.executable, "-m", "Input.demo.corpus", "--out", out, *(["--families"] if families else [])],
                   cwd=ROOT, check=True)
    return out


def project_script(workdir: str, arguments: List[str]) -> str:
    """Runs one of the project's scripts in ``workdir``; returns the run folder it made."""
    result = subprocess.run([sys.executable, *arguments], cwd=workdir, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{result.stderr[-2000:]}")
    return newest_run_folder(os.path.join(workdir, RUNS_DIR))


def demo_workdir(workdir: str) -> str:
    """``workdir`` made a place where ``cfg.demo`` runs find the demo corpus (``data/demo``); returns it."""
    link = os.path.join(workdir, "data", "demo")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) and not os.path.isdir(link):  # left by a checkout that is gone
        os.remove(link)
    if not os.path.islink(link):
        os.symlink(demo_corpus(), link)
    # cfg.demo's resampled cache, shared by every benchmark run (its files are written whole, then renamed).
    cache = os.path.join(workdir, "data", "demo_8k")
    if not os.path.lexists(cache):
        os.makedirs(os.path.join(ROOT, "data", "demo_8k"), exist_ok=True)
        os.symlink(os.path.join(ROOT, "data", "demo_8k"), cache)
    return workdir


def trained_demo_run(workdir: str) -> str:
    """The demo's model, trained once (``make demo``'s command with seed 1) and kept in ``workdir``."""
    marker = os.path.join(workdir, "trained_run.txt")
    if os.path.isfile(marker):
        with open(marker) as handle:
            return handle.read().strip()
    print("training the demo's model (about 20 minutes on 2 cores)", flush=True)
    folder = project_script(demo_workdir(workdir), [os.path.join(ROOT, "Training.py"), "with", "cfg.semi_sup",
                                                    "cfg.demo", "seed=1", "evaluate=False", "progress=False"])
    with open(marker, "w") as handle:
        handle.write(folder)
    return folder
