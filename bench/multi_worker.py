"""Demo training with one worker and with two local workers (cfg.distribute=multi_worker on 127.0.0.1).

    python -m bench.multi_worker [--steps 60] [--rounds 2]

Each case is a whole ``Training.py`` run of ``cfg.demo`` (global batch 8: 4 examples per worker with two)
for one epoch of ``--steps`` separator steps, timed in turn with the others over ``--rounds`` rounds;
its speed is the chief's Keras epoch line (time per step, start-up excluded). On one 2-core machine the
two workers share the cores and talk over loopback: this shows the strategy's overhead, not a gain.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from bench.common import ROOT, report
from Runs.cluster import free_ports

EPOCH_LINE = re.compile(r"^(\d+)/\1 - \d+s - ([\d.]+)(ms|s)/step", re.MULTILINE)


def steps_per_second(method: str, workers: int, steps: int) -> float:
    """The chief's training steps per second in one run of ``cfg.<method> cfg.demo`` over ``workers`` processes."""
    arguments = [sys.executable, os.path.join(ROOT, "Training.py"), "with", f"cfg.{method}", "cfg.demo",
                 f"cfg.epoch_it={steps}", "cfg.max_epochs=1", f"cfg.checkpoint_every={steps}", "evaluate=False",
                 "progress=False", "seed=1"]
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, "data"))
        os.symlink(os.path.join(ROOT, "data", "demo"), os.path.join(folder, "data", "demo"))
        ports = free_ports(workers)
        processes = []
        for index in range(workers):
            environment = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
            extra = []
            if workers > 1:
                environment["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                                       "task": {"type": "worker", "index": index}})
                extra = ["cfg.distribute=multi_worker"]
            processes.append(subprocess.Popen(arguments + extra, cwd=folder, env=environment, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError(f"{method} with {workers} workers failed:\n{outputs[0][-2000:]}")
    match = EPOCH_LINE.search(outputs[0])
    seconds = float(match.group(2)) / (1000.0 if match.group(3) == "ms" else 1.0)
    return 1.0 / seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    cases = [(method, workers) for method in ("sup", "semi_sup") for workers in (1, 2)]
    speeds = {case: [] for case in cases}
    for _ in range(args.rounds):
        for case in cases:
            speeds[case].append(steps_per_second(*case, args.steps))
            print(case, f"{speeds[case][-1]:.2f} steps/s", flush=True)
    rows = []
    for method, workers in cases:
        values = speeds[(method, workers)]
        single = float(np.median(speeds[(method, 1)]))
        rows.append([method, workers, 8 // workers, round(float(np.median(values)), 2),
                     " / ".join(f"{v:.2f}" for v in values), round(float(np.median(values)) * 8, 1),
                     f"{np.median(values) / single:.2f}x"])
    report("multi_worker", "Demo training on one and on two local workers",
           ["method", "workers", "examples per worker", "steps/s (median)", "steps/s per round", "examples/s",
            "vs 1 worker"], rows, f"python -m bench.multi_worker --steps {args.steps} --rounds {args.rounds}",
           "Each row is the chief's time per step in the epoch line of a whole run (cfg.demo, global batch 8), "
           "the cases timed in turn. Both workers run on the same 2 cores and exchange gradients over "
           "127.0.0.1, so the second worker adds work and communication, not compute: this is the strategy's "
           "overhead. On separate machines each worker would bring its own cores.")


if __name__ == "__main__":
    main()
