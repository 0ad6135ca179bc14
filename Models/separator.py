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
later chunk adds to are handed to an optional sink (:meth:`Separator.separate_to_file` writes them to
the output files while the network works on the next chunk).
"""
import concurrent.futures
import contextlib
import logging
import math
import os
import sys
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from Models.band_outputs import band_output
from Models.chunks import CHUNK_SECONDS, Chunk, chunk_plan, song_frames_range
from Models.engines import DEFAULT_ENGINE, open_engine
from Models.full_band import (BAND_EXTENSIONS, DEFAULT_BAND_EXTENSION, DEFAULT_MASK_RULE, DEFAULT_NETWORK_CHANNELS,
                              MASK_RULES, NETWORK_CHANNELS)
from Models.saved_separator import load_separator_settings
from Utils import audio as audio_io
from Utils import audio_writer
from Utils.files import output_folder, safe_name

BATCH_FRAMES = 2048  # output frames per network call by default (64 s at 8192 Hz / hop 256): bounds memory
RESAMPLER_SECONDS = 0.05  # reach of the resampler's filter (soxr HQ: about 10 ms), with room to spare
log = logging.getLogger(__name__)


class OutputAssembly:
    """The output waveforms, added up chunk by chunk in order, handed on as soon as they are final.

    A chunk's waveforms are zero away from its own frames, and the chunks' waveforms add up to the song's:
    the samples a chunk shares with the next (their reads overlap, with no gap) are kept until the next
    adds its own to them. Each run of final samples goes to the sink, or, without one, into whole-song
    outputs; with a sink nothing of song length is held (:meth:`Separator.separate_to_file`).

    Args:
        sources: source names.
        shape: ``(samples, channels)`` of the input.
        sink: receives ``{source: samples}`` of each run of samples no later chunk adds to; ``None``: they
            are kept in :attr:`outputs`.
        progress: receives the input samples done after each chunk.
        mono: give ``(samples,)`` blocks and outputs.
    """

    def __init__(self, sources: List[str], shape: Tuple[int, int], sink: Optional[Callable], progress: Optional[Callable],
                 mono: bool):
        self.outputs = None if sink is not None else {source: np.empty(shape, np.float32) for source in sources}
        self.sink, self.progress, self.mono = sink, progress, mono
        self.shared = {source: np.zeros((0, shape[1]), np.float32) for source in sources}  # from `final` on
        self.final = 0  # samples [0, final) are final and handed on
        self.done = 0   # input samples reported to progress

    def add(self, chunk: Chunk, waveforms: List[np.ndarray], next_read: int, done: int) -> None:
        """Adds one chunk's ``(samples, channels)`` waveform per source (in ``sources`` order; they are added
        to in place).

        Args:
            chunk: the chunk they come from (its reads start where the last chunk's final samples end).
            waveforms: its waveforms, from ``chunk.read_start`` on.
            next_read: the first sample the next chunk reads (no later chunk adds before it).
            done: input samples whose estimates are complete.
        """
        assert chunk.read_start == self.final, (chunk, self.final)
        length, settled = chunk.read_stop - chunk.read_start, next_read - chunk.read_start  # settled: final here
        blocks = {}
        for source, waveform in zip(self.shared, waveforms):
            if len(waveform) < length:  # the resampler may return a sample less
                waveform = np.concatenate([waveform, np.zeros((length - len(waveform),) + waveform.shape[1:],
                                                              np.float32)])
            waveform = waveform[:length]
            shared = self.shared[source]
            waveform[:len(shared)] += shared
            self.shared[source] = waveform[settled:].copy()
            blocks[source] = waveform[:settled]
        if self.sink is not None:
            self.sink({source: block[:, 0] if self.mono else block for source, block in blocks.items()})
        else:
            for source, block in blocks.items():
                self.outputs[source][self.final:next_read] = block
        self.final = next_read
        if self.progress is not None:
            self.progress(done - self.done)
        self.done = done


class Separator:
    """A trained separator applied to whole recordings.

    Args:
        engine: the network at its inference width (:mod:`Models.engines`: LiteRT or TensorFlow).
        settings: the hyperparameters saved beside it (``Models.saved_separator.SEPARATOR_KEYS``).
        batch_windows: windows per network call (default: the engine's batch on LiteRT, about
            ``BATCH_FRAMES`` output frames on TensorFlow).
        chunk_seconds: audio per chunk, rounded to whole windows (bounds memory on long recordings);
            ``None`` or 0: the whole recording in one piece.
        band_extension: ``"average"`` or ``"zeros"``: the estimates become masks on each input channel's own
            STFT, and above the model's band the masks are the top 1 kHz's mean or zero
            (:mod:`Models.full_band`); ``"none"``: the model's band-limited estimates, resampled.
        mask_rule: full band: ``"ratio"`` (each estimate over their sum) or ``"mixture"`` (over the mixture's
            magnitude, at most 1).
        network_channels: full band: ``"each"`` (the network hears each channel) or ``"mid"`` (once, the
            channels' mean, whose masks apply to every channel: half the network's work on stereo).
    """

    def __init__(self, engine, settings: Dict, batch_windows: Optional[int] = None,
                 chunk_seconds: Optional[float] = CHUNK_SECONDS, band_extension: str = DEFAULT_BAND_EXTENSION,
                 mask_rule: str = DEFAULT_MASK_RULE, network_channels: str = DEFAULT_NETWORK_CHANNELS):
        if band_extension not in BAND_EXTENSIONS:
            raise ValueError(f"band_extension={band_extension!r}: use one of {', '.join(BAND_EXTENSIONS)}")
        if mask_rule not in MASK_RULES:
            raise ValueError(f"mask_rule={mask_rule!r}: use one of {', '.join(MASK_RULES)}")
        if network_channels not in NETWORK_CHANNELS:
            raise ValueError(f"network_channels={network_channels!r}: use one of {', '.join(NETWORK_CHANNELS)}")
        if network_channels == "mid" and band_extension == "none":
            raise ValueError("network_channels='mid' gives masks for the input's own channels: choose a full-band "
                             "band extension (average or zeros), not none")
        self.band_extension, self.mask_rule, self.network_channels = band_extension, mask_rule, network_channels
        self.engine, self.geometry, self.precision = engine, engine.geometry, engine.precision
        self.settings = dict(settings)
        self.sources = list(settings["sources"])
        self.batch_windows = (batch_windows or getattr(engine, "batch", None)
                              or max(1, round(BATCH_FRAMES / self.geometry.output_shape[1])))
        self.chunk_seconds = chunk_seconds

    @classmethod
    def from_checkpoint(cls, path: str, engine: str = DEFAULT_ENGINE, precision: str = "float32",
                        inference_frames: Optional[int] = None, **kwargs) -> "Separator":
        """A saved separator (``best_separator.keras`` and its JSON of hyperparameters) on an engine.

        Args:
            path: the ``.keras`` file.
            engine: ``"litert"`` (its ``.tflite`` export, made on first use) or ``"tensorflow"``.
            precision: ``"float32"``, ``"bfloat16"`` (TensorFlow only: faster on CPUs with AVX512-BF16 or
                AMX; speed and quality in bench/results/separate_speed.md and precision_quality.md), or
                ``"int8"`` (LiteRT only), or ``"auto"`` (:func:`Utils.hardware.auto_precision`).
            inference_frames: output frames per window (default: the saved ``inference_frames``).
            kwargs: the constructor's other arguments.
        """
        settings = load_separator_settings(path)  # checked first: a clear line before the model is read
        return cls(open_engine(path, settings, engine, precision, inference_frames), settings, **kwargs)

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
        starts = [start for start in geometry.window_starts(song_frames or first_frame + frames)
                  if start < stop_needed and start + width > first_needed]  # later windows overwrite earlier ones
        low, high = starts[0], starts[-1] + width  # song frames the windows cover (the last ends furthest)
        padded = np.pad(song_frames_range(spectra, first_frame, low - context, high + context),
                        [(0, 0), geometry.input_freq_padding, (0, 0)])
        out = {source: np.zeros((channels, bins, high - low), np.float32) for source in self.sources}
        jobs = [(channel, start - low) for channel in range(channels) for start in starts]
        offset = geometry.output_freq_offset

        def estimate(group: List[Tuple[int, int]]) -> Dict[str, np.ndarray]:
            windows = np.stack([padded[channel, :, at:at + input_width] for channel, at in group])[..., None]
            estimates = self.engine(windows)
            return {source: estimates[source][:, offset:offset + bins] for source in self.sources}

        groups = [jobs[first:first + self.batch_windows] for first in range(0, len(jobs), self.batch_windows)]
        calls = concurrent.futures.ThreadPoolExecutor(self.engine.concurrent_calls)
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
                 sink: Optional[Callable[[Dict[str, np.ndarray]], None]] = None) -> Optional[Dict[str, np.ndarray]]:
        """Separates a recording, chunk by chunk.

        Args:
            audio: ``(samples, channels)`` or ``(samples,)`` float waveform at any rate.
            sample_rate: its sample rate.
            progress: called with the number of input samples done after each chunk.
            sink: called, in order and on a worker thread, with ``{source: samples}`` as soon as samples
                are final (after each chunk), so that they can be written while the network works on the
                next chunk: the blocks put end to end are the waveforms, and nothing of the song's length
                is kept. The blocks are views of a chunk's work that nothing changes afterwards.

        Returns:
            ``{source: waveform}`` with the input's shape, rate and length (float32); ``None`` with a sink.
        """
        audio = np.asarray(audio, np.float32)
        mono_input = audio.ndim == 1
        audio = audio[:, None] if mono_input else audio
        length, rate, hop = audio.shape[0], self.settings["sample_rate"], self.settings["hop"]
        plan = chunk_plan(length, sample_rate, rate, hop, self.chunk_frames, self.margin_frames)
        song_frames = plan[-1].stop_frame
        assembly = OutputAssembly(self.sources, audio.shape, sink, progress, mono_input)
        output = band_output(self.band_extension, self.mask_rule, self.network_channels, self.settings, self.sources,
                             sample_rate)
        # One worker thread, in order: reads ahead (resampling and STFT of the next chunk), and finishes the
        # last one (waveforms, adding into the output) while this thread runs the network.
        with concurrent.futures.ThreadPoolExecutor(1) as worker:
            analysed = worker.submit(output.analyse, audio[plan[0].read_start:plan[0].read_stop], sample_rate)
            finished = None
            for index, chunk in enumerate(plan):
                log_magnitude, extra = analysed.result()
                last = index + 1 == len(plan)
                if not last:
                    upcoming = plan[index + 1]
                    analysed = worker.submit(output.analyse, audio[upcoming.read_start:upcoming.read_stop], sample_rate)
                first_frame = chunk.read_start * rate // sample_rate // hop  # exact: reads start on frames
                estimates = self.separate_magnitude(log_magnitude, first_frame, song_frames,
                                                    needed=(chunk.first_frame, chunk.stop_frame))
                waveforms = output.prepare(chunk, first_frame, estimates, log_magnitude, extra, audio, sample_rate,
                                           first=index == 0, last=last)
                if finished is not None:
                    finished.result()  # at most three chunks in memory; raises the worker's errors
                next_read = length if last else plan[index + 1].read_start
                done = length if last else min(chunk.stop_frame * hop * sample_rate // rate, length)
                finished = worker.submit(lambda job=waveforms, chunk=chunk, next_read=next_read, done=done:
                                         assembly.add(chunk, job(), next_read, done))
            finished.result()
        if sink is not None:
            return None
        return {source: value[:, 0] if mono_input else value for source, value in assembly.outputs.items()}

    def separate_to_file(self, source_path: str, out: str, file_format: str = "wav", progress: bool = True,
                         mixture: Optional[np.ndarray] = None) -> str:
        """Separates one file into ``out/<input name>/<source>.<file_format>`` and returns that folder.

        The files are written while the network runs (each chunk's final samples as soon as they are
        known), at the input's rate, length and channel count; each appears when complete, and nothing
        is left behind if separation fails.

        Args:
            source_path: any file ffmpeg decodes.
            out: the output folder.
            file_format: ``wav``, ``flac`` or ``mp3``.
            progress: show a progress bar in seconds of audio (on stdout).
            mixture: the file's samples, if the caller decoded them already (``Utils.audio.load(source_path,
                clip=False)``: Separate.py decodes its first file while the network loads).

        Raises:
            AudioReadError: the input cannot be decoded (the message names it).
            AudioWriteError: an output file cannot be written (nothing is left of it); DiskFullError, an
                AudioWriteError, where the disk is full.
        """
        header = audio_io.info(source_path)
        folder = output_folder(source_path, out)
        paths = {source: os.path.join(folder, f"{safe_name(source)}.{file_format}") for source in self.sources}
        taken = [path for path in paths.values() if os.path.isdir(path)]
        if taken:  # checked before any work, so that a file gets all of its sources or none
            raise OSError(f"{taken[0]} is a folder; remove it or choose another -o")
        mixture = audio_io.load(source_path, clip=False) if mixture is None else mixture
        peaks = dict.fromkeys(self.sources, 0.0)
        made_folder = not os.path.isdir(folder)
        try:
            self._write_sources(mixture, header, paths, peaks, progress)
        except BaseException:
            if made_folder and os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)  # a file gets all of its sources or nothing, not even its folder
            raise
        if file_format != "wav":  # wav is written as float and keeps any level; flac and mp3 clip at full scale
            for source, peak in peaks.items():
                if peak > 1.0:
                    log.warning("warning: %s: its peak of %.2f (%+.1f dBFS) was clipped by %s; wav keeps it",
                                paths[source], peak, 20 * np.log10(peak), file_format)
        return folder

    def _write_sources(self, mixture: np.ndarray, header, paths: Dict[str, str], peaks: Dict[str, float],
                       progress: bool) -> None:
        """Separates ``mixture`` into the files ``paths`` (source -> path) while the network runs, recording
        each source's peak in ``peaks``."""
        folder = os.path.dirname(next(iter(paths.values())))
        with contextlib.ExitStack() as files:
            writers = {source: files.enter_context(audio_writer.AudioWriter(path, header.sample_rate, mixture.shape[1]))
                       for source, path in paths.items()}
            encoders = files.enter_context(concurrent.futures.ThreadPoolExecutor(len(writers)))  # side by side
            writing: List[concurrent.futures.Future] = []  # the last chunk's blocks, one per source

            def write_block(source: str, block: np.ndarray) -> None:
                peaks[source] = max(peaks[source], float(np.abs(block).max(initial=0.0)))
                writers[source].write(block)

            def write(blocks: Dict[str, np.ndarray]) -> None:  # the separator goes on while they are written
                for future in writing:
                    future.result()  # in order, one chunk in flight; raises the write's error
                writing[:] = [encoders.submit(write_block, source, block) for source, block in blocks.items()]

            if not progress:  # tqdm is not even imported (a fiftieth of a second of a short file's separation)
                self.separate(mixture, header.sample_rate, sink=write)
            else:
                from tqdm import tqdm
                with tqdm(total=round(header.duration, 1), desc=os.path.basename(folder), unit="s", leave=False,
                          file=sys.stdout, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s") as seconds_done:
                    self.separate(mixture, header.sample_rate, sink=write,
                                  progress=lambda samples: seconds_done.update(samples / header.sample_rate))
            for future in writing:
                future.result()
