"""Crashes, interrupts, numerical faults, broken data and secrets, each done for real."""
import json
import os
import re
import signal
import time

import mongomock
import numpy as np
import pytest
import soundfile

from Runs.folders import newest_run_folder
from Runs.mongo_replay import replay_run
from tests.conftest import ROOT, TINY, run_script, start_script, stop_message, write_tone
from Utils.files import safe_name

LONG = [*TINY, "cfg.epoch_it=20", "cfg.max_epochs=1", "cfg.checkpoint_every=3", "evaluate=False"]


def wait_for_checkpoint(run, process, minimum_step, timeout=300):
    """The step of the first checkpoint of the run folder ``run`` at ``minimum_step`` or later."""
    state = run / "checkpoint" / "state.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        if state.is_file():
            step = json.loads(state.read_text()).get("step", 0)
            if step >= minimum_step:
                return step
        time.sleep(0.2)  # a checkpoint every 3 steps of the small network comes about every 0.3 s
    raise AssertionError("no checkpoint appeared")


@pytest.mark.slow(60)
def test_ctrl_c_then_kill_9_then_resume_ends_with_the_weights_of_the_uninterrupted_run(workdir):
    """A user's night, beside the same command left alone (deterministic=True and nothing else: no thread setting
    in the environment). Ctrl-C saves a checkpoint and marks the run INTERRUPTED; its resumed run (given another
    seed, which the checkpoint's must override) is killed with SIGKILL; resuming that one goes on from its last
    checkpoint, and the third process ends with the uninterrupted run's weights and optimizer state, to the bit:
    one seed repeats a run, and a resume continues the seed, the excerpt streams (from a Ctrl-C's step too,
    inside a segment) and the penalty's random points exactly. Without deterministic=True, 3 of 4 pairs of 40
    such steps parted by about 1e-6."""
    common = ["cfg.semi_sup", "cfg.demo", *TINY, "cfg.batch_size=8", "cfg.n_critic=2", "cfg.unet_filters=8",
              "cfg.critic_filters=16", "cfg.epoch_it=10", "cfg.max_epochs=2", "cfg.checkpoint_every=3",
              "evaluate=False", "deterministic=True"]  # the demo's batch, critics and networks
    environment = {"TF_NUM_INTEROP_THREADS": None}  # the switch alone must do it
    straight_dir = workdir / "straight"  # its own folder, so that it can run beside the interrupted ones
    os.makedirs(straight_dir)
    os.symlink(workdir / "data", straight_dir / "data")
    straight = start_script(["Training.py", "with", *common], cwd=straight_dir, env=environment)
    runs = workdir / "runs"
    process = start_script(["Training.py", "with", *common], cwd=workdir, env=environment)
    wait_for_checkpoint(runs / "1", process, 3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "interrupted: state saved" in err
    assert json.loads((runs / "1" / "run.json").read_text())["status"] == "INTERRUPTED"
    interrupted = json.loads((runs / "1" / "checkpoint" / "state.json").read_text())["step"]
    assert interrupted >= 3

    process = start_script(["Training.py", "with", *common, "seed=9", f"resume={runs / '1'}"], cwd=workdir,
                           env=environment)
    saved = wait_for_checkpoint(runs / "2", process, interrupted + 3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = run_script(["Training.py", "with", *common, "seed=9", f"resume={runs / '2'}"], cwd=workdir,
                        env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    step = int(re.search(r"at epoch \d, step (\d+)", result.stdout).group(1))
    assert step >= saved and step % 3 == 0
    assert json.loads((runs / "3" / "run.json").read_text())["result"]["steps"] == 20
    _, errors = straight.communicate(timeout=900)
    assert straight.returncode == 0, errors[-3000:]
    metrics = json.loads((straight_dir / "runs" / "1" / "metrics.json").read_text())
    assert metrics["train.vocals_critic_loss"]["steps"] == [10, 20]
    states = [np.load(folder / "runs" / run / "checkpoint" / "state.npz", allow_pickle=False)
              for folder, run in ((straight_dir, "1"), (workdir, "3"))]
    assert len(states[0].files) > 20 and states[0].files == states[1].files
    assert all(np.array_equal(states[0][k], states[1][k]) for k in states[0].files)


def test_nan_loss_stops_with_a_clear_message_and_a_loadable_checkpoint(workdir):
    # Step 1's loss is finite, its update explodes the weights (with the authors' head initialisation; the demo's
    # non-negative heads go dark instead: the next test). Step 2's loss is not finite, or, where oneDNN computes
    # ReLU (a NaN activation comes out 0: seen on an AVX-512 CPU), the loss stays finite and step 2's update
    # leaves NaN weights, which the check before each checkpoint catches.
    result = run_script(["Training.py", "with", "cfg.sup", "cfg.demo", *LONG, "cfg.checkpoint_every=1",
                         "cfg.separator_lr=1e12", "cfg.head_init=glorot_uniform"], cwd=workdir)
    assert result.returncode != 0
    assert re.search(r"error: (\w+|the weights of the separator) became (nan|inf|-inf|NaN or infinite) at step 2",
                     result.stderr), result.stderr[-2000:]
    assert "The last good checkpoint is" in result.stderr and "Traceback" not in result.stderr
    assert json.loads((workdir / "runs" / "1" / "checkpoint" / "state.json").read_text())["step"] == 1
    with np.load(workdir / "runs" / "1" / "checkpoint" / "state.npz", allow_pickle=False) as arrays:
        assert len(arrays.files) > 10


def test_a_learning_rate_that_kills_the_heads_is_a_warning_after_the_first_epoch(workdir):
    # lr 10 kills both heads within 5 steps with finite weights (from 1e3 up, corpus 4's songs give a NaN loss,
    # which test_nan_loss_stops_with_a_clear_message_and_a_loadable_checkpoint covers).
    result = run_script(["Training.py", "with", "cfg.sup", "cfg.demo", *TINY, "cfg.epoch_it=5", "cfg.max_epochs=1",
                         "evaluate=False", "cfg.separator_lr=10.0"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warning: the separator's accompaniment, vocals estimates are all zero on the validation songs: a dead " \
           "output head, which L_s cannot revive; lower cfg.separator_lr" in result.stderr


def test_weights_gone_to_nan_are_not_exported_for_litert(trained_run, tmp_path, caplog):
    """The converter would crash the whole run on them: one warning instead, and no file."""
    from Models.build import load_separator_weights, save_separator
    from Models.engines import export_for_litert
    from Models.saved_separator import load_separator_settings
    _, folder, _ = trained_run
    network = load_separator_weights(str(folder / "best_separator.keras"))
    network.set_weights([np.full_like(w, np.nan) for w in network.get_weights()])
    path = str(tmp_path / "diverged.keras")
    save_separator(network, load_separator_settings(str(folder / "best_separator.keras")), path)
    with caplog.at_level("WARNING"):
        assert export_for_litert(path) == []
    assert "not exported, as the separator's weights are not all finite (a diverged run)" in caplog.text
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tflite")]


@pytest.mark.slow(30)
def test_broken_files_are_skipped_and_counted_and_secrets_stay_out(workdir):
    bad = workdir / "bad_vocals"
    bad.mkdir()
    (bad / "empty.wav").write_bytes(b"")
    (bad / "text.wav").write_text("this is not audio\n" * 50)
    (bad / "garbage.mp3").write_bytes(os.urandom(2000))
    write_tone(bad / "six_channels_96k.wav", seconds=3, rate=96000, channels=6)
    write_tone(bad / "low_rate.wav", seconds=3, rate=11025)
    write_tone(bad / "tiny.flac", seconds=0.2, rate=44100)
    soundfile.write(bad / "silent.wav", np.zeros((44100 * 3, 2), np.float32), 44100)
    secret = "s3cretPassw0rd"
    result = run_script(["Training.py", "with", "cfg.semi_sup", "cfg.demo", *TINY, "cfg.epoch_it=10",
                         "cfg.max_epochs=1", "evaluate=False", f'cfg.unpaired_collections=[["vocals", "{bad}"]]'],
                        cwd=workdir, env={"MONGO_URL": f"mongodb://ann:{secret}@127.0.0.1:9/", "MONGO_FALLBACK": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((workdir / "runs" / "1" / "info.json").read_text())
    assert info["skipped_count"] == 3
    assert sum(name in " ".join(info["skipped_files"]) for name in ("empty.wav", "text.wav", "garbage.mp3")) == 3
    metrics = json.loads((workdir / "runs" / "1" / "metrics.json").read_text())
    assert all(np.isfinite(metrics["train.loss"]["values"] + metrics["valid.sup_loss"]["values"]))
    everything = result.stdout + result.stderr
    for folder, _, names in os.walk(workdir / "runs"):
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                everything += handle.read().decode(errors="replace")
    assert secret not in everything
    assert "MongoDB at 127.0.0.1:9 is unreachable" in result.stderr and "file observer" in result.stderr
    for name in ("empty.wav", "text.wav", "garbage.mp3"):
        assert sum(name in line for line in result.stderr.splitlines()) == 1, name  # warned once each


def test_missing_dataset_folder_stops_at_start_with_one_line(workdir, monkeypatch):
    message = stop_message("Training.py", ["with", "cfg.semi_sup", "cfg.demo", *TINY, "cfg.datasets.ccmixter.root=/no/such"],
                           workdir, monkeypatch)
    assert message.startswith("error: CCMixter folder /no/such does not exist")


def test_a_demo_corpus_link_to_a_folder_that_is_gone_is_one_line(tmp_path, monkeypatch):
    os.makedirs(tmp_path / "data")
    os.symlink(tmp_path / "gone", tmp_path / "data" / "demo")  # a checkout's data/demo pointing at a removed copy
    message = stop_message("Training.py", ["with", "cfg.semi_sup", "cfg.demo", "progress=False"], tmp_path, monkeypatch)
    assert f"data/demo is a link to {tmp_path / 'gone'}, which is not a folder: remove the link" in message
    assert not (tmp_path / "gone").exists()


def test_a_link_inside_the_corpus_to_a_folder_that_is_gone_is_one_line(tmp_path):
    """A corpus whose ccmixter folder is a link to a removed copy: rendering into it is one DatasetError naming
    the path (it was a worker's FileNotFoundError, which Sacred's traceback filter then crashed on)."""
    from Input.datasets import DatasetError
    from Input.demo import corpus, fluidsynth
    out = tmp_path / "demo"
    out.mkdir()
    os.symlink(tmp_path / "gone", out / "ccmixter")
    one_song = lambda: corpus.plan(2018, 2.0, 2.0, (("ccmixter", 1, "stage"),))
    with pytest.raises(DatasetError) as error:
        corpus.render_manifest(str(out), "manifest.json", "key", one_song, 2018, fluidsynth.find_soundfont(), 1,
                               False, "rendering")
    assert str(error.value).startswith(f"cannot render the demo corpus into {out}: {out / 'ccmixter'}")
    assert "remove the link or folder on that path" in str(error.value)
    assert not (tmp_path / "gone").exists() and not (out / "manifest.json").exists()


def test_replay_copies_a_run_folder_into_mongodb(workdir):
    result = run_script(["Training.py", "with", "cfg.sup", "cfg.demo", *TINY, "cfg.epoch_it=2", "cfg.max_epochs=1",
                         "evaluate=False"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    database = mongomock.MongoClient()["adversarial_separation"]
    run_id = replay_run(str(workdir / "runs" / "1"), database)
    document = database["runs"].find_one({"_id": run_id})
    assert document["status"] == "COMPLETED" and document["config"]["cfg"]["semi_supervised"] is False
    assert database["metrics"].find_one({"run_id": run_id, "name": "valid.sup_loss"})["values"]


def test_no_pickle_loading_and_safe_output_names():
    pattern = re.compile(r"pickle\.loads?\(|allow_pickle=True|safe_mode=False")
    offenders, loads = [], 0
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in ("tests", "data", "runs")]
        for name in (n for n in names if n.endswith(".py")):
            for line in open(os.path.join(folder, name)):
                if pattern.search(line) or ("np.load(" in line and "allow_pickle=False" not in line):
                    offenders.append(f"{os.path.relpath(os.path.join(folder, name), ROOT)}: {line.strip()}")
                loads += "np.load(" in line or "load_model(" in line
    assert offenders == [] and loads >= 2  # the checkpoint and the saved separator are loaded safely
    for hostile in ("../../etc/passwd", "/abs/path", "..", "a/../../b", "~/.ssh/id"):
        name = safe_name(hostile)
        assert "/" not in name and not name.startswith(".") and os.path.basename(name) == name


def damaged_copy(folder, tmp_path, name, damage):
    """A copy of a run's checkpoint folder with ``damage`` applied to some of its files."""
    import shutil
    target = tmp_path / name
    shutil.copytree(folder / "checkpoint", target)
    for file_name, content in damage.items():
        data = (target / file_name).read_bytes()
        (target / file_name).write_bytes(content if content is not None else data[: len(data) // 2])
    return target


def test_a_damaged_newest_checkpoint_resumes_from_the_previous_one(trained_run, tmp_path):
    workdir, folder, _ = trained_run
    assert {"state.json", "state.npz", "previous.json", "previous.npz"} <= set(os.listdir(folder / "checkpoint"))
    copy = damaged_copy(folder, tmp_path, "newest_damaged", {"state.npz": None, "state.json": b"{truncated"})
    result = run_script(["Training.py", "with", "cfg.semi_sup", "cfg.demo", *TINY, f"resume={copy}", "evaluate=False"],
                        cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("state.npz is damaged") == 1 and "state.json is not readable JSON" in result.stderr
    assert "resumed from previous.json and previous.npz (step 12)" in result.stderr
    # The previous pair is the periodic save at the epoch's last step, made before the epoch's validation:
    # the resumed run validates epoch 2 without another step.
    assert "at epoch 1, step 12" in result.stdout and "epoch 2: 0 separator steps" in result.stdout
    run = json.loads(open(os.path.join(newest_run_folder(str(workdir / "runs")), "run.json")).read())
    assert run["result"]["steps"] == 12 and run["result"]["epochs"] == 2


def test_unusable_checkpoints_are_one_line_naming_the_files(trained_run, tmp_path):
    """As a process: the damage shows as the state loads into the built model."""
    workdir, folder, _ = trained_run
    copy = damaged_copy(folder, tmp_path, "all_damaged", {"state.npz": None, "previous.npz": b"PK\x03\x04 no zip"})
    result = run_script(["Training.py", "with", "cfg.semi_sup", "cfg.demo", *TINY, f"resume={copy}", "evaluate=False"],
                        cwd=workdir)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    line = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(line) == 1 and "state.npz is damaged" in line[0] and "previous.npz is damaged" in line[0], \
        result.stderr[-2000:]


def test_a_run_killed_without_a_trace_is_shown_dead(trained_run, tmp_path):
    """Sacred leaves a SIGKILLed run RUNNING in run.json; its stopped heartbeat tells it is dead."""
    import datetime
    import shutil
    from Runs.folders import latest_checkpoint, read_file_runs
    _, folder, _ = trained_run
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    for run_id, beat in (("1", now), ("2", now - datetime.timedelta(hours=1))):
        shutil.copytree(folder, tmp_path / "runs" / run_id, ignore=shutil.ignore_patterns("tensorboard", "evaluation"))
        run = json.loads((tmp_path / "runs" / run_id / "run.json").read_text())
        run.update(status="RUNNING", heartbeat=beat.isoformat())
        (tmp_path / "runs" / run_id / "run.json").write_text(json.dumps(run))
    assert {run["id"]: run["status"] for run in read_file_runs(str(tmp_path / "runs"))} == {"1": "RUNNING", "2": "DEAD"}
    assert latest_checkpoint(str(tmp_path / "runs")) is None   # neither finished
    result = run_script(["Compare.py", "--runs", str(tmp_path / "runs")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    status = next(line for line in result.stdout.splitlines() if line.lstrip().startswith("status"))
    assert "RUNNING" in status and "DEAD" in status


def test_resume_takes_a_run_number_refuses_fixed_settings_and_applies_the_rest(trained_copy, monkeypatch):
    from Models.build import load_separator_weights
    workdir = trained_copy
    common = ["with", "cfg.semi_sup", "cfg.demo", *TINY, "resume=1", "evaluate=False"]
    refused = stop_message("Training.py", [*common, "cfg.batch_size=8", "cfg.unet_filters=2"], workdir, monkeypatch)
    assert "cfg.unet_filters, cfg.batch_size cannot change when a run is resumed (it was 4, now 2)" in refused
    # Learning rates of 1e-30 on resume (Adam moves a weight by about the rate): the weights must stay as they
    # were at the checkpoint (step 12), which they would not with the run's own rates. The run goes on from
    # step 12 (the end of epoch 2) for a third epoch.
    frozen = run_script(["Training.py", *common, "cfg.separator_lr=1e-30", "cfg.critic_lr=1e-30", "cfg.max_epochs=3"],
                        cwd=workdir)
    assert frozen.returncode == 0, frozen.stderr[-3000:]
    assert "at epoch 2, step 12" in frozen.stdout
    resumed = newest_run_folder(str(workdir / "runs"))  # the frozen run's (the refusal, in process, wrote none)
    run = json.loads(open(os.path.join(resumed, "run.json")).read())
    assert run["result"]["steps"] == 18 and run["result"]["epochs"] == 3
    assert os.path.isfile(os.path.join(resumed, "best_separator.keras"))
    before = load_separator_weights(str(workdir / "runs" / "1" / "last_separator.keras")).weights
    after = load_separator_weights(os.path.join(resumed, "last_separator.keras")).weights
    assert all(np.allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-20) for a, b in zip(before, after))


def test_evaluate_takes_a_run_number_and_names_a_source_mismatch(trained_copy):
    workdir = trained_copy
    result = run_script(["Evaluate.py", "with", "cfg.semi_sup", "cfg.demo", "cfg.musdb_4stems", "run=1",
                         "progress=False"], cwd=workdir)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == ["error: runs/1/best_separator.keras separates accompaniment, vocals, and the config asks for "
                     "vocals, drums, bass, other (cfg.sources): evaluate it with the named configs it was trained "
                     "with"], result.stderr[-2000:]


def test_compare_fits_the_terminal_and_a_plot_it_cannot_make_is_one_line(trained_copy, tmp_path, capsys):
    import shutil

    import Compare
    workdir = trained_copy
    shutil.copytree(workdir / "runs" / "1", workdir / "runs" / "2")
    config = json.loads((workdir / "runs" / "2" / "config.json").read_text())
    config["cfg"]["unpaired_collections"] = [["vocals", "data/" + "very_long_folder_name/" * 40]]
    (workdir / "runs" / "2" / "config.json").write_text(json.dumps(config))
    runs = str(workdir / "runs")
    assert Compare.main(["--runs", runs, "--plot", str(tmp_path / "no" / "such" / "folder" / "plot.png")]) == 1
    out, err = capsys.readouterr()
    assert max(len(line) for line in out.splitlines()) <= 120 and "…" in out  # the test terminal's width
    assert err.startswith("error: cannot write the plot") and len(err.splitlines()) == 1
    assert Compare.main(["--runs", runs, "--wide"]) == 0 and "very_long_folder_name/" * 40 in capsys.readouterr().out
    run = json.loads((workdir / "runs" / "2" / "run.json").read_text())
    run["result"] = {}
    (workdir / "runs" / "2" / "run.json").write_text(json.dumps(run))
    assert Compare.main(["--runs", runs, "2", "--plot", str(tmp_path / "plot.png")]) == 1
    assert capsys.readouterr().err.startswith("error: no plot: none of these runs has test scores")


def test_damaged_separator_files_are_named_for_what_they_are(trained_run, tmp_path):
    import pytest
    from Models.build import load_separator_weights
    from Models.saved_separator import load_separator_settings
    _, folder, _ = trained_run
    (tmp_path / "cut.keras").write_bytes((folder / "best_separator.keras").read_bytes()[:20000])
    with pytest.raises(ValueError, match=r"cut.keras: damaged or truncated \(20000 bytes"):
        load_separator_weights(str(tmp_path / "cut.keras"))
    settings = json.loads((folder / "best_separator.json").read_text())
    (tmp_path / "deep.json").write_text(json.dumps(dict(settings, unet_levels=40)))
    with pytest.raises(ValueError, match="unet_levels=40 is not a separator Training.py builds") as error:
        load_separator_settings(str(tmp_path / "deep.keras"))
    assert "tflite" not in str(error.value)
