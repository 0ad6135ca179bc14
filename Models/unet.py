"""U-Net separator (Stoller et al. 2018, after Jansson et al. 2017) with valid convolutions.

Spectrogram in, K spectrograms out: the input is the log1p mixture magnitude with time context,
each output is one source's log1p magnitude for the centre frames. Because every 3x3
convolution is 'valid', only some input and output sizes fit together; :func:`unet_geometry` is
the single source of truth for them (the authors' ``getUnetPadding``).
"""
import dataclasses
import math
from typing import Sequence, Tuple

import keras

from Models.layers import CentreCropLike


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


def build_unet(geometry: Geometry, sources: Sequence[str], levels: int = 4, filters: int = 16,
               name: str = "separator") -> keras.Model:
    """The authors' U-Net: conv, then per level max-pool + conv; up-conv, crop-and-concat, conv.

    Args:
        geometry: sizes from :func:`unet_geometry` (with the same ``levels``).
        sources: names of the K sources, one 1x1 ReLU head each.
        levels: down-/up-sampling levels.
        filters: filters of the first conv, doubled at every level (16..256 for 4 levels).
        name: model name.

    Returns:
        ``keras.Model`` mapping ``(batch, F_in, T_in, 1)`` log1p mixture to a dict
        ``{source: (batch, F_out, T_out, 1)}`` of log1p source magnitudes.
    """
    mixture = keras.Input(shape=(*geometry.input_shape, 1), name="mixture")
    conv = dict(kernel_size=3, activation="relu", padding="valid")
    x = keras.layers.Conv2D(filters, name="enc_conv0", **conv)(mixture)
    skips = [x]
    for level in range(levels):
        x = keras.layers.MaxPooling2D(2, name=f"pool{level + 1}")(x)
        x = keras.layers.Conv2D(filters * 2 ** (level + 1), name=f"enc_conv{level + 1}", **conv)(x)
        if level < levels - 1:
            skips.append(x)
    for level in range(levels):
        width = filters * 2 ** (levels - level - 1)
        x = keras.layers.Conv2DTranspose(width, 2, strides=2, activation="relu", padding="valid",
                                         name=f"upconv{level + 1}")(x)
        skip = CentreCropLike(name=f"crop_skip{level + 1}")([skips[-level - 1], x])
        x = keras.layers.Concatenate(name=f"concat{level + 1}")([skip, x])
        x = keras.layers.Conv2D(width, name=f"dec_conv{level + 1}", **conv)(x)
    # Passing the input to the last feature map helps when the net outputs sources directly (authors).
    x = keras.layers.Concatenate(name="concat_input")([CentreCropLike(name="crop_input")([mixture, x]), x])
    outputs = {source: keras.layers.Conv2D(1, 1, activation="relu", dtype="float32", name=source)(x)
               for source in sources}
    return keras.Model(mixture, outputs, name=name)
