"""Training streams read from memory (cfg.stream_source=memory): crops are windows of the songs' own
spectrograms, unpaired ones carry one gain, segments repeat exactly and differ from each other."""
import os

import numpy as np
import pytest

from Input.datasets.track import read_role
from Input.streams.memory import choose_stream_source, memory_bytes
from Input.streams.training_input import TrainingInput
from Models.geometry import unet_geometry
from tests.conftest import SOURCES, start_script, stop_message, stream_settings
from Utils.spectral import stft_numpy

DEMO = unet_geometry(4, (256, 16), 512)
SETTINGS = stream_settings(batch_size=8, excerpt_duration=4.0, cache_size=16, min_replacement_rate=2, read_workers=2)


def song_spectrograms(tracks, role, context):
    """Each song's |STFT| at the model rate, with the context's zero frames on both sides (as the bank pads)."""
    return [np.pad(np.abs(stft_numpy(read_role(t, role, 8192), 512, 256)), [(0, 0), (context, context + 200)])
            for t in tracks]


def locate(crop, spectrograms, tolerance):
    """``(song, first frame)`` where ``crop`` (bins, frames) is a window of a song's spectrogram, else None."""
    for song, spectrogram in enumerate(spectrograms):
        frames = crop.shape[1]
        close = np.flatnonzero(np.abs(spectrogram - crop[:, :1]).max(axis=0) < tolerance)
        for first in close[close + frames <= spectrogram.shape[1]]:
            if np.abs(spectrogram[:, first:first + frames] - crop).max() < tolerance:
                return song, int(first)
    return None


def bins_of(batch, geometry, role):
    """The examples without the model's frequency padding: ``(batch, bins, frames)``."""
    front = geometry.input_freq_padding[0] if role == "mixture" else geometry.output_freq_offset
    return batch[..., 0][:, front:front + geometry.bins]


def test_paired_crops_are_aligned_windows_of_the_songs(partitions):
    inputs = TrainingInput(partitions, SOURCES, DEMO, SETTINGS, seed=3, semi_supervised=False, n_critic=1,
                           in_memory=True, progress=False)
    batch = next(iter(inputs.segment(0)))["sup"]
    assert batch["mixture"].shape == (8, *DEMO.input_shape, 1) and batch["vocals"].shape == (8, *DEMO.output_shape, 1)
    context = DEMO.context_frames
    vocals = song_spectrograms(partitions.train_sup, "vocals", context)
    mixtures = song_spectrograms(partitions.train_sup, "mixture", context)
    for example in range(8):
        crop = np.expm1(bins_of(batch["vocals"].numpy(), DEMO, "vocals")[example])
        found = locate(crop, vocals, 1e-3)
        assert found is not None, example
        song, first = found
        mixture = np.expm1(bins_of(batch["mixture"].numpy(), DEMO, "mixture")[example])
        assert np.abs(mixture - mixtures[song][:, first - context:first - context + mixture.shape[1]]).max() < 1e-3


def normalised(spectrogram):
    """Each frame divided by its norm: a gain on the whole crop leaves it as it is."""
    return spectrogram / np.linalg.norm(spectrogram, axis=0, keepdims=True).clip(1e-6)


def test_unpaired_crops_carry_one_gain_each_and_segments_repeat(partitions):
    inputs = TrainingInput(partitions, SOURCES, DEMO, SETTINGS, seed=3, semi_supervised=True, n_critic=1,
                           in_memory=True, progress=False)
    first, again = next(iter(inputs.segment(0))), next(iter(inputs.segment(0)))
    later = next(iter(inputs.segment(250)))
    assert first["unsup"]["vocals"].shape == (2, 8, *DEMO.output_shape, 1)
    assert all(np.array_equal(first["unsup"][role], again["unsup"][role]) for role in ["mixture", *SOURCES])
    assert not np.array_equal(first["unsup"]["vocals"], later["unsup"]["vocals"])
    vocals = song_spectrograms(partitions.train_unsup["vocals"], "vocals", 0)
    gains = []
    for crop in np.expm1(bins_of(first["unsup"]["vocals"].numpy()[0], DEMO, "vocals")):
        if np.linalg.norm(crop) < 1e-3:
            continue  # a silent stretch: no gain to see
        found = locate(normalised(crop), [normalised(s) for s in vocals], 1e-3)
        assert found is not None
        song, start = found
        window = vocals[song][:, start:start + crop.shape[1]]
        gain = np.linalg.norm(crop) / np.linalg.norm(window)
        assert np.abs(crop - gain * window).max() < 1e-3 * max(1.0, crop.max())
        gains.append(gain)
    assert len(gains) >= 4 and all(0.2 <= g <= 1.2 for g in gains) and np.ptp(gains) > 0.01


def test_auto_holds_in_memory_what_fits_in_a_quarter_of_the_ram(partitions):
    inputs = TrainingInput(partitions, SOURCES, DEMO, SETTINGS, seed=3, semi_supervised=False, n_critic=1,
                           in_memory=True, progress=False)
    held = sum(rows.numpy().nbytes for bank in inputs.banks.values() for rows in bank.rows.values())
    needed = memory_bytes([(partitions.train_sup, ["mixture", *SOURCES])], DEMO, SETTINGS)
    assert 0.9 < needed / 2 / held < 1.1  # the estimate is the bank (with its padding), twice while loading
    assert choose_stream_source("auto", needed) == "memory"
    assert choose_stream_source("auto", 10 ** 15) == "files" and choose_stream_source("files", 1) == "files"


@pytest.mark.slow(30)
def test_training_reads_its_batches_from_a_tf_data_service(workdir, monkeypatch):
    """A dispatcher and a worker on 127.0.0.1 (the project's command), then a few supervised demo steps fed
    by them: the same weights as the same run fed locally, since the service computes the same batches."""
    dispatcher = start_script(["-m", "Input.streams.service", "dispatcher"], cwd=workdir)
    try:
        address = dispatcher.stdout.readline().split()[-1]
        assert address.startswith("grpc://127.0.0.1:") or address.startswith("grpc://localhost:"), address
        worker = start_script(["-m", "Input.streams.service", "worker", "--dispatcher", address[len("grpc://"):]],
                              cwd=workdir)
        try:
            assert "worker serving" in worker.stdout.readline()
            tiny = ["cfg.sup", "cfg.demo", "cfg.stream_source=memory", "cfg.epoch_it=4", "cfg.max_epochs=1",
                    "cfg.batch_size=4", "cfg.cache_size=4", "cfg.min_replacement_rate=2", "evaluate=False",
                    "cfg.litert_export=False", "progress=False", "seed=5"]
            (workdir / "local").mkdir()
            os.symlink(workdir / "data", workdir / "local" / "data")
            runs = [start_script(["Training.py", "with", *tiny, f"cfg.data_service={address}"], cwd=workdir),
                    start_script(["Training.py", "with", *tiny], cwd=workdir / "local")]  # side by side
            (served, served_errors), (local, _) = [run.communicate(timeout=600) for run in runs]
            assert runs[0].returncode == 0 and runs[1].returncode == 0, served_errors[-3000:]
            assert f"training batches from the tf.data service at {address}" in served
            digests = [next(line for line in out.splitlines() if line.startswith("separator weights digest"))
                       for out in (served, local)]
            assert digests[0] == digests[1]
        finally:
            worker.kill()
    finally:
        dispatcher.kill()
    gone = stop_message("Training.py", ["with", "cfg.sup", "cfg.demo", "cfg.stream_source=memory",  # before any data
                                        "cfg.data_service=grpc://127.0.0.1:9"], workdir, monkeypatch)
    assert gone.startswith("error: cfg.data_service=grpc://127.0.0.1:9: no dispatcher answers")
