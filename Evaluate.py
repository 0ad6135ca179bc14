"""Batch evaluation of a trained separator: tables per dataset and source, the SiSEC 2018 way (museval,
the default) or the paper's (``cfg.eval_protocol=paper``: the authors' mir_eval protocol, Evaluation/scores.py).

    python Evaluate.py with cfg.semi_sup checkpoint=runs/3/best_separator.keras
    python Evaluate.py with cfg.semi_sup cfg.demo run=runs/3 partition=valid
    python Evaluate.py with cfg.semi_sup cfg.demo run=runs/3 cfg.eval_protocol=paper
    python Evaluate.py with cfg.semi_sup cfg.demo run=runs/3 engine=tensorflow precision=bfloat16
    python Evaluate.py with cfg.semi_sup cfg.demo run=runs/3 cfg.band_extension=none  # band-limited, as the paper

``partition`` is test, valid or train_sup, or a dataset name (all of that dataset's evaluation tracks).
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sacred import SETTINGS, Experiment  # noqa: E402
from sacred.utils import apply_backspaces_and_linefeeds  # noqa: E402

from Config import cfg, reject_invalid_seed, reject_unknown_options  # noqa: E402
from Models.engines import DEFAULT_ENGINE  # noqa: E402
from Runs.observers import attach_observers, hide_result_line, report_header, run_folder  # noqa: E402
from Utils.process import run_and_exit  # noqa: E402

SETTINGS.CAPTURE_MODE = "sys"  # fd capture waits on the scoring worker processes at exit
ex = Experiment("evaluation", ingredients=[cfg])
reject_unknown_options(ex, "Evaluate.py")
ex.captured_out_filter = apply_backspaces_and_linefeeds
hide_result_line(ex)


@ex.config
def options():
    checkpoint = None    # a saved separator (.keras); or
    run = None           # a training run folder (its best_separator.keras); default: the latest finished run
    partition = "test"   # test, valid, train_sup, or a dataset name
    progress = True
    engine = DEFAULT_ENGINE  # where the network runs: litert or tensorflow (Models.engines)
    precision = "float32"  # the network's arithmetic: float32 (the reference numbers), int8 (litert), bfloat16
                           # (tensorflow) or auto


def select_tracks(partitions, partition: str):
    """The tracks to evaluate: a partition by name, or a dataset's tracks from valid and test."""
    if partition in ("test", "valid", "train_sup"):
        return getattr(partitions, partition)
    tracks = [t for t in partitions.valid + partitions.test if t.dataset == partition]
    if not tracks:
        names = sorted({t.dataset for t in partitions.valid + partitions.test})
        raise SystemExit(f"error: partition={partition!r} is neither test, valid, train_sup nor a dataset "
                         f"({', '.join(names)})")
    return tracks


@ex.main
def evaluate(cfg, checkpoint, run, partition, progress, engine, precision, _run):
    from Input.datasets import DatasetError
    from Input.datasets.partition import partitions_from_config
    from Input.datasets.track import read_role
    from Input.demo.corpus import render_if_asked
    from Models.separator import Separator
    from Evaluation.scores import band_extension_for, evaluate_tracks
    from Runs.folders import resolve_checkpoint

    try:
        path = resolve_checkpoint(checkpoint, run)
        separator = Separator.from_checkpoint(path, engine=engine, precision=precision,
                                             band_extension=band_extension_for(cfg["eval_protocol"],
                                                                               cfg["band_extension"]))
    except (FileNotFoundError, ValueError, ImportError) as error:
        raise SystemExit(f"error: {error}")
    if sorted(separator.sources) != sorted(cfg["sources"]):
        raise SystemExit(f"error: {path} separates {', '.join(separator.sources)}, and the config asks for "
                         f"{', '.join(cfg['sources'])} (cfg.sources): evaluate it with the named configs it was "
                         f"trained with")
    try:
        render_if_asked(cfg, progress=progress)
        # Songs are read from their own files: the training's resampled cache is not read.
        tracks = select_tracks(partitions_from_config(dict(cfg, resampled_cache=None), progress=progress), partition)
    except DatasetError as error:
        raise SystemExit(f"error: {error}")
    print(f"evaluating {path} on {len(tracks)} tracks of {partition}")
    tables = evaluate_tracks(separator, tracks, read_role, os.path.join(run_folder(_run), "evaluation"),
                             cfg["eval_protocol"], cfg["eval_workers"], progress, report_header(_run, path, sys.argv))
    for file in tables.files:
        _run.add_artifact(file)
    _run.info["checkpoint"] = path
    _run.info["network"] = {"engine": separator.engine.name, "precision": separator.precision}
    _run.info["scores"] = tables.summary
    print(tables.text)
    print(f"listening report: {tables.files[-1]}")
    return tables.summary


if __name__ == "__main__":
    reject_invalid_seed(sys.argv)
    run_and_exit(lambda: ex.run_commandline(attach_observers(ex, sys.argv)))
