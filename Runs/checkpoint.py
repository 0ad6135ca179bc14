"""Resumable training state: every weight, every optimizer slot and the loop's counters.

One ``.npz`` of arrays (loaded with ``allow_pickle=False``, holding its step) and one ``.json`` of
counters, each written beside and renamed into place. Before a save, the last complete pair becomes
``previous.npz`` / ``previous.json``, so a process killed at any moment, or a file damaged later,
leaves a checkpoint to resume from: the loader takes the newest counters whose arrays hold the same
step and load.
"""
import json
import logging
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from Utils.files import write_atomically, write_json_atomically

log = logging.getLogger(__name__)
STATE, COUNTERS = "state.npz", "state.json"
PREVIOUS_STATE, PREVIOUS_COUNTERS = "previous.npz", "previous.json"
STEP_KEY = "__step__"


class CheckpointError(Exception):
    """No usable checkpoint, or one made by another model; the message names the files."""


def _groups(model) -> Dict[str, List]:
    groups = {"separator": model.separator.variables}
    for source, critic in model.critics.items():
        groups[f"critic:{source}"] = critic.variables
    groups["optimizer:separator"] = model.optimizer.variables
    for source, optimizer in getattr(model, "critic_optimizers", {}).items():
        groups[f"optimizer:{source}"] = optimizer.variables
    return groups


def save_state(folder: str, model, counters: Dict) -> None:
    """Writes ``folder/state.npz`` and ``folder/state.json`` (``counters`` has the ``step``), keeping the
    last complete pair as ``previous.*``."""
    os.makedirs(folder, exist_ok=True)
    arrays = {f"{group}/{index:05d}": np.asarray(variable.numpy())
              for group, variables in _groups(model).items() for index, variable in enumerate(variables)}
    arrays[STEP_KEY] = np.asarray(counters["step"])
    if _complete(folder, COUNTERS, STATE):
        # Counters first: between the two renames, previous.json and state.npz still make a whole pair.
        os.replace(os.path.join(folder, COUNTERS), os.path.join(folder, PREVIOUS_COUNTERS))
        os.replace(os.path.join(folder, STATE), os.path.join(folder, PREVIOUS_STATE))
    write_atomically(os.path.join(folder, STATE), lambda handle: np.savez(handle, **arrays))
    write_json_atomically(os.path.join(folder, COUNTERS), counters, indent=1)


def find_state(location: str) -> Optional[str]:
    """The checkpoint folder for ``resume=``: a folder holding a checkpoint, or a run folder with ``checkpoint/``."""
    for folder in (location, os.path.join(location, "checkpoint")):
        if any(os.path.isfile(os.path.join(folder, name)) for name in (COUNTERS, PREVIOUS_COUNTERS)) and \
                any(os.path.isfile(os.path.join(folder, name)) for name in (STATE, PREVIOUS_STATE)):
            return folder
    return None


def read_counters(folder: str) -> Dict:
    """The newest readable counters in ``folder``.

    Raises:
        CheckpointError: none is readable (the message names the files).
    """
    found = _readable_counters(folder)
    if not found:
        raise CheckpointError(f"no readable {COUNTERS} or {PREVIOUS_COUNTERS} in {folder}")
    return found[0][1]


def load_state(folder: str, model) -> Dict:
    """Restores weights and optimizer slots into a freshly built model; returns the counters.

    The newest checkpoint whose counters and arrays agree and load is used; where it is not the
    newest, a warning names the damaged files.

    Raises:
        CheckpointError: the checkpoint was made by a model of another shape, or nothing in ``folder``
            loads (the message names the files and what was wrong with each).
    """
    readable = _readable_counters(folder)
    problems = [f"{os.path.join(folder, name)} is not readable JSON" for name in (COUNTERS, PREVIOUS_COUNTERS)
                if os.path.isfile(os.path.join(folder, name)) and name not in dict(readable)]
    for counters_name, counters in readable:
        for state_name in (STATE, PREVIOUS_STATE):
            path = os.path.join(folder, state_name)
            if not os.path.isfile(path):
                continue
            try:
                with np.load(path, allow_pickle=False) as arrays:
                    step = int(arrays[STEP_KEY]) if STEP_KEY in arrays.files else counters.get("step")
                    if step != counters.get("step"):
                        continue  # another generation's arrays
                    _assign(arrays, model, path)
            except CheckpointError:
                raise
            except Exception as error:  # a truncated or damaged file: zip, npy or OS errors
                problem = f"{path} is damaged ({type(error).__name__}: {error})"
                if problem not in problems:  # tried once with each counters file
                    problems.append(problem)
                continue
            if problems:
                log.warning("checkpoint: %s; resumed from %s and %s (step %s)", "; ".join(problems),
                            counters_name, state_name, counters.get("step"))
            return counters
    raise CheckpointError(f"no usable checkpoint in {folder}: " + ("; ".join(problems) or "no arrays match the counters"))


def _assign(arrays, model, path: str) -> None:
    for group, variables in _groups(model).items():
        for index, variable in enumerate(variables):
            key = f"{group}/{index:05d}"
            if key not in arrays.files or arrays[key].shape != tuple(variable.shape):
                raise CheckpointError(f"checkpoint {path} does not fit this model ({key}): resume with the config "
                                      f"the run was started with")
            variable.assign(arrays[key])


def _readable_counters(folder: str) -> List[Tuple[str, Dict]]:
    """``(file name, counters)`` of the readable counters files, newest step first."""
    found = []
    for name in (COUNTERS, PREVIOUS_COUNTERS):
        try:
            with open(os.path.join(folder, name)) as handle:
                counters = json.load(handle)
        except (OSError, ValueError):
            continue
        if isinstance(counters, dict):
            found.append((name, counters))
    return sorted(found, key=lambda entry: -int(entry[1].get("step", -1)))


def _complete(folder: str, counters_name: str, state_name: str) -> bool:
    """Whether the counters and arrays in ``folder`` are a readable pair of the same step."""
    try:
        with open(os.path.join(folder, counters_name)) as handle:
            step = json.load(handle).get("step")
        with np.load(os.path.join(folder, state_name), allow_pickle=False) as arrays:
            return STEP_KEY not in arrays.files or int(arrays[STEP_KEY]) == step
    except Exception:
        return False
