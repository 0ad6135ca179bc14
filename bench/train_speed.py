"""Separator steps per second for cfg.sup and cfg.semi_sup, the time spent waiting for input, and FLOP efficiency.

    python -m bench.train_speed [--steps N] [--configs paper,demo]
"""
import argparse
import os
import time

import keras

from bench.common import Timer, demo_corpus, report


def step_flops(model, config) -> float:
    """FLOPs of one training step: forward + backward (~3x forward) of every network evaluation."""
    from bench.flops import forward_flops
    batch, k = config["batch_size"], len(config["sources"])
    separator = forward_flops(model.separator)
    if not config["semi_supervised"]:
        return 3 * separator * batch
    critic = forward_flops(next(iter(model.critics.values())))
    n = config["n_critic"]
    critic_updates = n * batch * (separator + k * (3 * 2 * critic + 3 * 3 * critic))  # real+fake, penalty (2nd order)
    separator_update = 3 * batch * (2 * separator + k * critic)
    return critic_updates + separator_update


def measure(label: str, semi: bool, steps: int):
    import tensorflow as tf

    from Input.streams.memory import stream_source_for
    from Input.datasets.partition import partitions_from_config
    from Input.streams.settings import StreamSettings
    from Input.streams.training_input import TrainingInput
    from Models.build import build_training_model
    from bench.configs import config_for
    config = config_for(label, semi_supervised=semi)
    model, geometry = build_training_model(config)
    partitions, settings = partitions_from_config(config), StreamSettings.from_config(config)
    source, _ = stream_source_for(partitions, config["sources"], semi, geometry, settings, config["stream_source"])
    data = TrainingInput(partitions, config["sources"], geometry, settings, 1, semi, config["n_critic"],
                         in_memory=source == "memory", progress=False).segment(0)
    config = dict(config, stream_source=source)
    first = next(iter(data))
    synthetic = tf.data.Dataset.from_tensors(first).repeat()
    model.fit(synthetic, steps_per_epoch=1, epochs=1, verbose=0)  # trace and build once
    with Timer() as compute:
        model.fit(synthetic, steps_per_epoch=steps, epochs=1, verbose=0)
    # Real streams: time only the steps after the excerpt caches have filled, as deep in an epoch.
    clock = StepClock(warmup=3)
    model.fit(data, steps_per_epoch=steps + clock.warmup, epochs=1, verbose=0, callbacks=[clock])
    step, real_step = compute.seconds / steps, clock.seconds / steps
    return config, model, step, real_step, max(0.0, 1 - step / real_step)


class StepClock(keras.callbacks.Callback):
    """Times the training batches after the first ``warmup`` ones."""

    def __init__(self, warmup: int):
        super().__init__()
        self.warmup, self.start, self.seconds = warmup, 0.0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.warmup:
            self.start = time.perf_counter()
        elif batch + 1 > self.warmup:
            self.seconds = time.perf_counter() - self.start


def main(argv=None):
    from bench.flops import peak_gflops
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--configs", default="paper,demo")
    args = parser.parse_args(argv)
    demo_corpus()
    peaks = peak_gflops()
    rows = []
    for label in args.configs.split(","):
        for semi in (False, True):
            steps = max(2, args.steps // (4 if label == "paper" else 1))
            config, model, step, real_step, waiting = measure(label, semi, steps)
            gflops = step_flops(model, config) / step / 1e9
            rows.append([label, "semi_sup" if semi else "sup", config["stream_source"], config["batch_size"], steps,
                         1 / step, config["batch_size"] / step, 1 / real_step, f"{100 * waiting:.1f}%", gflops])
    report("train_speed", "Training throughput", ["config", "method", "streams", "batch", "steps", "steps/s (compute)",
           "examples/s", "steps/s (with input)", "waiting for input", "achieved GFLOP/s"], rows,
           f"python -m bench.train_speed --steps {args.steps} --configs {args.configs}",
           "Peak in the same run: " + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in peaks.items()) +
           ". 'compute' repeats one batch from memory; 'with input' reads the real streams; waiting = 1 - compute/with input.")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
