"""Separator steps per second for cfg.sup and cfg.semi_sup, the time spent waiting for input, and FLOP efficiency.

    python -m bench.train_speed [--steps N] [--configs paper,demo] [--runs 5] [--xla]

With ``--runs N`` each row is measured in N processes of its own, one after the other (processes of one
command differ in speed on a shared host): the table gives the median and the spread (slowest to fastest,
as a share of the median), and each process's figure. ``--xla`` adds each row with the train step compiled
by XLA (``jit_compile``).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np

from bench.common import ROOT, demo_corpus, report


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


def measure(label: str, semi: bool, steps: int, xla: bool = False):
    import tensorflow as tf

    from Input.streams.memory import stream_source_for
    from Input.datasets.partition import partitions_from_config
    from Input.streams.settings import StreamSettings
    from Input.streams.training_input import TrainingInput
    from Models.build import build_training_model
    from bench.configs import config_for
    config = config_for(label, semi_supervised=semi)
    model, geometry = build_training_model(config)
    model.jit_compile = xla
    partitions, settings = partitions_from_config(config), StreamSettings.from_config(config)
    source, _ = stream_source_for(partitions, config["sources"], semi, geometry, settings, config["stream_source"])
    data = TrainingInput(partitions, config["sources"], geometry, settings, 1, semi, config["n_critic"],
                         in_memory=source == "memory", progress=False).segment(0)
    config = dict(config, stream_source=source)
    first = next(iter(data))
    synthetic = tf.data.Dataset.from_tensors(first).repeat()
    model.fit(synthetic, steps_per_epoch=1, epochs=1, verbose=0)  # trace and build once
    # Steady steps only, as deep in a run: in some processes the first 2-3 s of steps ran a quarter slower
    # (and fit's start took 0.5 s), which gave 11.8 instead of 16-19 steps/s when fit was timed whole.
    compute = StepClock(warmup=max(3, steps // 3))
    model.fit(synthetic, steps_per_epoch=steps + compute.warmup, epochs=1, verbose=0, callbacks=[compute])
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


def measured_row(label: str, semi: bool, steps: int, xla: bool) -> dict:
    """One row's figures, measured in this process."""
    config, model, step, real_step, waiting = measure(label, semi, steps, xla)
    return {"streams": config["stream_source"], "batch": config["batch_size"], "compute": 1 / step,
            "with_input": 1 / real_step, "waiting": waiting, "gflops": step_flops(model, config) / step / 1e9}


def row_in_processes(label: str, semi: bool, steps: int, xla: bool, runs: int) -> dict:
    """The row measured in ``runs`` processes of its own: the median of each figure, and the spread of
    'compute' (slowest to fastest over the median)."""
    results = []
    for _ in range(runs):
        command = [sys.executable, "-m", "bench.train_speed", "--one", json.dumps([label, semi, steps, xla])]
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    median = {key: float(np.median([r[key] for r in results])) for key in ("compute", "with_input", "waiting", "gflops")}
    compute = [r["compute"] for r in results]
    return dict(results[0], **median, spread=(max(compute) - min(compute)) / median["compute"], each=compute)


def main(argv=None):
    from bench.flops import peak_gflops
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--configs", default="paper,demo")
    parser.add_argument("--runs", type=int, default=1, help="processes per row (median and spread)")
    parser.add_argument("--xla", action="store_true", help="also each row with jit_compile")
    parser.add_argument("--name", default="train_speed", help="the result files' name (bench/results/NAME.md)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one row, printed as JSON
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measured_row(*json.loads(args.one))), flush=True)
        os._exit(0)  # the figures are out; TensorFlow 2.16's teardown aborts here ("free(): invalid pointer")
    demo_corpus()
    peaks = peak_gflops()
    rows = []
    for label in args.configs.split(","):
        for semi in (False, True):
            for xla in (False, True) if args.xla else (False,):
                steps = max(2, args.steps // (4 if label == "paper" else 1))
                row = (row_in_processes(label, semi, steps, xla, args.runs) if args.runs > 1
                       else dict(measured_row(label, semi, steps, xla), spread=None, each=[]))
                rows.append([label, "semi_sup" if semi else "sup", "on" if xla else "off", row["streams"], row["batch"],
                             steps, row["compute"], row["batch"] * row["compute"], row["with_input"],
                             f"{100 * row['waiting']:.1f}%", row["gflops"],
                             "-" if row["spread"] is None else f"{100 * row['spread']:.0f}%",
                             " ".join(f"{value:.3g}" for value in row["each"]) or "-"])
    report(args.name, "Training throughput", ["config", "method", "XLA", "streams", "batch", "steps",
           "steps/s (compute)", "examples/s", "steps/s (with input)", "waiting for input", "achieved GFLOP/s",
           "spread", "each process's steps/s"], rows,
           f"python -m bench.train_speed --steps {args.steps} --configs {args.configs} --runs {args.runs}"
           + (" --xla" if args.xla else "") + (f" --name {args.name}" if args.name != "train_speed" else ""),
           "Peak in the same run: " + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in peaks.items()) +
           ". 'compute' repeats one batch from memory; 'with input' reads the real streams; waiting = 1 - compute/with "
           "input. With several processes per row: medians, and the spread of 'compute' (slowest to fastest over the "
           "median). " + thread_pools())


def thread_pools() -> str:
    """TensorFlow's thread pools as set here (its version, vector units and oneDNN are on the machine line)."""
    import tensorflow as tf
    return (f"Threads: intra-op {tf.config.threading.get_intra_op_parallelism_threads() or 'default'}, inter-op "
            f"{tf.config.threading.get_inter_op_parallelism_threads() or 'default'}.")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
