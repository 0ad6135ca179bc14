"""Do unpaired data help? cfg.sup vs cfg.semi_sup on the demo corpus, by paired songs and seeds.

    python -m bench.semi_vs_sup              # 2 and 8 paired songs x 5 seeds x {sup, semi_sup}
    python -m bench.semi_vs_sup --quick      # 2 paired songs x 2 seeds, fewer steps (about 10 minutes)
    python -m bench.semi_vs_sup --analyse    # the tables and plot again from the finished runs

Each pair of runs shares the seed, so the separator starts from the same weights and reads the same
paired excerpts; both take the same number of separator steps and keep their best epoch by the
validation loss. The demo corpus poses the paper's problem (Input/demo_corpus.py): paired songs
of one family of timbres, unpaired audio of another. Test songs are scored per domain: "studio"
(the paired songs' family, MUSDB layout) and "stage" (the unpaired data's family, CCMixter layout),
with the band-limited output (``cfg.band_extension=none``) the committed runs were scored with.

Finished runs are kept in ``data/bench/semi_vs_sup/`` (one JSON of per-track scores each), so an
interrupted benchmark continues where it stopped. Writes ``bench/results/semi_vs_sup{,_quick}.md``,
``.csv`` (per-track scores), and ``.png``.
"""
import argparse
import concurrent.futures
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from bench.common import RESULTS, ROOT, demo_corpus, machine, write_markdown
from Utils.runs import LAST_MODEL

DOMAINS = {"musdb": "studio (paired family)", "ccmixter": "stage (unpaired family)"}
SOURCES = ("vocals", "accompaniment")
METHODS = ("sup", "semi_sup")
FULL = {"paired": (2, 8), "seeds": (1, 2, 3, 4, 5), "epoch_it": 250, "epochs": 4}
QUICK = {"paired": (2,), "seeds": (1, 2), "epoch_it": 150, "epochs": 2}


def train(workdir: str, method: str, paired: int, seed: int, epoch_it: int, epochs: int,
          updates: Sequence[str] = (), evaluate_last: bool = False) -> Dict:
    """Trains and evaluates one run with Training.py on the demo corpus; returns its per-track scores.

    Args:
        updates: further ``cfg.key=value`` settings.
        evaluate_last: also score the weights at the last step (``last_tracks``) with Evaluate.py.
    """
    os.makedirs(os.path.join(workdir, "data"), exist_ok=True)
    link = os.path.join(workdir, "data", "demo")
    if not os.path.islink(link):
        os.symlink(demo_corpus(), link)
    command = [sys.executable, os.path.join(ROOT, "Training.py"), "with", f"cfg.{method}", "cfg.demo",
               f"cfg.train_sup_songs={paired}", f"cfg.epoch_it={epoch_it}", f"cfg.max_epochs={epochs}",
               "cfg.patience=100", "cfg.band_extension=none", *updates, f"seed={seed}", "progress=False"]
    folder = _run_command(workdir, command)
    with open(os.path.join(folder, "evaluation", "scores.json")) as handle:
        tracks = json.load(handle)["tracks"]
    with open(os.path.join(folder, "info.json")) as handle:
        history = json.load(handle)["history"]
    outcome = {"method": method, "paired": paired, "seed": seed, "tracks": tracks, "history": history}
    if evaluate_last:
        last = _run_command(workdir, [sys.executable, os.path.join(ROOT, "Evaluate.py"), "with", f"cfg.{method}",
                                      "cfg.demo", "cfg.band_extension=none", *updates,
                                      f"checkpoint={os.path.join(folder, LAST_MODEL)}",
                                      "progress=False"])
        with open(os.path.join(last, "evaluation", "scores.json")) as handle:
            outcome["last_tracks"] = json.load(handle)["tracks"]
    return outcome


def _run_command(workdir: str, command: List[str]) -> str:
    """Runs Training.py or Evaluate.py in ``workdir``; returns the run folder it made."""
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    runs = sorted(int(n) for n in os.listdir(os.path.join(workdir, "runs")) if n.isdigit())
    return os.path.join(workdir, "runs", str(runs[-1]))


def run_path(store: str, plan: Dict, method: str, paired: int, seed: int) -> str:
    """Where one finished run's scores are kept."""
    return os.path.join(store, f"{method}_paired{paired}_seed{seed}_steps{plan['epoch_it'] * plan['epochs']}.json")


def finished_runs(plan: Dict, store: str) -> List[Dict]:
    """The plan's runs found in ``store``, keeping only seeds that both methods finished."""
    outcomes = []
    for paired in plan["paired"]:
        for seed in plan["seeds"]:
            paths = [run_path(store, plan, method, paired, seed) for method in METHODS]
            if all(os.path.isfile(path) for path in paths):
                for path in paths:
                    with open(path) as handle:
                        outcomes.append(json.load(handle))
    return outcomes


def run_all(plan: Dict, store: str, jobs: int) -> List[Dict]:
    """Every run of the plan, each trained once: finished runs are read back from ``store``."""
    wanted = {run_path(store, plan, m, p, s): (lambda workdir, key=(m, p, s): train(workdir, *key, plan["epoch_it"],
                                                                                  plan["epochs"]))
              for p in plan["paired"] for s in plan["seeds"] for m in METHODS}
    train_missing(wanted, jobs)
    return finished_runs(plan, store)


def train_missing(runs: Dict[str, Callable[[str], Dict]], jobs: int) -> None:
    """Trains each run whose file is missing, ``jobs`` at a time: file -> function(workdir) -> outcome."""
    missing = [path for path in runs if not os.path.isfile(path)]
    print(f"{len(runs) - len(missing)} of {len(runs)} runs already done; training {len(missing)}", flush=True)

    def one(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with tempfile.TemporaryDirectory() as workdir:
            started = time.perf_counter()
            outcome = runs[path](workdir)
        outcome["minutes"] = (time.perf_counter() - started) / 60
        with open(path + ".tmp", "w") as handle:
            json.dump(outcome, handle)
        os.replace(path + ".tmp", path)
        print(f"done: {os.path.basename(path)} in {outcome['minutes']:.1f} min", flush=True)

    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        for future in [pool.submit(one, path) for path in missing]:
            future.result()


def score_grid(outcomes: List[Dict], method: str, paired: int, domain: str, source: str,
               metric: str = "SDR", scores: str = "tracks") -> Tuple[np.ndarray, List[str]]:
    """``(seeds, tracks)`` per-track medians of one method, and the track names (sorted); ``scores`` is
    ``"tracks"`` (the kept epoch's) or ``"last_tracks"`` (the last step's, where a run has them)."""
    chosen = sorted((o for o in outcomes if o["method"] == method and o["paired"] == paired), key=lambda o: o["seed"])
    names = sorted({t["track"] for o in chosen for t in o[scores] if t["dataset"] == domain})
    grid = np.full((len(chosen), len(names)), np.nan)
    for row, outcome in enumerate(chosen):
        for track in outcome[scores]:
            if track["dataset"] == domain:
                value = track["methods"]["separator"][source][metric]
                grid[row, names.index(track["track"])] = np.nan if value is None else value
    return grid, names


def bootstrap_interval(grid: np.ndarray, resamples: int = 10000, seed: int = 0) -> Tuple[float, float, float]:
    """Mean of a ``(seeds, tracks)`` grid and its 95% bootstrap interval, resampling seeds and tracks
    (both with replacement, crossed): the interval covers both the training noise and the choice of songs."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, grid.shape[0], (resamples, grid.shape[0]))
    columns = rng.integers(0, grid.shape[1], (resamples, grid.shape[1]))
    means = np.array([np.nanmean(grid[r][:, c]) for r, c in zip(rows, columns)])
    low, high = np.nanpercentile(means, [2.5, 97.5])
    return float(np.nanmean(grid)), float(low), float(high)


def analyse(outcomes: List[Dict], plan: Dict) -> Tuple[List[List], List[List]]:
    """Rows of mean SDR/SIR/SAR per method, and rows of the paired difference semi - sup with intervals."""
    means, differences = [], []
    for domain in DOMAINS:
        for paired in sorted({o["paired"] for o in outcomes}):
            for source in SOURCES:
                for method in METHODS:
                    cells = []
                    for metric in ("SDR", "SIR", "SAR"):
                        grid, names = score_grid(outcomes, method, paired, domain, source, metric)
                        cells.append(float(np.nanmean(grid)))
                    sdr = bootstrap_interval(score_grid(outcomes, method, paired, domain, source)[0])
                    means.append([domain, paired, source, method, len(names), *cells, sdr[1], sdr[2]])
                delta = (score_grid(outcomes, "semi_sup", paired, domain, source)[0]
                         - score_grid(outcomes, "sup", paired, domain, source)[0])
                mean, low, high = bootstrap_interval(delta)
                wins = int(np.sum(np.nanmean(delta, axis=1) > 0))
                differences.append([domain, paired, source, mean, low, high, f"{wins} of {delta.shape[0]}"])
    return means, differences


def plot(means: List[List], plan: Dict, path: str) -> None:
    """SDR against paired songs, per domain and source, both methods with their 95% intervals."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(DOMAINS), len(SOURCES), figsize=(9, 6.5), sharex=True, squeeze=False)
    for row, domain in enumerate(DOMAINS):
        for column, source in enumerate(SOURCES):
            axis = axes[row][column]
            for offset, method in zip((-0.08, 0.08), METHODS):
                picked = [m for m in means if m[0] == domain and m[2] == source and m[3] == method]
                x = np.array([m[1] for m in picked], float) * (1 + offset)
                y = np.array([m[5] for m in picked])
                error = np.array([[m[5] - m[8] for m in picked], [m[9] - m[5] for m in picked]])
                axis.errorbar(x, y, yerr=error, marker="o", capsize=4, label=method)
            axis.set_xscale("log", base=2)
            axis.set_xticks(list(plan["paired"]), [str(p) for p in plan["paired"]])
            axis.set_title(f"{source}, {DOMAINS[domain]}", fontsize=10)
            axis.grid(alpha=0.3)
            if column == 0:
                axis.set_ylabel("SDR (dB), mean over seeds and songs")
            if row == len(DOMAINS) - 1:
                axis.set_xlabel("paired training songs")
    axes[0][0].legend()
    figure.suptitle(f"Supervised vs semi-supervised on the demo corpus ({len(plan['seeds'])} seeds, "
                    f"{plan['epoch_it'] * plan['epochs']} steps, 95% bootstrap intervals)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def table(columns: Sequence[str], rows: List[List]) -> str:
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def write_results(outcomes: List[Dict], plan: Dict, name: str, command: str) -> str:
    means, differences = analyse(outcomes, plan)
    os.makedirs(RESULTS, exist_ok=True)
    plot(means, plan, os.path.join(RESULTS, f"{name}.png"))
    with open(os.path.join(RESULTS, f"{name}.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "paired", "seed", "dataset", "track", "source", "SDR", "SIR", "SAR"])
        for o in outcomes:
            for t in o["tracks"]:
                for source in SOURCES:
                    s = t["methods"]["separator"][source]
                    writer.writerow([o["method"], o["paired"], o["seed"], t["dataset"], t["track"], source,
                                     s["SDR"], s["SIR"], s["SAR"]])
    minutes = {m: np.mean([o["minutes"] for o in outcomes if o["method"] == m and "minutes" in o] or [0])
               for m in METHODS}
    best_epochs = {(m, p): [min(o["history"], key=lambda h: h["valid_loss"])["epoch"]
                            for o in outcomes if o["method"] == m and o["paired"] == p]
                   for m in METHODS for p in sorted({o["paired"] for o in outcomes})}
    info = machine()
    text = "\n".join([
        f"# Supervised vs semi-supervised on the demo corpus", "",
        f"Reproduce: `{command}`", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), "",
        f"{len(outcomes)} of {2 * len(plan['paired']) * len(plan['seeds'])} planned runs "
        f"(seeds finished by both methods: " + "; ".join(
            f"{p} paired songs: {sorted({o['seed'] for o in outcomes if o['paired'] == p})}"
            for p in sorted({o["paired"] for o in outcomes})) + "). "
        f"Paired songs {list(plan['paired'])}, seeds {list(plan['seeds'])}, "
        f"{plan['epoch_it'] * plan['epochs']} separator steps per run ({plan['epochs']} epochs, best epoch by "
        f"validation loss). A run took {minutes['sup']:.1f} (sup) and {minutes['semi_sup']:.1f} (semi_sup) "
        f"minutes on average, evaluation included. The epoch each run kept (best validation loss), by "
        f"method and paired songs: " + "; ".join(f"{m} {p}: {e}" for (m, p), e in best_epochs.items()) + ".", "",
        "## Paired difference semi_sup - sup (SDR, dB)", "",
        "Mean over seeds and test songs of the per-song difference (each song's median over 1 s windows, "
        "museval v4); 95% bootstrap interval resampling seeds and songs; 'seeds won': seeds whose mean "
        "difference is above 0.", "",
        table(["test domain", "paired songs", "source", "semi - sup", "95% low", "95% high", "seeds won"],
              [[DOMAINS[row[0]], *row[1:]] for row in differences]), "",
        "## Mean scores", "",
        table(["test domain", "paired songs", "source", "method", "songs", "SDR", "SIR", "SAR",
               "SDR 95% low", "SDR 95% high"], [[DOMAINS[row[0]], *row[1:]] for row in means]), "",
        f"![SDR against paired songs]({name}.png)", "",
        f"Per-song scores of every run: `{name}.csv`.", ""])
    return write_markdown(name, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 paired songs, 2 seeds, 300 steps")
    parser.add_argument("--analyse", action="store_true", help="only the tables and plot, from finished runs")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (default 2)")
    parser.add_argument("--store", default=os.path.join(ROOT, "data", "bench", "semi_vs_sup"),
                        help="where finished runs are kept")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    name = "semi_vs_sup" + ("_quick" if args.quick else "")
    started = time.perf_counter()
    outcomes = finished_runs(plan, args.store) if args.analyse else run_all(plan, args.store, args.jobs)
    write_results(outcomes, plan, name, "python -m bench.semi_vs_sup" + (" --quick" if args.quick else ""))
    print(f"took {(time.perf_counter() - started) / 60:.0f} minutes")


if __name__ == "__main__":
    main()
