"""Do unpaired data help? cfg.sup against cfg.semi_sup on the demo corpus, under three selection rules.

    python -m bench.studies.semi_vs_sup              # 8 seeds x {sup, semi_sup}, 2 paired songs (resumes stored runs)
    python -m bench.studies.semi_vs_sup --quick      # 2 seeds, 300 steps: checks the pipeline (about 15 minutes)
    python -m bench.studies.semi_vs_sup --analyse    # the tables and plot again from the stored runs only

The protocol, fixed before any of its runs was looked at:

- **Seeds are replicates of the whole experiment.** A seed sets the weights, the excerpts *and* the
  partition (``cfg.partition_seed`` follows it): each seed draws its own 2 paired songs, its own 12
  validation and 12 test songs per domain, and its own third of the stage songs as unpaired audio.
  Both methods of a seed share all of it.
- **Equal budgets.** Every run takes 1000 separator steps (4 epochs of 250, no early stop).
- **Three selection rules, from the same runs**: ``best`` the epoch with the best loss on all
  validation songs (the paper's rule); ``last`` the weights at step 1000 (equal budget);
  ``paired_best`` the best epoch on the studio (paired-domain) validation songs only, what a user
  without target-domain multitracks can do (``cfg.valid_by_dataset``).
- **Primary interval: Student's t over seeds** of each seed's mean difference semi - sup over its
  test songs (95%, seeds - 1 degrees of freedom). Because each seed redraws the paired and the
  held-out songs, the seeds are independent replicates and this interval covers new songs as well
  as new training noise. Secondary: a crossed random-effects model (statsmodels' MixedLM, seeds
  and songs as variance components), its Wald interval on the t distribution with
  min(seeds, songs) - 1 degrees of freedom (statsmodels has no Satterthwaite; this is the
  conservative end). Only what clears 0 under the primary interval is called a gain.

Test songs are scored per domain: "studio" (the paired songs' family, MUSDB layout) and "stage" (the
unpaired data's family, CCMixter layout), band-limited (``cfg.band_extension=none``), BSS Eval v4.
Runs are trained with memory streams (``cfg.stream_source=memory``).

Each finished run is one JSON of per-song scores under ``bench/results/semi_vs_sup_runs/`` (committed,
so that a fresh clone rebuilds the tables, and an interrupted benchmark continues where it stopped;
``--store`` elsewhere trains them anew). A run stopped midway resumes from its last checkpoint, kept with its
work folder under ``data/bench/unfinished/`` until its outcome is stored. Writes ``bench/results/semi_vs_sup{,_quick}.{md,csv,png}``.
"""
import concurrent.futures
import csv
import json
import os
import shutil
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bench.common import RESULTS, ROOT, demo_workdir, machine, project_script, study_arguments, write_markdown
from bench.studies.intervals import crossed_interval, differences, t_interval
from Runs.folders import LAST_MODEL, RUNS_DIR, best_model_for

PROTOCOL = 2  # 1: corpus 3, fixed partition, best epoch only (bench/results/history_semi_vs_sup_corpus3.md)
DOMAINS = {"musdb": "studio (paired family)", "ccmixter": "stage (unpaired family)"}
PAIRED_DOMAIN = "musdb"
SOURCES = ("vocals", "accompaniment")
METHODS = ("sup", "semi_sup")
RULES = {"best": "best epoch, all validation songs (paper)", "last": "last step (equal budget)",
         "paired_best": "best epoch, studio validation songs only"}
FULL = {"paired": 2, "seeds": tuple(range(1, 9)), "epoch_it": 250, "epochs": 4}
QUICK = {"paired": 2, "seeds": (1, 2), "epoch_it": 150, "epochs": 2}
STORE = os.path.join(RESULTS, "semi_vs_sup_runs")


def settings(method: str, plan: Dict, seed: int) -> List[str]:
    """The run's config updates: the same for both methods but ``method``."""
    return [f"cfg.{method}", "cfg.demo", f"cfg.train_sup_songs={plan['paired']}", f"cfg.partition_seed={seed}",
            "cfg.band_extension=none", "cfg.stream_source=memory"]


def train(workdir: str, method: str, plan: Dict, seed: int, extra: Sequence[str] = ()) -> Dict:
    """Trains one run (Training.py) and scores it under each rule (Evaluate.py); returns its outcome. ``extra``:
    config updates beyond :func:`settings` (another study's datasets). A run that ``workdir`` holds unfinished
    (the benchmark was stopped) is resumed from its last checkpoint, and the outcome counts the resumes."""
    demo_workdir(workdir)
    common = [*settings(method, plan, seed), *extra]
    unfinished = (training_runs(workdir) or [None])[-1]
    folder = project_script(workdir, [os.path.join(ROOT, "Training.py"), "with", *common, f"cfg.epoch_it={plan['epoch_it']}",
                                   f"cfg.max_epochs={plan['epochs']}", "cfg.patience=100",
                                   "cfg.valid_by_dataset=True", f"seed={seed}", "progress=False",
                                   *([f"resume={unfinished}"] if unfinished else [])])
    info = read_json(folder, "info.json")
    history = info["history"]
    epochs = {"best": min(history, key=lambda h: h["valid_loss"])["epoch"], "last": history[-1]["epoch"],
              "paired_best": min(history, key=lambda h: h["valid_loss_by_dataset"][PAIRED_DOMAIN])["epoch"]}
    tracks = {"best": read_json(folder, "evaluation", "scores.json")["tracks"]}
    models = {"last": LAST_MODEL, "paired_best": best_model_for(PAIRED_DOMAIN)}
    for rule in ("last", "paired_best"):
        same = next((r for r in tracks if epochs[r] == epochs[rule]), None)
        if same is not None:  # the same weights: scored once
            tracks[rule] = tracks[same]
            continue
        scored = project_script(workdir, [os.path.join(ROOT, "Evaluate.py"), "with", *common,
                                       f"checkpoint={os.path.join(folder, models[rule])}", "progress=False"])
        tracks[rule] = read_json(scored, "evaluation", "scores.json")["tracks"]
    return {"protocol": PROTOCOL, "method": method, "paired": plan["paired"], "seed": seed, "epochs": epochs,
            "paired_songs": info["paired_songs"], "stream_source": info.get("stream_source"),
            "partitions": info["partitions"], "resumed": len(training_runs(workdir)) - 1,
            "history": history, "training_curves": training_curves(workdir, plan["epoch_it"]),
            "scores": {rule: trimmed(rows) for rule, rows in tracks.items()}}


def training_curves(workdir: str, epoch_it: int) -> Dict[str, List[float]]:
    """Per epoch, each training scalar the run logged (``train.<name>`` in its metrics.json, over its resumed
    folders): for the losses and the critics' Wasserstein estimates, the epoch's running mean at its last log
    (Keras logs running means); for the loss terms' gradient diagnostics, the mean of the epoch's points (each
    measured on one fixed batch)."""
    logged = {}
    for folder in training_runs(workdir):  # a resumed run's steps go on in the next folder
        try:
            metrics = read_json(folder, "metrics.json")
        except (OSError, ValueError):
            continue
        for name, series in metrics.items():
            if name.startswith("train."):
                logged.setdefault(name[len("train."):], {}).update(zip(series["steps"], series["values"]))
    curves = {}
    for name, points in logged.items():
        epochs: Dict[int, List[float]] = {}
        for step, value in sorted(points.items()):
            epochs.setdefault((step - 1) // epoch_it, []).append(value)
        pick = np.mean if name.startswith("grad_") else (lambda values: values[-1])
        curves[name] = [round(float(pick(values)), 6) for _, values in sorted(epochs.items())]
    return curves


def trimmed(rows: List[Dict]) -> List[Dict]:
    """Per song: its dataset, name, and the separator's SDR/SIR/SAR per source (what the tables use)."""
    return [{"dataset": r["dataset"], "track": r["track"],
             "separator": {s: {m: r["methods"]["separator"][s][m] for m in ("SDR", "SIR", "SAR")} for s in SOURCES}}
            for r in rows]


def read_json(*parts: str) -> Dict:
    with open(os.path.join(*parts)) as handle:
        return json.load(handle)


def run_path(store: str, plan: Dict, method: str, seed: int) -> str:
    """Where one finished run's outcome is kept."""
    steps = plan["epoch_it"] * plan["epochs"]
    return os.path.join(store, f"p{PROTOCOL}_{method}_paired{plan['paired']}_seed{seed}_steps{steps}.json")


def finished_runs(plan: Dict, store: str) -> List[Dict]:
    """The plan's runs in ``store``, for the seeds that both methods finished."""
    outcomes = []
    for seed in plan["seeds"]:
        paths = [run_path(store, plan, method, seed) for method in METHODS]
        if all(os.path.isfile(path) for path in paths):
            outcomes += [read_json(path) for path in paths]
    return outcomes


def train_missing(plan: Dict, store: str, jobs: int) -> None:
    """Trains each run of the plan whose file is missing, ``jobs`` at a time, seed by seed."""
    wanted = [(method, seed) for seed in plan["seeds"] for method in METHODS]
    missing = [key for key in wanted if not os.path.isfile(run_path(store, plan, *key))]
    print(f"{len(wanted) - len(missing)} of {len(wanted)} runs already done; training {len(missing)}", flush=True)

    if missing:
        warm_cache(plan)
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(store_run, run_path(store, plan, method, seed),
                               lambda workdir, method=method, seed=seed: train(workdir, method, plan, seed))
                   for method, seed in missing]
        for future in futures:
            future.result()


def training_runs(workdir: str) -> List[str]:
    """The run folders under ``workdir`` that hold a checkpoint (training runs, not evaluations), oldest first."""
    from Runs.checkpoint import find_state
    runs = os.path.join(workdir, RUNS_DIR)
    numbers = sorted(int(name) for name in os.listdir(runs) if name.isdigit()) if os.path.isdir(runs) else []
    return [folder for folder in (os.path.join(runs, str(n)) for n in numbers) if find_state(folder)]


def store_run(path: str, run: Callable[[str], Dict]) -> None:
    """Runs ``run(workdir)`` and keeps its outcome, with the minutes it took in this process, at ``path``
    (written whole or not at all). ``workdir`` lasts until the outcome is kept (under data/bench/unfinished/,
    named after ``path``), so that a stopped benchmark resumes the run where its last checkpoint left it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    workdir = os.path.join(ROOT, "data", "bench", "unfinished", os.path.splitext(os.path.basename(path))[0])
    os.makedirs(workdir, exist_ok=True)
    started = time.perf_counter()
    outcome = run(workdir)
    outcome["minutes"] = round((time.perf_counter() - started) / 60, 2)
    outcome["machine"] = machine()
    with open(path + ".tmp", "w") as handle:
        json.dump(outcome, handle, indent=0)
    os.replace(path + ".tmp", path)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"done: {os.path.basename(path)} in {outcome['minutes']:.1f} min", flush=True)


def warm_cache(plan: Dict) -> None:
    """Fills the shared resampled cache with every seed's partition first, in one process: runs side by side
    would otherwise write the same cache files at once."""
    from Config import resolve
    from Input.datasets.partition import partitions_from_config
    with tempfile.TemporaryDirectory() as workdir:
        here = os.getcwd()
        os.chdir(demo_workdir(workdir))
        try:
            for seed in plan["seeds"]:
                updates = dict(train_sup_songs=plan["paired"], partition_seed=seed, render_demo_corpus=False)
                partitions_from_config(resolve(["cfg.semi_sup", "cfg.demo"], updates))
        finally:
            os.chdir(here)


def analyse(outcomes: List[Dict]) -> Tuple[List[List], List[List]]:
    """Rows of the difference semi - sup per rule, domain and source with both intervals; rows of mean scores."""
    contrasts, means = [], []
    for rule in RULES:
        for domain in DOMAINS:
            for source in SOURCES:
                rows = differences(outcomes, rule, domain, source)
                if not rows:
                    continue
                mean, low, high, won = t_interval(rows)
                crossed = crossed_interval(rows)
                songs = {s: len([r for r in rows if r[0] == s]) for s in {r[0] for r in rows}}
                contrasts.append([rule, domain, source, len(songs), f"{min(songs.values())}-{max(songs.values())}",
                                  len({r[1] for r in rows}), mean, low, high, *crossed, f"{won} of {len(songs)}"])
                for method in METHODS:
                    chosen = [o for o in outcomes if o["method"] == method]
                    values = {m: [t["separator"][source][m] for o in chosen for t in o["scores"][rule]
                                  if t["dataset"] == domain and t["separator"][source][m] is not None]
                              for m in ("SDR", "SIR", "SAR")}
                    means.append([rule, domain, source, method, *(float(np.nanmean(values[m])) for m in values)])
    return contrasts, means


def holds(row: List) -> bool:
    """A gain or a loss under the primary interval: the t interval over seeds excludes 0."""
    return np.isfinite(row[7]) and (row[7] > 0 or row[8] < 0)


def plot(contrasts: List[List], path: str) -> None:
    """A forest plot: semi - sup per rule, domain and source, with the primary and the crossed interval."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(DOMAINS), figsize=(10, 4.2), sharex=True, squeeze=False)
    for axis, domain in zip(axes[0], DOMAINS):
        picked = [c for c in contrasts if c[1] == domain]
        for y, row in enumerate(picked):
            axis.plot([row[9], row[10]], [y - 0.15] * 2, color="0.6", linewidth=3,
                      label="crossed random effects" if y == 0 else None)
            axis.errorbar(row[6], y + 0.15, xerr=[[row[6] - row[7]], [row[8] - row[6]]], fmt="o", capsize=4,
                          color="C0" if holds(row) else "C7", label="t over seeds (primary)" if y == 0 else None)
        axis.axvline(0, color="k", linewidth=0.8)
        axis.set_yticks(range(len(picked)), [f"{r[2]}, {r[0]}" for r in picked], fontsize=8)
        axis.set_title(DOMAINS[domain], fontsize=10)
        axis.set_xlabel("SDR semi_sup - sup (dB)")
        axis.grid(alpha=0.3, axis="x")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=8, loc="lower center", ncol=2)
    seeds = max(row[3] for row in contrasts)
    figure.suptitle(f"Semi-supervised minus supervised on the demo corpus, {seeds} seed(s): mean and 95% intervals "
                    f"(grey: the primary interval includes 0)", fontsize=10)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def table(columns: Sequence[str], rows: List[List]) -> str:
    cells = [[(f"{v:.2f}" if np.isfinite(v) else "-") if isinstance(v, float) else str(v) for v in row] for row in rows]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def write_csv(outcomes: List[Dict], path: str, fields: Sequence[str] = ("method", "seed")) -> None:
    """One line per run, rule, song and source; ``fields``: the runs' keys that tell them apart."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*fields, "rule", "epoch", "dataset", "track", "source", "SDR", "SIR", "SAR"])
        for o in outcomes:
            for rule, rows in o["scores"].items():
                for t in rows:
                    for source in SOURCES:
                        s = t["separator"][source]
                        writer.writerow([*(o[f] for f in fields), rule, o["epochs"][rule], t["dataset"], t["track"],
                                         source, s["SDR"], s["SIR"], s["SAR"]])


def machines(outcomes: List[Dict]) -> str:
    """How many runs each kind of CPU trained (its vector units and oneDNN), with their mean minutes."""
    kinds: Dict[str, List[float]] = {}
    for o in outcomes:
        kinds.setdefault(o["machine"]["vector"] if "machine" in o else "not recorded", []).append(o["minutes"])
    return "; ".join(f"{kind}: {len(m)} ({np.mean(m):.1f} min on average)" for kind, m in sorted(kinds.items()))


def write_results(outcomes: List[Dict], plan: Dict, name: str, command: str, waiting: int = 0) -> str:
    """The tables, plot and CSV of ``outcomes``; ``waiting``: stored runs whose seed's other run is not done."""
    contrasts, means = analyse(outcomes)
    os.makedirs(RESULTS, exist_ok=True)
    if contrasts:
        plot(contrasts, os.path.join(RESULTS, f"{name}.png"))
    write_csv(outcomes, os.path.join(RESULTS, f"{name}.csv"))
    seeds = sorted({o["seed"] for o in outcomes})
    minutes = {m: np.mean([o["minutes"] for o in outcomes if o["method"] == m] or [float("nan")]) for m in METHODS}
    kept = "; ".join(f"{m} {rule}: {[o['epochs'][rule] for o in outcomes if o['method'] == m]}"
                     for m in METHODS for rule in ("best", "paired_best"))
    paired = "; ".join(f"seed {o['seed']}: {', '.join(o['paired_songs'])}" for o in outcomes if o["method"] == "sup")
    complete = len(seeds) == len(plan["seeds"])  # the protocol's interval is over all its seeds, not the first few
    shown = [[RULES[r[0]], DOMAINS[r[1]], *r[2:6], ("**%.2f**" % r[6]) if complete and holds(r) else r[6], *r[7:]]
             for r in contrasts]
    text = "\n".join([
        "# Supervised against semi-supervised on the demo corpus", "",
        f"Reproduce: `{command}` (reads the stored runs in `bench/results/semi_vs_sup_runs/`; "
        "`--store <empty folder>` trains them all again).", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"**{len(outcomes)} of {2 * len(plan['seeds'])} planned runs** (seeds {seeds} finished by both methods"
        + (f"; {waiting} more stored, whose seed's other run is not done yet" if waiting else "") + "). "
        f"Protocol {PROTOCOL} (the benchmark's docstring, fixed before its first run): {plan['paired']} paired "
        f"songs drawn anew by each seed, 12 validation and 12 test songs per domain drawn anew by each seed, "
        f"{plan['epoch_it'] * plan['epochs']} separator steps per run for both methods, memory streams. "
        f"A run took {minutes['sup']:.1f} (sup) and {minutes['semi_sup']:.1f} (semi_sup) minutes on average, "
        f"its evaluations included, one run at a time. Runs per kind of machine: {machines(outcomes)}.", "",
        "The story of this benchmark, the earlier corpus and what holds: "
        "[semi_vs_sup_findings.md](semi_vs_sup_findings.md).", "",
        "## Difference semi_sup - sup (SDR, dB)", "",
        "Per seed, the mean over its test songs of the per-song difference (each song's median SDR over 1 s "
        "windows, BSS Eval v4); then the mean over seeds. **Primary interval**: 95% Student t over the seeds' "
        "means. Secondary: 95% crossed random-effects interval (seeds and songs). Bold: the primary interval "
        f"excludes 0, once all {len(plan['seeds'])} seeds are in (until then nothing is bold: with few seeds a t "
        "interval can be narrow by chance, e.g. two seeds that happen to agree).", "",
        table(["selection rule", "test domain", "source", "seeds", "songs per seed", "distinct songs",
               "semi - sup", "t 95% low", "t 95% high", "crossed low", "crossed high", "seeds won"], shown), "",
        f"![semi - sup with both intervals]({name}.png)", "",
        "## Mean scores", "",
        table(["selection rule", "test domain", "source", "method", "SDR", "SIR", "SAR"],
              [[RULES[r[0]], DOMAINS[r[1]], *r[2:]] for r in means]), "",
        "## What each run kept", "",
        f"Epoch kept (of {plan['epochs']}) per seed: {kept}.", "",
        f"Paired songs per seed: {paired}.", "",
        "Runs resumed from their last checkpoint after the benchmark was stopped (at most 50 steps trained again): "
        + (", ".join(f"{o['method']} seed {o['seed']} ({o['resumed']}x)" for o in outcomes if o.get("resumed"))
           or "none") + ".", "",
        f"Per-song scores of every run and rule: `{name}.csv`.", ""])
    return write_markdown(name, text)


def main(argv: Optional[List[str]] = None) -> None:
    parser = study_arguments(__doc__, STORE)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 300 steps: a check of the pipeline")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (default 1: on 2 cores, two at once "
                        "were 3x slower each, their thread pools fighting)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    name = "semi_vs_sup" + ("_quick" if args.quick else "")
    started = time.perf_counter()
    if not args.analyse:
        train_missing(plan, args.store, args.jobs)
    outcomes = finished_runs(plan, args.store)
    stored = sum(os.path.isfile(run_path(args.store, plan, m, seed)) for m in METHODS for seed in plan["seeds"])
    write_results(outcomes, plan, name, "python -m bench.studies.semi_vs_sup" + (" --quick" if args.quick else ""),
                  stored - len(outcomes))
    print(f"took {(time.perf_counter() - started) / 60:.0f} minutes")


if __name__ == "__main__":
    main()
