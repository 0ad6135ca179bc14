"""Runs every speed benchmark (``make bench``); each prints its table and writes bench/results/<name>.{md,csv}.

    python -m bench            # all of them
    python -m bench.studies    # the studies (bench/studies/), which take hours

On a machine without a GPU, ``bench.gpu`` runs in its smoke mode: a check that its rows run, not a measurement.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import eval_speed, gpu, input_speed, multi_worker, separate_speed, train_parts, train_speed  # noqa: E402

if __name__ == "__main__":
    input_speed.main([])
    train_speed.main([])
    train_parts.main([])
    separate_speed.main([])
    eval_speed.main([])
    multi_worker.main([])
    gpu.main([] if gpu.has_gpu() else ["--smoke"])
