"""How a chunk's estimates become waveforms: one strategy per band extension, behind one interface.

- :class:`BandLimitedOutput` (``none``): the model's log1p estimates with the model-rate mixture phase,
  inverted and resampled to the input's rate, as the paper's pipeline writes them;
- :class:`FullBandOutput` (``average``, ``zeros``): the estimates become masks on each input channel's own
  STFT at the input's rate, extended above the model's band (:mod:`Models.full_band`).

The separator calls, per chunk and in order: :meth:`analyse` (on its worker thread, ahead), :meth:`prepare`
(on its own thread, after the network) and the returned job (on the worker thread), which gives each source's
waveform ``(samples, channels)`` from the chunk's first input sample.
"""
import concurrent.futures
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from Models.chunks import Chunk
from Models.full_band import (InputGrid, masks_on_input_grid, own_share, source_masks, synthesise,
                              windowed_frames)
from Utils import audio as audio_io
from Utils.fft import irfft, rfft
from Utils.spectral import from_model_space, istft_numpy, stft_numpy, to_model_space

CORES = os.cpu_count() or 1  # groups of channels masked side by side
FULL_BAND_FRAMES = 512  # input STFT frames masked at once (12 s at 44.1 kHz): bounds the full-band work's memory
Waveforms = List[np.ndarray]


class BandOutput:
    """The interface: the model-rate analysis of the input, and the waveforms of a chunk's estimates.

    Args:
        settings: the saved separator's settings (``sample_rate``, ``n_fft``, ``hop``).
        sources: source names, in the order of the waveforms.
    """

    def __init__(self, settings: Dict, sources: Sequence[str]):
        self.rate, self.n_fft, self.hop = settings["sample_rate"], settings["n_fft"], settings["hop"]
        self.sources = list(sources)

    def _spectrum(self, segment: np.ndarray, sample_rate: int) -> np.ndarray:
        """The complex STFT ``(channels, bins, frames)`` of input samples resampled to the model rate."""
        return stft_numpy(audio_io.resample(segment, sample_rate, self.rate).T, self.n_fft, self.hop)

    def analyse(self, segment: np.ndarray, sample_rate: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """The log1p magnitudes ``(channels, bins, frames)`` at the model rate of ``(samples, channels)`` input
        samples, and what :meth:`prepare` needs of them besides."""
        raise NotImplementedError

    def prepare(self, chunk: Chunk, first_frame: int, estimates: Dict[str, np.ndarray], log_magnitude: np.ndarray,
                extra: Optional[np.ndarray], audio: np.ndarray, sample_rate: int, first: bool,
                last: bool) -> Callable[[], Waveforms]:
        """The job that turns a chunk's estimates (log1p, model frames ``first_frame`` onwards, as
        ``log_magnitude``) into waveforms; called once per chunk, in order."""
        raise NotImplementedError


class BandLimitedOutput(BandOutput):
    """``none``: estimates with the mixture's phase at the model rate, inverted, resampled to the input's."""

    def analyse(self, segment, sample_rate):
        spectrum = self._spectrum(segment, sample_rate)
        magnitude = np.abs(spectrum)
        # The phase as unit complex numbers; zero where the mixture is exactly zero (digital silence stays silent).
        return to_model_space(magnitude), spectrum / np.where(magnitude > 0, magnitude, 1.0)

    def prepare(self, chunk, first_frame, estimates, log_magnitude, extra, audio, sample_rate, first, last):
        length = chunk.read_stop - chunk.read_start
        return lambda: self._synthesise(estimates, extra, sample_rate, length)

    def _synthesise(self, estimates: Dict[str, np.ndarray], phasor: np.ndarray, sample_rate: int,
                    length: int) -> Waveforms:
        """Per source, the waveform at ``sample_rate`` for ``length`` input samples (the resampler may give one
        sample more or less)."""
        magnitudes = from_model_space(np.stack([estimates[source] for source in self.sources]))
        waveforms = istft_numpy(magnitudes * phasor, self.n_fft, self.hop,
                                audio_io.resampled_length(length, sample_rate, self.rate))
        # Interleaved (samples, channels) before resampling, where it is 5 times shorter: soxr then returns the
        # layout of the output files, and adding chunks into them is a plain copy, not a transposing one.
        return audio_io.resample_all(list(np.swapaxes(waveforms, 1, 2)), self.rate, sample_rate)


class FullBandOutput(BandOutput):
    """``average`` or ``zeros``: masks on each input channel's own STFT (:mod:`Models.full_band`).

    Args:
        settings, sources: as :class:`BandOutput`.
        band_extension: ``average`` or ``zeros``.
        mask_rule: ``ratio`` or ``mixture`` (:func:`Models.full_band.source_masks`).
        sample_rate: the input's rate (its STFT grid).
        network_channels: ``each`` (masks from each channel's estimates) or ``mid`` (the network hears the
            channels' mean, and its masks apply to every channel).
    """

    def __init__(self, settings: Dict, sources: Sequence[str], band_extension: str, mask_rule: str, sample_rate: int,
                 network_channels: str):
        super().__init__(settings, sources)
        self.band_extension, self.mask_rule, self.network_channels = band_extension, mask_rule, network_channels
        self.grid = InputGrid.for_input(sample_rate, self.rate, self.n_fft, self.hop)
        self.carried = None  # the previous chunk's last frame, between which and this chunk's first masks interpolate

    def analyse(self, segment, sample_rate):
        if self.network_channels == "mid":  # one channel: its masks (sources, 1, ...) broadcast over the channels
            segment = audio_io.downmix(segment)
        return to_model_space(np.abs(self._spectrum(segment, sample_rate))), None  # the phase: the input STFT's

    def prepare(self, chunk, first_frame, estimates, log_magnitude, extra, audio, sample_rate, first, last):
        owned = slice(chunk.first_frame - first_frame, chunk.stop_frame - first_frame)
        own = np.stack([estimates[s][..., owned] for s in self.sources] + [log_magnitude[..., owned]])
        magnitudes = np.expm1(own if self.carried is None else np.concatenate([self.carried, own], -1))
        masks = source_masks(magnitudes[:-1], magnitudes[-1], self.mask_rule)  # the last row: the mixture
        self.carried = own[..., -1:]
        first_model_frame = chunk.first_frame - (not first)
        return lambda: self._masked_input(chunk, masks, first_model_frame, audio, first, last)

    def _masked_input(self, chunk: Chunk, masks: np.ndarray, first_model_frame: int, audio: np.ndarray, first: bool,
                      last: bool) -> Waveforms:
        """Per source, the chunk's own input STFT frames times the source's mask, inverted.

        The chunk owns the input frames whose centres lie between model frames ``first_frame - 1`` and
        ``stop_frame - 1`` (the first and last chunks: to the song's ends); ``masks`` holds model frames
        ``first_model_frame`` onwards. The channels are worked on side by side, in groups (one per core), each
        ``FULL_BAND_FRAMES`` frames at a time (bounded memory). With ``average``, one source is the chunk's
        share of the input less the others, so that the sources add up to the input: with ``ratio`` masks
        (adding up to 1) this is its own masked inverse, without an inverse FFT; with ``mixture`` masks it
        takes what the others leave."""
        grid, length = self.grid, len(audio)
        owned = (0 if first else grid.first_frame_at_or_after(chunk.first_frame - 1),
                 grid.frame_count(length) if last else grid.first_frame_at_or_after(chunk.stop_frame - 1))
        # Channels first inside (the FFTs' layout): one transposing copy in, and one out as the outputs are written.
        chunk_audio = np.ascontiguousarray(audio[chunk.read_start:chunk.read_stop].T)
        outputs = [np.empty(chunk_audio.shape, np.float32) for _ in self.sources]  # all written by _mask_channels
        # With 'average', one source is the input's share less the others': the last that estimates anything
        # (a dead head's mask is zero, and its output stays exactly silent).
        live = np.flatnonzero(masks.reshape(len(masks), -1).any(axis=1))
        residual = int(live[-1]) if self.band_extension == "average" else None
        channels = len(chunk_audio)
        groups = [slice(group[0], group[-1] + 1) for group in np.array_split(np.arange(channels), CORES)
                  if len(group)]
        work = [(chunk_audio[group], masks if len(masks[0]) == 1 else masks[:, group], [out[group] for out in outputs],
                 residual) for group in groups]  # a mid channel's masks (one channel) serve every channel
        with concurrent.futures.ThreadPoolExecutor(len(work)) as pool:  # numpy and the FFTs release the GIL
            list(pool.map(lambda job: self._mask_channels(*job, owned, chunk.read_start, first_model_frame, length),
                          work))
        return [output.T for output in outputs]

    def _mask_channels(self, chunk_audio: np.ndarray, masks: np.ndarray, outputs: Waveforms, residual: Optional[int],
                       owned: Tuple[int, int], read: int, first_model_frame: int, length: int) -> None:
        """Writes into ``outputs`` (per source, ``(channels, samples)`` from input sample ``read`` on) the masked
        inverse of input frames ``owned`` of ``chunk_audio``'s channels, under ``masks`` (theirs, or one channel's
        for all), and zeros elsewhere; source ``residual`` (or none) takes the input's share less the others'."""
        grid, half = self.grid, self.grid.n_fft // 2
        masked_ones = [k for k in range(len(masks)) if k != residual]
        first = covered = None  # the samples written so far: [first, covered)

        def place(output: np.ndarray, waveform: np.ndarray, lo: int, split: int, hi: int, start: int) -> None:
            """A source's samples ``[lo, hi)`` from a block starting at ``start``: added before ``split`` (where the
            last block wrote: their frames overlap), written from it on."""
            output[:, lo - read:split - read] += waveform[:, lo - start:split - start]
            output[:, split - read:hi - read] = waveform[:, split - start:hi - start]

        for begin in range(owned[0], owned[1], FULL_BAND_FRAMES):
            frames = (begin, min(begin + FULL_BAND_FRAMES, owned[1]))
            start, stop = frames[0] * grid.hop - half, (frames[1] - 1) * grid.hop + half
            lo, hi = max(start, 0), min(stop, length)
            assert read <= lo and hi <= read + chunk_audio.shape[1], (read, lo, hi)  # the margin covers the frames
            segment = chunk_audio[:, lo - read:hi - read]
            if (lo, hi) != (start, stop):  # the song's edges (np.pad copies even when it adds nothing)
                segment = np.pad(segment, [(0, 0), (lo - start, stop - hi)])
            spectrum = rfft(windowed_frames(segment, grid))  # (channels, frames, bins)
            on_grid = masks_on_input_grid(masks[masked_ones], first_model_frame, grid, frames, self.band_extension)
            masked = spectrum[None] * on_grid  # (sources, channels, frames, bins)
            inverted = synthesise(irfft(masked, grid.n_fft), grid)
            split = lo if covered is None else max(lo, covered)
            for k, waveform in zip(masked_ones, inverted):
                place(outputs[k], waveform, lo, split, hi, start)
            if residual is not None:  # the unmasked inverse is the input itself, but at the song's edges
                place(outputs[residual], own_share(segment, grid) - inverted.sum(0), lo, split, hi, start)
            first, covered = lo if first is None else first, hi
        for output in outputs:
            output[:, :(read if first is None else first) - read] = 0.0
            output[:, (read if covered is None else covered) - read:] = 0.0


def band_output(band_extension: str, mask_rule: str, network_channels: str, settings: Dict, sources: Sequence[str],
                sample_rate: int) -> BandOutput:
    """The strategy of ``band_extension`` for one recording at ``sample_rate`` (``network_channels``: full band)."""
    if band_extension == "none":
        return BandLimitedOutput(settings, sources)
    return FullBandOutput(settings, sources, band_extension, mask_rule, sample_rate, network_channels)
