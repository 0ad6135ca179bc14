"""Can the gain be made general? What the generality study found, tried with the changes its issue names: the
stage family's unpaired audio gains on stage test songs and costs on the other families; does a weaker adversary,
a smaller or less trained critic, more and more varied unpaired audio, or a longer run keep the gain and lose
the cost?

    python -m bench.studies.remedies              # 3 seeds x 7 runs (two of them twice as long); resumes
    python -m bench.studies.remedies --analyse    # the tables and the plot again from the stored runs only

The protocol is the generality study's (its seeds, held-out songs, 1000 separator steps and selection rules).
Each remedy is one change to the generality study's stage run (``semi_sup`` on the stage family's unpaired audio,
the paper's settings), compared with the same seed's ``sup`` run of that study:

- ``alpha 1e-4``: the adversarial weight a tenth of the paper's;
- ``alpha 0``: no adversarial term, the additive term alone on the unpaired mixtures (added after ``alpha
  1e-4`` gained and cost as much as the paper's 1e-3: is the critics' term what does either?);
- ``alpha chosen on validation``: per seed, the stage run (1e-3) or ``alpha 1e-4``, whichever reached the lower
  validation loss on every family's validation songs (no new run);
- ``critic filters 8``: critics half as wide as the demo's 16;
- ``n_critic 1``: one critic step per separator step instead of the demo's 2;
- ``pooled``: the unpaired audio of all three shifted families at once (three times the audio, and varied);
- ``longer``: 2000 steps, against a ``sup`` run trained as long.

The stage run itself is the first row, as the reference. The summary column "all" is the mean over every family's
test songs (12 per family): a remedy that makes the gain general raises it. Finished runs are kept under
``bench/results/remedies_runs/`` (committed; an interrupted study continues where it stopped). Writes
``bench/results/remedies.{md,csv,png}``.
"""
import os
import time
from typing import Dict, List, Optional

import numpy as np

from bench.common import RESULTS, study_arguments, machine, write_markdown
from bench.studies import generality, generality_plan
from bench.studies.generality_plan import PLAN, critic_probe, family_settings, train_planned
from bench.studies.families import FAMILIES, UNPAIRED
from bench.studies.semi_vs_sup import SOURCES, read_json, table, train, write_csv

PROTOCOL = 1
SEEDS = (1, 2, 3)
STORE = os.path.join(RESULTS, "remedies_runs")
STAGE = "ccmixter"  # the stage family's dataset
# name: (the families whose unpaired audio is used, config updates, epochs)
VARIANTS = {
    "alpha 1e-4": ((STAGE,), ["cfg.alpha=0.0001"], PLAN["epochs"]),
    "alpha 0": ((STAGE,), ["cfg.alpha=0.0"], PLAN["epochs"]),
    "n_critic 1": ((STAGE,), ["cfg.n_critic=1"], PLAN["epochs"]),
    "critic filters 8": ((STAGE,), ["cfg.critic_filters=8"], PLAN["epochs"]),
    "pooled": (UNPAIRED, [], PLAN["epochs"]),
    "longer": ((STAGE,), [], 2 * PLAN["epochs"]),
}
CHOSEN = "alpha chosen on validation"


def runs() -> List[Dict]:
    """The plan's runs ``{"variant", "method", "seed"}``: remedy by remedy, each over every seed (a study stopped
    early has whole remedies with their intervals), the cheap ones first and ``longer`` (with its own sup) last."""
    planned = []
    for name in VARIANTS:
        methods = ("sup", "semi_sup") if name == "longer" else ("semi_sup",)
        planned += [{"variant": name, "method": method, "seed": seed} for seed in SEEDS for method in methods]
    return planned


def run_path(run: Dict, store: str = STORE) -> str:
    return os.path.join(store, f"r{PROTOCOL}_{run['method']}_{run['variant'].replace(' ', '_')}_seed{run['seed']}.json")


def outcome(workdir: str, run: Dict) -> Dict:
    """One planned run trained and scored; a semi_sup run's critics are probed too."""
    families, updates, epochs = VARIANTS[run["variant"]]
    plan = dict(PLAN, epochs=epochs)
    result = dict(train(workdir, run["method"], plan, run["seed"], [*family_settings(families), *updates]),
                  variant=run["variant"])
    if run["method"] == "semi_sup":
        result["critic_probe"] = critic_probe(workdir)
    return result


def stage_references() -> List[Dict]:
    """The generality study's stored sup and stage runs (the paper's settings) of this study's seeds."""
    wanted = [run for run in generality_plan.runs() if run["unpaired"] in ("none", STAGE)
              and run["share"] in (0.0, 1.0) and run["seed"] in SEEDS]
    paths = [generality_plan.run_path(generality_plan.STORE, run) for run in wanted]
    return [read_json(path) for path in paths if os.path.isfile(path)]


def best_loss(o: Dict) -> float:
    return min(h["valid_loss"] for h in o["history"])


def variant_pairs(outcomes: List[Dict], references: List[Dict]) -> Dict[str, List[Dict]]:
    """Per row of the tables, the runs to compare: a sup and a semi_sup run for each seed that has both.
    ``references`` are the generality study's sup and stage runs."""
    sup = {o["seed"]: o for o in references if o["method"] == "sup"}
    semi = {"stage (the paper's settings)": {o["seed"]: o for o in references if o["method"] == "semi_sup"}}
    semi.update({name: {o["seed"]: o for o in outcomes if o["method"] == "semi_sup" and o["variant"] == name}
                 for name in VARIANTS})
    stage, weaker = semi["stage (the paper's settings)"], semi["alpha 1e-4"]
    semi[CHOSEN] = {seed: min(stage[seed], weaker[seed], key=best_loss) for seed in weaker if seed in stage}
    longer_sup = {o["seed"]: o for o in outcomes if o["method"] == "sup" and o["variant"] == "longer"}
    pairs = {}
    for name, tried in semi.items():
        baseline = longer_sup if name == "longer" else sup
        pairs[name] = [run for seed in sorted(set(tried) & set(baseline)) for run in (baseline[seed], tried[seed])]
    return pairs


def gains(pairs: Dict[str, List[Dict]]) -> List[List]:
    """:func:`bench.studies.generality.gain_rows` of each row, with test family "all" too."""
    return [row for name, runs_ in pairs.items() if runs_
            for row in generality.gain_rows(name, len(runs_) // 2, runs_, every_family=True)]


def plot(rows: List[List], path: str) -> None:
    """semi - sup with its t interval, best epoch (the paper's rule): one panel per test family, a row per remedy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    families = [*dict.fromkeys(FAMILIES.values()), "all"]
    names = list(dict.fromkeys(r[1] for r in rows))
    figure, axes = plt.subplots(1, len(families), figsize=(14, 0.45 * len(names) + 1.6), sharex=True, sharey=True,
                               squeeze=False)
    for axis, family in zip(axes[0], families):
        for offset, (colour, source) in zip((-0.15, 0.15), zip(("C0", "C1"), SOURCES)):
            picked = {r[1]: r for r in rows if r[0] == "best" and r[2] == family and r[3] == source}
            y = [i + offset for i, name in enumerate(names) if name in picked]
            x = [picked[name][5] for name in names if name in picked]
            errors = [[max(picked[n][5] - picked[n][6], 0) if np.isfinite(picked[n][6]) else 0 for n in names if n in picked],
                      [max(picked[n][7] - picked[n][5], 0) if np.isfinite(picked[n][7]) else 0 for n in names if n in picked]]
            axis.errorbar(x, y, xerr=errors, fmt="o", capsize=3, color=colour, label=source)
        axis.axvline(0, color="k", linewidth=0.8)
        axis.set_title(f"test: {family}", fontsize=9)
        axis.grid(alpha=0.3)
    axes[0][0].set_yticks(range(len(names)), names, fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(fontsize=8)
    figure.supxlabel("SDR semi_sup - sup (dB), best epoch on all validation songs; 95% t interval over seeds", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_results(outcomes: List[Dict], references: List[Dict]) -> str:
    pairs = variant_pairs(outcomes, references)
    rows = gains(pairs)
    os.makedirs(RESULTS, exist_ok=True)
    if rows:
        plot(rows, os.path.join(RESULTS, "remedies.png"))
    write_csv(outcomes, os.path.join(RESULTS, "remedies.csv"), ("variant", "method", "seed"))
    probes = [[source, name, len(found), *generality.probe_cells(found, "stage")]
              for source in SOURCES for name, runs_ in pairs.items()
              if (found := [o["critic_probe"][source] for o in runs_[1::2] if o.get("critic_probe")])]
    chosen = {o["seed"]: "1e-4" if o.get("variant") == "alpha 1e-4" else "1e-3" for o in pairs[CHOSEN][1::2]}
    text = "\n".join([
        "# Can the gain be made general? Remedies tried on the stage family's unpaired audio", "",
        "Reproduce: `python -m bench.studies.remedies` (reads the stored runs in `bench/results/remedies_runs/` and "
        "the generality study's sup and stage runs).", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()), "",
        f"**{len(outcomes)} of {len(runs())} planned runs.** Protocol {PROTOCOL} (the study's docstring): the "
        "generality study's seeds, held-out songs and budgets; each row is one change to its stage run, compared "
        "with the same seed's sup (`longer`: with a sup trained as long).", "",
        "Alpha chosen on validation, per seed: " + (", ".join(f"seed {s}: {a}" for s, a in sorted(chosen.items()))
                                                    or "no seed yet") + ".", "",
        "## semi_sup - sup (SDR, dB), per remedy and test family", "",
        "As in `generality.md`: per seed the mean over its test songs of the per-song difference, then the mean "
        "over seeds, its 95% t interval over seeds and its crossed (seeds and songs) interval. \"all\": every "
        "family's test songs at once.", "",
        *generality.matrix_tables(rows, complete=False, label="remedy"),
        "![semi - sup per remedy and test family](remedies.png)" if rows else "", "",
        "## What the critics key on (each run's last checkpoint, mean over runs)", "",
        "As in `generality.md`, a / b per family; b is against the stage family's solo sources.", "",
        table(["source", "remedy", "runs", *(f"on {f}" for f in dict.fromkeys(FAMILIES.values()))], probes), "",
        "Per-song scores of every run and rule: `remedies.csv`.", ""])
    return write_markdown("remedies", text)


def main(argv: Optional[List[str]] = None) -> None:
    args = study_arguments(__doc__, STORE).parse_args(argv)
    started = time.perf_counter()
    if not args.analyse:
        train_planned(runs(), lambda run: run_path(run, args.store), outcome)
    outcomes = [read_json(path) for path in map(lambda run: run_path(run, args.store), runs()) if os.path.isfile(path)]
    write_results(outcomes, stage_references())
    print(f"took {(time.perf_counter() - started) / 60:.0f} minutes")


if __name__ == "__main__":
    main()
