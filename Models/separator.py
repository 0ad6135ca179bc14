"""Waveform in, one waveform per source out: the trained spectrogram model wrapped for whole recordings.

For each channel (the model is mono): resample to the model rate, STFT, log1p, sliding windows that
tile the song (the last one aligned to its end, as the authors' ``Test.py``) with the context the
valid convolutions need, batched through the network; estimates take the mixture's phase, then
ISTFT and resampling back to the input's rate and length.
"""
from typing import Dict, Optional

import keras
import numpy as np
import tensorflow as tf

from Models.build import build_separator, load_separator_settings, load_separator_weights
from Utils import audio as audio_io
from Utils.spectral import from_model_space, istft, stft, to_model_space


class Separator:
    """A trained separator applied to whole recordings.

    Args:
        network: a separator network of any output width (its weights are reused at ``inference_frames``).
        settings: the hyperparameters saved beside it (``Models.build.SEPARATOR_KEYS``).
        inference_frames: output frames per window (default: ``settings["inference_frames"]``).
        batch_windows: windows per network call (bounds memory).
    """

    def __init__(self, network: keras.Model, settings: Dict, inference_frames: Optional[int] = None,
                 batch_windows: int = 8):
        self.settings = dict(settings)
        self.sources = list(settings["sources"])
        self.network, self.geometry = build_separator(self.settings, inference_frames or settings["inference_frames"])
        self.network.set_weights(network.get_weights())
        self.batch_windows = batch_windows
        self._predict = tf.function(lambda x: self.network(x, training=False), reduce_retracing=True)

    @classmethod
    def from_checkpoint(cls, path: str, **kwargs) -> "Separator":
        """Loads ``best_separator.keras`` (safe mode) and its JSON of hyperparameters."""
        return cls(load_separator_weights(path), load_separator_settings(path), **kwargs)

    def separate_magnitude(self, log_magnitude: np.ndarray) -> Dict[str, np.ndarray]:
        """Log1p source magnitudes for a log1p mixture magnitude of any length.

        Args:
            log_magnitude: ``(bins, frames)``.

        Returns:
            ``{source: (bins, frames)}`` log1p magnitudes.
        """
        geometry = self.geometry
        bins, frames = log_magnitude.shape
        width, context = geometry.output_shape[1], geometry.context_frames
        total = max(frames, width)
        front, back = geometry.input_freq_padding
        padded = np.pad(log_magnitude, [(front, back), (context, context + total - frames)])
        starts = list(range(0, total - width + 1, width))
        if starts[-1] + width < total:
            starts.append(total - width)
        out = {source: np.zeros((bins, total), np.float32) for source in self.sources}
        offset = geometry.output_freq_offset
        for first in range(0, len(starts), self.batch_windows):
            group = starts[first:first + self.batch_windows]
            windows = np.stack([padded[:, s:s + geometry.input_shape[1]] for s in group])[..., None]
            estimates = self._predict(tf.constant(windows, tf.float32))
            for source in self.sources:
                values = estimates[source].numpy()[:, offset:offset + bins, :, 0]
                for start, value in zip(group, values):
                    out[source][:, start:start + width] = value
        return {source: value[:, :frames] for source, value in out.items()}

    def separate(self, audio: np.ndarray, sample_rate: int) -> Dict[str, np.ndarray]:
        """Separates a recording.

        Args:
            audio: ``(samples, channels)`` or ``(samples,)`` float waveform at any rate.
            sample_rate: its sample rate.

        Returns:
            ``{source: waveform}`` with the input's shape, rate and length (float32).
        """
        audio = np.asarray(audio, np.float32)
        mono_input = audio.ndim == 1
        audio = audio[:, None] if mono_input else audio
        length, rate = audio.shape[0], self.settings["sample_rate"]
        n_fft, hop = self.settings["n_fft"], self.settings["hop"]
        results = {source: np.zeros_like(audio) for source in self.sources}
        for channel in range(audio.shape[1]):
            signal = audio_io.resample(audio[:, channel:channel + 1], sample_rate, rate)[:, 0]
            spectrum = stft(signal, n_fft, hop)
            phasor = tf.exp(tf.complex(0.0, tf.math.angle(spectrum)))  # the mixture's phase, shared by all sources
            estimates = self.separate_magnitude(to_model_space(tf.abs(spectrum)).numpy())
            for source, estimate in estimates.items():
                complex_estimate = tf.complex(from_model_space(estimate), 0.0) * phasor
                waveform = istft(complex_estimate, n_fft, hop, len(signal)).numpy()[:, None]
                results[source][:, channel] = audio_io.fix_length(
                    audio_io.resample(waveform, rate, sample_rate), length)[:, 0]
        return {source: value[:, 0] if mono_input else value for source, value in results.items()}
