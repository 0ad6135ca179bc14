"""Does the gain generalise? The semi-supervised method fed the unpaired audio of one shifted family at a time,
each run scored on every family's test songs: semi - sup as a matrix of unpaired family against test family.

    python -m bench.studies.generality              # 5 seeds x (sup + semi_sup per unpaired family, + 2 shares); resumes
    python -m bench.studies.generality --analyse    # the tables and the plot again from the stored runs only

The protocol is semi_vs_sup's (fixed there before its first run), over more families:

- **Families** (Input/demo/chorales.py, FAMILIES): ``studio`` (the paired songs'; MUSDB layout), and three
  shifts, each with its own 36 multitrack songs in CCMixter's layout (cut in thirds: unpaired, validation,
  test) and its own unpaired collections: ``stage`` (other timbres, grooves and tempi, the voice an octave
  lower), ``timbre`` (other timbres at the studio's register, tempi and grooves) and ``register`` (the
  studio's instruments and grooves, the voice an octave lower). Every run holds out every family's
  validation and test thirds; only the unpaired family's first third and collections are trained on.
- **Seeds** redraw the 2 paired songs and every held-out set; ``sup`` is trained once per seed (it sees no
  unpaired audio, and the held-out songs do not depend on which family is unpaired), each ``semi_sup`` run
  is compared with its seed's ``sup``.
- **Equal budgets** (1000 separator steps), **three selection rules** (best epoch on all validation songs,
  last step, best epoch on the studio validation songs), **primary interval**: Student's t over seeds of
  each seed's mean difference; secondary: crossed random effects (seeds and songs).

- **The gain as unpaired audio grows**: semi_sup with ¼ and ½ of the stage family's unpaired pool (the
  first songs of its third and of each collection; ``cfg.datasets.<name>.unpaired`` takes a share), beside
  none (sup) and all of it (the matrix's stage run), plotted against the hours of unpaired audio.

- **What the critics key on**: each semi_sup run's critics, at its last checkpoint, score every family's solo
  sources and the separator's outputs on that family's mixtures (``bench.studies.critic_probe``; runs stored
  from 2026-12-05 on), beside the training curves of the critics' Wasserstein estimates and of the loss terms'
  gradients.

The plan and its training: :mod:`bench.studies.generality_plan`. Each finished run is one JSON under
``bench/results/generality_runs/`` (committed; an interrupted study continues where it stopped). Writes
``bench/results/generality.{md,csv,png}``.
"""
import os
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from bench.common import RESULTS, machine, study_arguments, write_markdown
from bench.studies.critic_probe import BATCHES as PROBE_BATCHES
from bench.studies.families import FAMILIES, UNPAIRED
from bench.studies.generality_plan import PLAN, PROTOCOL, SHARES, STORE, run_path, runs, train_missing
from bench.studies.intervals import crossed_interval, differences, t_interval
from bench.studies.semi_vs_sup import RULES, SOURCES, read_json, table, write_csv


def compared(outcomes: List[Dict], unpaired: str, share: float) -> Tuple[set, List[Dict], List[Dict]]:
    """``(seeds, semi_sup runs, runs to compare)`` of one unpaired setting: its semi_sup runs and their seeds'
    sup runs, for the seeds that finished both."""
    semi = [o for o in outcomes if o["method"] == "semi_sup" and o["unpaired"] == unpaired and o["share"] == share]
    seeds = {o["seed"] for o in semi} & {o["seed"] for o in outcomes if o["method"] == "sup"}
    semi = [o for o in semi if o["seed"] in seeds]
    return seeds, semi, [o for o in outcomes if o["method"] == "sup" and o["seed"] in seeds] + semi

def matrix(outcomes: List[Dict]) -> List[List]:
    """Rows ``[rule, unpaired family, test family, source, seeds, mean, t low, t high, crossed low, crossed high,
    seeds won]`` of semi - sup, each semi_sup run against its seed's sup."""
    rows = []
    for unpaired in UNPAIRED:
        seeds, _, pairs = compared(outcomes, unpaired, 1.0)
        rows += gain_rows(FAMILIES[unpaired], len(seeds), pairs, every_family=True)
    return rows

def gain_rows(label: str, seeds: int, pairs: List[Dict], every_family: bool = False) -> List[List]:
    """Rows ``[rule, label, test family, source, seeds, mean, t low, t high, crossed low, crossed high, seeds won]``
    of semi - sup for ``pairs`` (one sup and one semi_sup run per seed), per rule, test family and source;
    ``every_family``: also over every family's test songs at once (test family "all")."""
    rows = []
    for rule in RULES:
        for dataset, family in [*FAMILIES.items(), *([(None, "all")] if every_family else [])]:
            for source in SOURCES:
                diffs = differences(pairs, rule, dataset, source)
                if diffs:
                    mean, low, high, won = t_interval(diffs)
                    rows.append([rule, label, family, source, seeds, mean, low, high, *crossed_interval(diffs),
                                 f"{won} of {seeds}"])
    return rows

def matrix_tables(rows: List[List], complete: bool, label: str = "unpaired family") -> List[str]:
    """Markdown lines: per selection rule, the rows' ``label`` (unpaired family) and source down, test family
    across."""
    def cell(r: List) -> str:
        mean = ("**%.2f**" if complete and (r[6] > 0 or r[7] < 0) else "%.2f") % r[5]
        if r[4] < 2:  # no interval from one seed
            return f"{mean}, {r[4]} seed"
        return f"{mean} [{r[6]:.2f}, {r[7]:.2f}] / [{r[8]:.2f}, {r[9]:.2f}], {r[4]} seeds"

    lines = []
    tests = list(dict.fromkeys(r[2] for r in rows))
    for rule in RULES:
        picked = {(r[1], r[3], r[2]): r for r in rows if r[0] == rule}
        keys = list(dict.fromkeys((r[1], r[3]) for r in rows if r[0] == rule))
        body = [[unpaired, source, *(cell(picked[unpaired, source, test]) if (unpaired, source, test) in picked
                                      else "-" for test in tests)] for unpaired, source in keys]
        lines += [f"**{RULES[rule]}**", "", table([label, "source", *(f"test: {t}" for t in tests)],
                                                   body), ""]
    return lines

CRITIC_SIGNS = ("vocals_wasserstein", "accompaniment_wasserstein", "grad_cos_adversarial_sup",
                "grad_cos_additive_sup", "grad_norm_adversarial", "grad_norm_sup")

def critic_rows(outcomes: List[Dict]) -> List[List]:
    """Rows ``[unpaired family, runs, *last epoch's CRITIC_SIGNS, mean over runs]`` of the semi_sup runs on a whole
    pool that kept their training curves (stored since 2026-12-05): how far the critics find the separator's
    outputs on that family's mixtures from its solo sources, and how the adversarial term's gradient sits to
    the supervised one's."""
    rows = []
    for dataset in UNPAIRED:
        kept = [o["training_curves"] for o in outcomes if o["method"] == "semi_sup" and o["unpaired"] == dataset
                and o["share"] == 1.0 and o.get("training_curves")]
        if kept:
            rows.append([FAMILIES[dataset], len(kept),
                         *(float(np.mean([curves[name][-1] for curves in kept if curves.get(name)] or [np.nan]))
                           for name in CRITIC_SIGNS)])
    return rows

def unpaired_hours(outcome: Dict) -> float:
    """Hours of unpaired audio a run trained on: its unpaired mixtures and solo sources together."""
    return sum(row["hours"] for row in outcome["partitions"] if row["partition"].startswith("train_unsup/"))

def curve(outcomes: List[Dict]) -> List[List]:
    """Rows ``[rule, share, hours, source, seeds, mean, t low, t high, crossed low, crossed high]`` of semi - sup on
    the stage test songs against the share of the stage family's unpaired pool (0: sup against itself)."""
    rows = []
    for rule in RULES:
        for share in (*SHARES, 1.0):
            seeds, semi, pairs = compared(outcomes, "ccmixter", share)
            hours = float(np.mean([unpaired_hours(o) for o in semi] or [np.nan]))
            for source in SOURCES:
                diffs = differences(pairs, rule, "ccmixter", source)
                if diffs:
                    mean, low, high, _ = t_interval(diffs)
                    rows.append([rule, share, hours, source, len(seeds), mean, low, high, *crossed_interval(diffs)])
    return rows

def growth(outcomes: List[Dict]) -> List[List]:
    """:func:`gain_rows` on the stage test songs of semi_sup on the whole stage pool minus semi_sup on the curve's
    smallest share of it, same seed: does the gain grow past the small share, seed by seed?"""
    def as_method(runs_: List[Dict], method: str) -> List[Dict]:  # ``differences`` takes "semi_sup" - "sup"
        return [dict(o, method=method) for o in runs_]

    _, whole, _ = compared(outcomes, "ccmixter", 1.0)
    _, small, _ = compared(outcomes, "ccmixter", SHARES[0])
    seeds = {o["seed"] for o in whole} & {o["seed"] for o in small}
    pairs = as_method([o for o in small if o["seed"] in seeds], "sup") + \
        as_method([o for o in whole if o["seed"] in seeds], "semi_sup")
    return [row for row in gain_rows("whole - smallest share", len(seeds), pairs) if row[2] == FAMILIES["ccmixter"]]

def plot_curve(rows: List[List], path: str) -> None:
    """semi - sup on the stage test songs against hours of unpaired audio, one panel per selection rule."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, len(RULES), figsize=(12, 3.8), sharey=True, squeeze=False)
    for axis, rule in zip(axes[0], RULES):
        for colour, source in zip(("C0", "C1"), SOURCES):
            picked = [r for r in rows if r[0] == rule and r[3] == source]
            x = [0.0] + [r[2] for r in picked]
            y = [0.0] + [r[5] for r in picked]
            errors = [[0.0] + [r[5] - r[6] for r in picked], [0.0] + [r[7] - r[5] for r in picked]]
            axis.errorbar(x, y, yerr=errors, fmt="o-", capsize=4, color=colour, label=source)
        axis.axhline(0, color="k", linewidth=0.8)
        axis.set_title(RULES[rule], fontsize=9)
        axis.set_xlabel("hours of unpaired stage audio")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("SDR semi_sup - sup, stage test songs (dB)")
    axes[0][0].legend(fontsize=8)
    figure.suptitle("The gain as unpaired audio grows: mean over seeds with its 95% t interval", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)

def write_results(outcomes: List[Dict]) -> str:
    rows, grown = matrix(outcomes), curve(outcomes)
    os.makedirs(RESULTS, exist_ok=True)
    if grown:
        plot_curve(grown, os.path.join(RESULTS, "generality.png"))
    write_csv(outcomes, os.path.join(RESULTS, "generality.csv"), ("method", "unpaired", "share", "seed"))
    complete = len(outcomes) == len(runs())
    text = "\n".join([
        "# Does the gain generalise? Unpaired family against test family", "",
        "Reproduce: `python -m bench.studies.generality` (reads the stored runs in `bench/results/generality_runs/`).",
        "", "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"**{len(outcomes)} of {len(runs())} planned runs.** Protocol {PROTOCOL} (the study's docstring): "
        f"{PLAN['paired']} paired studio songs and 12 validation and 12 test songs per family drawn anew by each "
        f"seed, {PLAN['epoch_it'] * PLAN['epochs']} separator steps per run, one unpaired family per semi_sup run.",
        "", "## semi_sup - sup on each shifted family's own test songs (SDR, dB)", "",
        "The matrix's diagonal: each family's unpaired audio, scored on that family's test songs.", "",
        table(["selection rule", "unpaired and test family", "source", "seeds", "semi - sup", "t 95% low",
               "t 95% high", "crossed low", "crossed high", "seeds won"],
              [[RULES[r[0]], r[1], *r[3:]] for r in rows if r[1] == r[2]]),
        "", "How far the baseline falls on each family: sup's SDR at its last step (mean over seeds of the mean "
        "over the family's test songs), and its drop from the studio family's.", "",
        table(["test family", "seeds", "sup vocals", "sup accompaniment", "vocals below studio",
               "accompaniment below studio"], baseline_rows(outcomes)),
        "", "## semi_sup - sup (SDR, dB), per unpaired family and test family", "",
        "Per seed, the mean over its test songs of the per-song difference; then the mean over seeds. Each cell: "
        "the mean, its primary interval (95% Student t over the seeds' means) and its secondary one (crossed "
        "random effects, seeds and songs), and the seeds in. Bold: the primary interval excludes 0, once every "
        "planned run is in. A row is what training on one family's unpaired audio gives on each family.", "",
        *matrix_tables(rows, complete),
        "## The gain as unpaired audio grows (stage family)", "",
        "semi_sup trained on a share of the stage family's unpaired pool, against its seed's sup, on the stage "
        "test songs.", "",
        table(["selection rule", "share of the pool", "unpaired hours", "source", "seeds", "semi - sup",
               "t 95% low", "t 95% high", "crossed low", "crossed high"], [[RULES[r[0]], *r[1:]] for r in grown]),
        "", "![semi - sup against hours of unpaired audio](generality.png)" if grown else "", "",
        f"The whole pool against a quarter of it, seed by seed: semi_sup on all of the pool minus semi_sup on "
        f"{SHARES[0]:g} of it (same seed, same paired and test songs), on the stage test songs.", "",
        table(["selection rule", "source", "seeds", "whole - quarter", "t 95% low", "t 95% high", "crossed low",
               "crossed high", "seeds where the whole pool did better"],
              [[RULES[r[0]], *r[3:]] for r in growth(outcomes)]), "",
        *validation_lines(validation_rows(outcomes)),
        *critic_lines(critic_rows(outcomes), probe_rows(outcomes)),
        "Per-song scores of every run and rule: `generality.csv`.", ""])
    return write_markdown("generality", text)

def baseline_rows(outcomes: List[Dict]) -> List[List]:
    """Rows ``[family, seeds, sup vocals, sup accompaniment, drop from studio (vocals, accompaniment)]`` of sup's
    last-step SDR, mean over seeds of its mean over the family's test songs."""
    sup = [o for o in outcomes if o["method"] == "sup"]
    means = {(dataset, source): float(np.mean([np.nanmean([t["separator"][source]["SDR"] for t in o["scores"]["last"]
                                                            if t["dataset"] == dataset
                                                            and t["separator"][source]["SDR"] is not None])
                                               for o in sup]))
             for dataset in FAMILIES for source in SOURCES} if sup else {}
    studio = next(iter(FAMILIES))
    return [[family, len(sup), *(means[dataset, source] for source in SOURCES),
             *(means[studio, source] - means[dataset, source] for source in SOURCES)]
            for dataset, family in FAMILIES.items() if sup]


def validation_rows(outcomes: List[Dict]) -> List[List]:
    """Rows ``[unpaired family, epoch, runs, per family: mean % change]`` of each semi_sup run's validation loss on
    each family's validation songs against its seed's sup at the same epoch: whether a cost on other families
    shows before any test song is scored, and how it moves as training goes on."""
    sup = {o["seed"]: o for o in outcomes if o["method"] == "sup"}
    rows = []
    for dataset in UNPAIRED:
        semi = [o for o in outcomes if o["method"] == "semi_sup" and o["unpaired"] == dataset and o["share"] == 1.0
                and o["seed"] in sup]
        for epoch in range(min((len(o["history"]) for o in semi), default=0)):
            changes = [[100 * (o["history"][epoch]["valid_loss_by_dataset"][name] /
                               sup[o["seed"]]["history"][epoch]["valid_loss_by_dataset"][name] - 1)
                        for name in FAMILIES] for o in semi]
            rows.append([FAMILIES[dataset], epoch + 1, len(semi),
                         *(f"{value:+.0f} %" for value in np.mean(changes, axis=0))])
    return rows

def validation_lines(rows: List[List]) -> List[str]:
    return ["## Validation loss per family, epoch by epoch", "",
            "semi_sup's validation loss on each family's validation songs against its seed's sup at the same epoch "
            "(mean % change over runs; negative: lower than sup). Every run holds out every family's validation "
            "songs, so a user who keeps a few songs of each kind they care about sees a cost here "
            "(`cfg.valid_by_dataset=True`) before any test song is scored.", "",
            table(["unpaired family", "epoch", "runs", *(f"valid: {f}" for f in FAMILIES.values())], rows), ""] \
        if rows else []

def probe_rows(outcomes: List[Dict]) -> List[List]:
    """Rows ``[source, unpaired family, runs, per family: "a / b"]`` of the critic probes of the semi_sup runs on a
    whole pool (:mod:`bench.studies.critic_probe`, stored since 2026-12-05), means over runs (:func:`probe_cells`)."""
    rows = []
    for source in SOURCES:
        for dataset in UNPAIRED:
            probes = [o["critic_probe"][source] for o in outcomes if o.get("critic_probe")
                      and o["unpaired"] == dataset and o["share"] == 1.0]
            if probes:
                rows.append([source, FAMILIES[dataset], len(probes), *probe_cells(probes, FAMILIES[dataset])])
    return rows

def probe_cells(probes: List[Dict], own: str) -> List[str]:
    """Per family, ``"a / b"`` means over ``probes`` (one source's critic probes): ``a`` is the critic's score for the
    family's solo sources minus for the separator's outputs on its mixtures, ``b`` the family's solo sources minus
    family ``own``'s."""
    return [f"{np.mean([p[f]['solo'] - p[f]['separated'] for p in probes]):+.2f} / "
            f"{np.mean([p[f]['solo'] - p[own]['solo'] for p in probes]):+.2f}" for f in dict.fromkeys(FAMILIES.values())]

def critic_lines(rows: List[List], probes: List[List]) -> List[str]:
    """The markdown sections of :func:`critic_rows` and :func:`probe_rows` (none without rows)."""
    lines = []
    if rows:
        lines += ["## What the critics see (last epoch, mean over runs)", "",
                  "The critics' Wasserstein estimates (solo sources against the separator's outputs on the family's "
                  "unpaired mixtures; larger: told apart more easily) and the cosine and norm of the adversarial "
                  "term's gradient against the supervised one's, each on one fixed training batch.", "",
                  table(["unpaired family", "runs", *CRITIC_SIGNS], rows), ""]
    if probes:
        families = list(dict.fromkeys(FAMILIES.values()))
        lines += ["## What the critics key on (each run's last checkpoint, mean over runs)", "",
                  f"Each cell: a / b over {PROBE_BATCHES} batches of each family. a: the critic's score for the family's solo "
                  "sources minus its score for the separator's outputs on the family's mixtures (positive: real "
                  "told from separated). b: the family's solo sources minus the critic's own family's (negative: "
                  "real sources of another family look less real to it, so it keys on what sets the families "
                  "apart). The studio family's are its paired songs.", "",
                  table(["source", "critic's family", "runs", *(f"on {f}" for f in families)], probes), ""]
    return lines

def main(argv: Optional[List[str]] = None) -> None:
    args = study_arguments(__doc__, STORE).parse_args(argv)
    started = time.perf_counter()
    if not args.analyse:
        train_missing(args.store)
    stored = [run_path(args.store, run) for run in runs()]
    write_results([read_json(path) for path in stored if os.path.isfile(path)])
    print(f"took {(time.perf_counter() - started) / 60:.0f} minutes")


if __name__ == "__main__":
    main()
