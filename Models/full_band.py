"""Full-band output: the model's estimates (mono, at its own rate and band) become soft masks on the STFT
of each input channel at the input's own rate.

The model's estimates come from each input channel (``each``), or from the channels' mean, the mid
channel, whose masks then apply to every channel (``mid``: the network runs once instead of once per
channel). The masks are each source's estimated magnitude over the sum of all estimates (``ratio``, the default),
so they add up to 1 at every point and the sources add up to the input (the inverse STFT divides by the
overlap-added squared window, which inverts an unmasked STFT exactly); or over the mixture's magnitude,
at most 1 (``mixture``, with the last source taking what the others leave). The demo's validation
songs chose between them (bench/results/full_band_masks.md). They are interpolated linearly from the
model's frames and bins to the input's; above the model's band (4096 Hz for the paper's 8192 Hz) a
band extension decides:

- ``average``: each source keeps, per frame, its mean mask over the model's top 1 kHz (cymbals and
  sibilants go where that region's energy went); the sources add up to the input;
- ``zeros``: nothing above the model's band (a band-limited output on the input's own STFT);
- ``none`` (not handled here): the model's band-limited estimates with the model-rate mixture phase,
  resampled to the input's rate, as the paper's pipeline writes them.

Input STFT frames are centred on multiples of ``hop`` from sample 0, the same grid for a whole song
and for each chunk of it, so that separating in chunks gives the whole song's output: each frame
belongs to one chunk, and its windowed inverse is added into the output.
"""
import dataclasses
import math
from typing import Tuple

import numpy as np

from Utils.spectral import hann_window

BAND_EXTENSIONS = ("average", "zeros", "none")  # what Separator, Separate.py and cfg.band_extension take
DEFAULT_BAND_EXTENSION = "average"  # chosen on the demo's validation songs (bench/results/band_extension.md)
TOP_BAND_HZ = 1000.0  # the model's top band whose mean mask the 'average' extension carries upwards
NETWORK_CHANNELS = ("each", "mid")  # the network hears each input channel, or once their mean (half the network's work)
DEFAULT_NETWORK_CHANNELS = "each"  # mid lost 0.7 dB on every stereo validation song (bench/results/network_channels.md)
MASK_RULES = ("ratio", "mixture")  # what each source's estimate is divided by: the sum of the estimates, or the mixture
DEFAULT_MASK_RULE = "ratio"  # chosen on the demo's validation songs (bench/results/full_band_masks.md)


@dataclasses.dataclass(frozen=True)
class InputGrid:
    """The STFT of the input at its own rate: about the model's window length in seconds, a power of two.

    Attributes:
        n_fft: window and FFT length at the input's rate.
        hop: hop at the input's rate (half a window: the inverse divides by the overlap-added squared
            window, so any hop inverts exactly; a quarter window took 1.8x the time for 0.08 dB more mean
            validation SDR on the demo songs).
        sample_rate: the input's rate.
        model_rate: the model's rate.
        model_n_fft: the model's FFT length.
        model_hop: the model's hop.
    """
    n_fft: int
    hop: int
    sample_rate: int
    model_rate: int
    model_n_fft: int
    model_hop: int

    @classmethod
    def for_input(cls, sample_rate: int, model_rate: int, model_n_fft: int, model_hop: int) -> "InputGrid":
        n_fft = 2 ** max(4, round(math.log2(model_n_fft * sample_rate / model_rate)))
        return cls(n_fft, n_fft // 2, sample_rate, model_rate, model_n_fft, model_hop)

    def frame_count(self, length: int) -> int:
        """Frames of a ``length``-sample song: centred on multiples of ``hop`` from sample 0, until every
        sample lies in two of them."""
        return -(-length // self.hop) + 1

    def first_frame_at_or_after(self, model_frame: int) -> int:
        """The first input frame whose centre is not before model frame ``model_frame``'s centre."""
        # centre of input frame j: j * hop / sample_rate seconds; of model frame i: i * model_hop / model_rate
        return -(-model_frame * self.model_hop * self.sample_rate // (self.hop * self.model_rate))

    def model_positions(self, first: int, stop: int) -> np.ndarray:
        """Fractional model frames at the centres of input frames ``[first, stop)``."""
        return np.arange(first, stop) * (self.hop * self.model_rate / (self.sample_rate * self.model_hop))

    def window(self) -> np.ndarray:
        """The periodic Hann window of the input's STFT, the one :mod:`Utils.spectral` uses."""
        return hann_window(self.n_fft)

    def model_bin_positions(self) -> np.ndarray:
        """Fractional model bins at the frequencies of the input's bins."""
        return np.arange(self.n_fft // 2 + 1) * (self.sample_rate * self.model_n_fft / (self.n_fft * self.model_rate))


def ratio_masks(magnitudes: np.ndarray) -> np.ndarray:
    """Each source's share of the estimated magnitude: ``(sources, ...)`` in, masks adding up to 1 out.

    Where every estimate is zero, the sources that estimate anything elsewhere share equally; a source
    whose estimates are all zero (a dead output head) gets no share anywhere, so its output is silent."""
    live = magnitudes.reshape(len(magnitudes), -1).any(axis=1)
    if not live.any():
        live[:] = True
    total = magnitudes.sum(axis=0, keepdims=True)
    equal = (live / live.sum()).astype(np.float32).reshape((-1,) + (1,) * (magnitudes.ndim - 1))
    shares = np.empty(magnitudes.shape, np.float32)
    shares[...] = equal
    return np.divide(magnitudes, total, out=shares, where=total > 0)


def mixture_masks(magnitudes: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    """Each source's estimated magnitude over the mixture's, at most 1 (0 where the mixture is 0):
    ``(sources, ...)`` and ``(...)`` in, ``(sources, ...)`` masks out."""
    return np.minimum(magnitudes / np.where(mixture > 0, mixture, np.inf), 1.0).astype(np.float32)


def source_masks(magnitudes: np.ndarray, mixture: np.ndarray, rule: str) -> np.ndarray:
    """The masks of ``rule`` (:data:`MASK_RULES`) for estimated magnitudes ``(sources, ...)`` of a mixture ``(...)``."""
    if rule == "ratio":
        return ratio_masks(magnitudes)
    if rule == "mixture":
        return mixture_masks(magnitudes, mixture)
    raise ValueError(f"mask rule {rule!r}: use one of {', '.join(MASK_RULES)}")


def masks_on_input_grid(masks: np.ndarray, first_model_frame: int, grid: InputGrid, frames: Tuple[int, int],
                        extension: str) -> np.ndarray:
    """Model-resolution masks interpolated onto input frames, with the band extension above the model's band.

    Args:
        masks: ``(sources, channels, model bins, model frames)`` from :func:`ratio_masks`, holding
            model frames ``first_model_frame`` onwards; it must hold the two frames around each input
            frame's centre (the last model frame is repeated beyond the song's end).
        first_model_frame: the song's model frame of ``masks[..., 0]``.
        grid: the input's STFT grid.
        frames: input frames ``[first, stop)``.
        extension: ``average`` or ``zeros``.

    Returns:
        ``(sources, channels, stop - first, input bins)`` masks (frames before bins, as the STFT's frames).
    """
    positions = np.clip(grid.model_positions(*frames) - first_model_frame, 0, masks.shape[-1] - 1)
    low = np.minimum(np.floor(positions).astype(int), masks.shape[-1] - 1)
    high = np.minimum(low + 1, masks.shape[-1] - 1)
    weight = (positions - low).astype(np.float32)[:, None]
    by_frame = np.swapaxes(masks, -1, -2)  # (sources, channels, model frames, model bins)
    in_time = by_frame[..., low, :] * (1 - weight) + by_frame[..., high, :] * weight
    model_bins = masks.shape[-2]
    bins = grid.model_bin_positions()
    inside = bins <= model_bins - 1
    low_bin = np.floor(bins[inside]).astype(int)
    high_bin = np.minimum(low_bin + 1, model_bins - 1)
    bin_weight = (bins[inside] - low_bin).astype(np.float32)
    out = np.empty(in_time.shape[:-1] + (len(bins),), np.float32)
    out[..., :inside.sum()] = in_time[..., low_bin] * (1 - bin_weight) + in_time[..., high_bin] * bin_weight
    if extension == "average":
        top = max(1, round(TOP_BAND_HZ * grid.model_n_fft / grid.model_rate))
        out[..., inside.sum():] = in_time[..., model_bins - top:].mean(axis=-1, keepdims=True)
    elif extension == "zeros":
        out[..., inside.sum():] = 0.0
    else:
        raise ValueError(f"band extension {extension!r}: use one of {', '.join(BAND_EXTENSIONS)}")
    return out


def windowed_frames(segment: np.ndarray, grid: InputGrid) -> np.ndarray:
    """``(channels, frames, n_fft)`` half-overlapping windowed frames of a ``(channels, samples)`` segment of
    ``(frames + 1) * hop`` samples (a reshape, as the hop is half a window, and one pass for the window)."""
    halves = segment.reshape(segment.shape[0], -1, grid.hop)
    window = grid.window()
    frames = np.empty(halves.shape[:1] + (halves.shape[1] - 1, grid.n_fft), np.float32)
    np.multiply(halves[:, :-1], window[:grid.hop], out=frames[..., :grid.hop])
    np.multiply(halves[:, 1:], window[grid.hop:], out=frames[..., grid.hop:])
    return frames


def synthesise(frames: np.ndarray, grid: InputGrid) -> np.ndarray:
    """The inverse STFT's overlap-add: ``(..., frames, n_fft)`` inverse FFTs of half-overlapping frames,
    windowed and added up into ``(..., (frames + 1) * hop)`` samples, divided by :func:`window_power` (folded
    into the window). It is linear, so frames can be inverted in any groups and added up."""
    window = grid.window() / np.tile(window_power(grid), 2)
    out = np.empty(frames.shape[:-2] + (frames.shape[-2] + 1, grid.hop), np.float32)
    np.multiply(frames[..., :grid.hop], window[:grid.hop], out=out[..., :-1, :])
    out[..., -1, :] = 0.0
    out[..., 1:, :] += frames[..., grid.hop:] * window[grid.hop:]
    return out.reshape(frames.shape[:-2] + (-1,))


def own_share(segment: np.ndarray, grid: InputGrid) -> np.ndarray:
    """``(channels, samples)``: what the frames of a ``(channels, samples)`` segment give back unmasked, i.e.
    :func:`synthesise` of its windowed frames' FFTs, without computing them. Inside, two frames cover each
    sample and give it back whole; the first and last hop are covered by one frame each."""
    squared = grid.window() ** 2
    share = segment.copy()
    share[:, :grid.hop] *= squared[grid.hop:] / window_power(grid)
    share[:, -grid.hop:] *= squared[:grid.hop] / window_power(grid)
    return share


def window_power(grid: InputGrid) -> np.ndarray:
    """``(hop,)``: the squared window overlap-added, what the inverse STFT divides by. Every sample of a
    song lies in exactly two frames (centred frames from sample 0 to past the end, half a window apart),
    so it repeats every hop, edges included."""
    squared = grid.window() ** 2
    return squared[:grid.hop] + squared[grid.hop:]
