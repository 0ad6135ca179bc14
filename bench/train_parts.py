"""Milliseconds of each part of a training step, and oneDNN's convolutions by pass and implementation: what to
compare when a TensorFlow upgrade changes training speed.

    python -m bench.train_parts [--configs demo,paper] [--rounds 8]
    OLD/bin/python -m bench.train_parts --name train_parts_old     # the same parts under another install

Each part is one compiled function on a repeated batch of random inputs, timed in turn (round robin) with the
other parts of its config. The second table comes from a child process run with ``ONEDNN_VERBOSE=1``: one
critic update and one supervised separator update after warm-up, their convolution primitives summed by pass
(forward, backward data, backward weights) and by the implementation oneDNN chose.
"""
import argparse
import collections
import os
import subprocess
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

from bench.common import ROOT, report, timed_in_turn

WARMUP_CALLS = 3
ONEDNN_CALLS = 3  # steady calls of each update the oneDNN table averages
STEADY_MARK, END_MARK = "=== steady:", "=== end"  # the child's markers around the call the oneDNN table sums


def training_parts(label: str) -> Tuple[Dict[str, Tuple[Callable, str]], Dict]:
    """``{part: (compiled function, how many times a semi-supervised step runs it)}`` for a config."""
    import tensorflow as tf

    from Models.build import build_training_model
    from Models.losses import gradient_penalty
    from bench.configs import config_for
    config = config_for(label, semi_supervised=True)
    model, geometry = build_training_model(config)
    batch, n_critic, sources = config["batch_size"], config["n_critic"], config["sources"]
    rng = np.random.default_rng(0)

    def spectrogram(shape):  # a batch of log1p magnitudes
        return tf.constant(rng.random((batch, *shape, 1), np.float32))
    paired = {"mixture": spectrogram(geometry.input_shape),
              **{source: spectrogram(geometry.output_shape) for source in sources}}
    unpaired_mixture = spectrogram(geometry.input_shape)
    real, fake = spectrogram(geometry.critic_shape), spectrogram(geometry.critic_shape)
    source = sources[0]
    critic, seed = model.critics[source], tf.constant([1, 2], tf.int64)

    def critic_first_order():
        with tf.GradientTape() as tape:
            wasserstein = tf.reduce_mean(critic(real, training=True)) - tf.reduce_mean(critic(fake, training=True))
        return tape.gradient(wasserstein, critic.trainable_variables)

    def critic_penalty():
        with tf.GradientTape() as tape:
            penalty = gradient_penalty(critic, real, fake, seed)
        return tape.gradient(penalty, critic.trainable_variables)

    parts = {
        "separator forward (the critics' fakes)": (lambda: model.separator(paired["mixture"], training=False),
                                                   str(n_critic)),
        "critic update (WGAN-GP)": (lambda: model.critic_step(source, real, fake), str(n_critic * len(sources))),
        "- its forward and first-order gradient": (critic_first_order, "-"),
        "- its gradient penalty's gradient (second order)": (critic_penalty, "-"),
        "separator update, semi-supervised": (lambda: model.separator_step(paired, unpaired_mixture), "1"),
        "separator update, supervised": (lambda: model.separator_step(paired), "1 (sup)"),
    }
    return {name: (tf.function(function), count) for name, (function, count) in parts.items()}, config


def part_rows(label: str, rounds: int) -> List[List]:
    """The parts' table rows for a config: each part's milliseconds, median and range over ``rounds`` calls."""
    parts, config = training_parts(label)
    for function, _ in parts.values():
        for _ in range(WARMUP_CALLS):
            function()  # traced, and oneDNN's primitives made
    seconds = timed_in_turn({name: function for name, (function, _) in parts.items()}, rounds)
    return [[label, config["batch_size"], name, parts[name][1], 1000 * float(np.median(times)),
             f"{1000 * min(times):.4g}-{1000 * max(times):.4g}"] for name, times in seconds.items()]


def onednn_child(label: str) -> None:
    """Runs the two updates the oneDNN table sums, each between marker lines (stdout carries oneDNN's lines)."""
    parts, _ = training_parts(label)
    for name in ("critic update (WGAN-GP)", "separator update, supervised"):
        function = parts[name][0]
        for _ in range(WARMUP_CALLS):
            function()
        print(f"{STEADY_MARK}{name}", flush=True)
        for _ in range(ONEDNN_CALLS):
            function()
        print(END_MARK, flush=True)


def onednn_rows(label: str) -> List[List]:
    """oneDNN's convolution milliseconds in one update (a mean of ``ONEDNN_CALLS``), by pass and implementation,
    from a child process."""
    output = subprocess.run([sys.executable, "-m", "bench.train_parts", "--onednn-child", label], cwd=ROOT,
                            env=dict(os.environ, ONEDNN_VERBOSE="1"), capture_output=True, text=True,
                            check=True).stdout
    return [[label, *key, milliseconds] for key, milliseconds in sorted(convolution_times(output).items())]


def convolution_times(verbose: str) -> Dict[Tuple[str, str, str], float]:
    """``{(update, pass, implementation): milliseconds per call}`` of the convolutions in a child's output:
    oneDNN's verbose lines (3.3's ``onednn_verbose,primitive,exec,cpu,...`` and 3.7's with ``v1,``) between
    its markers."""
    totals, update = collections.Counter(), None
    for line in verbose.splitlines():
        if line.startswith((STEADY_MARK, END_MARK)):
            update = line[len(STEADY_MARK):] if line.startswith(STEADY_MARK) else None
            continue
        fields = line.split(",")
        if update is None or not line.startswith("onednn_verbose") or "exec" not in fields:
            continue
        at = fields.index("exec")  # then: engine, primitive, implementation, pass
        if fields[at + 2] == "convolution":
            totals[(update, fields[at + 4], fields[at + 3])] += float(fields[-1]) / ONEDNN_CALLS
    return dict(totals)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="demo,paper")
    parser.add_argument("--rounds", type=int, default=8, help="timed calls of each part, taken in turn")
    parser.add_argument("--name", default="train_parts", help="the result files' name (bench/results/NAME.md)")
    parser.add_argument("--onednn-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.onednn_child:
        onednn_child(args.onednn_child)
        os._exit(0)  # TensorFlow 2.16's teardown aborts at exit ("free(): invalid pointer")
    labels = args.configs.split(",")
    rows = [row for label in labels for row in part_rows(label, args.rounds)]
    onednn = [row for label in labels for row in onednn_rows(label)]
    command = f"python -m bench.train_parts --configs {args.configs} --rounds {args.rounds}" + (
        f" --name {args.name}" if args.name != "train_parts" else "")
    onednn_table = ["## oneDNN's convolutions in one update (ONEDNN_VERBOSE=1, after warm-up)", "",
                    f"Each primitive's own time, summed and averaged over {ONEDNN_CALLS} calls. TensorFlow runs "
                    "independent ops side by side (a critic on real and on fake excerpts), so a sum can exceed the "
                    "update's time.", "",
                    "| config | update | pass | implementation | ms |", "| --- | --- | --- | --- | --- |"]
    onednn_table += [f"| {label} | {update} | {kind} | {implementation} | {ms:.2f} |"
                     for label, update, kind, implementation, ms in onednn] or ["| none: oneDNN is off |||||"]
    report(args.name, "The parts of a training step", ["config", "batch", "part", "runs per semi-supervised step",
           "ms, median", "ms, range"], rows, command,
           f"Each part on a repeated batch of random inputs, {args.rounds} calls taken in turn with the others after "
           "warm-up. The critic parts are one source's critic.\n\n" + "\n".join(onednn_table))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
