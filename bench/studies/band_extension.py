"""What each band extension gives on full-band songs: SDR per source and domain of the demo corpus.

    python -m bench.studies.band_extension               # trains the demo's model once (make demo's command), then scores
    python -m bench.studies.band_extension --run runs/3  # scores a trained run instead

The model hears 8192 Hz mono; the demo songs are 44.1 kHz stereo with content up to 20 kHz. Each
extension (``Models/full_band.py``) separates the same songs with the same model: ``none`` writes the
model's band-limited estimates, ``zeros`` masks the input's own STFT up to 4096 Hz and leaves nothing
above, ``average`` carries the top 1 kHz's mean mask upwards. The default is chosen on the validation
songs; the test songs are reported beside them. Writes ``bench/results/band_extension.{md,csv}``.
"""
import os
from typing import Dict, List

from bench.common import ROOT, project_script
from bench.studies.demo_choice import choice_study, track_scores
from Models.full_band import BAND_EXTENSIONS, DEFAULT_BAND_EXTENSION



def scores(workdir: str, run: str, partition: str, extension: str) -> List[Dict]:
    """Per-track scores of ``run`` on a partition with one band extension (Evaluate.py)."""
    folder = project_script(workdir, [os.path.join(ROOT, "Evaluate.py"), "with", "cfg.semi_sup", "cfg.demo", f"run={run}",
                               f"partition={partition}", f"cfg.band_extension={extension}", "progress=False"])
    return track_scores(os.path.join(folder, "evaluation"))


def main(argv=None):
    choice_study(__doc__.split("\n\n")[0], argv, "band_extension", "Band extensions on the demo corpus (44.1 kHz "
                 "stereo songs, a model hearing 8192 Hz mono)", "extension", BAND_EXTENSIONS, scores,
                 ("Models.full_band.DEFAULT_BAND_EXTENSION", DEFAULT_BAND_EXTENSION), "")


if __name__ == "__main__":
    main()
