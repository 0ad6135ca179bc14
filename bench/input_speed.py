"""Examples per second of the training streams, from the files and from memory, at the paper's and the
demo's settings: each stream alone, and all of them together as a semi-supervised step consumes them.

    python -m bench.input_speed [--batches N]
"""
import argparse
import os

from bench.common import Timer, demo_corpus, report


def timed(iterator, count: int):
    """Seconds of the first element, and of the ``count`` after it."""
    with Timer() as first:
        next(iterator)
    with Timer() as rest:
        for _ in range(count):
            next(iterator)
    return first.seconds, rest.seconds


def measure(batches: int):
    from Input.datasets.partition import partitions_from_config
    from Input.streams.settings import StreamSettings
    from Input.streams.training_input import TrainingInput
    from Models.saved_separator import geometry_for
    from bench.configs import config_for
    rows = []
    for label in ("paper", "demo"):
        config = config_for(label)
        partitions = partitions_from_config(config)
        geometry, settings = geometry_for(config), StreamSettings.from_config(config)
        step_examples = settings.batch_size * (1 + (config["n_critic"] + 1) * (1 + len(config["sources"])))
        for source in ("files", "memory"):
            with Timer() as load:
                inputs = TrainingInput(partitions, config["sources"], geometry, settings, 1, True, config["n_critic"],
                                       in_memory=source == "memory", progress=False)
            for stream in inputs.streams:
                first, seconds = timed(iter(inputs.stream(stream, 0)), batches)
                examples = batches * settings.batch_size / seconds
                rows.append([label, source, stream.name, settings.batch_size, round(first, 2), examples, "-"])
            steps = max(2, batches // 4)
            first, seconds = timed(iter(inputs.segment(0)), steps)
            rows.append([label, source, "all", settings.batch_size, round(first + load.seconds, 2),
                         steps * step_examples / seconds, round(steps / seconds, 2)])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    demo_corpus()
    rows = measure(args.batches)
    report("input_speed", "Input pipeline throughput (demo corpus)",
           ["config", "source", "stream", "batch", "first batch s", "examples/s", "steps/s fed"], rows,
           f"python -m bench.input_speed --batches {args.batches}",
           "A semi-supervised step consumes batch x (1 paired + (n_critic + 1) x (1 + K) unpaired) examples: "
           "1,216 at the paper's settings, 56 at the demo's. 'all' is every stream together, as the trainer "
           "reads them (its first batch includes loading the songs into memory); 'steps/s fed' is how many "
           "semi-supervised steps per second they can feed. Compare with bench/results/train_speed.md.")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
