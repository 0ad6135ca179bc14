"""STFT, inverse STFT and the log1p normalisation, in one place for training and inference.

The transform matches ``librosa.stft(center=True, window='hann', pad_mode='constant')`` so that
spectrograms computed here agree with the authors' librosa-based pipeline.
"""
import tensorflow as tf


def stft(audio: tf.Tensor, n_fft: int, hop: int) -> tf.Tensor:
    """Complex STFT of one or more waveforms.

    Args:
        audio: float waveform(s), shape ``(..., samples)``.
        n_fft: FFT and window length.
        hop: hop length in samples.

    Returns:
        complex64 tensor of shape ``(..., n_fft // 2 + 1, frames)``, with
        ``frames = 1 + samples // hop`` (centred frames, zero padded as librosa does).
    """
    audio = tf.convert_to_tensor(audio, tf.float32)
    rank = audio.shape.rank
    paddings = [[0, 0]] * (rank - 1) + [[n_fft // 2, n_fft // 2]]
    padded = tf.pad(audio, paddings)
    spec = tf.signal.stft(padded, frame_length=n_fft, frame_step=hop, fft_length=n_fft,
                          window_fn=tf.signal.hann_window, pad_end=False)
    return tf.linalg.matrix_transpose(spec)  # (..., freq, frames)


def magnitude(audio: tf.Tensor, n_fft: int, hop: int) -> tf.Tensor:
    """Magnitude spectrogram ``|stft(audio)|``, shape ``(..., n_fft // 2 + 1, frames)``."""
    return tf.abs(stft(audio, n_fft, hop))


def istft(spec: tf.Tensor, n_fft: int, hop: int, length: int) -> tf.Tensor:
    """Inverse of :func:`stft` (windowed overlap-add, least-squares), cut or padded to ``length``.

    Args:
        spec: complex tensor ``(..., n_fft // 2 + 1, frames)``.
        n_fft: FFT and window length used by :func:`stft`.
        hop: hop length used by :func:`stft`.
        length: number of output samples.

    Returns:
        float32 waveform(s) of shape ``(..., length)``.
    """
    frames = tf.linalg.matrix_transpose(spec)
    window = tf.signal.hann_window(n_fft)
    audio = tf.signal.overlap_and_add(tf.signal.irfft(frames, [n_fft]) * window, hop)
    # Divide by the overlap-added squared window itself (as librosa does), not by the constant a
    # full overlap would give: the first and last hops of a song are covered by fewer frames.
    frame_count = tf.shape(frames)[-2]
    norm = tf.signal.overlap_and_add(tf.tile(tf.square(window)[None, :], [frame_count, 1]), hop)
    audio = tf.where(norm > 1e-8, audio / tf.maximum(norm, 1e-8), audio)
    audio = audio[..., n_fft // 2:]
    missing = tf.maximum(length - tf.shape(audio)[-1], 0)
    rank = audio.shape.rank
    audio = tf.pad(audio, [[0, 0]] * (rank - 1) + [[0, missing]])
    return audio[..., :length]


def to_model_space(mag: tf.Tensor) -> tf.Tensor:
    """The authors' input normalisation: ``log(1 + |X|)``."""
    return tf.math.log1p(mag)


def from_model_space(norm: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`to_model_space`: ``exp(y) - 1``."""
    return tf.math.expm1(norm)
