"""Analytic FLOP counts of the networks, and the best FLOP rate this machine reaches in TensorFlow."""
import time

import keras
import numpy as np
import tensorflow as tf


def forward_flops(model: keras.Model) -> float:
    """Multiply-adds x 2 of the convolutions and dense layers of one example's forward pass."""
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            total += 2.0 * h * w * c_in * layer.filters * np.prod(layer.kernel_size)
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            total += 2.0 * h * w * c_out * layer.input.shape[-1] * np.prod(layer.kernel_size)
        elif isinstance(layer, keras.layers.Dense):
            total += 2.0 * layer.input.shape[-1] * layer.units
    return total


def peak_gflops(seconds: float = 3.0):
    """Achieved GFLOP/s of a large matmul and a large convolution (float32), best of a few runs."""
    a = tf.random.normal((2048, 2048))
    images = tf.random.normal((16, 128, 128, 64))
    kernel = tf.random.normal((3, 3, 64, 64))
    tests = {"matmul 2048^2": (lambda: tf.linalg.matmul(a, a), 2.0 * 2048 ** 3),
             "conv 3x3 64->64 on 16x128x128": (lambda: tf.nn.conv2d(images, kernel, 1, "SAME"),
                                                2.0 * 16 * 128 * 128 * 64 * 64 * 9)}
    results = {}
    for name, (function, flops) in tests.items():
        compiled = tf.function(function)
        compiled().numpy()
        best, deadline = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            compiled().numpy()
            best = min(best, time.perf_counter() - start)
        results[name] = flops / best / 1e9
    return results


def copy_bandwidth(megabytes: int = 1024, repeats: int = 5) -> float:
    """Best GB/s (read plus write) of copying a large float32 array: the machine's memory speed, on which
    the network's thin layers and the resampling depend more than on the FLOP peak."""
    source = np.ones(megabytes * 2 ** 20 // 4, np.float32)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best / 1e9
