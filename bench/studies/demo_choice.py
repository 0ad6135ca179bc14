"""A separation setting chosen on the demo's validation songs: SDR per domain and source for each choice.

Shared by the benchmarks that compare settings of one trained model (bench.studies.band_extension,
bench.studies.full_band_masks): each gives a way to score a partition with a choice; this tabulates the
validation and test songs, picks the best choice by the mean validation SDR, and writes
``bench/results/<name>.{md,csv}``.
"""
import csv
import json
import os
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from bench.common import RESULTS, ROOT, demo_workdir, machine, trained_demo_run, write_markdown

SOURCES = ("vocals", "accompaniment")
DOMAINS = {"musdb": "studio", "ccmixter": "stage"}
PARTITIONS = ("valid", "test")


def compare_choices(choices: Sequence[str], scores_of: Callable[[str, str], List[Dict]]) -> Tuple[List, List, Dict]:
    """Rows ``[partition, domain, source, choice, songs, SDR median, SDR mean]``, per-song rows, and the mean
    validation SDR of each choice, from ``scores_of(partition, choice)`` (the ``scores.json`` track rows)."""
    rows, per_track = [], []
    for partition in PARTITIONS:
        for choice in choices:
            tracks = scores_of(partition, choice)
            for domain in DOMAINS:
                for source in SOURCES:
                    sdr = [t["methods"]["separator"][source]["SDR"] for t in tracks if t["dataset"] == domain]
                    sdr = np.array([np.nan if v is None else v for v in sdr], float)
                    rows.append([partition, DOMAINS[domain], source, choice, len(sdr), float(np.nanmedian(sdr)),
                                 float(np.nanmean(sdr))])
            per_track += [[partition, choice, t["dataset"], t["track"], s, t["methods"]["separator"][s]["SDR"]]
                          for t in tracks for s in SOURCES]
            print(f"{partition} {choice}: done", flush=True)
    valid_means = {c: float(np.mean([r[6] for r in rows if r[0] == "valid" and r[3] == c])) for c in choices}
    return rows, per_track, valid_means


def write_choice_results(name: str, title: str, column: str, rows: List, per_track: List, valid_means: Dict,
                         default: Tuple[str, str], model: str) -> str:
    """Writes the tables of :func:`compare_choices` as ``bench/results/<name>.{md,csv}``.

    Args:
        name: the study's name (``python -m bench.studies.<name>``).
        title: the markdown's title.
        column: what a choice is (a column's name).
        default: the default's name in the code and its value.
        model: which model was scored, and how (a sentence's start).
    """
    with open(os.path.join(RESULTS, f"{name}.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partition", column.replace(" ", "_"), "dataset", "track", "source", "SDR"])
        writer.writerows(per_track)
    columns = ["partition", "domain", "source", column, "songs", "SDR median", "SDR mean"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + " |" for row in rows]
    best = max(valid_means, key=valid_means.get)
    songs = {(row[0], row[1]): row[4] for row in rows}  # (partition, domain) -> songs
    counts = {partition: " and ".join(f"{songs[(partition, domain)]} {domain}" for domain in DOMAINS.values())
              for partition in PARTITIONS}
    text = "\n".join([
        f"# {title}", "", f"Reproduce: `python -m bench.studies.{name}`", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"{model}, scored with museval v4 at the songs' own rate and channels (SDR in dB; each song's median over "
        f"1 s windows, then the median and mean over songs). Validation: {counts['valid']} songs; test: "
        f"{counts['test']} other songs.", "", *lines, "",
        "Mean validation SDR over domains and sources: " + ", ".join(f"{c} {v:.2f}" for c, v in valid_means.items())
        + f". Best on the validation songs: **{best}**; the default (`{default[0]}`) is {default[1]}.", "",
        f"Per-song scores: `{name}.csv`.", ""])
    return write_markdown(name, text)


def demo_model(description: str, argv=None) -> Tuple[str, str, str]:
    """The command line of a benchmark that scores one model: ``(workdir, run folder, which model it is)``.

    ``--run`` names a run trained on the demo corpus; by default it is ``make demo``'s model, trained once
    and kept in ``--workdir`` (data/bench/band_extension), which all these benchmarks share."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run", help="a run trained on the demo corpus (cfg.demo); default: make demo's model, "
                                      "trained once and kept")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "data", "bench", "band_extension"))
    args = parser.parse_args(argv)
    demo_workdir(args.workdir)
    if args.run:
        return args.workdir, os.path.abspath(args.run), f"the run {args.run}"
    return args.workdir, trained_demo_run(args.workdir), "`make demo`'s model (seed 1, trained once and kept)"


def library_scores(workdir: str, run: str, partition: str, folder: str, **options) -> List[Dict]:
    """Per-track scores (``scores.json`` rows) of ``run``'s best model on a partition of the demo corpus, separated
    through the library in float32 with the Separator's ``options``; the evaluation is kept in ``workdir/folder``."""
    from Config import resolve
    from Evaluation.scores import evaluate_tracks
    from Input.datasets.partition import partitions_from_config
    from Input.datasets.track import read_role
    from Models.separator import Separator
    previous = os.getcwd()
    os.chdir(workdir)  # cfg.demo's dataset roots are relative (data/demo)
    try:
        partitions = partitions_from_config(dict(resolve(["cfg.semi_sup", "cfg.demo"]), resampled_cache=None))
        separator = Separator.from_checkpoint(os.path.join(run, "best_separator.keras"), precision="float32",
                                              **options)
        out = os.path.join(workdir, folder, partition)
        evaluate_tracks(separator, getattr(partitions, partition), read_role, out, progress=False)
    finally:
        os.chdir(previous)
    return track_scores(out)


def track_scores(evaluation: str) -> List[Dict]:
    """The per-track rows of an evaluation folder's ``scores.json``."""
    with open(os.path.join(evaluation, "scores.json")) as handle:
        return json.load(handle)["tracks"]


def choice_study(description: str, argv, name: str, title: str, column: str, choices: Sequence[str],
                 scores_of: Callable[[str, str, str, str], List[Dict]], default: Tuple[str, str], note: str) -> str:
    """A whole study of one model's choices: its command line (:func:`demo_model`), the scores of every choice
    on the validation and test songs (``scores_of(workdir, run, partition, choice)``), and the tables, whose
    model line is ``One model, <model>`` and ``note``."""
    workdir, run, model = demo_model(description, argv)
    rows, per_track, valid_means = compare_choices(
        choices, lambda partition, choice: scores_of(workdir, run, partition, choice))
    return write_choice_results(name, title, column, rows, per_track, valid_means, default,
                                f"One model, {model}{note}")
