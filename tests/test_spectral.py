"""The STFT used everywhere agrees with librosa's; separation's inverse STFT agrees with librosa's; its FFTs
agree with numpy's, with scipy's kernel and without it."""
import librosa
import numpy as np
import pytest

from Utils import fft
from Utils.spectral import istft_numpy, magnitude, stft


def test_stft_matches_librosa():
    signal = np.random.default_rng(1).standard_normal(8192 * 3).astype(np.float32) * 0.2
    ours = stft(signal, 512, 256).numpy()
    theirs = librosa.stft(signal, n_fft=512, hop_length=256, window="hann", center=True, pad_mode="constant")
    assert ours.shape == theirs.shape == (257, 8192 * 3 // 256 + 1)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-4
    assert np.allclose(magnitude(signal, 512, 256).numpy(), np.abs(theirs), atol=1e-3)


def test_istft_matches_librosa_on_a_modified_spectrogram():
    """A masked spectrogram is no STFT of any signal: the inverse must be librosa's least-squares one, edges
    included (the first and last hops are covered by fewer frames), and cut to the length asked for."""
    signal = np.random.default_rng(3).standard_normal(7000).astype(np.float32)
    spectrum = librosa.stft(signal, n_fft=512, hop_length=256, center=True, pad_mode="constant")
    spectrum *= np.linspace(0.1, 1.0, spectrum.shape[0])[:, None]  # a mask that varies with frequency
    for length in (7000, 6500):
        theirs = librosa.istft(spectrum, hop_length=256, n_fft=512, length=length)
        ours = istft_numpy(spectrum.astype(np.complex64), 512, 256, length)
        assert ours.shape == (length,) and np.abs(ours - theirs).max() < 1e-4


@pytest.mark.parametrize("kernel", ["scipy's pocketfft", "numpy"])
def test_real_ffts_agree_with_numpy(monkeypatch, kernel):
    if kernel == "numpy":
        monkeypatch.setattr(fft, "_kernel", None)  # as where scipy is missing
    else:
        assert fft._kernel is not None, "scipy's pocketfft did not load: separation runs on numpy's slower FFT"
    frames = np.random.default_rng(2).standard_normal((2, 5, 2048)).astype(np.float32)
    spectra = fft.rfft(frames)
    assert spectra.dtype == np.complex64 and spectra.shape == (2, 5, 1025)
    assert np.abs(spectra - np.fft.rfft(frames.astype(np.float64))).max() < 1e-3
    back = fft.irfft(spectra * np.linspace(0, 1, 1025), 2048)  # masked, as separation inverts it
    assert back.dtype == np.float32
    assert np.abs(back - np.fft.irfft(np.fft.rfft(frames.astype(np.float64)) * np.linspace(0, 1, 1025))).max() < 1e-5
