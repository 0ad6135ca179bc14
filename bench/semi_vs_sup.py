"""Does unpaired data help? cfg.sup vs cfg.semi_sup with few paired songs, same separator, steps and seeds.

    python -m bench.semi_vs_sup            # about 21 minutes on 2 cores: 1200 steps, seeds 1, 2 and 3
    python -m bench.semi_vs_sup --quick    # about 6 minutes: 300 steps, one seed
    python -m bench.semi_vs_sup --deterministic   # runs that repeat exactly: about 29 minutes

Runs Training.py on the demo corpus (3 paired songs; unpaired mixtures, solo vocals and solo
accompaniment) and reports the median test SDR/SIR/SAR over tracks per source.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench.common import ROOT, demo_corpus, report


def run_script(workdir: str, script: str, *arguments: str) -> str:
    """Runs one of the project's scripts in ``workdir`` and returns the folder of the Sacred run it made."""
    command = [sys.executable, os.path.join(ROOT, script), *arguments]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    runs = sorted(int(n) for n in os.listdir(os.path.join(workdir, "runs")) if n.isdigit())
    return os.path.join(workdir, "runs", str(runs[-1]))


def train(workdir: str, method: str, seed: int, steps: int, epochs: int, deterministic: bool) -> str:
    """Trains on the demo corpus with 3 paired songs; returns the run folder (its info.json has the test scores)."""
    return run_script(workdir, "Training.py", "with", f"cfg.{method}", "cfg.demo", "cfg.train_sup_songs=3",
                      f"cfg.epoch_it={steps}", f"cfg.max_epochs={epochs}", "cfg.patience=100", f"seed={seed}",
                      "progress=False", f"deterministic={deterministic}")


def demo_workdir(workdir: str) -> None:
    """Makes ``workdir`` a place to run the scripts on the demo corpus (``data/demo``)."""
    os.makedirs(os.path.join(workdir, "data"))
    os.symlink(demo_corpus(), os.path.join(workdir, "data", "demo"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--deterministic", action="store_true", help="Training.py deterministic=True")
    args = parser.parse_args(argv)
    steps, epochs, seeds = (150, 2, [1]) if args.quick else (300, 4, [1, 2, 3])
    rows, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        demo_workdir(workdir)
        mixture_row = None
        for method in ("sup", "semi_sup"):
            for seed in seeds:
                with open(os.path.join(train(workdir, method, seed, steps, epochs, args.deterministic),
                                       "info.json")) as handle:
                    test = json.load(handle)["test"]
                for source in ("vocals", "accompaniment"):
                    entry = test[f"separator/all/{source}"]
                    rows.append([method, seed, source, entry["SDR_median"], entry["SIR_median"], entry["SAR_median"]])
                mixture_row = mixture_row or [["mixture as estimate", "-", s, test[f"mixture/all/{s}"]["SDR_median"],
                                               test[f"mixture/all/{s}"]["SIR_median"], "-"]
                                              for s in ("vocals", "accompaniment")]
    means = [[method, "mean", source] + [float(np.mean([r[column] for r in rows if r[0] == method and r[2] == source]))
                                         for column in (3, 4, 5)]
             for method in ("sup", "semi_sup") for source in ("vocals", "accompaniment")] if len(seeds) > 1 else []
    report("semi_vs_sup" + ("_quick" if args.quick else ""),
           f"Supervised vs semi-supervised on the demo corpus (3 paired songs, {steps * epochs} separator steps)",
           ["method", "seed", "source", "SDR median", "SIR median", "SAR median"], rows + means + mixture_row,
           "python -m bench.semi_vs_sup" + (" --quick" if args.quick else "")
           + (" --deterministic" if args.deterministic else ""),
           "Median over the 5 test songs of each song's median over 1 s windows (museval v4); "
           f"the mean rows average those medians over the seeds. The {2 * len(seeds)} runs took "
           f"{(time.perf_counter() - started) / 60:.0f} minutes.")


if __name__ == "__main__":
    main()
