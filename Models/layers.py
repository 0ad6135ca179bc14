"""Small serialisable layers shared by the separator and critics (no Lambda, so models load with safe_mode)."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="adversarial_separation")
class CentreCropLike(keras.layers.Layer):
    """Crops the first input equally on both spatial sides to the spatial size of the second.

    Inputs: ``[x, reference]``, both ``(batch, freq, frames, channels)``; the difference in each
    spatial size must be even (valid convolutions remove the same amount on both sides).
    """

    def call(self, inputs):
        x, reference = inputs
        return centre_crop(x, reference.shape[1], reference.shape[2])

    def compute_output_shape(self, input_shapes):
        x, reference = input_shapes
        return (x[0], reference[1], reference[2], x[3])


def centre_crop(x, freq: int, frames: int):
    """Centre crop of ``(batch, freq, frames, channels)`` to ``(freq, frames)``."""
    f0 = (x.shape[1] - freq) // 2
    t0 = (x.shape[2] - frames) // 2
    if (x.shape[1] - freq) % 2 or (x.shape[2] - frames) % 2 or f0 < 0 or t0 < 0:
        raise ValueError(f"cannot centre-crop {tuple(x.shape[1:3])} to {(freq, frames)}")
    return x[:, f0:f0 + freq, t0:t0 + frames, :]


@keras.saving.register_keras_serializable(package="adversarial_separation")
def leaky_relu(x):
    """LeakyReLU(0.2) as max(0.2x, x), the authors' form (TF's fused LeakyRelu trips grappler in double backprop)."""
    return ops.maximum(0.2 * x, x)


@keras.saving.register_keras_serializable(package="adversarial_separation")
class NonNegativeGlorotUniform(keras.initializers.GlorotUniform):
    """Glorot-uniform magnitudes with positive signs (the separator's ``head_init="non_negative"``)."""

    def __call__(self, shape, dtype=None):
        return ops.abs(super().__call__(shape, dtype))
