"""Which full-band masks separate better: each estimate over the sum of the estimates, or over the mixture?

    python -m bench.studies.full_band_masks               # make demo's model, trained once (as bench.studies.band_extension)
    python -m bench.studies.full_band_masks --run runs/3  # a run trained on the demo corpus (cfg.demo)

Both rules (``Models.full_band.MASK_RULES``) separate the same songs with the same model and the default
band extension (``average``): ``ratio`` divides each source's estimated magnitude by the sum of the
estimates, so the masks add up to 1; ``mixture`` divides it by the mixture's magnitude (at most 1), and
the last source takes what the others leave. The default is chosen on the validation songs; the test
songs are reported beside them. Writes ``bench/results/full_band_masks.{md,csv}``.
"""
import os
from typing import Dict, List

from bench.studies.demo_choice import choice_study, library_scores
from Models.full_band import DEFAULT_MASK_RULE, MASK_RULES



def scores(workdir: str, run: str, partition: str, rule: str) -> List[Dict]:
    """Per-track scores (``scores.json`` rows) of ``run`` on a partition with one mask rule, through the library."""
    return library_scores(workdir, run, partition, os.path.join("full_band_masks", rule), mask_rule=rule)


def main(argv=None):
    choice_study(__doc__.split("\n\n")[0], argv, "full_band_masks", "Full-band masks on the demo corpus: each "
                 "estimate over the sum of the estimates, or over the mixture", "mask rule", MASK_RULES, scores,
                 ("Models.full_band.DEFAULT_MASK_RULE", DEFAULT_MASK_RULE), ", float32, band extension `average`")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
