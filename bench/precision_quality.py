"""Does a bfloat16 network separate as well as float32? One trained model, the test set, both precisions.

    python -m bench.precision_quality                    # trains a semi-supervised demo model first (about 7 minutes)
    python -m bench.precision_quality --run runs/3       # a run trained on the demo corpus (cfg.demo)

Separate.py's ``--precision auto`` takes bfloat16 on CPUs that compute it natively; this is the check
that doing so costs no separation quality (Evaluate.py with ``precision=float32`` and ``bfloat16``).
"""
import argparse
import json
import os
import tempfile

import numpy as np

from bench.common import report
from bench.semi_vs_sup import demo_workdir, run_script, train

PRECISIONS = ("float32", "bfloat16")
SOURCES = ("vocals", "accompaniment")
METRICS = ("SDR", "SIR", "SAR")


def evaluate(workdir: str, run: str, precision: str) -> dict:
    """The per-track scores (``scores.json``) of Evaluate.py on the demo test set."""
    folder = run_script(workdir, "Evaluate.py", "with", "cfg.semi_sup", "cfg.demo", f"run={run}",
                        f"precision={precision}", "progress=False")
    with open(os.path.join(folder, "evaluation", "scores.json")) as handle:
        return {row["track"]: row["methods"]["separator"] for row in json.load(handle)["tracks"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a training run on the demo corpus (default: train one as "
                                      "bench.semi_vs_sup does, 1200 steps, seed 1, deterministic)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        demo_workdir(workdir)
        run = os.path.abspath(args.run) if args.run else train(workdir, "semi_sup", 1, 300, 4, True)
        scores = {precision: evaluate(workdir, run, precision) for precision in PRECISIONS}
    tracks = sorted(scores["float32"])
    rows = []
    for source in SOURCES:
        for precision in PRECISIONS:
            rows.append([precision, source] + [float(np.median([scores[precision][t][source][m] for t in tracks]))
                                               for m in METRICS])
        differences = [[scores["bfloat16"][t][source][m] - scores["float32"][t][source][m] for t in tracks]
                       for m in METRICS]
        rows.append(["largest per-track difference, bfloat16 - float32", source]
                    + [float(max(d, key=abs)) for d in differences])
    report("precision_quality", f"Test-set quality of one model in float32 and bfloat16 ({len(tracks)} demo songs)",
           ["precision", "source", "SDR median", "SIR median", "SAR median"], rows,
           "python -m bench.precision_quality" + (f" --run {args.run}" if args.run else ""),
           "Median over the test songs of each song's median over 1 s windows (museval v4), from Evaluate.py "
           "with precision=float32 and precision=bfloat16 on the same run"
           + ("." if args.run else
              " (the semi-supervised demo model of bench.semi_vs_sup's seed 1: 1200 steps, deterministic)."))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
