"""The STFT used everywhere is the authors' (librosa's ``stft(center=True, window='hann', pad_mode='constant')``),
computed here by scipy's ``ShortTimeFFT``; separation's inverse STFT is the least-squares one inside and exact at
the edges; its FFTs agree with numpy's, with scipy's kernel and without it."""
import numpy as np
import pytest

from Utils import fft
from Utils.spectral import istft_numpy, magnitude, stft, stft_numpy

N_FFT, HOP = 512, 256


def authors_stft():
    """scipy's ShortTimeFFT set up as the authors' librosa STFT: a periodic Hann window, frames centred on
    samples 0, HOP, 2 HOP... with zeros outside the signal, each frame's FFT taken from its first sample
    (``phase_shift=None``). It agreed with librosa 0.11's within 4e-8 when it replaced librosa in these tests."""
    from scipy.signal import ShortTimeFFT, get_window
    return ShortTimeFFT(get_window("hann", N_FFT), HOP, fs=1, fft_mode="onesided", phase_shift=None)


def test_stft_is_the_authors_in_tensorflow_and_in_numpy():
    signal = np.random.default_rng(1).standard_normal(8192 * 3).astype(np.float32) * 0.2
    theirs = authors_stft().stft(signal, p0=0, p1=len(signal) // HOP + 1)
    ours = stft(signal, N_FFT, HOP).numpy()
    assert ours.shape == theirs.shape == (257, 8192 * 3 // HOP + 1)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-4
    assert np.abs(stft_numpy(signal, N_FFT, HOP) - theirs).max() / np.abs(theirs).max() < 1e-5
    assert np.allclose(magnitude(signal, N_FFT, HOP).numpy(), np.abs(theirs), atol=1e-3)


def test_istft_is_least_squares_inside_exact_at_the_edges_and_cut_to_length():
    """A masked spectrogram is no STFT of any signal: inside, the inverse must be the least-squares one (scipy's
    dual-window inverse). Past the last frame's centre one frame alone covers the signal, where scipy's inverse
    assumes a next frame: there an unmasked STFT must give its signal back exactly, as at the start."""
    transform = authors_stft()
    signal = np.random.default_rng(3).standard_normal(7000).astype(np.float32)
    frames = len(signal) // HOP + 1
    spectrum = transform.stft(signal, p0=0, p1=frames) * np.linspace(0.1, 1.0, N_FFT // 2 + 1)[:, None]
    inside = (frames - 1) * HOP
    theirs = transform.istft(spectrum, k1=inside)
    for length in (7000, 6500):
        ours = istft_numpy(spectrum.astype(np.complex64), N_FFT, HOP, length)
        assert ours.shape == (length,) and np.abs(ours[:inside] - theirs[:length]).max() < 1e-5
    longer = istft_numpy(spectrum.astype(np.complex64), N_FFT, HOP, 7300)  # past the last frame: zeros
    assert longer.shape == (7300,) and not np.any(longer[frames * HOP:])
    back = istft_numpy(stft_numpy(signal, N_FFT, HOP), N_FFT, HOP, len(signal))
    assert np.abs(back - signal).max() < 1e-5


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
