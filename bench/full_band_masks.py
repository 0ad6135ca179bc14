"""Which full-band masks separate better: each estimate over the sum of the estimates, or over the mixture?

    python -m bench.full_band_masks               # make demo's model, trained once (as bench.band_extension)
    python -m bench.full_band_masks --run runs/3  # a run trained on the demo corpus (cfg.demo)

Both rules (``Models.full_band.MASK_RULES``) separate the same songs with the same model and the default
band extension (``average``): ``ratio`` divides each source's estimated magnitude by the sum of the
estimates, so the masks add up to 1; ``mixture`` divides it by the mixture's magnitude (at most 1), and
the last source takes what the others leave. The default is chosen on the validation songs; the test
songs are reported beside them. Writes ``bench/results/full_band_masks.{md,csv}``.
"""
import argparse
import csv
import json
import os
from typing import Dict, List

import numpy as np

from bench.common import RESULTS, ROOT, demo_workdir, machine, trained_demo_run, write_markdown
from Models.full_band import DEFAULT_MASK_RULE, MASK_RULES

SOURCES = ("vocals", "accompaniment")
DOMAINS = {"musdb": "studio", "ccmixter": "stage"}


def scores(workdir: str, run: str, partition: str, rule: str) -> List[Dict]:
    """Per-track scores (``scores.json`` rows) of ``run`` on a partition with one mask rule, through the library."""
    from Config import resolve
    from Input.partition import partitions_from_config
    from Input.track import read_reference
    from Models.separator import Separator
    from Utils.evaluation import evaluate_tracks
    previous = os.getcwd()
    os.chdir(workdir)  # cfg.demo's dataset roots are relative (data/demo)
    try:
        partitions = partitions_from_config(dict(resolve(["cfg.semi_sup", "cfg.demo"]), resampled_cache=None))
        separator = Separator.from_checkpoint(os.path.join(run, "best_separator.keras"), precision="float32",
                                              mask_rule=rule)
        out = os.path.join(workdir, "full_band_masks", partition, rule)
        evaluate_tracks(separator, getattr(partitions, partition), read_reference, out, progress=False)
    finally:
        os.chdir(previous)
    with open(os.path.join(out, "scores.json")) as handle:
        return json.load(handle)["tracks"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained run folder (default: make demo's model, trained once)")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "data", "bench", "band_extension"))
    args = parser.parse_args(argv)
    demo_workdir(args.workdir)
    run = os.path.abspath(args.run) if args.run else trained_demo_run(args.workdir)
    rows, per_track = [], []
    for partition in ("valid", "test"):
        for rule in MASK_RULES:
            tracks = scores(args.workdir, run, partition, rule)
            for domain in DOMAINS:
                for source in SOURCES:
                    sdr = [t["methods"]["separator"][source]["SDR"] for t in tracks if t["dataset"] == domain]
                    sdr = np.array([np.nan if v is None else v for v in sdr], float)
                    rows.append([partition, DOMAINS[domain], source, rule, len(sdr), float(np.nanmedian(sdr)),
                                 float(np.nanmean(sdr))])
            per_track += [[partition, rule, t["dataset"], t["track"], s, t["methods"]["separator"][s]["SDR"]]
                          for t in tracks for s in SOURCES]
            print(f"{partition} {rule}: done", flush=True)
    valid_means = {r: float(np.mean([row[6] for row in rows if row[0] == "valid" and row[3] == r])) for r in MASK_RULES}
    best = max(valid_means, key=valid_means.get)
    with open(os.path.join(RESULTS, "full_band_masks.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partition", "mask_rule", "dataset", "track", "source", "SDR"])
        writer.writerows(per_track)
    columns = ["partition", "domain", "source", "mask rule", "songs", "SDR median", "SDR mean"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + " |" for row in rows]
    text = "\n".join([
        "# Full-band masks on the demo corpus: each estimate over the sum of the estimates, or over the mixture", "",
        "Reproduce: `python -m bench.full_band_masks`", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        ("One model (" + ("the run given" if args.run else "`make demo`'s model, seed 1, trained once and kept by "
                          "bench.band_extension") + "), float32, band extension `average`, scored with museval v4 "
         "at the songs' own rate and channels (SDR in dB; each song's median over 1 s windows, then the median and "
         "mean over songs). Validation: 3 studio and 4 stage songs; test: the same numbers of other songs."), "",
        *lines, "",
        "Mean validation SDR over domains and sources: " + ", ".join(f"{r} {v:.2f}" for r, v in valid_means.items())
        + f". Best on the validation songs: **{best}**; the default (`Models.full_band.DEFAULT_MASK_RULE`) is "
        f"{DEFAULT_MASK_RULE}.", "", "Per-song scores: `full_band_masks.csv`.", ""])
    write_markdown("full_band_masks", text)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
