"""The generality study's plan and its training (:mod:`bench.studies.generality` analyses the stored runs):
which runs, their config updates (every shifted family's songs held out, one family's unpaired audio, or a
share of it), where each finished run is kept, and each semi_sup run's critic probe."""
import json
import math
import os
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Sequence

from bench.common import RESULTS, ROOT, demo_corpus
from bench.studies.families import COLLECTIONS, UNPAIRED, unpaired_folder
from bench.studies.semi_vs_sup import store_run, train, training_runs

PROTOCOL = 1
PLAN = {"paired": 2, "seeds": tuple(range(1, 6)), "epoch_it": 250, "epochs": 4}
STORE = os.path.join(RESULTS, "generality_runs")
SHARES = (0.25, 0.5)  # of the stage family's unpaired pool, for the curve (0: sup; 1: the matrix's stage run)
LISTS = os.path.join(ROOT, "data", "generality_lists")  # the shares' collections, as lists of files

def family_settings(unpaired: Sequence[str], share: float = 1.0) -> List[str]:
    """Config updates: every shifted family's multitrack songs as a dataset, and the unpaired audio of the
    families of the datasets ``unpaired`` only (their first thirds and their collections), ``share`` of it
    (a share below 1 takes one family)."""
    updates = []
    for dataset in UNPAIRED:  # the shifted ones are declared in Config.base with no root
        used = (share if share < 1 else True) if dataset in unpaired else False
        updates.append(f"cfg.datasets.{dataset}.unpaired={used}")
        if dataset != "ccmixter":
            updates.append(f"cfg.datasets.{dataset}.root=data/demo/{dataset}/ccmixter")
    collections = [[stream, os.path.join(unpaired_folder(dataset), name) if share == 1
                    else share_list(unpaired_folder(dataset), name, share)]
                   for dataset in unpaired for stream, name in COLLECTIONS]
    return updates + [f"cfg.unpaired_collections={collections!r}"]

def share_list(folder: str, name: str, share: float) -> str:
    """A list file of the first ``share`` of a collection's files (sorted as the reader sorts them)."""
    from Input.datasets.collection import list_audio_files
    files = list_audio_files(os.path.join(ROOT, folder, name))
    path = os.path.join(LISTS, f"{os.path.basename(folder) or 'stage'}_{name}_{share}.txt")
    os.makedirs(LISTS, exist_ok=True)
    with open(path, "w") as handle:
        handle.write("".join(f"{file}\n" for file in files[:math.ceil(len(files) * share)]))
    return path

def runs() -> List[Dict]:
    """The plan's runs: ``{"method", "unpaired", "share", "seed"}``; sup once per seed. The matrix's runs of
    every seed come before the curve's shares, so a study stopped early has the matrix's seeds first."""
    planned = []
    for seed in PLAN["seeds"]:
        planned.append({"method": "sup", "unpaired": "none", "share": 0.0, "seed": seed})
        planned += [{"method": "semi_sup", "unpaired": dataset, "share": 1.0, "seed": seed} for dataset in UNPAIRED]
    for seed in PLAN["seeds"]:
        planned += [{"method": "semi_sup", "unpaired": "ccmixter", "share": share, "seed": seed} for share in SHARES]
    return planned

def run_path(store: str, run: Dict) -> str:
    share = "" if run["share"] in (0.0, 1.0) else f"_share{run['share']}"
    return os.path.join(store, f"g{PROTOCOL}_{run['method']}_{run['unpaired']}{share}_seed{run['seed']}.json")

def train_missing(store: str) -> None:
    train_planned(runs(), lambda run: run_path(store, run), outcome)

def train_planned(planned: List[Dict], path_of: Callable[[Dict], str], trained: Callable[[str, Dict], Dict]) -> None:
    """Trains each planned run whose file (``path_of(run)``) is missing, ``trained(workdir, run)``, one at a time
    (two at once fight over 2 cores), on the demo corpus with its shifted families."""
    missing = [run for run in planned if not os.path.isfile(path_of(run))]
    print(f"{len(planned) - len(missing)} of {len(planned)} runs already done; training {len(missing)}", flush=True)
    if missing:
        demo_corpus(families=True)
    for run in missing:
        store_run(path_of(run), lambda workdir, run=run: trained(workdir, run))

def outcome(workdir: str, run: Dict) -> Dict:
    """One planned run trained and scored; a semi_sup run's critics are probed too (since 2026-12-05)."""
    extra = family_settings(["ccmixter" if run["unpaired"] == "none" else run["unpaired"]], run["share"] or 1.0)
    result = dict(train(workdir, run["method"], PLAN, run["seed"], extra), unpaired=run["unpaired"], share=run["share"])
    if run["method"] == "semi_sup":
        result["critic_probe"] = critic_probe(workdir)
    return result

def critic_probe(workdir: str) -> Optional[Dict]:
    """:mod:`bench.studies.critic_probe` on the run's last checkpoint, in its own process; None (and a line
    saying why) where it fails: the run's scores are kept all the same."""
    folder = os.path.relpath(training_runs(workdir)[-1], workdir)
    result = subprocess.run([sys.executable, "-m", "bench.studies.critic_probe", folder], cwd=workdir,
                            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2"))
    if result.returncode != 0:
        print(f"critic probe failed, the run is kept without it: {result.stderr.strip()[-500:]}", flush=True)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])
