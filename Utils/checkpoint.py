"""Resumable training state: every weight, every optimizer slot and the loop's counters.

One ``.npz`` of arrays (loaded with ``allow_pickle=False``) and one ``.json`` of counters, each
written beside and renamed into place, so a process killed during a save leaves the previous
checkpoint usable.
"""
import json
import os
from typing import Dict, List, Optional

import numpy as np

from Utils.files import write_atomically, write_json_atomically

STATE = "state.npz"
COUNTERS = "state.json"


def _groups(model) -> Dict[str, List]:
    groups = {"separator": model.separator.variables}
    for source, critic in model.critics.items():
        groups[f"critic:{source}"] = critic.variables
    groups["optimizer:separator"] = model.optimizer.variables
    for source, optimizer in getattr(model, "critic_optimizers", {}).items():
        groups[f"optimizer:{source}"] = optimizer.variables
    return groups


def save_state(folder: str, model, counters: Dict) -> None:
    """Writes ``folder/state.npz`` and ``folder/state.json`` (arrays first: counters name a complete state)."""
    os.makedirs(folder, exist_ok=True)
    arrays = {f"{group}/{index:05d}": np.asarray(variable.numpy())
              for group, variables in _groups(model).items() for index, variable in enumerate(variables)}
    write_atomically(os.path.join(folder, STATE), lambda handle: np.savez(handle, **arrays))
    write_json_atomically(os.path.join(folder, COUNTERS), counters, indent=1)


def find_state(location: str) -> Optional[str]:
    """The checkpoint folder for ``resume=``: a folder holding ``state.json``, or a run folder with ``checkpoint/``."""
    for folder in (location, os.path.join(location, "checkpoint")):
        if os.path.isfile(os.path.join(folder, COUNTERS)) and os.path.isfile(os.path.join(folder, STATE)):
            return folder
    return None


def read_counters(folder: str) -> Dict:
    """The counters of the checkpoint in ``folder`` (``state.json``)."""
    with open(os.path.join(folder, COUNTERS)) as handle:
        return json.load(handle)


def load_state(folder: str, model) -> Dict:
    """Restores weights and optimizer slots into a freshly built model; returns the counters.

    Raises:
        ValueError: the checkpoint was made by a model of another shape (another config).
    """
    counters = read_counters(folder)
    with np.load(os.path.join(folder, STATE), allow_pickle=False) as arrays:
        for group, variables in _groups(model).items():
            for index, variable in enumerate(variables):
                key = f"{group}/{index:05d}"
                if key not in arrays or arrays[key].shape != tuple(variable.shape):
                    raise ValueError(f"checkpoint {folder} does not fit this model ({key}): resume with the config "
                                     f"the run was started with")
                variable.assign(arrays[key])
    return counters
