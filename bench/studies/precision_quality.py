"""Do the faster arithmetics separate as well as float32? One trained model, the test set, each engine and precision.

    python -m bench.studies.precision_quality                    # trains a semi-supervised demo model first (about 7 minutes)
    python -m bench.studies.precision_quality --run runs/3       # a run trained on the demo corpus (cfg.demo)

Separate.py's ``--precision auto`` takes bfloat16 on TensorFlow on CPUs that compute it natively, and
``--precision int8`` runs LiteRT's dynamic-range kernels; this is the check of what each costs in
separation quality (Evaluate.py with each ``engine`` and ``precision``), against TensorFlow in float32.
"""
import json
import os

import numpy as np

from bench.common import ROOT, project_script, report
from bench.studies.demo_choice import demo_model

NETWORKS = (("tensorflow", "float32"), ("tensorflow", "bfloat16"), ("litert", "float32"), ("litert", "int8"))
REFERENCE = NETWORKS[0]
SOURCES = ("vocals", "accompaniment")
METRICS = ("SDR", "SIR", "SAR")


def evaluate(workdir: str, run: str, engine: str, precision: str) -> dict:
    """The per-track scores (``scores.json``) of Evaluate.py on the demo test set."""
    folder = project_script(workdir, [os.path.join(ROOT, "Evaluate.py"), "with", "cfg.semi_sup", "cfg.demo",
                                      f"run={run}", f"engine={engine}", f"precision={precision}", "progress=False"])
    with open(os.path.join(folder, "evaluation", "scores.json")) as handle:
        return {row["track"]: row["methods"]["separator"] for row in json.load(handle)["tracks"]}


def main(argv=None):
    workdir, run, model = demo_model(__doc__.split("\n\n")[0], argv)
    scores = {network: evaluate(workdir, run, *network) for network in NETWORKS}
    tracks = sorted(scores[REFERENCE])
    rows = []
    for source in SOURCES:
        for network in NETWORKS:
            rows.append([" ".join(network), source] + [float(np.median([scores[network][t][source][m] for t in tracks]))
                                                       for m in METRICS])
        for network in NETWORKS[1:]:
            differences = [[scores[network][t][source][m] - scores[REFERENCE][t][source][m] for t in tracks]
                           for m in METRICS]
            rows.append([f"largest per-track difference, {' '.join(network)} - {' '.join(REFERENCE)}", source]
                        + [float(max(d, key=abs)) for d in differences])
    report("precision_quality", f"Test-set quality of one model on each engine and precision ({len(tracks)} demo songs)",
           ["engine and precision", "source", "SDR median", "SIR median", "SAR median"], rows,
           "python -m bench.studies.precision_quality",
           "Median over the test songs of each song's median over 1 s windows (museval v4), from Evaluate.py "
           "with each engine and precision on the same run, full band (the default band extension)"
           f", {model}.")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
