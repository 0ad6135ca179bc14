"""The STFT used everywhere agrees with librosa's, and inverts."""
import librosa
import numpy as np
import tensorflow as tf

from Utils.spectral import from_model_space, istft, magnitude, stft, to_model_space


def test_stft_matches_librosa(tmp_path):
    signal = np.random.default_rng(1).standard_normal(8192 * 3).astype(np.float32) * 0.2
    ours = stft(signal, 512, 256).numpy()
    theirs = librosa.stft(signal, n_fft=512, hop_length=256, window="hann", center=True, pad_mode="constant")
    assert ours.shape == theirs.shape == (257, 8192 * 3 // 256 + 1)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-4
    assert np.allclose(magnitude(signal, 512, 256).numpy(), np.abs(theirs), atol=1e-3)


def test_istft_inverts_stft():
    signal = np.random.default_rng(2).standard_normal(5000).astype(np.float32)
    back = istft(stft(signal, 512, 256), 512, 256, len(signal)).numpy()
    assert back.shape == signal.shape and np.abs(back - signal).max() < 1e-4


def test_log1p_normalisation_inverts():
    values = np.array([0.0, 0.5, 3.0, 100.0], np.float32)
    assert np.allclose(from_model_space(to_model_space(values)), values, rtol=1e-5)  # numpy in, numpy out
    tensor = from_model_space(to_model_space(tf.constant(values)))  # a tensor in, a tensor out (the training graph)
    assert isinstance(tensor, tf.Tensor) and np.allclose(tensor.numpy(), values, rtol=1e-5)


def test_istft_matches_librosa_on_a_modified_spectrogram():
    signal = np.random.default_rng(3).standard_normal(7000).astype(np.float32)
    spectrum = librosa.stft(signal, n_fft=512, hop_length=256, center=True, pad_mode="constant") * 0.5
    theirs = librosa.istft(spectrum, hop_length=256, n_fft=512, length=len(signal))
    ours = istft(spectrum.astype(np.complex64), 512, 256, len(signal)).numpy()
    assert np.abs(ours - theirs).max() < 1e-4
