"""Evaluation, separation and run comparison on real files, with a trained demo model."""
import json
import logging
import os
import signal
import time

import museval
import numpy as np
import soundfile

from Evaluation.scores import bss_scores
from Runs.folders import newest_run_folder
from tests.conftest import demo_partitions, run_script, start_script, stop_message, write_tone
from Utils import audio as audio_io
from Utils import audio_writer
from Utils.hardware import auto_precision


def test_perfect_estimates_score_high_and_mixture_row_is_museval(trained_run, mini_demo):
    rng = np.random.default_rng(0)
    references = rng.standard_normal((2, 3 * 8000, 2)).astype(np.float32) * 0.1
    perfect = bss_scores(references, references, 8000)
    assert np.nanmedian(perfect["SDR"]) > 60
    _, folder, _ = trained_run
    scores = json.loads((folder / "evaluation" / "scores.json").read_text())
    row = scores["tracks"][0]
    song = os.path.join(mini_demo, "ccmixter", row["track"])  # the song as the run read it
    assert row["dataset"] == "ccmixter" and os.path.isdir(song)
    mix, rate = soundfile.read(os.path.join(song, "mix.wav"), dtype="float32")
    refs = np.stack([soundfile.read(os.path.join(song, f"source-0{i}.wav"), dtype="float32")[0] for i in (1, 2)])
    sdr, _, sir, _ = museval.evaluate(refs, np.stack([mix, mix]), win=rate, hop=rate)
    assert np.isclose(row["methods"]["mixture"]["accompaniment"]["SDR"], np.nanmedian(sdr[0]), atol=1e-3)
    assert np.isclose(row["methods"]["mixture"]["vocals"]["SIR"], np.nanmedian(sir[1]), atol=1e-3)


def test_evaluate_writes_tables_loadable_by_museval(trained_run, workdir, user_cache_home):
    """From a checkout of its own, so that its run is the newest there."""
    _, folder, _ = trained_run
    result = run_script(["Evaluate.py", "with", "cfg.semi_sup", "cfg.demo", f"run={folder}", "partition=ccmixter",  # its 2 validation + 2 test songs
                         "progress=False"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    evaluation = os.path.join(newest_run_folder(str(workdir / "runs")), "evaluation")
    with open(os.path.join(evaluation, "summary.json")) as handle:
        summary = json.load(handle)
    entry = summary["separator/ccmixter/vocals"]
    assert entry["tracks"] == 4 and entry["SDR_median"] is not None and entry["ISR_median"] is not None
    with open(os.path.join(evaluation, "summary.csv")) as handle:
        assert handle.read().startswith("method,dataset,source,tracks")
    store = museval.EvalStore()
    store.add_eval_dir(os.path.join(evaluation, "separator"))
    assert len(store.df["track"].unique()) == 4 and set(store.df["target"]) == {"accompaniment", "vocals"}
    # Validation songs too are scored at their own rate and channels, not from the training's 8 kHz mono cache.
    rows = json.loads(open(os.path.join(evaluation, "scores.json")).read())["tracks"]
    for row in rows:
        header = soundfile.info(os.path.join(workdir, "data", "demo", "ccmixter", row["track"], "mix.wav"))
        assert (row["sample_rate"], row["channels"]) == (header.samplerate, header.channels), row["track"]
    assert "SDR med" in result.stdout
    # The mixture's scores of the 2 test songs come from the cache the run's own evaluation filled: the same rows.
    tested = {row["track"]: row for row in json.loads((folder / "evaluation" / "scores.json").read_text())["tracks"]
              if row["dataset"] == "ccmixter"}
    assert len(tested) == 2
    assert all(row["methods"]["mixture"] == tested[row["track"]]["methods"]["mixture"] for row in rows
               if row["track"] in tested)
    store.add_eval_dir(os.path.join(evaluation, "mixture"))
    assert len(store.df["track"].unique()) == 4
    assert len(os.listdir(user_cache_home / "adversarial-separation" / "mixture_scores")) >= 4


def test_mixture_scores_are_kept_per_song_and_protocol_and_a_bad_cache_is_passed_by(tmp_path, monkeypatch):
    from Evaluation import mixture_baseline
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    references, mixture = rng.standard_normal((2, 800, 2)), rng.standard_normal((800, 2))
    key = mixture_baseline.song_key("song", "sisec", 8000, ["vocals", "accompaniment"], references, mixture)
    others = [mixture_baseline.song_key("song", "paper", 8000, ["vocals", "accompaniment"], references, mixture),
              mixture_baseline.song_key("other", "sisec", 8000, ["vocals", "accompaniment"], references, mixture),
              mixture_baseline.song_key("song", "sisec", 8000, ["vocals", "accompaniment"], references, mixture * 0.5)]
    assert len({key, *others}) == 4
    calls = []
    score = lambda: calls.append(1) or {"entry": {"vocals": {"SDR": float("nan")}}, "museval": "{}"}  # noqa: E731
    first, again = mixture_baseline.cached_scores(key, score), mixture_baseline.cached_scores(key, score)
    assert len(calls) == 1 and np.isnan(again["entry"]["vocals"]["SDR"]) and again["museval"] == first["museval"]
    cached = tmp_path / "cache" / "adversarial-separation" / "mixture_scores" / f"{key}.json"
    cached.write_text('{"entry": {"voc')  # a damaged file (a full disk, a killed process): scored again
    mixture_baseline.cached_scores(key, score)
    assert len(calls) == 2 and json.loads(cached.read_text())["museval"] == "{}"
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a cache that cannot be made: scored, no error
    assert mixture_baseline.cached_scores(key, score)["museval"] == "{}" and len(calls) == 3


def test_evaluate_names_a_wrong_precision_without_a_traceback(trained_run, monkeypatch):
    workdir, folder, _ = trained_run
    message = stop_message("Evaluate.py", ["with", "cfg.semi_sup", "cfg.demo", f"run={folder}", "precision=float16"],
                           workdir, monkeypatch)
    assert message == "error: precision='float16': use one of float32, bfloat16, int8, auto"


def test_separate_keeps_rate_length_and_channels_and_skips_bad_files(trained_run, tmp_path, separate_here):
    workdir, folder, _ = trained_run
    stereo = write_tone(tmp_path / "stereo.wav", seconds=3.0, rate=44100, channels=2, frequency=330)
    audio_writer.save(str(tmp_path / "stereo song.mp3"), stereo, 44100)
    write_tone(tmp_path / "mono.wav", seconds=2.5, rate=22050, channels=1)
    (tmp_path / "broken.flac").write_bytes(b"not audio")
    result = separate_here([tmp_path / "stereo song.mp3", tmp_path / "mono.wav", tmp_path / "broken.flac",
                            "-o", tmp_path / "out", "--checkpoint", folder, "--no-progress"], cwd=workdir)
    assert result.returncode == 1
    assert "broken.flac" in result.stderr and "separated 2 of 3" in result.stdout
    assert f"network on litert in {auto_precision('litert')} (--precision auto)" in result.stdout
    for name, source_path in (("stereo song", tmp_path / "stereo song.mp3"), ("mono", tmp_path / "mono.wav")):
        header = audio_io.info(str(source_path))
        for source in ("accompaniment", "vocals"):
            out = soundfile.info(str(tmp_path / "out" / name / f"{source}.wav"))
            assert (out.samplerate, out.channels, out.frames) == (header.sample_rate, header.channels, header.frames)


def test_separate_reports_outputs_it_cannot_write_and_goes_on(trained_run, tmp_path, capsys):
    import Separate
    _, folder, _ = trained_run
    for name in ("first", "second"):
        write_tone(tmp_path / f"{name}.wav", seconds=2.0, rate=22050, channels=1)
    (tmp_path / "out" / "first" / "vocals.wav").mkdir(parents=True)  # the output's name is taken by a folder
    common = ["--checkpoint", str(folder), "--no-progress"]
    code = Separate.main([str(tmp_path / "first.wav"), str(tmp_path / "second.wav"), "-o", str(tmp_path / "out"),
                          *common])
    messages = capsys.readouterr()
    assert code == 1 and "could not write the sources of" in messages.err and "first.wav" in messages.err
    assert "separated 1 of 2" in messages.out
    assert sorted(os.listdir(tmp_path / "out" / "first")) == ["vocals.wav"]  # no partial file left behind
    assert sorted(os.listdir(tmp_path / "out" / "second")) == ["accompaniment.wav", "vocals.wav"]
    (tmp_path / "taken").write_text("a file, not a folder")
    assert Separate.main([str(tmp_path / "second.wav"), "-o", str(tmp_path / "taken" / "out"), *common]) == 2
    assert "cannot create the output folder" in capsys.readouterr().err


def test_separate_stops_cleanly_on_ctrl_c(trained_run, tmp_path):
    _, folder, _ = trained_run
    write_tone(tmp_path / "song.wav", seconds=60.0, rate=44100, channels=2)
    out = tmp_path / "out"
    process = start_script(["Separate.py", *[str(tmp_path / "song.wav")] * 30, "-o", str(out),
                            "--checkpoint", str(folder), "--no-progress"])
    deadline = time.monotonic() + 300
    while not (out / "song").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # in the middle of a file
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 130, errors
    assert "interrupted:" in errors and "Traceback" not in errors
    # The file in progress left nothing: no partial files, and no folder where none of its sources was done.
    assert not [name for _, _, names in os.walk(out) for name in names if name.startswith(".partial")]


def test_compare_shows_differing_keys_and_scores(trained_run, tmp_path):
    """Two runs of its own (the trained run and a copy with another seed), whatever else the session ran."""
    import shutil
    workdir, folder, _ = trained_run
    for run_id in ("1", "2"):
        shutil.copytree(folder, tmp_path / "runs" / run_id, ignore=shutil.ignore_patterns("tensorboard", "checkpoint"))
    config = json.loads((tmp_path / "runs" / "2" / "config.json").read_text())
    (tmp_path / "runs" / "2" / "config.json").write_text(json.dumps({**config, "seed": config["seed"] + 1}))
    result = run_script(["Compare.py", "--runs", str(tmp_path / "runs"), "--plot", str(tmp_path / "cmp.png")],
                        cwd=workdir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["run", "1"]
    assert any(line.startswith("test vocals SDR (median)") for line in lines)
    assert any(line.startswith("seed") or line.startswith("partition") for line in lines)
    assert (tmp_path / "cmp.png").stat().st_size > 1000


def test_two_inputs_with_one_output_folder_are_refused_before_any_work(tmp_path, separate_here):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write_tone(tmp_path / folder / "same.wav", seconds=1.0)
    result = separate_here([tmp_path / "a" / "same.wav", tmp_path / "b" / "same.wav", "-o", tmp_path / "out"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "would both be written to" in result.stderr
    assert not (tmp_path / "out").exists()


def test_broken_checkpoints_are_one_line_and_create_nothing(trained_run, tmp_path, separate_here):
    _, folder, _ = trained_run
    settings = json.loads((folder / "best_separator.json").read_text())
    cases = {"random_zip": None, "missing_key": {k: v for k, v in settings.items() if k != "hop"},
             "zero_rate": {**settings, "sample_rate": 0}}
    write_tone(tmp_path / "song.wav", seconds=1.0)
    for name, content in cases.items():
        model = tmp_path / name / "model.keras"
        model.parent.mkdir()
        if content is None:  # a zip that is not a Keras model, beside valid settings
            import zipfile
            with zipfile.ZipFile(model, "w") as archive:
                archive.writestr("hello.txt", "not a model")
            content = settings
        else:
            model.write_bytes((folder / "best_separator.keras").read_bytes())
        (tmp_path / name / "model.json").write_text(json.dumps(content))
        result = separate_here([tmp_path / "song.wav", "-o", tmp_path / name / "out", "--checkpoint", model])
        assert result.returncode == 2 and "Traceback" not in result.stderr, (name, result.stderr[-2000:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot load the separator:") and str(model.parent) in lines[0]
        assert not (tmp_path / name / "out").exists(), name


def test_an_output_taken_by_a_folder_writes_none_of_the_files_sources(trained_run, tmp_path, separate_here):
    _, folder, _ = trained_run
    write_tone(tmp_path / "song.wav", seconds=2.0)
    (tmp_path / "out" / "song" / "vocals.wav").mkdir(parents=True)
    result = separate_here([tmp_path / "song.wav", "-o", tmp_path / "out", "--checkpoint", folder, "--no-progress"])
    assert result.returncode == 1 and "vocals.wav is a folder" in result.stderr
    assert os.listdir(tmp_path / "out" / "song") == ["vocals.wav"]   # no accompaniment.wav, no partial file


def test_loud_input_written_as_flac_warns_of_clipping_with_its_peak(trained_run, tmp_path):
    """As a process: the warning is a logged line, which a process prints on stderr."""
    _, folder, _ = trained_run
    rate = 44100
    t = np.arange(3 * rate) / rate
    loud = (4.0 * np.sin(2 * np.pi * 220 * t) + 4.0 * np.sign(np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    soundfile.write(tmp_path / "loud.wav", loud, rate, subtype="FLOAT")   # float wav: samples above full scale
    result = run_script(["Separate.py", str(tmp_path / "loud.wav"), "-o", str(tmp_path / "out"), "--checkpoint",
                         str(folder), "--format", "flac", "--no-progress"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings and all("was clipped by flac; wav keeps it" in line and "dBFS" in line for line in warnings)


def test_a_silent_estimate_is_scored_nan_with_a_warning_and_the_evaluation_completes(trained_run, mini_demo, tmp_path,
                                                                                    caplog):
    """A dead vocal head (a diverged run): museval refuses silent estimates; the evaluation must still finish."""
    from Evaluation.scores import evaluate_tracks
    from Input.datasets.track import read_role
    from Models.build import load_separator_weights, save_separator
    from Models.saved_separator import load_separator_settings
    from Models.separator import Separator
    _, folder, _ = trained_run
    model = load_separator_weights(str(folder / "best_separator.keras"))
    kernel, bias = model.get_layer("vocals").get_weights()
    model.get_layer("vocals").set_weights([np.zeros_like(kernel), np.full_like(bias, -1.0)])
    save_separator(model, load_separator_settings(str(folder / "best_separator.keras")), str(tmp_path / "dead.keras"))
    separator = Separator.from_checkpoint(str(tmp_path / "dead.keras"), engine="tensorflow")
    with caplog.at_level(logging.WARNING):
        evaluate_tracks(separator, demo_partitions(str(mini_demo)).train_sup[:1], read_role, str(tmp_path / "evaluation"),
                        workers=1, progress=False)
    assert caplog.text.count("silent estimate (separator/vocals), scored as NaN") == 1
    scores = json.loads((tmp_path / "evaluation" / "scores.json").read_text())
    assert len(scores["tracks"]) == 1
    for row in scores["tracks"]:
        assert np.isnan(row["methods"]["separator"]["vocals"]["SDR"])
        assert np.isfinite(row["methods"]["separator"]["accompaniment"]["SDR"])


def test_paper_summary_puts_silent_reference_songs_in_their_own_row_even_when_names_repeat(tmp_path):
    from Evaluation.scores import write_tables
    song = lambda dataset, silent, sdr: {"track": "Artist - Title", "dataset": dataset, "protocol": "paper",
                                         "silent_references": ["vocals"] if silent else [],
                                         "methods": {"separator": {"vocals": {"SDR": sdr}},
                                                     "mixture": {"vocals": {"SDR": float("nan") if silent else 0.0}}}}
    rows = [song("musdb", False, 4.0), song("dsd100", True, -20.0), song("dsd100", False, 6.0)]  # MUSDB holds DSD100
    tables = write_tables(rows, ["vocals"], str(tmp_path), [])
    tracks = {key: entry["tracks"] for key, entry in tables.summary.items()}
    assert tracks["separator/dsd100 (silent ref)/vocals"] == 1 and tracks["separator/dsd100/vocals"] == 1
    assert tracks["separator/all/vocals"] == tracks["mixture/all/vocals"] == 2
    assert tables.summary["separator/all/vocals"]["SDR_mean"] == 5.0
    with open(tmp_path / "scores.csv") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "track,dataset,summary_row,method,source,SDR" and len(lines) == 1 + 3 * 2
