"""Where does semi_sup's gain come from? Two controls for bench.semi_vs_sup, with 2 paired songs.

    python -m bench.semi_vs_sup_control              # 5 seeds; trains what bench.semi_vs_sup has not
    python -m bench.semi_vs_sup_control --analyse    # the tables and plot again from the finished runs

The main benchmark keeps each run's best epoch by validation loss, and the supervised baseline keeps
its first epoch in 9 of 10 runs. Its gain could then come from training longer rather than from the
unpaired data. Two controls, same seeds, steps and paired excerpts as the main runs:

- **sup at the last step**: the supervised runs again, each also scored with the weights of its
  1000th step (``last_separator.keras``): the comparison at a fixed budget.
- **semi_sup with studio unpaired data**: the adversarial method, but its unpaired audio comes from
  the paired songs' own family: the 6 studio training songs that ``train_sup_songs=2`` leaves out
  (their mixtures, vocals and accompaniments as unrelated collections); the stage unpaired audio is
  left out (``datasets.ccmixter.unpaired=False``). If the stage test songs gain as much, the gain is
  the adversarial term's, not the stage data's.

Writes ``bench/results/semi_vs_sup_control.{md,csv,png}``.
"""
import argparse
import csv
import json
import os
import time
from typing import Dict, List

import numpy as np

from bench.common import RESULTS, ROOT, machine, write_markdown
from bench.semi_vs_sup import (DOMAINS, FULL, SOURCES, bootstrap_interval, finished_runs, run_all, run_path,
                               score_grid, table, train, train_missing)

PAIRED = 2
PLAN = dict(FULL, paired=(PAIRED,))
# (label, method of the outcome, scores): the rows of the tables, in order.
ARMS = [("sup, best epoch", "sup", "tracks"),
        ("sup, last step", "sup_control", "last_tracks"),
        ("semi_sup, stage unpaired (main)", "semi_sup", "tracks"),
        ("semi_sup, studio unpaired", "semi_sup_studio", "tracks")]
CONTRASTS = [("semi_sup - sup at the last step", "semi_sup", "tracks", "sup_control", "last_tracks"),
             ("semi_sup (studio unpaired) - sup", "semi_sup_studio", "tracks", "sup", "tracks"),
             ("semi_sup: stage - studio unpaired", "semi_sup", "tracks", "semi_sup_studio", "tracks")]


def studio_unpaired(folder: str) -> List[List[str]]:
    """Writes the studio training songs left out by ``train_sup_songs=PAIRED`` as unpaired collections
    in ``folder`` (mixture and vocals as lists, accompaniment as summed files); returns
    ``cfg.unpaired_collections``."""
    import soundfile

    from Config import resolve
    from Input.partition import build_partitions
    config = resolve(["cfg.demo"], {"render_demo_corpus": False})
    name = config["supervised_dataset"]
    spec = dict(config["datasets"][name], root=os.path.join(ROOT, config["datasets"][name]["root"]))

    def paired_songs(count):
        return build_partitions({name: spec}, name, [], SOURCES, config["partition_seed"], True, count).train_sup

    kept = {t.name for t in paired_songs(PAIRED)}
    left_out = [t for t in paired_songs(0) if t.name not in kept]
    os.makedirs(os.path.join(folder, "accompaniment"), exist_ok=True)
    for stream in ("mixture", "vocals"):
        with open(os.path.join(folder, f"{stream}.txt"), "w") as handle:
            handle.writelines(f"{t.roles[stream][0]}\n" for t in left_out)
    for track in left_out:
        parts = [soundfile.read(path, dtype="float32", always_2d=True) for path in track.roles["accompaniment"]]
        soundfile.write(os.path.join(folder, "accompaniment", f"{track.name}.wav"), sum(p[0] for p in parts),
                        parts[0][1], subtype="FLOAT")
    return [["mixture", os.path.join(folder, "mixture.txt")], ["vocals", os.path.join(folder, "vocals.txt")],
            ["accompaniment", os.path.join(folder, "accompaniment")]]


def control_runs(store: str, jobs: int) -> List[Dict]:
    """The main benchmark's runs with 2 paired songs, and both controls' (each trained once)."""
    outcomes = run_all(PLAN, store, jobs)
    collections = studio_unpaired(os.path.join(store, "studio_unpaired"))
    studio = [f"cfg.unpaired_collections={json.dumps(collections)}", "cfg.datasets.ccmixter.unpaired=False"]
    runs = {}
    for seed in PLAN["seeds"]:
        runs[run_path(store, PLAN, "sup_control", PAIRED, seed)] = (
            lambda workdir, seed=seed: dict(train(workdir, "sup", PAIRED, seed, PLAN["epoch_it"], PLAN["epochs"],
                                                  evaluate_last=True), method="sup_control"))
        runs[run_path(store, PLAN, "semi_sup_studio", PAIRED, seed)] = (
            lambda workdir, seed=seed: dict(train(workdir, "semi_sup", PAIRED, seed, PLAN["epoch_it"],
                                                  PLAN["epochs"], studio), method="semi_sup_studio"))
    train_missing(runs, jobs)
    return outcomes + finished_controls(store)


def finished_controls(store: str) -> List[Dict]:
    outcomes = []
    for method in ("sup_control", "semi_sup_studio"):
        for seed in PLAN["seeds"]:
            path = run_path(store, PLAN, method, PAIRED, seed)
            if os.path.isfile(path):
                with open(path) as handle:
                    outcomes.append(json.load(handle))
    return outcomes


def seeds_of_all(outcomes: List[Dict]) -> List[Dict]:
    """Only the seeds every arm finished, so that each contrast pairs the same seeds."""
    methods = {method for _, method, _ in ARMS}
    common = set.intersection(*({o["seed"] for o in outcomes if o["method"] == m} for m in methods))
    return [o for o in outcomes if o["seed"] in common]


def analyse(outcomes: List[Dict]):
    means, contrasts = [], []
    for domain in DOMAINS:
        for source in SOURCES:
            for label, method, scores in ARMS:
                grid = score_grid(outcomes, method, PAIRED, domain, source, scores=scores)[0]
                means.append([domain, source, label, *bootstrap_interval(grid)])
            for label, a, a_scores, b, b_scores in CONTRASTS:
                delta = (score_grid(outcomes, a, PAIRED, domain, source, scores=a_scores)[0]
                         - score_grid(outcomes, b, PAIRED, domain, source, scores=b_scores)[0])
                wins = int(np.sum(np.nanmean(delta, axis=1) > 0))
                contrasts.append([domain, source, label, *bootstrap_interval(delta), f"{wins} of {delta.shape[0]}"])
    return means, contrasts


def plot(means: List[List], path: str) -> None:
    """Mean SDR with 95% intervals per arm, one panel per test domain and source."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(DOMAINS), len(SOURCES), figsize=(10, 6.5), sharey="row", squeeze=False)
    for row, domain in enumerate(DOMAINS):
        for column, source in enumerate(SOURCES):
            axis = axes[row][column]
            picked = [m for m in means if m[0] == domain and m[1] == source]
            y = np.array([m[3] for m in picked])
            error = np.array([[m[3] - m[4] for m in picked], [m[5] - m[3] for m in picked]])
            axis.bar(range(len(picked)), y, yerr=error, capsize=4, color=["#888", "#bbb", "#3a7", "#7bd"])
            axis.set_xticks(range(len(picked)), [m[2].replace(", ", ",\n") for m in picked], fontsize=7)
            axis.set_title(f"{source}, {DOMAINS[domain]}", fontsize=10)
            axis.grid(axis="y", alpha=0.3)
            if column == 0:
                axis.set_ylabel("SDR (dB)")
    figure.suptitle(f"Where the gain comes from: {PAIRED} paired songs, {len(PLAN['seeds'])} seeds, "
                    f"95% bootstrap intervals", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_results(outcomes: List[Dict]) -> str:
    outcomes = seeds_of_all(outcomes)
    means, contrasts = analyse(outcomes)
    name = "semi_vs_sup_control"
    plot(means, os.path.join(RESULTS, f"{name}.png"))
    with open(os.path.join(RESULTS, f"{name}.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arm", "seed", "dataset", "track", "source", "SDR", "SIR", "SAR"])
        for label, method, scores in ARMS:
            for o in (o for o in outcomes if o["method"] == method):
                for t in o[scores]:
                    for source in SOURCES:
                        s = t["methods"]["separator"][source]
                        writer.writerow([label, o["seed"], t["dataset"], t["track"], source, s["SDR"], s["SIR"], s["SAR"]])
    kept = {label: [min(o["history"], key=lambda h: h["valid_loss"])["epoch"]
                    for o in outcomes if o["method"] == method] for label, method, scores in ARMS if scores == "tracks"}
    text = "\n".join([
        "# Where does semi_sup's gain come from? Controls with 2 paired songs", "",
        "Reproduce: `python -m bench.semi_vs_sup_control` (after or without `python -m bench.semi_vs_sup`: "
        "it trains the runs it needs)", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"Seeds {sorted({o['seed'] for o in outcomes})}, {PLAN['epoch_it'] * PLAN['epochs']} separator steps per "
        "run. The epoch each arm kept (best validation loss): "
        + "; ".join(f"{label}: {epochs}" for label, epochs in kept.items()) + ". 'sup, last step' is the "
        "supervised runs trained again and scored at step 1000 (the reruns are not bit-identical to the main "
        "runs: several threads).", "",
        "## Contrasts (SDR, dB)", "",
        "Mean over seeds and test songs of the per-song difference; 95% bootstrap interval resampling "
        "seeds and songs; 'seeds won': seeds whose mean difference is above 0.", "",
        table(["test domain", "source", "contrast", "mean", "95% low", "95% high", "seeds won"],
              [[DOMAINS[r[0]], *r[1:]] for r in contrasts]), "",
        "## Mean SDR per arm (dB)", "",
        table(["test domain", "source", "arm", "SDR", "95% low", "95% high"], [[DOMAINS[r[0]], *r[1:]] for r in means]),
        "", f"![SDR per arm]({name}.png)", "", f"Per-song scores: `{name}.csv`. What they mean: "
        "[semi_vs_sup_findings.md](semi_vs_sup_findings.md).", ""])
    return write_markdown(name, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--analyse", action="store_true", help="only the tables and plot, from finished runs")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (default 2)")
    parser.add_argument("--store", default=os.path.join(ROOT, "data", "bench", "semi_vs_sup"),
                        help="where finished runs are kept (shared with bench.semi_vs_sup)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.analyse:
        outcomes = finished_runs(PLAN, args.store) + finished_controls(args.store)
    else:
        outcomes = control_runs(args.store, args.jobs)
    write_results(outcomes)
    print(f"took {(time.perf_counter() - started) / 60:.0f} minutes")


if __name__ == "__main__":
    main()
