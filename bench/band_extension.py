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
import subprocess
import sys
from typing import Dict, List

import numpy as np

from bench.common import RESULTS, ROOT, demo_corpus, machine, write_markdown
from Models.full_band import BAND_EXTENSIONS, DEFAULT_BAND_EXTENSION

SOURCES = ("vocals", "accompaniment")
DOMAINS = {"musdb": "studio", "ccmixter": "stage"}


def command(workdir: str, arguments: List[str]) -> str:
    """Runs one of the project's scripts in ``workdir``; returns the run folder it made."""
    result = subprocess.run([sys.executable, *arguments], cwd=workdir, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{result.stderr[-2000:]}")
    runs = sorted(int(n) for n in os.listdir(os.path.join(workdir, "runs")) if n.isdigit())
    return os.path.join(workdir, "runs", str(runs[-1]))


def trained_run(workdir: str) -> str:
    """The demo's model, trained once (``make demo``'s command with seed 1) and kept in ``workdir``."""
    marker = os.path.join(workdir, "trained_run.txt")
    if os.path.isfile(marker):
        with open(marker) as handle:
            return handle.read().strip()
    os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
    if not os.path.islink(os.path.join(workdir, "data", "demo")):
        os.symlink(demo_corpus(), os.path.join(workdir, "data", "demo"))
    print("training the demo's model (about 10 minutes on 2 cores)", flush=True)
    folder = command(workdir, [os.path.join(ROOT, "Training.py"), "with", "cfg.semi_sup", "cfg.demo", "seed=1",
                               "evaluate=False", "progress=False"])
    with open(marker, "w") as handle:
        handle.write(folder)
    return folder


def scores(workdir: str, run: str, partition: str, extension: str) -> List[Dict]:
    """Per-track scores of ``run`` on a partition with one band extension (Evaluate.py)."""
    folder = command(workdir, [os.path.join(ROOT, "Evaluate.py"), "with", "cfg.semi_sup", "cfg.demo", f"run={run}",
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
    os.makedirs(args.workdir, exist_ok=True)
    run = os.path.abspath(args.run) if args.run else trained_run(args.workdir)
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
