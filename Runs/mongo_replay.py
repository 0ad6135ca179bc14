"""Writes a finished run from its folder (``runs/<id>/``) into MongoDB: for runs whose database went away.

    MONGO_URL=mongodb://host:27017 python -m Runs.mongo_replay runs/3 [runs/4 ...]

The file observer always writes the whole run as JSON (config, run, metrics, info, captured
output), so a run logged while MongoDB was unreachable is copied from there; Sacred's own
``runs/mongo_failures/*.pickle`` files are never loaded.
"""
import datetime
import json
import os
import sys
from typing import List, Optional

from Runs.observers import DEFAULT_DB, invalid_url_message, mask_password


def _time(text):
    return datetime.datetime.fromisoformat(text) if isinstance(text, str) else text


def replay_run(folder: str, database) -> int:
    """Inserts the run document and its metrics; returns the new run id. Raises FileNotFoundError/ValueError."""
    def read(name, default=None):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            if default is not None:
                return default
            raise FileNotFoundError(f"{path} is missing: {folder} is not a complete run folder")
        with open(path) as handle:
            return handle.read() if name.endswith(".txt") else json.load(handle)

    run, config = read("run.json"), read("config.json")
    metrics, info, captured = read("metrics.json", {}), read("info.json", {}), read("cout.txt", "")
    last = database["runs"].find_one(sort=[("_id", -1)])
    run_id = (last["_id"] + 1) if last and isinstance(last["_id"], int) else 1
    document = {key: run.get(key) for key in ("experiment", "command", "host", "meta", "status", "result",
                                              "resources", "artifacts", "fail_trace")}
    document.update(_id=run_id, config=config, info=info, captured_out=captured,
                    start_time=_time(run.get("start_time")), stop_time=_time(run.get("stop_time")),
                    heartbeat=_time(run.get("heartbeat")), replayed_from=os.path.abspath(folder))
    database["runs"].insert_one(document)
    for name, series in metrics.items():
        database["metrics"].insert_one({"run_id": run_id, "name": name, "steps": series["steps"],
                                        "values": series["values"],
                                        "timestamps": [_time(t) for t in series.get("timestamps", [])]})
    return run_id


def main(argv: Optional[List[str]] = None) -> int:
    folders = sys.argv[1:] if argv is None else argv
    url = os.environ.get("MONGO_URL")
    if not url or not folders:
        print("usage: MONGO_URL=mongodb://host:port [MONGO_DB=name] python -m Runs.mongo_replay runs/<id> ...",
              file=sys.stderr)
        return 2
    import pymongo
    try:
        database = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000)[os.environ.get("MONGO_DB", DEFAULT_DB)]
    except (pymongo.errors.InvalidURI, pymongo.errors.ConfigurationError, ValueError) as error:
        print(f"error: MONGO_URL {invalid_url_message(url, error)}", file=sys.stderr)
        return 2
    for folder in folders:
        try:
            print(f"{folder} -> run {replay_run(folder, database)} in {mask_password(url)}")
        except (OSError, ValueError, pymongo.errors.PyMongoError) as error:
            print(f"error: {folder}: {mask_password(str(error))[:300]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
