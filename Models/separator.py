"""Waveform in, one waveform per source out: the trained spectrogram model wrapped for whole recordings.

Each channel is separated by the mono model: resample to the model rate, STFT, log1p, sliding windows
that tile the song (the last one aligned to its end, as the authors' ``Test.py``) with the context the
valid convolutions need, batched through the network; estimates take the mixture's phase, then ISTFT
and resampling back to the input's rate and length.

Long recordings are separated in chunks of whole windows, so that memory stays bounded. A chunk
estimates its own frames from the input around them (with a margin of the network's context), turns
them alone into waveforms, and adds those to the output: the ISTFT and the resampling are linear, so
the sum of the chunks' waveforms is the whole song's, with no seam and no window computed twice.
A worker thread analyses the next chunk and finishes the last one while the network runs; samples no
later chunk adds to are handed to an optional sink (``Separate.py`` writes them to the output files).
"""
import concurrent.futures
import dataclasses
import math
from typing import Callable, Dict, List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from Models.build import build_separator, load_separator_settings, load_separator_weights
from Utils import audio as audio_io
from Utils.spectral import from_model_space, istft, stft, to_model_space

CHUNK_SECONDS = 60.0  # audio per chunk by default (Separate.py --chunk-seconds says the same)
BATCH_FRAMES = 2048  # output frames per network call by default (64 s at 8192 Hz / hop 256): bounds memory
NETWORK_CALLS = 2  # network calls in flight: one's serial steps (copies, concatenations) overlap the other's convolutions
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}  # the network's Keras dtype policy
PRECISION_CHOICES = (*PRECISIONS, "auto")  # what Separator takes (Separate.py --precision lists the same)
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic
RESAMPLER_SECONDS = 0.05  # reach of the resampler's filter (soxr HQ: about 10 ms), with room to spare


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A chunk estimates song frames ``[first_frame, stop_frame)`` from input samples ``[read_start, read_stop)``."""
    first_frame: int
    stop_frame: int
    read_start: int
    read_stop: int


def chunk_plan(length: int, sample_rate: int, model_rate: int, hop: int, chunk_frames: Optional[int],
               margin_frames: int) -> List[Chunk]:
    """Cuts a song's STFT frames (at the model rate) into chunks, each with the input samples it reads.

    Args:
        length: input samples.
        sample_rate: the input's rate.
        model_rate: the separator's rate.
        hop: STFT hop at the model rate.
        chunk_frames: frames a chunk estimates; ``None``: the whole song in one chunk.
        margin_frames: frames of input read on each side of them.
    """
    song_frames = 1 + audio_io.resampled_length(length, sample_rate, model_rate) // hop
    # Reads start on a whole number of hops at the model rate (every 0.25 s at 44.1 kHz), so that a
    # chunk's STFT frames are the song's.
    unit = math.lcm(model_rate, hop * sample_rate) // model_rate
    step = chunk_frames or song_frames
    chunks = []
    for first in range(0, song_frames, step):
        stop = min(first + step, song_frames)
        read_start = (first - margin_frames) * hop * sample_rate // model_rate // unit * unit
        read_stop = -(-(stop + margin_frames) * hop * sample_rate // model_rate)
        chunks.append(Chunk(first, stop, max(read_start, 0), min(read_stop, length)))
    return chunks


def song_frames_range(spectra: np.ndarray, first_frame: int, start: int, stop: int) -> np.ndarray:
    """Song frames ``[start, stop)`` of ``spectra`` ``(..., frames)``, which holds frames ``first_frame`` onwards;
    frames it does not hold are zeros."""
    inside_start = min(max(start, first_frame), stop)
    inside_stop = max(min(stop, first_frame + spectra.shape[-1]), inside_start)
    inside = spectra[..., inside_start - first_frame:inside_stop - first_frame]
    return np.pad(inside, [(0, 0)] * (spectra.ndim - 1) + [(inside_start - start, stop - inside_stop)])


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> List[str]:
    """The CPU's feature flags as Linux lists them (none where there is no such file)."""
    try:
        with open(cpuinfo) as handle:
            return next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return []


def auto_precision(flags: Optional[List[str]] = None, gpus: Optional[int] = None) -> str:
    """``"bfloat16"`` on a CPU with native bfloat16 arithmetic when no GPU is visible, ``"float32"`` otherwise.

    Args:
        flags: the CPU's feature flags (default: :func:`cpu_flags`).
        gpus: GPUs TensorFlow sees (default: counted).
    """
    flags = cpu_flags() if flags is None else flags
    gpus = len(tf.config.list_physical_devices("GPU")) if gpus is None else gpus
    return "bfloat16" if not gpus and any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS) else "float32"


class Separator:
    """A trained separator applied to whole recordings.

    Args:
        network: a separator network of any output width (its weights are reused at ``inference_frames``).
        settings: the hyperparameters saved beside it (``Models.build.SEPARATOR_KEYS``).
        inference_frames: output frames per window (default: ``settings["inference_frames"]``).
        batch_windows: windows per network call (default: about ``BATCH_FRAMES`` output frames).
        chunk_seconds: audio per chunk, rounded to whole windows (bounds memory on long recordings);
            ``None`` or 0: the whole recording in one piece.
        precision: ``"float32"``, or ``"bfloat16"`` for the network's arithmetic (faster on CPUs with
            AVX512-BF16 or AMX; speed and quality in bench/results/separate_speed.md and precision_quality.md), or
            ``"auto"`` (:func:`auto_precision`). The one used is ``self.precision``.
    """

    def __init__(self, network: keras.Model, settings: Dict, inference_frames: Optional[int] = None,
                 batch_windows: Optional[int] = None, chunk_seconds: Optional[float] = CHUNK_SECONDS,
                 precision: str = "float32"):
        if precision not in PRECISION_CHOICES:
            raise ValueError(f"precision={precision!r}: use one of {', '.join(PRECISION_CHOICES)}")
        self.precision = auto_precision() if precision == "auto" else precision
        self.settings = dict(settings)
        self.sources = list(settings["sources"])
        self.network, self.geometry = build_separator(self.settings, inference_frames or settings["inference_frames"],
                                                      PRECISIONS[self.precision])
        self.network.set_weights(network.get_weights())
        self.batch_windows = batch_windows or max(1, round(BATCH_FRAMES / self.geometry.output_shape[1]))
        self.chunk_seconds = chunk_seconds
        # Any number of windows, one trace: a new batch size would otherwise cost a retrace per song.
        windows = tf.TensorSpec([None, *self.geometry.input_shape, 1], tf.float32)
        self._predict = tf.function(lambda x: self.network(x, training=False), input_signature=[windows])

    @classmethod
    def from_checkpoint(cls, path: str, **kwargs) -> "Separator":
        """Loads ``best_separator.keras`` (safe mode) and its JSON of hyperparameters."""
        settings = load_separator_settings(path)  # checked first: a clear line before Keras reads the model
        return cls(load_separator_weights(path), settings, **kwargs)

    @property
    def chunk_frames(self) -> Optional[int]:
        """Frames a chunk estimates: ``chunk_seconds`` rounded to whole windows (``None``: one piece)."""
        if not self.chunk_seconds:
            return None
        width = self.geometry.output_shape[1]
        seconds_per_window = width * self.settings["hop"] / self.settings["sample_rate"]
        return max(1, round(self.chunk_seconds / seconds_per_window)) * width

    @property
    def margin_frames(self) -> int:
        """Input frames a chunk reads on each side of its own: the network's context and one pooling
        period, the STFT window, and the resampler's filter."""
        resampler = math.ceil(RESAMPLER_SECONDS * self.settings["sample_rate"] / self.settings["hop"])
        return self.geometry.context_frames + 2 ** self.settings["unet_levels"] + 2 + resampler

    def window_starts(self, first: int, stop: int, song_frames: int) -> List[int]:
        """Start frames of the windows covering song frames ``[first, stop)``.

        The windows tile the song from frame 0 and the last one is aligned to the song's end; later
        windows overwrite earlier ones where they overlap.
        """
        width = self.geometry.output_shape[1]
        total = max(song_frames, width)
        starts = list(range(0, total - width + 1, width))
        if starts[-1] + width < total:
            starts.append(total - width)
        return [start for start in starts if start < stop and start + width > first]

    def separate_magnitude(self, log_magnitude: np.ndarray, first_frame: int = 0, song_frames: Optional[int] = None,
                           needed: Optional[Tuple[int, int]] = None) -> Dict[str, np.ndarray]:
        """Log1p source magnitudes for log1p mixture magnitudes of any length.

        Args:
            log_magnitude: ``(bins, frames)`` or ``(channels, bins, frames)``: frames ``first_frame`` onwards
                of a song (zeros are assumed outside them).
            first_frame: index in the whole song of the first frame given (chunks).
            song_frames: frames of the whole song (default: ``first_frame + frames``).
            needed: ``(first, stop)``, the song frames to estimate (default: all given); only the windows
                covering them are computed, and the other frames are zero.

        Returns:
            ``{source: log1p magnitudes}``, each shaped like ``log_magnitude``.
        """
        spectra = log_magnitude[None] if log_magnitude.ndim == 2 else log_magnitude
        channels, bins, frames = spectra.shape
        geometry = self.geometry
        width, context, input_width = geometry.output_shape[1], geometry.context_frames, geometry.input_shape[1]
        first_needed, stop_needed = needed or (first_frame, first_frame + frames)
        starts = self.window_starts(first_needed, stop_needed, song_frames or first_frame + frames)
        low, high = starts[0], starts[-1] + width  # song frames the windows cover (the last ends furthest)
        padded = np.pad(song_frames_range(spectra, first_frame, low - context, high + context),
                        [(0, 0), geometry.input_freq_padding, (0, 0)])
        out = {source: np.zeros((channels, bins, high - low), np.float32) for source in self.sources}
        jobs = [(channel, start - low) for channel in range(channels) for start in starts]
        offset = geometry.output_freq_offset

        def estimate(group: List[Tuple[int, int]]) -> Dict[str, np.ndarray]:
            windows = np.stack([padded[channel, :, at:at + input_width] for channel, at in group])[..., None]
            estimates = self._predict(tf.constant(windows, tf.float32))
            return {source: estimates[source].numpy()[:, offset:offset + bins, :, 0] for source in self.sources}

        groups = [jobs[first:first + self.batch_windows] for first in range(0, len(jobs), self.batch_windows)]
        calls = concurrent.futures.ThreadPoolExecutor(NETWORK_CALLS)
        try:
            for group, estimates in zip(groups, calls.map(estimate, groups)):
                for source, values in estimates.items():
                    for (channel, at), value in zip(group, values):
                        out[source][channel, :, at:at + width] = value
        finally:
            calls.shutdown(cancel_futures=True)  # on an error or Ctrl-C, waits for the running calls only
        # The needed frames of the windows' output, placed among the frames given.
        estimates = {source: song_frames_range(song_frames_range(value, low, first_needed, stop_needed),
                                               first_needed, first_frame, first_frame + frames)
                     for source, value in out.items()}
        return {source: value[0] for source, value in estimates.items()} if log_magnitude.ndim == 2 else estimates

    def separate(self, audio: np.ndarray, sample_rate: int, progress: Optional[Callable[[int], None]] = None,
                 sink: Optional[Callable[[Dict[str, np.ndarray]], None]] = None) -> Dict[str, np.ndarray]:
        """Separates a recording, chunk by chunk.

        Args:
            audio: ``(samples, channels)`` or ``(samples,)`` float waveform at any rate.
            sample_rate: its sample rate.
            progress: called with the number of input samples done after each chunk.
            sink: called, in order and on a worker thread, with ``{source: samples}`` as soon as samples
                are final (after each chunk): the blocks put end to end are the returned waveforms, so
                that they can be written while the network works on the next chunk. The blocks are views
                of the output, to be used (or copied) during the call.

        Returns:
            ``{source: waveform}`` with the input's shape, rate and length (float32).
        """
        audio = np.asarray(audio, np.float32)
        mono_input = audio.ndim == 1
        audio = audio[:, None] if mono_input else audio
        length, rate, hop = audio.shape[0], self.settings["sample_rate"], self.settings["hop"]
        results = {source: np.empty_like(audio) for source in self.sources}
        plan = chunk_plan(length, sample_rate, rate, hop, self.chunk_frames, self.margin_frames)
        song_frames = plan[-1].stop_frame
        # results[:written] hold the sum of the chunks added so far, results[:final] went to the sink
        written = done = final = 0

        def finish(chunk: Chunk, estimates: Dict[str, np.ndarray], phasor: tf.Tensor, next_read: int) -> None:
            # A chunk's waveforms are zero away from its own frames and the chunks' waveforms add up to the
            # song's: samples an earlier chunk wrote are added to, the rest assigned (reads overlap, no gap).
            nonlocal written, done, final
            waveforms = self._synthesise(estimates, phasor, sample_rate, chunk.read_stop - chunk.read_start)
            for source, waveform in zip(self.sources, waveforms):
                end = chunk.read_start + min(len(waveform), chunk.read_stop - chunk.read_start)
                fresh = max(min(written, end), chunk.read_start)
                results[source][chunk.read_start:fresh] += waveform[:fresh - chunk.read_start]
                results[source][fresh:end] = waveform[fresh - chunk.read_start:end - chunk.read_start]
                results[source][max(end, written):chunk.read_stop] = 0.0  # the resampler may return a sample less
            written = chunk.read_stop
            if sink is not None:  # no later chunk reads before next_read
                sink({source: value[final:next_read, 0] if mono_input else value[final:next_read]
                      for source, value in results.items()})
                final = next_read
            now = length if chunk is plan[-1] else min(chunk.stop_frame * hop * sample_rate // rate, length)
            if progress is not None:
                progress(now - done)
            done = now

        # One worker thread, in order: reads ahead (resampling and STFT of the next chunk), and finishes the
        # last one (ISTFT, resampling back, adding into the output) while this thread runs the network.
        with concurrent.futures.ThreadPoolExecutor(1) as worker:
            analysed = worker.submit(self._analyse, audio[plan[0].read_start:plan[0].read_stop], sample_rate)
            finished = None
            for index, chunk in enumerate(plan):
                log_magnitude, phasor = analysed.result()
                if index + 1 < len(plan):
                    upcoming = plan[index + 1]
                    analysed = worker.submit(self._analyse, audio[upcoming.read_start:upcoming.read_stop], sample_rate)
                first_frame = chunk.read_start * rate // sample_rate // hop  # exact: reads start on frames
                estimates = self.separate_magnitude(log_magnitude, first_frame, song_frames,
                                                    needed=(chunk.first_frame, chunk.stop_frame))
                if finished is not None:
                    finished.result()  # at most three chunks in memory; raises the worker's errors
                next_read = plan[index + 1].read_start if index + 1 < len(plan) else length
                finished = worker.submit(finish, chunk, estimates, phasor, next_read)
            finished.result()
        return {source: value[:, 0] if mono_input else value for source, value in results.items()}

    def _analyse(self, segment: np.ndarray, sample_rate: int) -> Tuple[np.ndarray, tf.Tensor]:
        """The log1p magnitudes ``(channels, bins, frames)`` of input samples at the model rate, and their
        phase as unit complex numbers (the mixture's phase, given to every source's estimate; zero where
        the mixture is exactly zero, so that digital silence stays silent)."""
        rate, n_fft, hop = self.settings["sample_rate"], self.settings["n_fft"], self.settings["hop"]
        spectrum = stft(tf.transpose(audio_io.resample(segment, sample_rate, rate)), n_fft, hop)  # all channels at once
        magnitude = tf.abs(spectrum)
        phasor = spectrum / tf.complex(tf.where(magnitude > 0, magnitude, 1.0), 0.0)
        return to_model_space(magnitude).numpy(), phasor

    def _synthesise(self, estimates: Dict[str, np.ndarray], phasor: tf.Tensor, sample_rate: int,
                    length: int) -> List[np.ndarray]:
        """Per source, the waveform ``(samples, channels)`` at ``sample_rate`` of log1p magnitude estimates with
        the mixture's phase, for ``length`` input samples (the resampler may give one sample more or less)."""
        rate, n_fft, hop = self.settings["sample_rate"], self.settings["n_fft"], self.settings["hop"]
        magnitudes = tf.complex(from_model_space(np.stack([estimates[source] for source in self.sources])), 0.0)
        waveforms = istft(magnitudes * phasor, n_fft, hop, audio_io.resampled_length(length, sample_rate, rate))
        # Interleaved (samples, channels) before resampling, where it is 5 times shorter: soxr then returns the
        # layout of the output files, and adding chunks into them is a plain copy, not a transposing one.
        return audio_io.resample_all(list(tf.transpose(waveforms, [0, 2, 1]).numpy()), rate, sample_rate)
