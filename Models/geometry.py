"""The sizes a valid-convolution U-Net reads and writes: plain arithmetic, without Keras, so that the
config can be checked (and printed) before TensorFlow loads.

Because every 3x3 convolution is 'valid', only some input and output sizes fit together;
:func:`unet_geometry` is the single source of truth for them (the authors' ``getUnetPadding``).
"""
import dataclasses
import math
from typing import List, Tuple


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Sizes of the separator's input and output spectrograms, and of the critics' input.

    Attributes:
        input_shape: ``(freq, frames)`` of the mixture the U-Net reads.
        output_shape: ``(freq, frames)`` of each source estimate.
        critic_shape: ``(freq, frames)`` the critics see, a centre crop of the output.
        bins: frequency bins of the STFT (``n_fft // 2 + 1``).
    """
    input_shape: Tuple[int, int]
    output_shape: Tuple[int, int]
    critic_shape: Tuple[int, int]
    bins: int

    @property
    def context_frames(self) -> int:
        """Frames of context the input has on each side of the output."""
        return (self.input_shape[1] - self.output_shape[1]) // 2

    @property
    def input_freq_padding(self) -> Tuple[int, int]:
        """Zero bins added before and after the STFT bins to reach the input height."""
        diff = self.input_shape[0] - self.bins
        return diff // 2, diff - diff // 2

    def window_starts(self, song_frames: int) -> List[int]:
        """Start frames of the output windows that tile a song of ``song_frames`` frames: from frame 0, one
        window after another, and the last one aligned to the song's end (the authors' ``Test.py``); a song
        shorter than a window gets one window."""
        width = self.output_shape[1]
        total = max(song_frames, width)
        starts = list(range(0, total - width + 1, width))
        if starts[-1] + width < total:
            starts.append(total - width)
        return starts

    @property
    def output_freq_offset(self) -> int:
        """Index in the output's frequency axis of STFT bin 0."""
        return self.input_freq_padding[0] - (self.input_shape[0] - self.output_shape[0]) // 2


def unet_geometry(levels: int, desired_output: Tuple[int, int], n_fft: int) -> Geometry:
    """Input and output sizes of a U-Net whose output is at least ``desired_output``.

    Follows the authors' ``getUnetPadding``: walk from the desired output down to the
    bottleneck, round up to an even size, then walk back up. For ``levels=4`` and a desired
    ``(256, 64)`` the input is ``(350, 158)`` and the output ``(258, 66)``.

    Args:
        levels: number of down- (and up-) sampling levels.
        desired_output: ``(freq, frames)``, the critics' input size; usually ``(n_fft // 2, 64)``.
        n_fft: FFT size; the output must hold all ``n_fft // 2 + 1`` bins.

    Raises:
        ValueError: for sizes or levels below 1, or an output that cannot hold the STFT bins.
    """
    if int(levels) != levels or levels < 1:
        raise ValueError(f"U-Net levels must be a positive integer, got {levels!r}")
    if any(int(size) != size or size < 1 for size in desired_output):
        raise ValueError(f"U-Net output size must be positive integers, got {desired_output!r}")
    bottleneck = []
    for size in desired_output:
        remainder = float(size)
        for _ in range(levels):
            remainder = (remainder + 2) / 2
        side = math.ceil(remainder)
        bottleneck.append(side + side % 2)
    output, inputs = list(bottleneck), list(bottleneck)
    for _ in range(levels):
        output = [side * 2 - 2 for side in output]
        inputs = [(side + 2) * 2 for side in inputs]
    inputs = [side + 2 for side in inputs]
    bins = n_fft // 2 + 1
    if output[0] < bins:
        raise ValueError(f"a U-Net output of {output[0]} bins cannot hold the {bins} bins of n_fft={n_fft}; "
                         f"ask for at least {n_fft // 2} output bins")
    return Geometry(tuple(inputs), tuple(output), tuple(int(s) for s in desired_output), bins)


def samples_of(seconds: float, sample_rate: int) -> int:
    """Samples of ``seconds`` of audio, rounded to the nearest one."""
    return int(round(seconds * sample_rate))


def frames_of(seconds: float, sample_rate: int, hop: int) -> int:
    """STFT frames of ``seconds`` of audio (the STFT pads the edges)."""
    return samples_of(seconds, sample_rate) // hop + 1
