"""Separation on LiteRT and on TensorFlow: the same files, an export made once, and an install without TensorFlow."""
import glob
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
import soundfile

from Models.build import load_separator_weights
from Models.engines import ENGINE_PRECISIONS, file_digest
from Models.saved_separator import litert_file, load_separator_settings
from Models.separator import Separator
from tests.conftest import ROOT, run_script
from Utils import audio as audio_io
from Utils import spectral
from Utils.hardware import auto_precision

SEPARATE_PYTHON = os.path.join(ROOT, ".venv-separate", "bin", "python")


def demo_song(demo_root, path, seconds=12.0):
    """The first demo test mixture (44.1 kHz stereo), its first ``seconds``, written to ``path``."""
    mixture = sorted(glob.glob(os.path.join(demo_root, "musdb", "test", "*", "mixture.wav")))[0]
    audio, rate = soundfile.read(mixture, dtype="float32", frames=int(seconds * 44100))
    soundfile.write(str(path), audio, rate, subtype="FLOAT")
    return str(path)


def written(folder):
    """``{source: samples}`` of the files a separation wrote into ``folder``."""
    return {os.path.basename(p)[:-4]: soundfile.read(p, dtype="float32")[0] for p in glob.glob(f"{folder}/*.wav")}


def copy_checkpoint(folder, destination):
    """best_separator.keras and its JSON (not its LiteRT export) copied into ``destination``."""
    os.makedirs(destination, exist_ok=True)
    for suffix in (".keras", ".json"):
        shutil.copy(os.path.join(folder, f"best_separator{suffix}"), destination)
    return os.path.join(destination, "best_separator.keras")


def test_numpy_transforms_equal_tensorflow_ones_on_a_song(demo_root, tmp_path):
    audio = audio_io.load(demo_song(demo_root, tmp_path / "song.wav"), 8192, mono=True)[:, 0]
    ours, theirs = spectral.stft_numpy(audio, 512, 256), spectral.stft(audio, 512, 256).numpy()
    assert ours.shape == theirs.shape == (257, len(audio) // 256 + 1) and ours.dtype == np.complex64
    assert np.abs(spectral.to_model_space(np.abs(ours)) - spectral.to_model_space(np.abs(theirs))).max() < 1e-5
    back = spectral.istft_numpy(ours, 512, 256, len(audio))
    assert np.abs(back - audio).max() < 1e-5


def test_both_engines_write_the_same_files(trained_run, demo_root, tmp_path):
    """As processes, quietly; chunks against one piece are test_separator's (in process)."""
    workdir, folder, _ = trained_run
    song = demo_song(demo_root, tmp_path / "song.wav")
    outputs = {}
    for name, options in (("litert", ["--engine", "litert", "--precision", "float32", "--chunk-seconds", "3"]),
                          ("tensorflow", ["--engine", "tensorflow", "--precision", "float32", "--chunk-seconds", "3"])):
        out = tmp_path / name.replace(" ", "_")
        result = run_script(["Separate.py", song, "-o", str(out), "--checkpoint", str(folder), "--no-progress",
                             *options], cwd=workdir)
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"network on {name.split()[0]} in float32" in result.stdout
        assert result.stderr == "", (name, result.stderr[-2000:])  # no start-up lines of TensorFlow or LiteRT
        outputs[name] = written(out / "song")
    reference = outputs["litert"]
    assert sorted(reference) == ["accompaniment", "vocals"]
    assert reference["vocals"].shape == (12 * 44100, 2) and np.abs(reference["vocals"]).max() > 1e-3
    for name, files in outputs.items():
        for source, samples in files.items():
            assert np.abs(samples - reference[source]).max() < 1e-4, (name, source)


def test_training_writes_the_litert_exports_beside_the_best_model(trained_run):
    _, folder, _ = trained_run
    settings = load_separator_settings(str(folder / "best_separator.keras"))
    artifacts = json.loads((folder / "run.json").read_text())["artifacts"]
    for precision in ENGINE_PRECISIONS["litert"]:
        export = litert_file(str(folder / "best_separator.keras"), settings["inference_frames"], precision)
        assert os.path.isfile(export) and os.path.getmtime(export) >= os.path.getmtime(folder / "best_separator.keras")
        assert os.path.basename(export) in artifacts


def test_an_older_checkpoint_gets_its_litert_export_once(trained_run, tmp_path):
    _, folder, _ = trained_run
    checkpoint = copy_checkpoint(folder, tmp_path / "old")
    export = litert_file(checkpoint, load_separator_settings(checkpoint)["inference_frames"], "float32")
    assert not os.path.exists(export)
    Separator.from_checkpoint(checkpoint)
    made = os.stat(export).st_mtime_ns
    Separator.from_checkpoint(checkpoint)
    assert os.stat(export).st_mtime_ns == made  # used, not made again
    other = load_separator_weights(checkpoint)  # other weights under the same name
    other.weights[0].assign(other.weights[0].numpy() + 0.01)
    other.save(checkpoint)
    Separator.from_checkpoint(checkpoint)
    assert os.stat(export).st_mtime_ns != made  # made again, from the new content
    assert open(export + ".sha256").read() == file_digest(checkpoint)
    with open(export, "wb") as handle:
        handle.write(b"not a model")
    with pytest.raises(ValueError, match="not a LiteRT separator.*delete it"):
        Separator.from_checkpoint(checkpoint)


def test_a_copied_checkpoint_keeps_its_export_whatever_the_file_times(trained_run, tmp_path, caplog):
    _, folder, _ = trained_run
    copy = tmp_path / "copied"
    copy.mkdir()
    for path in sorted(glob.glob(str(folder / "best_separator.*")), key=lambda p: p.endswith(".keras")):
        shutil.copy(path, copy)  # as `cp runs/1/best_separator.* copied/`: the .keras last, so the newest
    checkpoint = str(copy / "best_separator.keras")
    export = litert_file(checkpoint, load_separator_settings(checkpoint)["inference_frames"], "float32")
    assert os.path.getmtime(checkpoint) >= os.path.getmtime(export)
    before = os.stat(export).st_mtime_ns
    with caplog.at_level("INFO"):
        Separator.from_checkpoint(checkpoint, precision="float32")
    assert os.stat(export).st_mtime_ns == before and "exporting" not in caplog.text  # used as it is


def test_a_read_only_checkpoint_folder_exports_once_into_the_users_cache(trained_run, tmp_path, monkeypatch, caplog):
    from tests.conftest import small_disk
    _, folder, _ = trained_run
    disk = small_disk(tmp_path / "models", "20m")
    checkpoint = copy_checkpoint(folder, disk)
    assert subprocess.run(["mount", "-o", "remount,ro", disk]).returncode == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    temporary = set(glob.glob(os.path.join(tempfile.gettempdir(), "*.tflite")))
    with caplog.at_level("INFO"):
        Separator.from_checkpoint(checkpoint, precision="float32")
        cached = glob.glob(str(tmp_path / "cache" / "adversarial-separation" / "litert" / "*.float32.tflite"))
        assert len(cached) == 1 and os.path.basename(cached[0]).startswith(file_digest(checkpoint))
        made = os.stat(cached[0]).st_mtime_ns
        Separator.from_checkpoint(checkpoint, precision="float32")
    assert os.stat(cached[0]).st_mtime_ns == made and caplog.text.count("exporting") == 1  # once
    assert "Assets written" not in caplog.text
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "*.tflite"))) == temporary  # nothing leaked


def test_int8_on_litert_stays_close_to_float32(trained_run, demo_root, tmp_path):
    _, folder, _ = trained_run
    song = audio_io.load(demo_song(demo_root, tmp_path / "song.wav"), clip=False)
    exact = Separator.from_checkpoint(str(folder / "best_separator.keras")).separate(song, 44100)
    quantised = Separator.from_checkpoint(str(folder / "best_separator.keras"), precision="int8")
    assert quantised.precision == "int8" and os.path.isfile(litert_file(str(folder / "best_separator.keras"), 256,
                                                                        "int8"))
    estimates = quantised.separate(song, 44100)
    for source, reference in exact.items():
        snr = 10 * np.log10(np.sum(reference ** 2) / np.sum((estimates[source] - reference) ** 2))
        assert 15 < snr < 120, (source, snr)  # close, but computed differently


def test_the_separation_only_install_separates_without_tensorflow(trained_run, demo_root, tmp_path):
    workdir, folder, _ = trained_run
    assert os.path.isfile(SEPARATE_PYTHON), "the separation-only environment is missing: run make setup"
    environment = dict(os.environ, PYTHONPATH=ROOT)
    assert subprocess.run([SEPARATE_PYTHON, "-c", "import tensorflow"], capture_output=True).returncode != 0
    song = demo_song(demo_root, tmp_path / "song.wav", seconds=6.0)
    command = [SEPARATE_PYTHON, os.path.join(ROOT, "Separate.py"), song, "--no-progress"]
    result = subprocess.run([*command, "-o", str(tmp_path / "light"), "--checkpoint", str(folder)], cwd=workdir,
                            capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"network on litert in {auto_precision('litert')} (--precision auto)" in result.stdout
    full = run_script(["Separate.py", song, "--no-progress", "-o", str(tmp_path / "full"), "--checkpoint", str(folder)],
                      cwd=workdir)
    assert full.returncode == 0, full.stderr[-2000:]
    light, reference = written(tmp_path / "light" / "song"), written(tmp_path / "full" / "song")
    assert sorted(light) == sorted(reference) == ["accompaniment", "vocals"]
    for source in light:
        assert np.abs(light[source] - reference[source]).max() < 1e-4
    # A checkpoint without its export: one line that says what to do, nothing written.
    old = copy_checkpoint(folder, tmp_path / "old")
    result = subprocess.run([*command, "-o", str(tmp_path / "nothing"), "--checkpoint", old], cwd=workdir,
                            capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "exporting it needs TensorFlow" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "nothing")

