"""Excerpts and examples per second of each training stream, at the paper's and the demo's settings.

    python -m bench.input_speed [--batches N]
"""
import argparse
import os

from bench.common import Timer, demo_corpus, report


def measure(batches: int):
    from Input.partition import partitions_from_config
    from Input.streams import StreamSettings, training_stream
    from Models.saved_separator import geometry_for
    from bench.configs import config_for
    rows = []
    for label in ("paper", "demo"):
        config = config_for(label)
        partitions = partitions_from_config(config)
        geometry, settings = geometry_for(config), StreamSettings.from_config(config)
        streams = [("paired", partitions.train_sup, ["mixture", *config["sources"]], False)]
        streams += [(f"unpaired {r}", partitions.train_unsup[r], [r], True) for r in ["mixture", *config["sources"]]]
        for name, tracks, roles, amplify in streams:
            data, _ = training_stream(tracks, roles, geometry, settings, 1, name, amplify=amplify)
            iterator = iter(data)
            with Timer() as fill:
                next(iterator)
            with Timer() as timer:
                for _ in range(batches):
                    next(iterator)
            examples = batches * settings.batch_size / timer.seconds
            rows.append([label, name, settings.batch_size, round(fill.seconds, 2), examples,
                         examples / settings.crops_per_excerpt])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    demo_corpus()
    rows = measure(args.batches)
    report("input_speed", "Input pipeline throughput (demo corpus)",
           ["config", "stream", "batch", "first batch s", "examples/s", "excerpts/s"], rows,
           f"python -m bench.input_speed --batches {args.batches}",
           "A semi-supervised step consumes batch x (1 paired + (n_critic + 1) x (1 + K) unpaired) examples; "
           "compare with bench/results/train_speed.md.")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
