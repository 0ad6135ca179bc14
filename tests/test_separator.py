"""The waveform-level separator: windows, the mixture phase, and chunked separation of long input."""
import glob
import os

import keras
import numpy as np
import pytest

from Models.build import build_separator, save_separator
from Models.chunks import chunk_plan
from Models.separator import Separator
from Utils.hardware import auto_precision, cpu_flags
from Utils import audio as audio_io
from Utils import audio_writer


def test_passthrough_separator_sums_back_to_the_input(tmp_path):
    # Accompaniment head = the input's log-magnitude, vocals head = 0: the sum of estimates is the input.
    settings = {"sources": ["accompaniment", "vocals"], "sample_rate": 8192, "n_fft": 512, "hop": 256,
                "separator": "unet", "unet_levels": 2, "unet_filters": 2, "output_frames": 16,
                "inference_frames": 32}
    network, _ = build_separator(settings)
    network.set_weights([np.zeros_like(w) for w in network.get_weights()])
    kernel = network.get_layer("accompaniment").get_weights()[0]
    kernel[..., 0, 0] = 1.0  # channel 0 of the last concatenation is the cropped input
    network.get_layer("accompaniment").set_weights([kernel, np.zeros(1, np.float32)])
    save_separator(network, settings, str(tmp_path / "passthrough.keras"))
    separator = Separator.from_checkpoint(str(tmp_path / "passthrough.keras"), band_extension="none")
    t = np.arange(int(44100 * 2.2)) / 44100
    song = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 880 * t)], 1).astype(np.float32)
    estimates = separator.separate(song, 44100)
    assert estimates["vocals"].shape == song.shape and not estimates["vocals"].any()
    total = estimates["accompaniment"] + estimates["vocals"]
    inner = slice(4410, -4410)  # away from the resampler's edges
    assert np.sqrt(np.mean((total[inner] - song[inner]) ** 2) / np.mean(song[inner] ** 2)) < 1e-2
    # Full band: the accompaniment's mask is 1 wherever the model hears anything, so it is the input itself.
    full = Separator.from_checkpoint(str(tmp_path / "passthrough.keras")).separate(song, 44100)
    assert np.abs(full["vocals"]).max() < 1e-5 and np.abs(full["accompaniment"] - song).max() < 1e-5  # float rounding


def test_batched_windows_agree_with_one_window_at_a_time(trained_run):
    _, folder, _ = trained_run
    one = Separator.from_checkpoint(str(folder / "best_separator.keras"), batch_windows=1)
    many = Separator.from_checkpoint(str(folder / "best_separator.keras"), batch_windows=16)
    spectrum = np.log1p(np.abs(np.random.default_rng(4).standard_normal((257, 1500)))).astype(np.float32)
    first, second = one.separate_magnitude(spectrum), many.separate_magnitude(spectrum)
    for source in first:
        assert first[source].shape == (257, 1500)
        assert np.abs(first[source] - second[source]).max() < 1e-4


def long_song(demo_root, path, rate, channels):
    """Three demo mixtures back to back (about a minute), written to disk at ``rate`` with ``channels``."""
    mixtures = sorted(glob.glob(os.path.join(demo_root, "musdb", "test", "*", "mixture.wav")))[:3]
    audio = np.concatenate([audio_io.load(m, rate, mono=channels == 1) for m in mixtures])
    audio_writer.save(str(path), audio, rate)
    return audio_io.load(str(path), clip=False)


@pytest.mark.parametrize("rate, channels, chunk_seconds, band", [(44100, 2, 4.0, "average"), (22050, 1, 9.7, "none"),
                                                                 (11025, 2, 25.0, "average"), (44100, 1, 7.0, "none")])
def test_chunked_separation_agrees_with_one_piece(trained_run, demo_root, tmp_path, rate, channels, chunk_seconds,
                                                  band):
    _, folder, _ = trained_run
    song = long_song(demo_root, tmp_path / "song.wav", rate, channels)
    whole = Separator.from_checkpoint(str(folder / "best_separator.keras"), chunk_seconds=None,
                                      band_extension=band).separate(song, rate)
    separator = Separator.from_checkpoint(str(folder / "best_separator.keras"), chunk_seconds=chunk_seconds,
                                          band_extension=band)
    plan = chunk_plan(len(song), rate, 8192, 256, separator.chunk_frames, separator.margin_frames)
    assert len(plan) >= 3
    done = []
    chunked = separator.separate(song, rate, progress=done.append)
    assert sum(done) == len(song) and len(done) == len(plan)
    for source in whole:
        assert chunked[source].shape == song.shape
        assert np.abs(whole[source]).max() > 1e-3  # the model does produce sound
        error = np.linalg.norm(chunked[source] - whole[source]) / np.linalg.norm(whole[source])
        assert error < 1e-3, (source, error)
        seams = [chunk.stop_frame * 256 * rate // 8192 for chunk in plan[:-1]]
        near = np.concatenate([np.abs(chunked[source] - whole[source])[s - 100:s + 100] for s in seams])
        assert near.max() < 1e-3 * np.abs(whole[source]).max()  # no seam where chunks meet


@pytest.mark.parametrize("rate, channels", [(44100, 2), (22050, 1)])
def test_separate_to_file_writes_while_separating_what_separate_returns(trained_run, demo_root, tmp_path, rate, channels):
    _, folder, _ = trained_run
    song = long_song(demo_root, tmp_path / "song.wav", rate, channels)
    separator = Separator.from_checkpoint(str(folder / "best_separator.keras"), chunk_seconds=9.0)
    blocks = []
    whole = separator.separate(song, rate)
    assert separator.separate(song, rate, sink=lambda block: blocks.append({k: v.copy() for k, v in block.items()})) \
        is None  # nothing of the song's length is kept
    assert len(blocks) == len(chunk_plan(len(song), rate, 8192, 256, separator.chunk_frames,
                                         separator.margin_frames)) > 3
    for source, value in whole.items():
        assert np.array_equal(np.concatenate([block[source] for block in blocks]), value)
    written = separator.separate_to_file(str(tmp_path / "song.wav"), str(tmp_path / "out"), progress=False)
    assert sorted(os.listdir(written)) == ["accompaniment.wav", "vocals.wav"]
    for source, value in whole.items():
        assert np.abs(audio_io.load(os.path.join(written, f"{source}.wav"), clip=False) - value).max() < 1e-6


def test_each_channel_of_a_three_channel_song_is_separated_as_if_alone(trained_run, demo_root):
    # Three different songs as three channels: more channels than CI's two cores, so the full-band masking
    # works on uneven groups of channels side by side, and a channel given another's masks would show.
    _, folder, _ = trained_run
    mixtures = sorted(glob.glob(os.path.join(demo_root, "musdb", "test", "*", "mixture.wav")))[:3]
    channels = [audio_io.load(mixture, 22050, mono=True)[:, 0] for mixture in mixtures]
    song = np.stack([channel[:min(map(len, channels))] for channel in channels], 1)
    separator = Separator.from_checkpoint(str(folder / "best_separator.keras"), chunk_seconds=2.0)
    together = separator.separate(song, 22050)
    for channel in range(3):
        alone = separator.separate(song[:, channel], 22050)
        for source, value in alone.items():
            assert np.abs(value).max() > 1e-3, (channel, source)
            assert np.abs(together[source][:, channel] - value).max() < 1e-5, (channel, source)


def test_digital_silence_stays_silent(trained_run, demo_root):
    _, folder, _ = trained_run
    mixture = sorted(glob.glob(os.path.join(demo_root, "musdb", "test", "*", "mixture.wav")))[0]
    song = audio_io.load(mixture, 22050, clip=False)[:22050 * 10]
    song[22050 * 3:22050 * 7] = 0.0  # four seconds of digital silence between music
    estimates = Separator.from_checkpoint(str(folder / "best_separator.keras")).separate(song, 22050)
    for source, value in estimates.items():
        assert np.abs(value[:22050 * 3]).max() > 1e-3, source
        assert np.abs(value[22050 * 4:22050 * 6]).max() < 1e-6, source


def test_chunks_tile_the_song_and_read_their_margins():
    for rate in (44100, 48000, 22050, 11025, 16000, 8192):
        length = rate * 600
        song_frames = 1 + audio_io.resampled_length(length, rate, 8192) // 256
        plan = chunk_plan(length, rate, 8192, 256, 7 * 258, 80)
        assert plan[0].first_frame == 0 and plan[-1].stop_frame == song_frames
        assert [c.first_frame for c in plan[1:]] == [c.stop_frame for c in plan[:-1]]
        assert all(after.read_start <= before.read_stop for before, after in zip(plan, plan[1:]))  # no gap
        for chunk in plan:
            assert (chunk.read_start * 8192) % (rate * 256) == 0  # the chunk's STFT frames are the song's
            assert chunk.read_start <= max((chunk.first_frame - 80) * 256 * rate / 8192, 0)
            assert chunk.read_stop >= min((chunk.stop_frame + 80) * 256 * rate / 8192, length)
    whole = chunk_plan(44100 * 30, 44100, 8192, 256, None, 80)
    assert len(whole) == 1 and (whole[0].read_start, whole[0].read_stop) == (0, 44100 * 30)


def test_bfloat16_network_stays_close_to_float32(trained_run, demo_root):
    _, folder, _ = trained_run
    mixture = sorted(glob.glob(os.path.join(demo_root, "musdb", "test", "*", "mixture.wav")))[0]
    song = audio_io.load(mixture, clip=False)
    exact = Separator.from_checkpoint(str(folder / "best_separator.keras")).separate(song, 44100)
    fast = Separator.from_checkpoint(str(folder / "best_separator.keras"), engine="tensorflow", precision="bfloat16")
    assert fast.engine.network.get_layer("enc_conv1").compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    estimates = fast.separate(song, 44100)
    for source, reference in exact.items():
        snr = 10 * np.log10(np.sum(reference ** 2) / np.sum((estimates[source] - reference) ** 2))
        assert 25 < snr < 120, (source, snr)  # close, but computed differently
    with pytest.raises(ValueError, match="precision='float16'"):
        Separator.from_checkpoint(str(folder / "best_separator.keras"), precision="float16")
    with pytest.raises(ValueError, match="bfloat16 runs on the tensorflow engine"):
        Separator.from_checkpoint(str(folder / "best_separator.keras"), engine="litert", precision="bfloat16")


def test_auto_precision_takes_the_faster_arithmetic_only_where_the_cpu_computes_it_natively(tmp_path):
    assert auto_precision("tensorflow", ["fpu", "avx2", "avx512f", "avx512_bf16"], gpus=0) == "bfloat16"
    assert auto_precision("tensorflow", ["fpu", "amx_bf16", "amx_tile"], gpus=0) == "bfloat16"
    assert auto_precision("tensorflow", ["fpu", "avx2", "avx512f"], gpus=0) == "float32"
    assert auto_precision("tensorflow", ["avx512_bf16"], gpus=1) == "float32"  # a GPU runs float32 fast enough
    assert auto_precision("litert", ["fpu", "avx2", "avx512_vnni"]) == "int8"
    assert auto_precision("litert", ["fp", "asimd", "asimddp"]) == "int8"  # Arm's dotprod
    assert auto_precision("litert", ["fpu", "avx2", "avx512_bf16"]) == "float32"
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx512_bf16\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse2 avx512_bf16\n")
    assert cpu_flags(str(cpuinfo)) == ["fpu", "sse2", "avx512_bf16"]
    assert cpu_flags(str(tmp_path / "missing")) == []
