"""The paper's loss terms, each a small function (Stoller et al. 2018, Sec. 2)."""
from typing import Callable, Dict, Sequence

import tensorflow as tf

from Utils.spectral import from_model_space


def supervised_loss(estimates: Dict[str, tf.Tensor], targets: Dict[str, tf.Tensor], sources: Sequence[str]) -> tf.Tensor:
    """L_s: MSE between estimated and true log1p magnitudes, summed over sources (authors' code)."""
    return tf.add_n([tf.reduce_mean(tf.square(estimates[s] - targets[s])) for s in sources])


def additive_loss(mixture: tf.Tensor, estimates: Dict[str, tf.Tensor], sources: Sequence[str]) -> tf.Tensor:
    """L_add: MSE between the mixture and the sum of the estimates, on linear magnitudes.

    Args:
        mixture: log1p mixture magnitude cropped to the output shape ``(batch, F_out, T_out, 1)``.
        estimates: log1p source estimates of the same shape.
        sources: names of the sources.
    """
    total = tf.add_n([from_model_space(estimates[s]) for s in sources])
    return tf.reduce_mean(tf.square(from_model_space(mixture) - total))


def adversarial_loss(fake_scores: Sequence[tf.Tensor]) -> tf.Tensor:
    """L_u: minus the mean critic score of the separator's estimates, summed over sources."""
    return -tf.add_n([tf.reduce_mean(score) for score in fake_scores])


def gradient_penalty(critic: Callable, real: tf.Tensor, fake: tf.Tensor, seed: tf.Tensor,
                     one_sided: bool = True) -> tf.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017) on points between shuffled real and fake excerpts.

    One interpolation weight per example, uniform in [0, 1]. The gradient norm is
    ``sqrt(sum(g^2) + 1e-12)`` so that it has a finite gradient where ``g`` is zero.

    Args:
        critic: the critic, ``(batch, F, T, 1) -> (batch, 1)``.
        real: real source excerpts ``(batch, F, T, 1)``; shuffled before interpolation (authors).
        fake: separator estimates of the same shape.
        seed: ``[2]`` integers that fix the shuffle and the weights (stateless: the same seed gives the
            same points, whatever other random ops the program holds).
        one_sided: penalise only norms above 1 (the authors' choice); else ``(||g|| - 1)^2``.
    """
    batch = tf.shape(fake)[0]
    weight_seed, shuffle_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    weight = tf.random.stateless_uniform([batch, 1, 1, 1], weight_seed, 0.0, 1.0, dtype=fake.dtype)
    real = tf.gather(real, tf.argsort(tf.random.stateless_uniform([batch], shuffle_seed)))
    points = real + weight * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = critic(points, training=True)
    gradient = tape.gradient(scores, points)
    norm = tf.sqrt(tf.reduce_sum(tf.square(gradient), axis=[1, 2, 3]) + 1e-12)
    excess = tf.nn.relu(norm - 1.0) if one_sided else norm - 1.0
    return tf.reduce_mean(tf.square(excess))
