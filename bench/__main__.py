"""Runs every benchmark (``make bench``); each prints its table and writes bench/results/<name>.{md,csv}.

    python -m bench            # all, the quality comparison in full (about 42 minutes on 2 cores: 35 + 7)
    python -m bench --quick    # all, the quality comparison in its quick mode (about 24 minutes: 17
                               # measured before precision_quality, which took 7 more)
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import eval_speed, input_speed, precision_quality, semi_vs_sup, separate_speed, train_speed  # noqa: E402

if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    input_speed.main([])
    train_speed.main([])
    separate_speed.main([])
    eval_speed.main([])
    semi_vs_sup.main(["--quick"] if quick else [])
    precision_quality.main([])
