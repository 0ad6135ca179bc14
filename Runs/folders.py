"""Reading finished runs back: the file observer's ``runs/<id>/`` folders, or MongoDB's run documents."""
import datetime
import json
import os
from typing import Dict, List, Optional, Union

RUNS_DIR = "runs"                      # the file observer's folder: runs/<id>/
BEST_MODEL = "best_separator.keras"   # the epoch with the best validation loss
LAST_MODEL = "last_separator.keras"   # the weights when training stopped (fixed-budget comparisons)


def best_model_for(dataset: str) -> str:
    """The file of the epoch with the best validation loss on ``dataset``'s songs alone (cfg.valid_by_dataset)."""
    return f"best_separator.{dataset}.keras"
# Sacred beats every 10 s while a run lives; a RUNNING run silent for this long was killed (kill -9, power).
DEAD_AFTER_SECONDS = 120


def run_status(status: Optional[str], heartbeat: Union[str, datetime.datetime, None],
               now: Optional[datetime.datetime] = None) -> Optional[str]:
    """The run's status, with ``DEAD`` for a RUNNING run whose heartbeat (UTC) stopped ``DEAD_AFTER_SECONDS`` ago."""
    if status != "RUNNING" or not heartbeat:
        return status
    try:
        beat = heartbeat if isinstance(heartbeat, datetime.datetime) else datetime.datetime.fromisoformat(str(heartbeat))
    except ValueError:
        return status
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return "DEAD" if (now - beat.replace(tzinfo=None)).total_seconds() > DEAD_AFTER_SECONDS else status


def read_file_runs(runs_dir: str = RUNS_DIR) -> List[Dict]:
    """Every run of a FileStorageObserver folder: ``{"id", "status", "config", "result", "folder", ...}``."""
    runs = []
    if not os.path.isdir(runs_dir):
        return runs
    for name in os.listdir(runs_dir):
        folder = os.path.join(runs_dir, name)
        try:
            with open(os.path.join(folder, "run.json")) as handle:
                run = json.load(handle)
            with open(os.path.join(folder, "config.json")) as handle:
                config = json.load(handle)
        except (OSError, ValueError):
            continue
        runs.append({"id": name, "status": run_status(run.get("status"), run.get("heartbeat")), "experiment": run.get("experiment", {}).get("name"),
                     "start_time": run.get("start_time"), "stop_time": run.get("stop_time"), "config": config,
                     "result": run.get("result"), "folder": folder})
    return sorted(runs, key=lambda r: (int(r["id"]) if r["id"].isdigit() else 0, r["id"]))


def read_mongo_runs(url: str, db_name: str, client=None) -> List[Dict]:
    """Runs stored by a MongoObserver, in the same shape as :func:`read_file_runs`."""
    if client is None:
        import pymongo
        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000)
    runs = []
    for document in client[db_name]["runs"].find({}, {"captured_out": 0}).sort("_id", 1):
        runs.append({"id": str(document["_id"]), "status": run_status(document.get("status"), document.get("heartbeat")),
                     "experiment": document.get("experiment", {}).get("name"),
                     "start_time": str(document.get("start_time")), "stop_time": str(document.get("stop_time")),
                     "config": document.get("config", {}), "result": document.get("result"), "folder": None})
    return runs


def newest_run_folder(runs_dir: str = RUNS_DIR) -> str:
    """The folder of the run with the highest number in a file observer's folder, whatever its status.

    Raises:
        FileNotFoundError: ``runs_dir`` holds no numbered run.
    """
    numbers = [int(name) for name in os.listdir(runs_dir) if name.isdigit()] if os.path.isdir(runs_dir) else []
    if not numbers:
        raise FileNotFoundError(f"{runs_dir} holds no run")
    return os.path.join(runs_dir, str(max(numbers)))


def latest_checkpoint(runs_dir: str = RUNS_DIR) -> Optional[str]:
    """The best model of the latest training run that finished (COMPLETED), or None."""
    for run in reversed(read_file_runs(runs_dir)):
        path = os.path.join(run["folder"], BEST_MODEL)
        if run["status"] == "COMPLETED" and os.path.isfile(path):
            return path
    return None


def run_location(value: Union[str, int, None], runs_dir: str = RUNS_DIR) -> Optional[str]:
    """A run folder as users give it: a path, or a run's number (``resume=3`` is ``runs/3``, as Sacred prints it)."""
    if value is None or isinstance(value, str) and not value.isdigit():
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{value!r} is neither a run folder nor a run's number (e.g. runs/3 or 3)")
    return os.path.join(runs_dir, str(value))


def resolve_checkpoint(checkpoint: Optional[str], run: Union[str, int, None], runs_dir: str = RUNS_DIR) -> str:
    """A separator file from ``checkpoint=`` or ``run=`` (a run folder or number), else the latest finished run's.

    Raises:
        FileNotFoundError: with a message saying what to pass instead.
    """
    if checkpoint:
        checkpoint = str(checkpoint)
        path = checkpoint if checkpoint.endswith(".keras") else os.path.join(checkpoint, BEST_MODEL)
    elif run is not None:
        path = os.path.join(run_location(run, runs_dir), BEST_MODEL)
    else:
        path = latest_checkpoint(runs_dir)
        if path is None:
            raise FileNotFoundError(f"no finished training run with {BEST_MODEL} in {runs_dir}/: train one "
                                    f"(make demo) or pass a checkpoint")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist: pass a saved separator (.keras) or a run folder")
    return path
