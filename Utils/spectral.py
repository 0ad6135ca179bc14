"""STFT, inverse STFT and the log1p normalisation, in one place for training and inference.

The transform matches ``librosa.stft(center=True, window='hann', pad_mode='constant')`` so that
spectrograms computed here agree with the authors' librosa-based pipeline. The forward transform is written
twice, side by side: in TensorFlow ops for the training graph (:func:`stft`, :func:`magnitude`; TensorFlow is
imported on first use), and in numpy for separation (:func:`stft_numpy`, with the FFTs of :mod:`Utils.fft`),
which then runs without TensorFlow; a test holds the two equal within 1e-5. Only separation inverts a
spectrogram (:func:`istft_numpy`, librosa's ``istft``: least squares inside, exact at the edges; tested).
"""
from typing import TYPE_CHECKING

import numpy as np

from Utils.fft import irfft, rfft

if TYPE_CHECKING:  # TensorFlow loads only when a TensorFlow transform is first called
    import tensorflow as tf


def stft(audio: "tf.Tensor", n_fft: int, hop: int) -> "tf.Tensor":
    """Complex STFT of one or more waveforms.

    Args:
        audio: float waveform(s), shape ``(..., samples)``.
        n_fft: FFT and window length.
        hop: hop length in samples.

    Returns:
        complex64 tensor of shape ``(..., n_fft // 2 + 1, frames)``, with
        ``frames = 1 + samples // hop`` (centred frames, zero padded as librosa does).
    """
    import tensorflow as tf
    audio = tf.convert_to_tensor(audio, tf.float32)
    rank = audio.shape.rank
    paddings = [[0, 0]] * (rank - 1) + [[n_fft // 2, n_fft // 2]]
    padded = tf.pad(audio, paddings)
    spec = tf.signal.stft(padded, frame_length=n_fft, frame_step=hop, fft_length=n_fft,
                          window_fn=tf.signal.hann_window, pad_end=False)
    return tf.linalg.matrix_transpose(spec)  # (..., freq, frames)


def magnitude(audio: "tf.Tensor", n_fft: int, hop: int) -> "tf.Tensor":
    """Magnitude spectrogram ``|stft(audio)|``, shape ``(..., n_fft // 2 + 1, frames)``."""
    import tensorflow as tf
    return tf.abs(stft(audio, n_fft, hop))


def hann_window(n_fft: int) -> np.ndarray:
    """The periodic Hann window of ``n_fft`` samples (as ``tf.signal.hann_window`` and librosa's)."""
    return np.hanning(n_fft + 1)[:-1].astype(np.float32)


def stft_numpy(audio: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT of one or more waveforms in numpy: :func:`stft`'s numbers without TensorFlow.

    Args:
        audio: float waveform(s), shape ``(..., samples)``.
        n_fft: FFT and window length.
        hop: hop length in samples.

    Returns:
        complex64 array ``(..., n_fft // 2 + 1, frames)`` with ``frames = 1 + samples // hop`` (centred
        frames, zero padded at both ends).
    """
    audio = np.asarray(audio, np.float32)
    padded = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(n_fft // 2, n_fft // 2)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    return np.swapaxes(rfft(frames * hann_window(n_fft)), -1, -2)


def istft_numpy(spectrum: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Inverse of :func:`stft_numpy` (windowed overlap-add divided by the overlap-added squared window), cut
    or padded to ``length``, as ``librosa.istft``.

    Args:
        spectrum: complex array ``(..., n_fft // 2 + 1, frames)``.
        n_fft: FFT and window length used by :func:`stft_numpy`.
        hop: hop length used by :func:`stft_numpy`.
        length: number of output samples.

    Returns:
        float32 waveform(s) ``(..., length)``.
    """
    window = hann_window(n_fft)
    frames = irfft(np.swapaxes(spectrum, -1, -2), n_fft) * window
    audio = overlap_add(frames, hop)
    norm = overlap_add(np.broadcast_to(window ** 2, frames.shape[-2:]), hop)
    audio = np.where(norm > 1e-8, audio / np.maximum(norm, 1e-8), audio)[..., n_fft // 2:]
    missing = max(length - audio.shape[-1], 0)
    return np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, missing)])[..., :length].astype(np.float32)


def overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """``(..., frames, frame_length)`` frames ``hop`` apart added up into ``(..., (frames - 1) * hop +
    frame_length)`` samples (as ``tf.signal.overlap_and_add``)."""
    count, frame_length = frames.shape[-2:]
    pieces = -(-frame_length // hop)  # each frame is cut into hop-long pieces, added where they land
    padded = np.pad(frames, [(0, 0)] * (frames.ndim - 1) + [(0, pieces * hop - frame_length)])
    out = np.zeros(frames.shape[:-2] + (count + pieces - 1, hop), np.float32)
    for piece in range(pieces):
        out[..., piece:piece + count, :] += padded[..., piece * hop:(piece + 1) * hop]
    return out.reshape(frames.shape[:-2] + (-1,))[..., :(count - 1) * hop + frame_length]


def to_model_space(magnitude):
    """The authors' input normalisation, ``log(1 + |X|)``, of a numpy array or a TensorFlow tensor."""
    if isinstance(magnitude, np.ndarray):
        return np.log1p(magnitude)
    import tensorflow as tf
    return tf.math.log1p(magnitude)


def from_model_space(normalised):
    """Inverse of :func:`to_model_space`: ``exp(y) - 1``, of a numpy array or a TensorFlow tensor."""
    if isinstance(normalised, np.ndarray):
        return np.expm1(normalised)
    import tensorflow as tf
    return tf.math.expm1(normalised)
