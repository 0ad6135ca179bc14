"""Training.py as a user runs it: a short semi-supervised run, resume, and the multi-device path."""
import json
import os

import numpy as np
import pytest

from Models.build import load_separator_weights
from tests.conftest import TINY, run_script, stop_message

def test_short_run_writes_metrics_checkpoint_model_and_result(trained_run):
    _, folder, result = trained_run
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "COMPLETED"
    assert "Result:" not in result.stderr and "left out" not in result.stderr  # a quiet happy path
    assert run["result"]["steps"] == 12 and run["result"]["epochs"] == 2
    assert set(run["result"]["test"]) == {"separator/all/accompaniment", "separator/all/vocals"}
    metrics = json.loads((folder / "metrics.json").read_text())
    for name in ("train.sup_loss", "train.additive_loss", "train.vocals_wasserstein", "valid.sup_loss"):
        assert name in metrics, name
    assert metrics["train.grad_cos_adversarial_sup"]["steps"] == [5, 10]  # cfg.diagnostics_every=5
    assert len(metrics["valid.sup_loss"]["values"]) == 2
    for path in ("best_separator.keras", "best_separator.json", "checkpoint/state.npz", "checkpoint/state.json",
                 "evaluation/summary.csv", "evaluation/summary.json"):
        assert (folder / path).is_file(), path
    assert json.loads((folder / "best_separator.json").read_text())["sources"] == ["accompaniment", "vocals"]
    # The weights at the stop are kept too: those of the last checkpoint, saved at the last epoch's end.
    last = load_separator_weights(str(folder / "last_separator.keras")).weights
    with np.load(folder / "checkpoint" / "state.npz") as state:
        saved = [state[f"separator/{index:05d}"] for index in range(len(last))]
    assert all(np.array_equal(w.numpy(), s) for w, s in zip(last, saved))
    for events in ("tensorboard", "tensorboard/images"):  # scalars; spectrogram images (cfg.image_every=3)
        assert any(name.startswith("events.out.tfevents") for name in os.listdir(folder / events)), events
    info = json.loads((folder / "info.json").read_text())
    assert [row["partition"] for row in info["partitions"]][0] == "train_sup" and info["skipped_count"] == 0
    assert "train_unsup/vocals" in result.stdout and "SDR med" in result.stdout


def test_validation_by_dataset_keeps_each_datasets_loss_and_best_model(trained_run):
    _, folder, _ = trained_run
    info = json.loads((folder / "info.json").read_text())
    history = info["history"]
    assert all(set(entry["valid_loss_by_dataset"]) == {"musdb", "ccmixter"} for entry in history)
    metrics = json.loads((folder / "metrics.json").read_text())
    for dataset in ("musdb", "ccmixter"):
        losses = [entry["valid_loss_by_dataset"][dataset] for entry in history]
        assert metrics[f"valid.{dataset}.sup_loss"]["values"] == losses
        best_epoch = int(np.argmin(losses)) + 1
        kept = load_separator_weights(str(folder / f"best_separator.{dataset}.keras")).weights
        if best_epoch == len(history):  # the best on this dataset is the last epoch: the weights at the stop
            last = load_separator_weights(str(folder / "last_separator.keras")).weights
            assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(kept, last))
    # The two datasets' losses are those of disjoint songs: neither is the loss over all of them.
    assert all(entry["valid_loss"] != entry["valid_loss_by_dataset"]["musdb"] for entry in history)
    assert len(info["paired_songs"]) == 3


def test_resume_from_nothing_is_a_clear_error(workdir, tmp_path, monkeypatch):
    message = stop_message("Training.py", ["with", "cfg.semi_sup", "cfg.demo", *TINY, f"resume={tmp_path}"], workdir,
                           monkeypatch)
    assert message.startswith("error: resume=") and "no checkpoint" in message


@pytest.mark.slow(12)
def test_supervised_baseline_and_two_logical_devices(workdir):
    result = run_script(["Training.py", "with", "cfg.sup", "cfg.demo", *TINY, "cfg.epoch_it=2", "cfg.max_epochs=1",
                         "evaluate=False", "cfg.distribute=mirrored", "cfg.logical_cpus=2"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((workdir / "runs" / "1" / "run.json").read_text())
    assert run["result"]["steps"] == 2
    metrics = json.loads((workdir / "runs" / "1" / "metrics.json").read_text())
    assert "train.vocals_wasserstein" not in metrics   # no critics in the baseline
    assert (workdir / "runs" / "1" / "best_separator.keras").is_file()
    assert not [name for name in os.listdir(workdir / "runs" / "1") if name.endswith(".tflite")]  # litert_export=False


FOUR_STEMS = ["cfg.musdb_4stems", "cfg.datasets.musdb.root=data/demo/musdb", "cfg.datasets.musdb.is_wav=True"]


@pytest.mark.slow(30)
def test_four_sources_train_with_four_critics_and_separate_a_file(workdir, tmp_path, separate_here):
    result = run_script(["Training.py", "with", "cfg.semi_sup", "cfg.demo", *FOUR_STEMS, *TINY, "cfg.epoch_it=10", "cfg.max_epochs=1",
                         "evaluate=False"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    for stream in ("mixture", "vocals", "drums", "bass", "other"):
        assert f"train_unsup/{stream}" in result.stdout
    metrics = json.loads((workdir / "runs" / "1" / "metrics.json").read_text())
    assert {f"train.{s}_wasserstein" for s in ("vocals", "drums", "bass", "other")} <= set(metrics)
    song = os.path.join(workdir, "data", "demo", "musdb", "test", sorted(os.listdir(workdir / "data/demo/musdb/test"))[0],
                        "mixture.wav")
    result = separate_here([song, "-o", tmp_path / "out", "--checkpoint", workdir / "runs" / "1", "--no-progress"],
                           cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(os.listdir(tmp_path / "out" / "mixture"))
    assert written == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]
    import soundfile
    frames = {soundfile.info(str(tmp_path / "out" / "mixture" / name)).frames for name in written}
    assert frames == {soundfile.info(song).frames}


def test_semi_supervised_without_unpaired_data_is_one_line(workdir, monkeypatch):
    message = stop_message("Training.py", ["with", "cfg.semi_sup", "cfg.demo", *TINY, "cfg.datasets.ccmixter.root=None",
                                           "cfg.unpaired_collections=[]"], workdir, monkeypatch)
    assert message == "error: stream 'unpaired mixture' has no tracks: add data to it or train with cfg.sup"
