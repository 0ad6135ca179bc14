"""U-Net separator (Stoller et al. 2018, after Jansson et al. 2017) with valid convolutions.

Spectrogram in, K spectrograms out: the input is the log1p mixture magnitude with time context,
each output is one source's log1p magnitude for the centre frames. Its sizes come from
:func:`Models.geometry.unet_geometry`.
"""
from typing import Sequence

import keras

from Models import HEAD_INITS
from Models.geometry import Geometry
from Models.layers import CentreCropLike, NonNegativeGlorotUniform

HEAD_INITIALIZERS = dict(zip(HEAD_INITS, (keras.initializers.GlorotUniform, NonNegativeGlorotUniform)))


def build_unet(geometry: Geometry, sources: Sequence[str], levels: int, filters: int, head_init: str,
               name: str = "separator") -> keras.Model:
    """The authors' U-Net: conv, then per level max-pool + conv; up-conv, crop-and-concat, conv.

    Args:
        geometry: sizes from :func:`unet_geometry` (with the same ``levels``).
        sources: names of the K sources, one 1x1 ReLU head each.
        levels: down-/up-sampling levels.
        filters: filters of the first conv, doubled at every level (16..256 for 4 levels).
        name: model name.
        head_init: initial kernels of the 1x1 ReLU heads: ``"glorot_uniform"`` (the authors') or
            ``"non_negative"`` (the same scale, all positive). Every input of a head is non-negative (ReLU
            features and the mixture), so a head drawn with negative weights on the mixture and most
            features outputs zero almost everywhere and can go dark for good (a dead head). Only the
            initial weights depend on it.

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
    initializer = HEAD_INITIALIZERS[head_init]()
    outputs = {source: keras.layers.Conv2D(1, 1, activation="relu", dtype="float32", name=source,
                                           kernel_initializer=initializer)(x)
               for source in sources}
    return keras.Model(mixture, outputs, name=name)
