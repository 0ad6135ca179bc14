"""The speed benchmarks under two Python environments, run in turn: what a dependency upgrade changed.

    python -m bench.dependency_upgrade --before OLD/bin/python --after .venv/bin/python [--rounds 2]

Runs ``bench.train_speed`` (cfg.demo), ``bench.input_speed`` and ``bench.separate_speed`` (3-minute song,
3 repeats) in each environment, alternating (before, after, before, after, ...) so that drifts in the
machine's speed touch both alike, and tabulates each row's median over rounds. Written for the move from
TensorFlow 2.16 with tensorflow-io and numpy 1.26 to TensorFlow 2.21 with numpy 2 (docs/dependencies.md).
"""
import argparse
import csv
import os
import subprocess
from typing import Dict, List

import numpy as np

from bench.common import ROOT, report

BENCHES = {  # module, arguments, the CSV columns that name a row, the columns compared
    "train_speed": (["--steps", "30", "--configs", "demo"], ["config", "method"], ["steps/s (compute)"]),
    "input_speed": (["--batches", "20"], ["config", "stream"], ["examples/s"]),
    "separate_speed": (["--minutes", "3", "--memory-minutes", "3", "--repeats", "3"], ["what", "output frames per window"],
                       ["seconds, median", "peak memory (GiB)"]),
}


def run_benches(python: str, folder: str) -> Dict[tuple, float]:
    """``{(bench, row name, column): value}`` of one run of every benchmark in ``python``'s environment."""
    values = {}
    for name, (arguments, keys, columns) in BENCHES.items():
        subprocess.run([python, "-m", f"bench.{name}", *arguments], cwd=ROOT, check=True, capture_output=True,
                       env=dict(os.environ, BENCH_RESULTS=folder, TF_CPP_MIN_LOG_LEVEL="2"))
        with open(os.path.join(folder, f"{name}.csv")) as handle:
            lines = [line for line in handle if not line.startswith(('"#', "#"))]  # the machine's line first
            for row in csv.DictReader(lines):
                for column in columns:
                    if row.get(column) not in (None, "", "-"):
                        values[(name, " / ".join(row[k] for k in keys), column)] = float(row[column].replace(",", ""))
    return values


def versions(python: str) -> str:
    """TensorFlow's and numpy's versions in ``python``'s environment."""
    code = "import numpy, tensorflow; print(f'tensorflow {tensorflow.__version__}, numpy {numpy.__version__}')"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the Python of the environment before the upgrade")
    parser.add_argument("--after", required=True, help="the Python of the environment after it")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", default=os.path.join(ROOT, "data", "bench", "dependency_upgrade"))
    args = parser.parse_args(argv)
    runs: Dict[str, List[Dict[tuple, float]]] = {"before": [], "after": []}
    for round_index in range(args.rounds):
        for label in runs:
            results = os.path.join(args.workdir, f"{label}{round_index}")  # each run's own tables, kept
            os.makedirs(results, exist_ok=True)
            runs[label].append(run_benches(getattr(args, label), results))
            print(f"round {round_index + 1}: {label} done", flush=True)
    keys = [key for key in runs["before"][0] if all(key in run for label in runs for run in runs[label])]
    rows = []
    for bench, row, column in keys:
        before = float(np.median([run[(bench, row, column)] for run in runs["before"]]))
        after = float(np.median([run[(bench, row, column)] for run in runs["after"]]))
        rows.append([bench, row, column, before, after, f"{after / before:.2f}" if before else "-"])
    report("dependency_upgrade", f"Speed before and after: {versions(args.before)} -> {versions(args.after)}",
           ["benchmark", "row", "measure", "before", "after", "after / before"], rows,
           f"python -m bench.dependency_upgrade --before OLD/bin/python --after .venv/bin/python --rounds {args.rounds}",
           f"Medians over {args.rounds} rounds, the environments taken in turn on the same machine. Before: "
           f"{versions(args.before)} with tensorflow-io 0.37.1; after: {versions(args.after)}, no tensorflow-io.")


if __name__ == "__main__":
    main()
