"""Sacred observers: the run folder under ``runs/`` always, MongoDB when asked for.

MongoDB is asked for by Sacred's ``-m host:port:db_name`` flag or by ``MONGO_URL`` (``MONGO_DB``
names the database, default ``adversarial_separation``). The URL's password never reaches the
config, captured output or logs: only :func:`mask_password` forms of it are printed. With
``MONGO_FALLBACK=1`` an unreachable server means a warning and the file observer alone.
"""
import logging
import os
import re
import sys
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from sacred.observers import FileStorageObserver

from Runs.folders import RUNS_DIR

DEFAULT_DB = "adversarial_separation"
CONNECT_TIMEOUT_MS = 10000


class ObserverError(RuntimeError):
    """The requested database cannot be used; the message names host and port (password masked)."""


def mask_password(text: str) -> str:
    """``mongodb://user:secret@host:27017/db`` -> ``mongodb://user:***@host:27017/db``, whatever the password
    holds (``/``, ``:``; everything up to the last ``@`` of the URL); works on messages that quote a URL too."""
    return re.sub(r"(://[^:/@\s]*:)\S*@", r"\1***@", text)


def _host_port(url: str) -> str:
    parts = urlsplit(url if "//" in url else f"mongodb://{url}")
    return parts.netloc.rsplit("@", 1)[-1] or "localhost:27017"


def split_mongo_flag(argv: List[str]) -> Tuple[List[str], Optional[str]]:
    """Removes Sacred's ``-m/--mongo_db VALUE`` from ``argv`` so that we make the observer ourselves."""
    rest, value, skip = [], None, False
    for index, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word in ("-m", "--mongo_db") and index + 1 < len(argv):
            value, skip = argv[index + 1], True
        elif word.startswith("--mongo_db="):
            value = word.split("=", 1)[1]
        else:
            rest.append(word)
    return rest, value


def mongo_from_flag(value: str) -> Tuple[str, str]:
    """``[user:password@]host:port[:db]`` / ``db`` (Sacred's forms), or a ``mongodb://`` URL whose path names
    the database -> (url, database).

    Raises:
        ObserverError: the value is none of these (the message masks a password).
    """
    if "://" in value:
        database = urlsplit(value).path.strip("/")
        return value, database or DEFAULT_DB
    credentials, _, address = value.rpartition("@")
    parts = address.split(":")
    login = f"{credentials}@" if credentials else ""
    if len(parts) in (2, 3) and parts[1].isdigit() and parts[0]:
        database = parts[2] if len(parts) == 3 else DEFAULT_DB
    elif len(parts) == 1 and not credentials:
        return "mongodb://localhost:27017", _database_name(value, value)
    else:
        raise ObserverError(f"-m {_masked(value)} is not a MongoDB address: give host:port:database, "
                            f"user:password@host:port:database or a mongodb:// URL")
    return f"mongodb://{login}{parts[0]}:{parts[1]}", _database_name(database, value)


def _masked(value: str) -> str:
    """A ``-m`` value as it may be printed: its password masked."""
    return mask_password(f"mongodb://{value}")[len("mongodb://"):]


def _database_name(name: str, value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,63}", name):
        raise ObserverError(f"-m {_masked(value)}: {_masked(name)!r} is not a "
                            f"database name (letters, digits, _ and -)")
    return name


def make_mongo_observer(url: str, db_name: str, failure_dir: str, client=None):
    """A MongoObserver writing to ``db_name``, with a failure folder; checks the server answers.

    Raises:
        ObserverError: the server does not answer within 10 seconds.
    """
    import pymongo
    from sacred.observers import MongoObserver
    if client is None:
        try:  # a URL pymongo cannot use (port 99999, an unresolvable mongodb+srv host) raises here
            client = pymongo.MongoClient(url, serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS,
                                         connectTimeoutMS=CONNECT_TIMEOUT_MS)
            client.admin.command("ping")
        except (pymongo.errors.InvalidURI, pymongo.errors.ConfigurationError, ValueError) as error:
            raise ObserverError(invalid_url_message(url, error)) from None
        except pymongo.errors.PyMongoError as error:
            reason = mask_password(str(error).split(",")[0])[:200]
            raise ObserverError(f"MongoDB at {_host_port(mask_password(url))} is unreachable ({reason}); "
                                f"start it, fix MONGO_URL, or set MONGO_FALLBACK=1 to log to runs/ only") from None
    return MongoObserver(client=client, db_name=db_name, failure_dir=failure_dir)


def invalid_url_message(url: str, error: Exception) -> str:
    """One line for a MongoDB URL that pymongo cannot read (the password masked, in the URL and the reason)."""
    reason = mask_password(str(error))[:200]
    hint = "" if "quote_plus" in reason else "; a password holding @ : / or % must be escaped (urllib.parse.quote_plus)"
    return f"{mask_password(url)} is not a valid MongoDB URL ({reason}){hint}"


def attach_observers(experiment, argv: List[str], runs_dir: str = RUNS_DIR, write: bool = True) -> List[str]:
    """Adds the file observer and, if asked for, a MongoDB observer; returns ``argv`` without ``-m``.

    Exits with one line on stderr if MongoDB is asked for, unreachable and no fallback is allowed.
    With ``write=False`` (a worker that is not the chief) no observer is added.
    """
    argv, flag = split_mongo_flag(argv)
    if not write:
        return argv
    experiment.observers.append(FileStorageObserver(runs_dir))
    try:
        url, db_name = (mongo_from_flag(flag) if flag else
                        (os.environ.get("MONGO_URL"), os.environ.get("MONGO_DB", DEFAULT_DB)))
    except ObserverError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2)
    if url:
        try:
            experiment.observers.append(make_mongo_observer(url, db_name, os.path.join(runs_dir, "mongo_failures")))
            print(f"logging to MongoDB {mask_password(url)} database {db_name}", file=sys.stderr)
        except ObserverError as error:
            if os.environ.get("MONGO_FALLBACK", "") not in ("1", "true", "yes"):
                print(f"error: {error}", file=sys.stderr)
                raise SystemExit(2)
            print(f"warning: {error}; continuing with the file observer in {runs_dir}/ only", file=sys.stderr)
    return argv


def report_header(run, checkpoint: str, argv: List[str]) -> dict:
    """The listening report's header for a Sacred run: its id and folder, named configs, checkpoint, date and
    the command that reproduces it (a MongoDB password masked, ``-m`` left out)."""
    import datetime
    words, _ = split_mongo_flag(list(argv))
    words = [os.path.basename(words[0]), *words[1:]] if words else words  # Training.py, wherever the clone is
    return {"run": f"{run._id} ({run_folder(run)})", "named configs": " ".join(
                w for w in words if w.startswith("cfg.") and "=" not in w) or "(base)",
            "checkpoint": checkpoint, "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "command": mask_password("python " + " ".join(words))}


def hide_result_line(experiment) -> None:
    """Sacred logs a run's whole result at its end (``Result: {...}``, kilobytes for an evaluation); it is in
    run.json and the command prints what a user needs, so the terminal does not get it."""
    logging.getLogger(experiment.path).addFilter(lambda record: not str(record.msg).startswith("Result:"))


def run_folder(run) -> str:
    """The run's own folder (the file observer's), where checkpoints and models are written."""
    for observer in run.observers:
        if isinstance(observer, FileStorageObserver) and observer.dir:
            return observer.dir
    folder = os.path.join(RUNS_DIR, f"unobserved-{os.getpid()}")
    os.makedirs(folder, exist_ok=True)
    return folder
