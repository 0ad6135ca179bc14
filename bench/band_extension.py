"""What each band extension gives on full-band songs: SDR per source and domain of the demo corpus.

    python -m bench.band_extension               # trains the demo's model once (make demo's command), then scores
    python -m bench.band_extension --run runs/3  # scores a trained run instead

The model hears 8192 Hz mono; the demo songs are 44.1 kHz stereo with content up to 20 kHz. Each
extension (``Models/full_band.py``) separates the same songs with the same model: ``none`` writes the
model's band-limited estimates, ``zeros`` masks the input's own STFT up to 4096 Hz and leaves nothing
above, ``average`` carries the top 1 kHz's mean mask upwards. The default is chosen on the validation
songs; the test songs are reported beside them. Writes ``bench/results/band_extension.{md,csv}``.
"""
import argparse
import csv
import json
import os
from typing import Dict, List

import numpy as np

from bench.common import RESULTS, ROOT, demo_workdir, machine, project_script, trained_demo_run, write_markdown
from Models.full_band import BAND_EXTENSIONS, DEFAULT_BAND_EXTENSION

SOURCES = ("vocals", "accompaniment")
DOMAINS = {"musdb": "studio", "ccmixter": "stage"}


def scores(workdir: str, run: str, partition: str, extension: str) -> List[Dict]:
    """Per-track scores of ``run`` on a partition with one band extension (Evaluate.py)."""
    folder = project_script(workdir, [os.path.join(ROOT, "Evaluate.py"), "with", "cfg.semi_sup", "cfg.demo", f"run={run}",
                               f"partition={partition}", f"cfg.band_extension={extension}", "progress=False"])
    with open(os.path.join(folder, "evaluation", "scores.json")) as handle:
        return json.load(handle)["tracks"]


def table(columns, rows) -> str:
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
                     + ["| " + " | ".join(row) + " |" for row in cells])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained run folder (default: train the demo's model once)")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "data", "bench", "band_extension"))
    args = parser.parse_args(argv)
    demo_workdir(args.workdir)
    run = os.path.abspath(args.run) if args.run else trained_demo_run(args.workdir)
    rows, per_track = [], []
    for partition in ("valid", "test"):
        for extension in BAND_EXTENSIONS:
            tracks = scores(args.workdir, run, partition, extension)
            for domain in DOMAINS:
                for source in SOURCES:
                    sdr = [t["methods"]["separator"][source]["SDR"] for t in tracks if t["dataset"] == domain]
                    sdr = np.array([np.nan if v is None else v for v in sdr], float)
                    rows.append([partition, DOMAINS[domain], source, extension, len(sdr),
                                 float(np.nanmedian(sdr)), float(np.nanmean(sdr))])
            per_track += [[partition, extension, t["dataset"], t["track"], s, t["methods"]["separator"][s]["SDR"]]
                          for t in tracks for s in SOURCES]
            print(f"{partition} {extension}: done", flush=True)
    valid_means = {e: float(np.mean([r[6] for r in rows if r[0] == "valid" and r[3] == e])) for e in BAND_EXTENSIONS}
    best = max(valid_means, key=valid_means.get)
    with open(os.path.join(RESULTS, "band_extension.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partition", "extension", "dataset", "track", "source", "SDR"])
        writer.writerows(per_track)
    text = "\n".join([
        "# Band extensions on the demo corpus (44.1 kHz stereo songs, a model hearing 8192 Hz mono)", "",
        f"Reproduce: `python -m bench.band_extension`", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"One model (`make demo`'s command, seed 1: `{os.path.relpath(run, ROOT)}`), scored with museval v4 at the "
        "songs' own rate and channels (SDR in dB; each song's median over 1 s windows, then the median and mean "
        "over songs). Validation: 3 studio and 4 stage songs; test: the same numbers of other songs.", "",
        table(["partition", "domain", "source", "extension", "songs", "SDR median", "SDR mean"], rows), "",
        "Mean validation SDR over domains and sources: " + ", ".join(f"{e} {v:.2f}" for e, v in valid_means.items())
        + f". Best on the validation songs: **{best}**; the default (`Models.full_band.DEFAULT_BAND_EXTENSION`) "
        f"is {DEFAULT_BAND_EXTENSION}.", "", "Per-song scores: `band_extension.csv`.", ""])
    write_markdown("band_extension", text)


if __name__ == "__main__":
    main()
