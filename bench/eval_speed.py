"""Seconds per track of museval (BSS Eval v4, 1 s windows) on demo test songs, serially and on all cores.

    python -m bench.eval_speed [--tracks N]
"""
import argparse
import concurrent.futures
import multiprocessing
import os

import numpy as np

from bench.common import Timer, demo_corpus, report


def score(job):
    from Evaluation.scores import bss_scores
    references, estimates, rate = job
    return bss_scores(references, estimates, rate)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=4)
    args = parser.parse_args(argv)
    from Config import resolve
    from Input.datasets.partition import partitions_from_config
    from Input.datasets.track import read_role
    demo_corpus()
    tracks = (partitions_from_config(resolve(["cfg.demo"])).test * args.tracks)[:args.tracks]
    rng = np.random.default_rng(0)
    jobs = []
    for track in tracks:
        references = np.stack([read_role(track, s, track.sample_rate, mono=False, clip=False)
                               for s in ("accompaniment", "vocals")])
        noisy = references + 0.05 * rng.standard_normal(references.shape).astype(np.float32)
        jobs.append((references, noisy, track.sample_rate))
    seconds = sum(track.duration for track in tracks) / len(tracks)
    with Timer() as serial:
        for job in jobs:
            score(job)
    workers = os.cpu_count() or 1
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(score, jobs[:1]))  # start the workers
        with Timer() as parallel:
            list(pool.map(score, jobs))
    rows = [["serial", 1, serial.seconds / len(jobs)], ["parallel", workers, parallel.seconds / len(jobs)]]
    report("eval_speed", f"museval seconds per track ({seconds:.0f} s stereo 44.1 kHz songs, 2 sources)",
           ["mode", "processes", "seconds per track"], rows, f"python -m bench.eval_speed --tracks {args.tracks}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
