"""The queue-style excerpt streams: shapes, alignment, bad and tiny inputs, validation tiles."""
import numpy as np
import soundfile
import tensorflow as tf

from Input.datasets import read_collection
from Input.streams.files import training_stream, validation_stream
from Input.streams.training_input import TrainingInput, segment_plan
from Models.geometry import unet_geometry
from tests.conftest import SOURCES, stream_settings, write_tone

PAPER = unet_geometry(4, (256, 64), 512)
DEMO = unet_geometry(4, (256, 16), 512)   # cfg.demo's output width: smaller crops, a faster test


def test_paper_config_shapes_and_dtypes(partitions):
    # The paper's geometry and critic steps; a batch and cache of 3 instead of 64 (test_config checks those values).
    inputs = TrainingInput(partitions, SOURCES, PAPER, stream_settings(batch_size=3, cache_size=3), seed=5,
                           semi_supervised=True, n_critic=5)
    batch = next(iter(inputs.segment(0)))
    assert batch["sup"]["mixture"].shape == (3, 350, 158, 1) and batch["sup"]["mixture"].dtype == tf.float32
    for source in SOURCES:
        assert batch["sup"][source].shape == (3, 258, 66, 1)
        assert batch["unsup"][source].shape == (6, 3, 258, 66, 1)
    assert batch["unsup"]["mixture"].shape == (6, 3, 350, 158, 1)
    mixture = batch["sup"]["mixture"].numpy()
    assert mixture.min() >= 0 and mixture.max() > 0.1                 # log1p magnitudes
    assert not mixture[:, :46].any() and not mixture[:, 46 + 257:].any()  # frequency padding (46, 47)
    assert len(inputs.streams) == 4 and not inputs.failed


def test_paired_excerpt_mixture_is_the_sum_of_its_sources(partitions):
    _, sampler = training_stream(partitions.train_sup, ["mixture", *SOURCES], PAPER, stream_settings(), 3, "paired")
    for index in range(3):
        ok, starts, mixture, accompaniment, vocals = sampler(0, index)
        assert ok and len(mixture) == 10 * 8192 + 2 * 46 * 256   # excerpt plus the U-Net's context
        centre = slice(46 * 256, -46 * 256)
        assert np.abs(mixture[centre] - accompaniment[centre] - vocals[centre]).max() < 1e-4
        assert np.abs(mixture[centre]).max() > 0.01


def test_same_seed_same_excerpts(partitions):
    settings = stream_settings(batch_size=4, cache_size=4, min_replacement_rate=2, excerpt_duration=2.0)
    first = [next(iter(training_stream(partitions.train_sup, ["mixture"], PAPER, settings, 9, "a")[0]))["mixture"]
             for _ in range(2)]
    assert np.array_equal(first[0].numpy(), first[1].numpy())


def test_corrupt_and_silent_files_do_not_stop_the_stream(tmp_path):
    write_tone(tmp_path / "good.wav", seconds=3, rate=8192)
    soundfile.write(tmp_path / "silent.wav", np.zeros(8192 * 3, np.float32), 8192)
    write_tone(tmp_path / "later_broken.wav", seconds=3, rate=8192)
    tracks = read_collection(str(tmp_path), "vocals")
    (tmp_path / "later_broken.wav").write_bytes(b"garbage" * 10)  # breaks after indexing
    settings = stream_settings(batch_size=4, cache_size=4, min_replacement_rate=2, excerpt_duration=1.0,
                              read_workers=2)
    data, sampler = training_stream(tracks, ["vocals"], PAPER, settings, 1, "solo", amplify=True)
    iterator = iter(data)
    for _ in range(10):
        batch = next(iterator)["vocals"].numpy()
        assert np.all(np.isfinite(batch))
    assert sampler.failed and all("later_broken.wav" in message for message in sampler.failed)


def test_two_file_collection_keeps_producing(tmp_path):
    write_tone(tmp_path / "a.wav", seconds=0.5, rate=22050)   # shorter than one excerpt
    write_tone(tmp_path / "b.flac", seconds=4, rate=44100, channels=2)
    tracks = read_collection(str(tmp_path), "mixture")
    settings = stream_settings(batch_size=8, cache_size=4, min_replacement_rate=4, excerpt_duration=2.0)
    data, _ = training_stream(tracks, ["mixture"], PAPER, settings, 2, "mixtures", amplify=True)
    batches = list(data.take(25))
    assert len(batches) == 25 and batches[-1]["mixture"].shape == (8, 350, 158, 1)


def test_validation_tiles_cover_whole_songs_deterministically(partitions):
    settings = stream_settings(batch_size=16)
    first = [b["vocals"].numpy() for b in validation_stream(partitions.valid[:2], SOURCES, PAPER, settings)]
    second = [b["vocals"].numpy() for b in validation_stream(partitions.valid[:2], SOURCES, PAPER, settings)]
    frames = [int(t.duration * 8192) // 256 + 1 for t in partitions.valid[:2]]
    assert sum(len(b) for b in first) == sum(-(-f // 66) for f in frames)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_segments_cut_at_checkpoints_and_epoch_ends():
    assert segment_plan(0, 250, 50, 0) == [(0, 0, 50), (50, 0, 50), (100, 0, 50), (150, 0, 50), (200, 0, 50)]
    # Resumed after a Ctrl-C at step 120: segment 100's batches from its 21st on, as the uninterrupted run drew.
    assert segment_plan(120, 250, 50, 0) == [(100, 20, 30), (150, 0, 50), (200, 0, 50)]
    assert segment_plan(6, 12, 4, 6) == [(6, 0, 2), (8, 0, 4)]
    assert segment_plan(7, 12, 4, 6) == [(6, 1, 1), (8, 0, 4)]   # the epoch's first segment begins at its start
    assert segment_plan(12, 12, 4, 6) == []


def test_epochs_draw_fresh_excerpts_and_a_resume_draws_what_the_run_drew(partitions):
    """Two consecutive epochs share no crop; the stream from a checkpoint's step on (a periodic one's or a
    Ctrl-C's) is the uninterrupted one's."""
    settings = stream_settings(batch_size=4, cache_size=4, min_replacement_rate=2, excerpt_duration=6.0)
    inputs = TrainingInput(partitions, SOURCES, DEMO, settings, seed=3, semi_supervised=False, n_critic=1)

    def crops(plan):
        return [batch["sup"]["mixture"].numpy() for batch in inputs.steps(plan)]

    epoch_1, epoch_2 = crops(segment_plan(0, 4, 2, 0)), crops(segment_plan(4, 8, 2, 4))
    first = {example.tobytes() for batch in epoch_1 for example in batch}
    second = {example.tobytes() for batch in epoch_2 for example in batch}
    assert len(epoch_1) == len(epoch_2) == 4 and len(first) >= 14 and not first & second
    whole = crops(segment_plan(0, 8, 2, 0))  # epoch 2 alone is what a run resumed at step 4 draws
    assert all(np.array_equal(a, b) for a, b in zip(whole[4:], epoch_2)) and len(whole) == 8
    after_ctrl_c = crops(segment_plan(5, 8, 2, 4))  # resumed from a Ctrl-C's checkpoint in the middle of a segment
    assert len(after_ctrl_c) == 3 and all(np.array_equal(a, b) for a, b in zip(whole[5:], after_ctrl_c))
    semi = TrainingInput(partitions, SOURCES, DEMO, settings, seed=3, semi_supervised=True, n_critic=1)
    unpaired, again = ([batch["unsup"]["vocals"].numpy() for batch in semi.steps([(4, 0, 1)])] for _ in range(2))
    assert len(unpaired) == 1 and np.array_equal(unpaired[0], again[0])
