"""Runs every benchmark (``make bench``); each prints its table and writes bench/results/<name>.{md,csv}.

    python -m bench            # all; semi_vs_sup's 16 training runs take 6 to 7 hours on 2 cores (it resumes)
    python -m bench --quick    # all, semi_vs_sup in its quick mode (4 short runs)

The quality benchmarks of one model (precision_quality, band_extension, full_band_masks) share
``make demo``'s model, trained once (about 10 minutes) and kept in data/bench/band_extension.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import (band_extension, eval_speed, full_band_masks, gpu, input_speed, precision_quality,  # noqa: E402
                   semi_vs_sup, separate_speed, train_speed)

if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    input_speed.main([])
    train_speed.main([])
    separate_speed.main([])
    eval_speed.main([])
    gpu.main([] if gpu.has_gpu() else ["--smoke"])  # on a machine without one: that its rows still run
    semi_vs_sup.main(["--quick"] if quick else [])
    precision_quality.main([])
    band_extension.main([])
    full_band_masks.main([])
