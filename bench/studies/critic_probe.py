"""What a semi-supervised run's critics key on: each critic's mean score for every family's solo sources and for
the separator's outputs on that family's mixtures, with the run's last checkpoint. A critic trained on one
family's solo sources that scores another family's solo sources as low as separated ones keys on what tells the
two families apart (timbre, register) rather than on what separation leaves behind.

    python -m bench.studies.critic_probe runs/1     # in a generality run's work folder; prints one JSON line

The studio family has no unpaired pool: its paired songs' sources and mixtures stand in.
"""
import copy
import json
import os
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np

from bench.studies.families import COLLECTIONS, FAMILIES, UNPAIRED, unpaired_folder

BATCHES = 8  # of the run's batch size, per family
PROBE_SEED = 12345


def family_config(cfg: Dict, dataset: str) -> Dict:
    """The run's config with the unpaired audio of ``dataset``'s family instead of its own (as
    ``bench.studies.generality_plan.family_settings`` sets it for a run)."""
    changed = copy.deepcopy(cfg)
    for name in UNPAIRED:
        changed["datasets"][name]["unpaired"] = name == dataset
    folder = unpaired_folder(dataset)
    changed["unpaired_collections"] = [[stream, os.path.join(folder, name)] for stream, name in COLLECTIONS]
    return changed


def critic_scores(model, part: Dict, sources: Sequence[str]) -> Dict[str, Tuple[float, float]]:
    """``{source: (mean critic score of part's source, of the separator's output on part's mixture)}`` for one
    batch ``part`` (``{"mixture": (batch, F_in, T_in, 1), source: (batch, F_out, T_out, 1)}``)."""
    import tensorflow as tf
    from Models.layers import centre_crop
    separated = model.separator(part["mixture"], training=False)
    score = lambda critic, spectrogram: float(tf.reduce_mean(critic(centre_crop(spectrogram, *model.critic_shape))))  # noqa: E731
    return {source: (score(model.critics[source], part[source]), score(model.critics[source], separated[source]))
            for source in sources}


def probe(run_folder: str) -> Dict[str, Dict[str, Dict[str, float]]]:
    """``{source: {family: {"solo": mean critic score, "separated": mean critic score}}}``."""
    from Input.datasets.partition import partitions_from_config
    from Input.streams.settings import StreamSettings
    from Input.streams.training_input import TrainingInput
    from Models.build import build_training_model
    from Runs.checkpoint import load_state
    with open(os.path.join(run_folder, "config.json")) as handle:
        cfg = json.load(handle)["cfg"]
    model, geometry = build_training_model(cfg)
    load_state(os.path.join(run_folder, "checkpoint"), model)
    pairs: Dict[Tuple[str, str], List[Tuple[float, float]]] = {}
    for dataset in UNPAIRED:
        family = family_config(cfg, dataset)
        inputs = TrainingInput(partitions_from_config(family, progress=False), cfg["sources"], geometry,
                               StreamSettings.from_config(family), PROBE_SEED, True, 1)
        for batch in inputs.steps([(0, 0, BATCHES)]):
            unpaired = {role: values[0] for role, values in batch["unsup"].items()}  # the first critic step's
            for name, part in ((FAMILIES[dataset], unpaired), ("studio", batch["sup"])):
                for source, pair in critic_scores(model, part, cfg["sources"]).items():
                    pairs.setdefault((source, name), []).append(pair)
    return {source: {name: dict(zip(("solo", "separated"), np.mean(values, axis=0).tolist()))
                     for (of, name), values in pairs.items() if of == source} for source in cfg["sources"]}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1])))
