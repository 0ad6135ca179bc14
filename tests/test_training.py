"""Training.py as a user runs it: a short semi-supervised run, resume, and the multi-device path."""
import json
import os

import numpy as np
import pytest

from Models.build import load_separator_weights
from tests.conftest import TINY, run_script, start_script, stop_message

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


@pytest.mark.slow(50)
def test_one_seed_repeats_a_run_exactly_and_a_resumed_run_ends_with_the_uninterrupted_weights(workdir):
    """deterministic=True alone (no thread setting in the environment): 2 epochs straight and 1 epoch, side by
    side, log equal loss terms to the last digit over their common epoch; then resume=... for the second epoch
    (given another seed, which the checkpoint's must override) ends with the straight run's weights. The
    resumed run must continue the seed, the excerpt streams and the penalty's random points exactly.
    Without deterministic=True, 3 of 4 pairs of 40 such steps parted by about 1e-6; the logged total of the
    terms may still differ in its last bit (seen once)."""
    common = ["cfg.semi_sup", "cfg.demo", *TINY, "cfg.batch_size=8", "cfg.n_critic=2", "cfg.unet_filters=8",
              "cfg.critic_filters=16", "cfg.epoch_it=10", "cfg.checkpoint_every=5", "evaluate=False",
              "deterministic=True"]  # the demo's batch, critics and networks
    straight_dir = workdir / "straight"  # its own folder, so that the two first runs can go side by side
    os.makedirs(straight_dir)
    os.symlink(workdir / "data", straight_dir / "data")
    environment = {"TF_NUM_INTEROP_THREADS": None}  # the switch alone must do it
    runs = [start_script(["Training.py", "with", *common, "cfg.max_epochs=2"], cwd=straight_dir, env=environment),
            start_script(["Training.py", "with", *common, "cfg.max_epochs=1"], cwd=workdir, env=environment)]
    for run in runs:
        _, errors = run.communicate(timeout=900)
        assert run.returncode == 0, errors[-3000:]
    straight, stopped = (json.loads((folder / "runs" / "1" / "metrics.json").read_text())
                         for folder in (straight_dir, workdir))
    assert "train.vocals_critic_loss" in straight and straight.keys() == stopped.keys()
    assert straight["train.loss"]["steps"] == [10, 20] and stopped["train.loss"]["steps"] == [10]
    for name, logged in stopped.items():
        count = len(logged["values"])
        assert count and straight[name]["steps"][:count] == logged["steps"], name
        if name == "train.loss":
            np.testing.assert_allclose(straight[name]["values"][:count], logged["values"], rtol=1e-6)
        else:
            assert straight[name]["values"][:count] == logged["values"], name
    resumed = run_script(["Training.py", "with", *common, "cfg.max_epochs=2", "seed=9",
                          f"resume={workdir / 'runs' / '1'}"], cwd=workdir, env=environment)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "at epoch 1, step 10" in resumed.stdout
    states = [np.load(folder / "runs" / run / "checkpoint" / "state.npz", allow_pickle=False)
              for folder, run in ((straight_dir, "1"), (workdir, "2"))]
    keys = [k for k in states[0].files if not k.startswith("optimizer")]
    assert len(keys) > 20 and keys == [k for k in states[1].files if not k.startswith("optimizer")]
    assert all(np.array_equal(states[0][k], states[1][k]) for k in keys)
