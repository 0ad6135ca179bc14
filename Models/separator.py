"""Waveform in, one waveform per source out: the trained spectrogram model wrapped for whole recordings.

Each channel is separated by the mono model: resample to the model rate, STFT, log1p, sliding windows
that tile the song (the last one aligned to its end, as the authors' ``Test.py``) with the context the
valid convolutions need, batched through the network; estimates take the mixture's phase, then ISTFT
and resampling back to the input's rate and length.

Long recordings are cut into chunks with a margin of context on each side. A chunk starts on a sample
that falls on an STFT frame of the whole song at the model rate, and its windows are the ones the
whole song would use, so the only difference from separating in one piece is what lies beyond the
margin: chunked and whole-song results agree, while memory stays bounded by the chunk length.
"""
import dataclasses
import math
from typing import Callable, Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from Models.build import build_separator, load_separator_settings, load_separator_weights
from Utils import audio as audio_io
from Utils.spectral import from_model_space, istft, stft, to_model_space


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Samples ``[start, stop)`` of the input are kept from separating ``[read_start, read_stop)``."""
    start: int
    stop: int
    read_start: int
    read_stop: int


def chunk_plan(length: int, sample_rate: int, model_rate: int, hop: int, chunk_seconds: Optional[float],
               margin_seconds: float) -> List[Chunk]:
    """Cuts ``length`` input samples into chunks whose edges fall on STFT frames at the model rate.

    Args:
        length: input samples.
        sample_rate: the input's rate.
        model_rate: the separator's rate.
        hop: STFT hop at the model rate.
        chunk_seconds: kept length of a chunk (rounded down to the alignment unit); ``None``: one chunk.
        margin_seconds: context read on each side of a chunk (rounded up to the alignment unit).
    """
    # The smallest input step that is a whole number of hops at the model rate (0.25 s at 44.1 kHz).
    unit = math.lcm(model_rate, hop * sample_rate) // model_rate
    core = length if chunk_seconds is None else max(unit, int(chunk_seconds * sample_rate) // unit * unit)
    margin = math.ceil(margin_seconds * sample_rate / unit) * unit
    if core >= length:
        return [Chunk(0, length, 0, length)]
    return [Chunk(start, min(start + core, length), max(start - margin, 0), min(start + core + margin, length))
            for start in range(0, length, core)]


class Separator:
    """A trained separator applied to whole recordings.

    Args:
        network: a separator network of any output width (its weights are reused at ``inference_frames``).
        settings: the hyperparameters saved beside it (``Models.build.SEPARATOR_KEYS``).
        inference_frames: output frames per window (default: ``settings["inference_frames"]``).
        batch_windows: windows per network call (bounds memory).
        chunk_seconds: input separated per chunk (bounds memory on long recordings); ``None``: in one piece.
    """

    def __init__(self, network: keras.Model, settings: Dict, inference_frames: Optional[int] = None,
                 batch_windows: int = 8, chunk_seconds: Optional[float] = 120.0):
        self.settings = dict(settings)
        self.sources = list(settings["sources"])
        self.network, self.geometry = build_separator(self.settings, inference_frames or settings["inference_frames"])
        self.network.set_weights(network.get_weights())
        self.batch_windows = batch_windows
        self.chunk_seconds = chunk_seconds
        self._predict = tf.function(lambda x: self.network(x, training=False), reduce_retracing=True)

    @classmethod
    def from_checkpoint(cls, path: str, **kwargs) -> "Separator":
        """Loads ``best_separator.keras`` (safe mode) and its JSON of hyperparameters."""
        return cls(load_separator_weights(path), load_separator_settings(path), **kwargs)

    @property
    def margin_seconds(self) -> float:
        """Context a chunk needs on each side: the network's context frames, one pooling period, the STFT
        window, and 50 ms for the resampler's filter."""
        frames = self.geometry.context_frames + 2 ** self.settings["unet_levels"] + 2
        return frames * self.settings["hop"] / self.settings["sample_rate"] + 0.05

    def window_starts(self, first_frame: int, frames: int, song_frames: int) -> List[int]:
        """Start frames (in the whole song) of the windows covering frames ``[first_frame, first_frame + frames)``.

        The windows tile the song from frame 0 and the last one is aligned to the song's end; later
        windows overwrite earlier ones where they overlap.
        """
        width = self.geometry.output_shape[1]
        total = max(song_frames, width)
        starts = list(range(0, total - width + 1, width))
        if starts[-1] + width < total:
            starts.append(total - width)
        return [start for start in starts if start < first_frame + frames and start + width > first_frame]

    def separate_magnitude(self, log_magnitude: np.ndarray, first_frame: int = 0,
                           song_frames: Optional[int] = None) -> Dict[str, np.ndarray]:
        """Log1p source magnitudes for log1p mixture magnitudes of any length.

        Args:
            log_magnitude: ``(bins, frames)`` or ``(channels, bins, frames)``: frames ``first_frame`` onwards
                of a song (zeros are assumed outside them).
            first_frame: index in the whole song of the first frame given (chunks).
            song_frames: frames of the whole song (default: ``first_frame + frames``).

        Returns:
            ``{source: log1p magnitudes}``, each shaped like ``log_magnitude``.
        """
        spectra = log_magnitude[None] if log_magnitude.ndim == 2 else log_magnitude
        channels, bins, frames = spectra.shape
        geometry = self.geometry
        width, context, input_width = geometry.output_shape[1], geometry.context_frames, geometry.input_shape[1]
        starts = self.window_starts(first_frame, frames, song_frames or first_frame + frames)
        low, high = starts[0], starts[-1] + width  # song frames the windows cover (the last ends furthest)
        front, back = geometry.input_freq_padding
        padded = np.pad(spectra, [(0, 0), (front, back),
                                  (first_frame - low + context, high + context - first_frame - frames)])
        out = {source: np.zeros((channels, bins, high - low), np.float32) for source in self.sources}
        jobs = [(channel, start - low) for channel in range(channels) for start in starts]
        offset = geometry.output_freq_offset
        for first in range(0, len(jobs), self.batch_windows):
            group = jobs[first:first + self.batch_windows]
            windows = np.stack([padded[channel, :, at:at + input_width] for channel, at in group])[..., None]
            estimates = self._predict(tf.constant(windows, tf.float32))
            for source in self.sources:
                values = estimates[source].numpy()[:, offset:offset + bins, :, 0]
                for (channel, at), value in zip(group, values):
                    out[source][channel, :, at:at + width] = value
        keep = slice(first_frame - low, first_frame - low + frames)
        return {source: (value[0, :, keep] if log_magnitude.ndim == 2 else value[:, :, keep])
                for source, value in out.items()}

    def separate(self, audio: np.ndarray, sample_rate: int,
                 progress: Optional[Callable[[int], None]] = None) -> Dict[str, np.ndarray]:
        """Separates a recording, chunk by chunk.

        Args:
            audio: ``(samples, channels)`` or ``(samples,)`` float waveform at any rate.
            sample_rate: its sample rate.
            progress: called with the number of input samples done after each chunk.

        Returns:
            ``{source: waveform}`` with the input's shape, rate and length (float32).
        """
        audio = np.asarray(audio, np.float32)
        mono_input = audio.ndim == 1
        audio = audio[:, None] if mono_input else audio
        rate, hop = self.settings["sample_rate"], self.settings["hop"]
        song_frames = 1 + audio_io.resampled_length(audio.shape[0], sample_rate, rate) // hop
        results = {source: np.zeros_like(audio) for source in self.sources}
        for chunk in chunk_plan(audio.shape[0], sample_rate, rate, hop, self.chunk_seconds, self.margin_seconds):
            estimates = self._separate_segment(audio[chunk.read_start:chunk.read_stop], sample_rate,
                                               chunk.read_start, song_frames)
            keep = slice(chunk.start - chunk.read_start, chunk.stop - chunk.read_start)
            for source, estimate in estimates.items():
                results[source][chunk.start:chunk.stop] = estimate[keep]
            if progress is not None:
                progress(chunk.stop - chunk.start)
        return {source: value[:, 0] if mono_input else value for source, value in results.items()}

    def _separate_segment(self, segment: np.ndarray, sample_rate: int, start: int,
                          song_frames: int) -> Dict[str, np.ndarray]:
        """Source waveforms ``(samples, channels)`` for input samples ``start`` onwards of a song."""
        rate, n_fft, hop = self.settings["sample_rate"], self.settings["n_fft"], self.settings["hop"]
        signal = audio_io.resample(segment, sample_rate, rate)  # (samples, channels), all channels at once
        spectrum = stft(signal.T, n_fft, hop)  # (channels, bins, frames)
        phasor = tf.exp(tf.complex(0.0, tf.math.angle(spectrum)))  # the mixture's phase, shared by all sources
        first_frame = start * rate // sample_rate // hop  # exact: chunks start on frames (chunk_plan)
        estimates = self.separate_magnitude(to_model_space(tf.abs(spectrum)).numpy(), first_frame, song_frames)
        magnitudes = tf.complex(from_model_space(np.stack([estimates[source] for source in self.sources])), 0.0)
        waveforms = istft(magnitudes * phasor, n_fft, hop, signal.shape[0]).numpy()  # (sources, channels, samples)
        sources, channels, samples = waveforms.shape
        back = audio_io.resample(waveforms.reshape(sources * channels, samples).T, rate, sample_rate)
        back = audio_io.fix_length(back, segment.shape[0])
        return {source: back[:, index * channels:(index + 1) * channels] for index, source in enumerate(self.sources)}
