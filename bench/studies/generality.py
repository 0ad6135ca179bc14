"""Does the gain generalise? The semi-supervised method fed the unpaired audio of one shifted family at a time,
each run scored on every family's test songs: semi - sup as a matrix of unpaired family against test family.

    python -m bench.studies.generality              # 5 seeds x (sup + semi_sup per unpaired family); resumes
    python -m bench.studies.generality --analyse    # the tables again from the stored runs only

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

Each finished run is one JSON under ``bench/results/generality_runs/`` (committed; an interrupted study
continues where it stopped). Writes ``bench/results/generality.{md,csv}``.
"""
import argparse
import os
import time
from typing import Dict, List, Optional

import numpy as np

from bench.common import RESULTS, demo_corpus, machine, write_markdown
from bench.studies.semi_vs_sup import (RULES, SOURCES, crossed_interval, differences, read_json, store_run,
                                       t_interval, table, train, write_csv)

PROTOCOL = 1
FAMILIES = {"musdb": "studio", "ccmixter": "stage", "timbre": "timbre", "register": "register"}  # dataset: family
UNPAIRED = ("ccmixter", "timbre", "register")  # the datasets whose family feeds the unpaired audio, one at a time
PLAN = {"paired": 2, "seeds": tuple(range(1, 6)), "epoch_it": 250, "epochs": 4}
STORE = os.path.join(RESULTS, "generality_runs")
COLLECTIONS = (("mixture", "mixtures"), ("vocals", "solo_vocals"), ("accompaniment", "solo_accompaniment"))


def family_settings(unpaired: str) -> List[str]:
    """Config updates: every shifted family's multitrack songs as a dataset, and the unpaired audio of the
    family of the dataset ``unpaired`` (its first third and its collections) only."""
    updates = [f"cfg.datasets.ccmixter.unpaired={unpaired == 'ccmixter'}"]
    for dataset in UNPAIRED[1:]:  # declared in Config.base with no root
        updates += [f"cfg.datasets.{dataset}.root=data/demo/{dataset}/ccmixter",
                    f"cfg.datasets.{dataset}.unpaired={dataset == unpaired}"]
    folder = "data/demo" if unpaired == "ccmixter" else f"data/demo/{unpaired}"
    updates.append(f"cfg.unpaired_collections={[[stream, f'{folder}/{name}'] for stream, name in COLLECTIONS]!r}")
    return updates


def runs() -> List[Dict]:
    """The plan's runs: ``{"method", "unpaired", "seed"}``, sup once per seed."""
    planned = []
    for seed in PLAN["seeds"]:
        planned.append({"method": "sup", "unpaired": "none", "seed": seed})
        planned += [{"method": "semi_sup", "unpaired": dataset, "seed": seed} for dataset in UNPAIRED]
    return planned


def run_path(store: str, run: Dict) -> str:
    return os.path.join(store, f"g{PROTOCOL}_{run['method']}_{run['unpaired']}_seed{run['seed']}.json")


def train_missing(store: str) -> None:
    """Trains each planned run whose file is missing, one at a time (two at once fight over 2 cores)."""
    planned = runs()
    missing = [run for run in planned if not os.path.isfile(run_path(store, run))]
    print(f"{len(planned) - len(missing)} of {len(planned)} runs already done; training {len(missing)}", flush=True)
    if missing:
        demo_corpus(families=True)
    for run in missing:
        extra = family_settings("ccmixter" if run["unpaired"] == "none" else run["unpaired"])
        store_run(run_path(store, run), lambda workdir, run=run: dict(
            train(workdir, run["method"], PLAN, run["seed"], extra), unpaired=run["unpaired"]))


def matrix(outcomes: List[Dict]) -> List[List]:
    """Rows ``[rule, unpaired family, test family, source, seeds, mean, t low, t high, crossed low, crossed high,
    seeds won]`` of semi - sup, each semi_sup run against its seed's sup."""
    sup = [o for o in outcomes if o["method"] == "sup"]
    rows = []
    for rule in RULES:
        for unpaired in UNPAIRED:
            semi = [o for o in outcomes if o["method"] == "semi_sup" and o["unpaired"] == unpaired]
            seeds = {o["seed"] for o in semi} & {o["seed"] for o in sup}
            pairs = [o for o in sup + semi if o["seed"] in seeds]
            for dataset, family in FAMILIES.items():
                for source in SOURCES:
                    diffs = differences(pairs, rule, dataset, source)
                    if diffs:
                        mean, low, high, won = t_interval(diffs)
                        rows.append([rule, FAMILIES[unpaired], family, source, len(seeds), mean, low, high,
                                     *crossed_interval(diffs), f"{won} of {len(seeds)}"])
    return rows


def write_results(outcomes: List[Dict]) -> str:
    rows = matrix(outcomes)
    write_csv(outcomes, os.path.join(RESULTS, "generality.csv"), ("method", "unpaired", "seed"))
    complete = len(outcomes) == len(runs())
    shown = [[RULES[r[0]], *r[1:5], ("**%.2f**" % r[5]) if complete and np.isfinite(r[6]) and (r[6] > 0 or r[7] < 0)
              else r[5], *r[6:]] for r in rows]
    text = "\n".join([
        "# Does the gain generalise? Unpaired family against test family", "",
        "Reproduce: `python -m bench.studies.generality` (reads the stored runs in `bench/results/generality_runs/`).",
        "", "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"**{len(outcomes)} of {len(runs())} planned runs.** Protocol {PROTOCOL} (the study's docstring): "
        f"{PLAN['paired']} paired studio songs and 12 validation and 12 test songs per family drawn anew by each "
        f"seed, {PLAN['epoch_it'] * PLAN['epochs']} separator steps per run, one unpaired family per semi_sup run.",
        "", "## semi_sup - sup (SDR, dB), per unpaired family and test family", "",
        "Per seed, the mean over its test songs of the per-song difference; then the mean over seeds. Primary "
        "interval: 95% Student t over the seeds' means; secondary: crossed random effects. Bold: the primary "
        "interval excludes 0, once every planned run is in.", "",
        table(["selection rule", "unpaired family", "test family", "source", "seeds", "semi - sup", "t 95% low",
               "t 95% high", "crossed low", "crossed high", "seeds won"], shown), "",
        "Per-song scores of every run and rule: `generality.csv`.", ""])
    return write_markdown("generality", text)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--analyse", action="store_true", help="only the tables, from the stored runs")
    parser.add_argument("--store", default=STORE, help="where finished runs are kept (default %(default)s)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if not args.analyse:
        train_missing(args.store)
    stored = [run_path(args.store, run) for run in runs()]
    write_results([read_json(path) for path in stored if os.path.isfile(path)])
    print(f"took {(time.perf_counter() - started) / 60:.0f} minutes")


if __name__ == "__main__":
    main()
