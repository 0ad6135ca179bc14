"""Full-band output: the model's estimates as masks on the input's own STFT, and the band extensions."""
import numpy as np
import pytest
import soundfile

from Models.full_band import TOP_BAND_HZ, InputGrid, masks_on_input_grid, mixture_masks, ratio_masks
from Models.separator import Separator
from Utils import audio as audio_io
from Utils.spectral import magnitude, to_model_space

RATE = 44100


def test_masks_share_the_estimates_and_extend_above_the_model_band():
    grid = InputGrid.for_input(RATE, 8192, 512, 256)
    assert (grid.n_fft, grid.hop) == (2048, 1024)  # about the model's 62.5 ms window, a power of two
    vocals = np.full((1, 257, 4), 0.9, np.float32)
    vocals[:, 192:] = 0.2 / 0.8  # the top 1 kHz (3072-4096 Hz): vocals hold 20% of the estimated energy
    masks = ratio_masks(np.stack([vocals, np.ones_like(vocals)]))
    assert np.allclose(masks.sum(0), 1) and np.isclose(masks[0, 0, 200, 0], 0.2)
    assert np.allclose(ratio_masks(np.zeros((4, 1, 3, 2), np.float32)), 0.25)  # silence: equal shares
    dead = ratio_masks(np.stack([np.zeros((1, 3, 2)), np.eye(3, 2)[None]]).astype(np.float32))
    assert not dead[0].any() and np.allclose(dead[1], 1)  # a dead head gets no share, even where all are zero
    frames = (0, grid.first_frame_at_or_after(3))
    above = grid.model_bin_positions() > 256
    average = masks_on_input_grid(masks, 0, grid, frames, "average")
    assert average.shape == (2, 1, frames[1], 1025)  # (sources, channels, frames, bins)
    assert np.allclose(average.sum(0), 1, atol=1e-6)
    assert np.allclose(average[0][..., above], 0.2, atol=1e-6)  # 10 kHz goes where 3-4 kHz went
    zeros = masks_on_input_grid(masks, 0, grid, frames, "zeros")
    assert not zeros[..., above].any() and np.allclose(zeros[..., ~above], average[..., ~above])
    at_model_bin = np.flatnonzero(np.isclose(grid.model_bin_positions(), 100))  # 1600 Hz is on both grids
    assert np.allclose(average[0, 0, :, at_model_bin], 0.9 / 1.9)


def test_every_sample_lies_in_two_frames_and_the_inverse_is_exact():
    from Models.full_band import own_share, synthesise, windowed_frames
    grid = InputGrid.for_input(RATE, 8192, 512, 256)
    for length in (5 * grid.hop, 5 * grid.hop + 1, 7 * grid.hop - 3):
        audio = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
        count = grid.frame_count(length)
        padded = np.pad(audio, [(0, 0), (grid.hop, count * grid.hop - length)])  # frame 0 starts a hop early
        frames = np.fft.irfft(np.fft.rfft(windowed_frames(padded, grid)), grid.n_fft).astype(np.float32)
        inverse = synthesise(frames, grid)
        assert np.abs(inverse[:, grid.hop:grid.hop + length] - audio).max() < 1e-5, length
        assert np.abs(own_share(padded, grid) - inverse).max() < 1e-5, length  # the same, without the FFTs


def write_mixture(folder):
    """Vocals below 3 kHz; accompaniment with chords and a 10 kHz tone: the mixture, stereo, on disk."""
    t = np.arange(int(RATE * 6.0)) / RATE
    vocals = sum(0.1 * np.sin(2 * np.pi * f * t * (1 + 0.01 * np.sin(5 * t))) for f in (330, 660, 1320, 2640))
    accompaniment = sum(0.08 * np.sin(2 * np.pi * f * t) for f in (110, 220, 277, 3300, 3700))
    tone = 0.1 * np.sin(2 * np.pi * 10000 * t)
    mixture = np.stack([vocals + accompaniment + tone, 0.8 * (vocals + accompaniment + tone)], 1).astype(np.float32)
    soundfile.write(str(folder / "mix.wav"), mixture, RATE, subtype="FLOAT")
    return mixture


def level_at(audio, frequency):
    """Amplitude of a sine at ``frequency`` in the first channel (an FFT over whole seconds)."""
    seconds = len(audio) // RATE
    spectrum = np.abs(np.fft.rfft(audio[:seconds * RATE, 0])) * 2 / (seconds * RATE)
    return spectrum[frequency * seconds]


def test_separate_writes_full_band_sources_that_add_up_to_the_input(trained_run, tmp_path, separate_here):
    _, folder, _ = trained_run
    mixture = write_mixture(tmp_path)
    outputs = {}
    for band in ("average", "zeros", "none"):
        result = separate_here([tmp_path / "mix.wav", "-o", tmp_path / band, "--checkpoint", folder,
                                "--band-extension", band, "--no-progress"])
        assert result.returncode == 0, result.stderr[-2000:]
        outputs[band] = {s: soundfile.read(str(tmp_path / band / "mix" / f"{s}.wav"), always_2d=True)[0]
                         for s in ("vocals", "accompaniment")}
    average = outputs["average"]
    assert np.abs(average["vocals"] + average["accompaniment"] - mixture).max() < 1e-4
    tone = level_at(mixture, 10000)
    # The 10 kHz tone is split as the model split the top 1 kHz of its band, frame by frame.
    separator = Separator.from_checkpoint(str(folder / "best_separator.keras"))
    heard = audio_io.resample(mixture[:, :1], RATE, 8192)[:, 0]  # the first channel, as the model hears it
    estimates = separator.separate_magnitude(to_model_space(magnitude(heard, 512, 256)).numpy())
    top = round(TOP_BAND_HZ * 512 / 8192)
    shares = ratio_masks(np.expm1(np.stack([estimates["vocals"], estimates["accompaniment"]])))[:, -top:]
    expected = shares.mean(axis=(1, 2))
    for share, source in zip(expected, ("vocals", "accompaniment")):
        assert abs(level_at(average[source], 10000) / tone - share) < 0.05, (source, share)
    for band in ("zeros", "none"):  # band-limited: nothing above the model's 4096 Hz
        for source, audio in outputs[band].items():
            assert level_at(audio, 10000) < 1e-3 * tone, (band, source)
    assert level_at(outputs["average"]["accompaniment"], 3300) > 0  # in-band content is kept either way


def test_mixture_masks_leave_the_rest_to_the_last_source_and_still_add_up(trained_run, tmp_path):
    estimates = np.array([[[0.5, 3.0, 1.0]], [[0.25, 0.0, 0.0]]], np.float32)  # (sources, bins, frames)
    masks = mixture_masks(estimates, np.array([[1.0, 2.0, 0.0]], np.float32))
    assert np.allclose(masks, [[[0.5, 1.0, 0.0]], [[0.25, 0.0, 0.0]]])  # at most 1; 0 where the mixture is silent
    _, folder, _ = trained_run
    mixture = write_mixture(tmp_path)
    separator = Separator.from_checkpoint(str(folder / "best_separator.keras"), mask_rule="mixture", chunk_seconds=2.0)
    sources = separator.separate(mixture, RATE)
    assert np.abs(sources["vocals"] + sources["accompaniment"] - mixture).max() < 1e-4
    ratio = Separator.from_checkpoint(str(folder / "best_separator.keras"), chunk_seconds=2.0).separate(mixture, RATE)
    assert np.abs(ratio["vocals"] - sources["vocals"]).max() > 1e-3  # a different rule, a different output
    with pytest.raises(ValueError, match="mask_rule='sum'"):
        Separator.from_checkpoint(str(folder / "best_separator.keras"), mask_rule="sum")


def test_the_mid_channel_masks_every_channel_alike(trained_run, tmp_path):
    """``network_channels="mid"``: one network pass on the channels' mean, whose masks apply to both channels:
    a channel that is 0.8 times the other gets exactly 0.8 times its sources, and the sources still add up to
    the input; with identical channels it is the per-channel separation itself."""
    _, folder, _ = trained_run
    checkpoint = str(folder / "best_separator.keras")
    mixture = write_mixture(tmp_path)  # the second channel is 0.8 times the first
    mid_separator = Separator.from_checkpoint(checkpoint, chunk_seconds=2.0, network_channels="mid")
    each_separator = Separator.from_checkpoint(checkpoint, chunk_seconds=2.0)
    mid, each = mid_separator.separate(mixture, RATE), each_separator.separate(mixture, RATE)
    for source in ("vocals", "accompaniment"):
        assert np.abs(mid[source][:, 1] - 0.8 * mid[source][:, 0]).max() < 1e-5
        assert np.abs(each[source][:, 1] - 0.8 * each[source][:, 0]).max() > 1e-4  # each channel's own masks
    assert np.abs(mid["vocals"] + mid["accompaniment"] - mixture).max() < 1e-4
    twin = np.repeat(mixture[:, :1], 2, axis=1)
    mid, each = mid_separator.separate(twin, RATE), each_separator.separate(twin, RATE)
    assert all(np.abs(mid[s] - each[s]).max() < 1e-5 for s in ("vocals", "accompaniment"))
    with pytest.raises(ValueError, match="network_channels='mid'.*band extension"):
        Separator.from_checkpoint(checkpoint, network_channels="mid", band_extension="none")
