"""Does the network need to hear each channel, or is the channels' mean enough?

    python -m bench.studies.network_channels               # make demo's model, trained once (as bench.studies.band_extension)
    python -m bench.studies.network_channels --run runs/3  # a run trained on the demo corpus (cfg.demo)

Both ways (``Models.full_band.NETWORK_CHANNELS``) separate the same stereo songs with the same model, the
default band extension (``average``) and mask rule (``ratio``): ``each`` runs the network on each channel and
masks each channel with its own estimates; ``mid`` runs it once on the channels' mean and masks both channels
with the mid's estimates, half the network's work. The default is chosen on the validation songs; the test
songs are reported beside them. Writes ``bench/results/network_channels.{md,csv}``.
"""
import os
from typing import Dict, List

import numpy as np

from bench.common import RESULTS
from bench.studies.demo_choice import DOMAINS, choice_study, library_scores
from Models.full_band import DEFAULT_NETWORK_CHANNELS, NETWORK_CHANNELS


def scores(workdir: str, run: str, partition: str, channels: str) -> List[Dict]:
    """Per-track scores (``scores.json`` rows) of ``run`` on a partition, the network hearing ``channels``."""
    return library_scores(workdir, run, partition, os.path.join("network_channels", channels),
                          network_channels=channels)


def paired_differences(csv_path: str) -> str:
    """A markdown table of mid - each per partition, domain and source: the mean over songs, its 95% t
    interval, and the songs where mid scored higher."""
    import pandas as pd
    from scipy import stats
    scores = pd.read_csv(csv_path).pivot_table(index=["partition", "dataset", "track", "source"],
                                               columns="network_channels", values="SDR").reset_index()
    lines = ["| partition | domain | source | songs | mid - each, mean SDR (dB) | 95% t interval | mid higher |",
             "|---|---|---|---|---|---|---|"]
    for (partition, dataset, source), group in scores.groupby(["partition", "dataset", "source"], sort=False):
        difference = (group["mid"] - group["each"]).dropna().to_numpy()
        mean, count = difference.mean(), len(difference)
        half = stats.t.ppf(0.975, count - 1) * difference.std(ddof=1) / np.sqrt(count)
        lines.append(f"| {partition} | {DOMAINS[dataset]} | {source} | {count} | {mean:+.2f} | "
                     f"[{mean - half:+.2f}, {mean + half:+.2f}] | {int((difference > 0).sum())} of {count} |")
    return "\n".join(lines)


def main(argv=None):
    choice_study(__doc__.split("\n\n")[0], argv, "network_channels", "The network on each channel or on their mean "
                 "(mid), on the demo corpus's stereo songs", "network channels", NETWORK_CHANNELS, scores,
                 ("Models.full_band.DEFAULT_NETWORK_CHANNELS", DEFAULT_NETWORK_CHANNELS),
                 ", float32, band extension `average`, mask rule `ratio`")
    table = paired_differences(os.path.join(RESULTS, "network_channels.csv"))
    with open(os.path.join(RESULTS, "network_channels.md"), "a") as handle:
        handle.write("\n## Song by song: mid - each\n\n" + table + "\n")
    print(table)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
