"""Observers: the run folder, MongoDB over mongomock (documents and metrics), masking and dead servers."""
import json
import os
import time

import mongomock
import mongomock.gridfs
import pytest
from sacred import Experiment
from sacred.observers import MongoObserver

from Config import cfg
from Runs.observers import (ObserverError, attach_observers, make_mongo_observer, mask_password, mongo_from_flag,
                             split_mongo_flag)


def small_experiment():
    experiment = Experiment("observer_test", ingredients=[cfg])

    @experiment.main
    def main(cfg, _run):
        for step in range(3):
            _run.log_scalar("train.loss", 1.0 / (step + 1), step)
        print("separating ...")
        return {"batch_size": cfg["batch_size"]}

    return experiment


def test_default_file_observer_writes_the_run_folder(tmp_path):
    experiment = small_experiment()
    argv = attach_observers(experiment, ["Training.py", "with", "cfg.sup"], runs_dir=str(tmp_path / "runs"))
    run = experiment.run(named_configs=["cfg.sup"])
    folder = tmp_path / "runs" / str(run._id)
    config = json.loads((folder / "config.json").read_text())
    assert config["cfg"]["semi_supervised"] is False and config["cfg"]["sample_rate"] == 8192
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["train.loss"]["values"] == [1.0, 0.5, 1.0 / 3]
    assert json.loads((folder / "run.json").read_text())["result"] == {"batch_size": 64}
    assert argv == ["Training.py", "with", "cfg.sup"]


def test_mongo_observer_writes_run_document_and_metrics():
    mongomock.gridfs.enable_gridfs_integration()
    client = mongomock.MongoClient()
    database = client["adversarial_separation"]
    import gridfs
    observer = MongoObserver.create_from(database["runs"], gridfs.GridFS(database),
                                         metrics_collection=database["metrics"], failure_dir=None)
    experiment = small_experiment()
    experiment.observers.append(observer)
    run = experiment.run(named_configs=["cfg.semi_sup"])
    document = database["runs"].find_one({"_id": run._id})
    assert document["status"] == "COMPLETED"
    assert document["config"]["cfg"]["alpha"] == 0.001
    assert document["result"] == {"batch_size": 64}
    metric = database["metrics"].find_one({"run_id": run._id, "name": "train.loss"})
    assert metric["steps"] == [0, 1, 2] and metric["values"][0] == 1.0


def test_password_is_masked_and_mongo_flag_is_taken_over():
    assert mask_password("mongodb://ann:s3cret@db.example:27017/x") == "mongodb://ann:***@db.example:27017/x"
    argv, value = split_mongo_flag(["Training.py", "-m", "localhost:27017:runs", "with", "cfg.sup"])
    assert argv == ["Training.py", "with", "cfg.sup"] and value == "localhost:27017:runs"


@pytest.mark.parametrize("password", ["pa/ss", "pa:ss", "p@ss/w:rd", "s3cret"])
def test_every_password_form_is_masked(password):
    url = f"mongodb://ann:{password}@db.example:27017/runs"
    assert mask_password(url) == "mongodb://ann:***@db.example:27017/runs"
    assert password not in mask_password(f"could not connect to {url}, timed out")


def test_a_url_given_to_the_flag_is_parsed_as_a_url():
    assert mongo_from_flag("mongodb://user:secret@host:27017/mydb") == ("mongodb://user:secret@host:27017/mydb", "mydb")
    assert mongo_from_flag("mongodb://host:27017") == ("mongodb://host:27017", "adversarial_separation")
    assert mongo_from_flag("host:27017:db") == ("mongodb://host:27017", "db")


def test_sacreds_flag_with_credentials_is_parsed_and_a_malformed_one_is_refused(tmp_path, capsys):
    assert mongo_from_flag("alice:pw@127.0.0.1:1:mydb") == ("mongodb://alice:pw@127.0.0.1:1", "mydb")
    assert mongo_from_flag("alice:p@w@127.0.0.1:1") == ("mongodb://alice:p@w@127.0.0.1:1", "adversarial_separation")
    for value in ("alice:pw@127.0.0.1:1:my.db/x", "a:b:c:d"):
        with pytest.raises(SystemExit) as stop:
            attach_observers(small_experiment(), ["Training.py", "-m", value], runs_dir=str(tmp_path / "runs"))
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.startswith("error: -m ") and len(err.splitlines()) == 1
        assert "pw@" not in err


@pytest.mark.parametrize("url", ["mongodb://ann:p@ss:w/rd@127.0.0.1:27017", "mongodb://ann:s3cret@127.0.0.1:99999/"])
def test_an_invalid_url_is_called_invalid_not_unreachable(tmp_path, url):
    with pytest.raises(ObserverError) as error:
        make_mongo_observer(url, "db", str(tmp_path / "failures"))
    assert "is not a valid MongoDB URL" in str(error.value) and "unreachable" not in str(error.value)
    assert "ss:w/rd" not in str(error.value) and "s3cret" not in str(error.value)


def test_replay_with_an_unescaped_password_is_one_line(monkeypatch, capsys, tmp_path):
    from Runs import mongo_replay
    monkeypatch.setenv("MONGO_URL", "mongodb://ann:p@ss:w/rd@127.0.0.1:27017")
    assert mongo_replay.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: MONGO_URL mongodb://ann:***@") and "ss:w/rd" not in err and len(err.splitlines()) == 1


def test_unreachable_server_fails_fast_naming_host_and_port_without_password(tmp_path, monkeypatch):
    """Within the project's connection timeout (10 s; 1 s here), not pymongo's default 30 s."""
    monkeypatch.setattr("Runs.observers.CONNECT_TIMEOUT_MS", 1000)
    started = time.monotonic()
    with pytest.raises(ObserverError) as error:
        make_mongo_observer("mongodb://ann:s3cret@127.0.0.1:9/", "db", str(tmp_path / "failures"))
    assert time.monotonic() - started < 5
    assert "127.0.0.1:9" in str(error.value) and "s3cret" not in str(error.value)


@pytest.mark.parametrize("url", ["mongodb://ann:s3cret@127.0.0.1:9/", "mongodb://ann:pa:ss@127.0.0.1:27017/",
                                 "mongodb://ann:s3cret@127.0.0.1:99999/", "mongodb+srv://ann:s3cret@no-such-host.invalid/"])
def test_unreachable_or_unusable_server_is_one_line_and_the_fallback_continues(tmp_path, monkeypatch, capsys, url):
    """An unreachable server, ':' in the password, port 99999, an unresolvable mongodb+srv host (each given
    1 s to answer instead of the project's 10 s)."""
    monkeypatch.setattr("Runs.observers.CONNECT_TIMEOUT_MS", 1000)
    with pytest.raises(ObserverError) as error:
        make_mongo_observer(url, "db", str(tmp_path / "failures"))
    assert "s3cret" not in str(error.value) and "pa:ss" not in str(error.value)
    monkeypatch.setenv("MONGO_URL", url)
    monkeypatch.setenv("MONGO_FALLBACK", "1")
    experiment = small_experiment()
    attach_observers(experiment, ["Training.py"], runs_dir=str(tmp_path / "runs"))
    run = experiment.run()
    assert os.path.isfile(tmp_path / "runs" / str(run._id) / "config.json")
    err = capsys.readouterr().err
    assert "continuing with the file observer" in err and "s3cret" not in err and "pa:ss" not in err


@pytest.mark.mongo
@pytest.mark.skipif(not os.environ.get("MONGO_URL"), reason="needs a live MongoDB at MONGO_URL")
def test_live_mongodb_records_a_run(tmp_path):
    import pymongo
    url = os.environ["MONGO_URL"]
    experiment = small_experiment()
    experiment.observers.append(make_mongo_observer(url, "adversarial_separation_test", str(tmp_path / "failures")))
    run = experiment.run()
    document = pymongo.MongoClient(url)["adversarial_separation_test"]["runs"].find_one({"_id": run._id})
    assert document["status"] == "COMPLETED"
