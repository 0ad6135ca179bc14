"""Runs every study; each prints its table and writes bench/results/<name>.{md,csv}.

    python -m bench.studies            # all; semi_vs_sup (16 runs), generality (30) and remedies (18) take hours
                                       # on 2 cores (they resume)
    python -m bench.studies --quick    # semi_vs_sup in its quick mode (4 short runs), the others as they are

The studies of one model (precision_quality, band_extension, full_band_masks) share ``make demo``'s model,
trained once and kept in data/bench/band_extension.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.studies import (band_extension, full_band_masks, generality, precision_quality, remedies,  # noqa: E402
                           semi_vs_sup)

if __name__ == "__main__":
    semi_vs_sup.main(["--quick"] if "--quick" in sys.argv[1:] else [])
    generality.main([])
    remedies.main([])
    precision_quality.main([])
    band_extension.main([])
    full_band_masks.main([])
