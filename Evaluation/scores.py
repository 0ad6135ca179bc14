"""BSS Eval of a separator over tracks: tables per dataset and source, in one of two protocols.

- ``sisec`` (SiSEC 2018): BSS Eval v4 (museval) on 1 s windows, estimates at the original rate and
  channel count; a track's score is the median over its windows (museval JSON per track).
- ``paper`` (the authors' Test.py): each song's mono downmix at the model's rate is separated, and
  mir_eval's BSS Eval v3 ``bss_eval_sources`` scores the whole song, with tiny noise given to silent
  references.

A table's entries are the median and the mean over tracks. The mixture used as every source's
estimate gives the reference row.
"""
import concurrent.futures
import csv
import dataclasses
import functools
import json
import logging
import multiprocessing
import os
import warnings
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence

import numpy as np
from tqdm import tqdm

from Evaluation import mixture_baseline
from Utils import audio as audio_io
from Utils.files import safe_name

log = logging.getLogger(__name__)
METRICS = ("SDR", "SIR", "SAR", "ISR")


class SeparatorLike(Protocol):
    """What evaluation needs of a separator (``Models.separator.Separator`` is one)."""
    sources: List[str]
    settings: Dict

    def separate(self, audio: np.ndarray, sample_rate: int) -> Dict[str, np.ndarray]: ...


@dataclasses.dataclass
class EvaluationTables:
    """What an evaluation produced: files written, the summary (JSON-able) and a printable table."""
    files: List[str]
    summary: Dict
    text: str


def bss_scores(references: np.ndarray, estimates: np.ndarray, rate: int) -> Dict[str, np.ndarray]:
    """museval v4 metrics on 1 s windows; arrays ``(sources, windows)`` (NaN where a reference is silent)."""
    import museval
    sdr, isr, sir, sar = museval.evaluate(references, estimates, win=rate, hop=rate)
    return {"SDR": sdr, "ISR": isr, "SIR": sir, "SAR": sar}


def paper_scores(references: np.ndarray, estimates: np.ndarray, seed: int = 0) -> Dict[str, np.ndarray]:
    """The authors' numbers: mir_eval's ``bss_eval_sources`` (BSS Eval v3) over whole signals, no permutation.

    Args:
        references, estimates: ``(sources, samples)`` mono signals at one rate. A silent reference gets
            uniform noise of amplitude 1e-10, as in the authors' Test.py; a silent estimate (which
            mir_eval refuses) is scored, with noise, and its numbers are NaN.
        seed: the noise's seed.

    Returns:
        ``{"SDR", "SIR", "SAR"}``: arrays ``(sources,)``.
    """
    from mir_eval.separation import bss_eval_sources
    rng = np.random.default_rng(seed)
    refs, ests = np.array(references, np.float64), np.array(estimates, np.float64)
    silent_estimates = [index for index in range(len(ests)) if not np.any(ests[index])]
    for index in range(len(refs)):
        if not np.any(refs[index]):
            refs[index] = rng.uniform(-1e-10, 1e-10, refs[index].shape)
    for index in silent_estimates:
        ests[index] = rng.uniform(-1e-10, 1e-10, ests[index].shape)
    with warnings.catch_warnings():  # mir_eval 0.8 marks BSS Eval v3 deprecated; v3 is what the paper reports
        warnings.simplefilter("ignore", FutureWarning)
        sdr, sir, sar, _ = bss_eval_sources(refs, ests, compute_permutation=False)
    scores = {"SDR": sdr, "SIR": sir, "SAR": sar}
    for metric in scores.values():
        metric[silent_estimates] = np.nan
    return scores


def _score_track(job) -> Dict:
    """Runs in a worker process: the protocol's scores for the estimates and for the mixture (the latter from the
    user's cache where it holds them, :mod:`Evaluation.mixture_baseline`), and the song's media for the listening
    report (where ``report`` names its folder and the model's band edge)."""
    name, dataset, sources, references, estimates, mixture, rate, protocol, out_dir, report = job
    result = {"track": name, "dataset": dataset, "sample_rate": rate, "channels": int(mixture.shape[-1]),
              "protocol": protocol, "methods": {}, "silent": [],
              "silent_references": [source for source, reference in zip(sources, references) if not np.any(reference)]}
    if report:
        result["media"] = _report_media(report, name, dataset, sources, references, estimates, mixture, rate)
    for method, estimate in (("separator", estimates), ("mixture", np.stack([mixture] * len(sources)))):
        result["silent"] += [f"{method}/{sources[index]}" for index in range(len(sources)) if not np.any(estimate[index])]
        score = functools.partial(_method_scores, name, sources, references, estimate, rate, protocol, method)
        if method == "mixture":
            scored = mixture_baseline.cached_scores(
                mixture_baseline.song_key(name, protocol, rate, sources, references, mixture), score)
        else:
            scored = score()
        if scored["museval"] is not None:
            folder = os.path.join(out_dir, method, "test", safe_name(dataset))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, safe_name(name) + ".json"), "w") as handle:
                handle.write(scored["museval"])
        result["methods"][method] = scored["entry"]
    return result


def _method_scores(name: str, sources: Sequence[str], references: np.ndarray, estimate: np.ndarray, rate: int,
                   protocol: str, method: str) -> Dict:
    """``{"entry": {source: {metric: score}}, "museval": the track's museval JSON (sisec) or None}``."""
    if protocol != "paper":
        return _sisec_scores(name, sources, references, estimate, rate)
    scores = paper_scores(references[..., 0], estimate[..., 0])
    if method == "mixture" and not all(np.any(reference) for reference in references):
        scores = {m: np.full(len(sources), np.nan) for m in scores}  # the authors left such songs out
    return {"entry": {source: {m: float(scores[m][index]) for m in scores} for index, source in enumerate(sources)},
            "museval": None}


def _report_media(report: Dict, name: str, dataset: str, sources: Sequence[str], references: np.ndarray,
                  estimates: np.ndarray, mixture: np.ndarray, rate: int) -> Optional[Dict]:
    """The song's clips and image for the listening report; None (and a warning) where they cannot be written."""
    from Evaluation.listening_report import write_song_media
    signals = {"mixture": mixture, **{f"estimate {s}": estimates[i] for i, s in enumerate(sources)},
               **{f"reference {s}": references[i] for i, s in enumerate(sources)}}
    try:
        return write_song_media(report["folder"], f"{dataset} - {name}", rate, signals, report["band_edge"],
                                "reference vocals" if "vocals" in sources else "mixture")
    except (OSError, ValueError) as error:
        log.warning("listening report: no audio for %s: %s", name, error)
        return None


def _sisec_scores(name: str, sources: Sequence[str], references: np.ndarray, estimate: np.ndarray,
                  rate: int) -> Dict:
    """museval's medians per source, and the track's museval JSON."""
    import museval
    silent = [index for index in range(len(sources)) if not np.any(estimate[index])]
    if silent:  # museval refuses silent estimates: score the others, and give the silent ones NaN
        estimate = estimate.copy()
        noise = np.random.default_rng(0).uniform(-1e-10, 1e-10, estimate.shape[1:])
        for index in silent:
            estimate[index] = noise
    scores = bss_scores(references, estimate, rate)
    for index in silent:
        for metric in METRICS:
            scores[metric][index] = np.nan
    store = museval.TrackStore(track_name=name, win=1.0, hop=1.0)
    for index, source in enumerate(sources):
        store.add_target(source, {m: scores[m][index].tolist() for m in METRICS})
    return {"entry": {source: {m: _nanmedian(scores[m][index]) for m in METRICS} for index, source in enumerate(sources)},
            "museval": store.json}


def _nanmedian(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def evaluate_tracks(separator: SeparatorLike, tracks: Sequence[Any], read: Callable[..., np.ndarray],
                    out_dir: str, protocol: str = "sisec", workers: int = 2, progress: bool = True,
                    report_header: Optional[Dict] = None) -> EvaluationTables:
    """Separates each track and scores it.

    Args:
        separator: the separator (its ``sources``, model ``settings`` and ``separate``); for ``paper``, one
            that gives the network's band-limited estimates (``band_extension="none"``, see
            :func:`band_extension_for`).
        tracks: tracks (``name``, ``dataset``, ``sample_rate``) with a mixture and every source.
        read: ``read(track, role, sample_rate, mono=..., clip=False)`` -> ``(samples, channels)``, or
            ``(samples,)`` when mono (``Input.datasets.track.read_role``); raises ``AudioReadError`` for an
            unreadable track. ``sisec`` reads at the track's own rate and channels, ``paper`` the mono
            downmix at the model's rate.
        out_dir: receives ``scores.json`` and the tables; with ``sisec`` also
            ``separator/test/<dataset>/<track>.json`` (museval's layout, readable by
            ``museval.EvalStore.add_eval_dir``), the same under ``mixture/``.
        protocol: ``"sisec"`` or ``"paper"``.
        workers: processes scoring tracks in parallel (separation runs in this process).
        progress: show a progress bar.
        report_header: where given, a listening report is written too (``out_dir/report/index.html``,
            :mod:`Evaluation.listening_report`), with these header lines (run, configs, checkpoint, command...).
    """
    from Evaluation.listening_report import REPORT_FOLDER
    sources, model_rate = separator.sources, separator.settings["sample_rate"]
    os.makedirs(out_dir, exist_ok=True)
    report = ({"folder": os.path.join(out_dir, REPORT_FOLDER), "band_edge": model_rate / 2}
              if report_header is not None else None)
    rows, skipped = [], []
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max(1, workers), mp_context=context) as pool:
        futures = []
        for track in tqdm(tracks, desc="separating", unit="track", disable=not progress):
            rate = model_rate if protocol == "paper" else track.sample_rate
            load = ((lambda role: read(track, role, rate, mono=True, clip=False)[:, None]) if protocol == "paper"
                    else (lambda role: read(track, role, rate, mono=False, clip=False)))
            try:
                mixture = load("mixture")
                references = np.stack([audio_io.fix_length(load(s), len(mixture)) for s in sources])
            except audio_io.AudioReadError as error:
                log.warning("evaluation: skipping %s: %s", track.name, error)
                skipped.append(str(error))
                continue
            estimates = separator.separate(mixture, rate)
            stacked = np.stack([estimates[s] for s in sources])
            futures.append(pool.submit(_score_track, (track.name, track.dataset, sources, references, stacked, mixture,
                                                      rate, protocol, out_dir, report)))
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc="scoring",
                           unit="track", disable=not progress):
            rows.append(future.result())
    rows.sort(key=lambda row: (row["dataset"], row["track"]))
    for row in rows:
        silent = [entry for entry in row["silent"] if entry.startswith("separator/")]
        if silent:
            log.warning("evaluation: %s: silent estimate (%s), scored as NaN: a dead output head or a diverged run",
                        row["track"], ", ".join(silent))
    tables = write_tables(rows, sources, out_dir, skipped)
    if report:
        from Evaluation.listening_report import write_report
        tables.files.append(write_report(report["folder"], rows, tables.summary, sources, report_header))
    return tables


def band_extension_for(protocol: str, band_extension: str) -> str:
    """The separator's band extension a protocol scores: ``paper`` scores the network's own estimates with
    the mixture's phase (``"none"``), as the authors' Test.py did; ``sisec`` the configured one."""
    return "none" if protocol == "paper" else band_extension


def score_names(rows: List[Dict]) -> List[str]:
    """The metrics the rows hold (SDR, SIR, SAR and, with museval, ISR), sorted."""
    return sorted({m for row in rows for entry in row["methods"].values() for s in entry.values() for m in s})


def summary_group(row: Dict) -> str:
    """The dataset row a track is summarised in: its dataset, or, in the ``paper`` protocol, ``"<dataset> (silent
    ref)"`` for a song with a silent reference (an instrumental song's vocals, scored against tiny noise), so
    that every other row averages the same songs for the separator and the mixture (whose scores the authors
    left out for such songs)."""
    if row.get("protocol") == "paper" and row.get("silent_references"):
        return f"{row['dataset']} (silent ref)"
    return row["dataset"]


def summarise(rows: List[Dict], sources: Sequence[str]) -> Dict:
    """Median and mean over tracks of the per-track medians, per method, dataset row (see :func:`summary_group`;
    'all' is every song outside a silent-reference row) and source."""
    summary = {}
    metric_names = score_names(rows)
    groups = [summary_group(row) for row in rows]  # by position: songs of two datasets may share a name
    for method in ("separator", "mixture"):
        for dataset in sorted(set(groups)) + ["all"]:
            chosen = [row for row, group in zip(rows, groups)
                      if group == dataset or (dataset == "all" and group == row["dataset"])]
            for source in sources:
                key = f"{method}/{dataset}/{source}"
                summary[key] = {"tracks": len(chosen)}
                for metric in metric_names:
                    values = np.array([row["methods"][method][source].get(metric, np.nan) for row in chosen], float)
                    values = values[np.isfinite(values)]
                    summary[key][f"{metric}_median"] = float(np.median(values)) if values.size else None
                    summary[key][f"{metric}_mean"] = float(np.mean(values)) if values.size else None
    return summary


def write_tables(rows: List[Dict], sources: Sequence[str], out_dir: str, skipped: List[str]) -> EvaluationTables:
    """Writes ``scores.json`` and ``scores.csv`` (per track), ``summary.csv`` and ``summary.json``; returns them
    with a printable table."""
    summary = summarise(rows, sources)
    files = [os.path.join(out_dir, name) for name in ("scores.json", "scores.csv", "summary.json", "summary.csv")]
    with open(files[0], "w") as handle:
        json.dump({"tracks": rows, "skipped": skipped}, handle, indent=1)
    write_track_scores(rows, files[1])
    with open(files[2], "w") as handle:
        json.dump(summary, handle, indent=1)
    columns = sorted({column for entry in summary.values() for column in entry if column != "tracks"})
    with open(files[3], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "dataset", "source", "tracks", *columns])
        for key, entry in summary.items():
            writer.writerow([*key.split("/"), entry["tracks"], *[entry.get(c) for c in columns]])
    width = max([14, *(len(key.split("/")[1]) + 2 for key in summary)])
    lines = [f"{'method':<10}{'dataset':<{width}}{'source':<15}{'tracks':>6}" +
             "".join(f"{m + ' med':>10}{m + ' mean':>10}" for m in ("SDR", "SIR", "SAR"))]
    for key, entry in summary.items():
        method, dataset, source = key.split("/")
        cells = "".join(f"{_fmt(entry.get(m + '_median'))}{_fmt(entry.get(m + '_mean'))}" for m in ("SDR", "SIR", "SAR"))
        lines.append(f"{method:<10}{dataset:<{width}}{source:<15}{entry['tracks']:>6}{cells}")
    if skipped:
        lines.append(f"skipped {len(skipped)} unreadable tracks")
    return EvaluationTables(files, summary, "\n".join(lines))


def write_track_scores(rows: List[Dict], path: str) -> None:
    """One CSV line per track, method and source: the track's score per metric (its median over windows)."""
    metrics = score_names(rows)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track", "dataset", "summary_row", "method", "source", *metrics])
        for row in rows:
            for method, entry in row["methods"].items():
                for source, scores in entry.items():
                    writer.writerow([row["track"], row["dataset"], summary_group(row), method, source,
                                     *[scores.get(m) for m in metrics]])


def _fmt(value) -> str:
    return f"{value:>10.2f}" if isinstance(value, float) and np.isfinite(value) else f"{'-':>10}"
