"""DCGAN-style Wasserstein critic, one per source (the authors' ``dcgan`` discriminator)."""
from typing import Tuple

import keras

from Models.layers import leaky_relu


def build_dcgan_critic(input_shape: Tuple[int, int], filters: int, name: str = "critic") -> keras.Model:
    """A critic scoring how real one source's log1p magnitude excerpt looks.

    4x4 stride-2 'same' convolutions with LeakyReLU(0.2), doubling the filters, while both axes
    are longer than 4; then [4, 2] convolutions with stride [2, 1] until frequency is 4 or less;
    then dense 32 with LeakyReLU and a linear, bias-free score.

    Args:
        input_shape: ``(freq, frames)`` of the excerpt (the separator geometry's ``critic_shape``).
        filters: filters of the first convolution.
        name: model name, e.g. ``"vocals_critic"``.

    Returns:
        ``keras.Model`` from ``(batch, freq, frames, 1)`` to scores ``(batch, 1)``.
    """
    excerpt = keras.Input(shape=(*input_shape, 1), name="excerpt")
    x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", activation=leaky_relu, name="conv0")(excerpt)
    index = 1
    while x.shape[1] > 4 and x.shape[2] > 4:
        filters *= 2
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", activation=leaky_relu,
                                name=f"conv{index}")(x)
        index += 1
    while x.shape[1] > 4:
        x = keras.layers.Conv2D(filters, (4, 2), strides=(2, 1), padding="same", activation=leaky_relu,
                                name=f"conv{index}")(x)
        index += 1
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(32, activation=leaky_relu, name="hidden")(x)
    score = keras.layers.Dense(1, use_bias=False, dtype="float32", name="score")(x)
    return keras.Model(excerpt, score, name=name)
