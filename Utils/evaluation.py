"""BSS Eval of a separator over tracks: museval JSON per track, tables per dataset and source.

The SiSEC 2018 convention: BSS Eval v4 (museval) on 1 s windows, estimates at the original rate
and channel count; a track's score is the median over its windows, a table's the median (and
mean) over tracks. The mixture used as every source's estimate gives the reference row.
``protocol="paper"`` adds the authors' numbers: mir_eval's BSS Eval v3 ``bss_eval_sources`` on
the whole song at the model's rate, mono, with silent references given tiny noise (their Test.py).
"""
import concurrent.futures
import csv
import dataclasses
import json
import logging
import multiprocessing
import os
from typing import Any, Callable, Dict, List, Protocol, Sequence

import numpy as np
from tqdm import tqdm

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


def paper_scores(references: np.ndarray, estimates: np.ndarray, rate: int, model_rate: int) -> Dict[str, List[float]]:
    """The authors' protocol: mir_eval BSS Eval v3 over the whole song at the model rate, mono."""
    from mir_eval.separation import bss_eval_sources
    def prepare(signals):
        mono = signals.mean(axis=2, keepdims=True).transpose(1, 0, 2)[:, :, 0]  # (samples, sources)
        return audio_io.resample(mono, rate, model_rate).T.astype(np.float64)
    refs, ests = prepare(references), prepare(estimates)
    rng = np.random.default_rng(0)
    for index in range(len(refs)):
        if not np.any(refs[index]):  # silent reference: tiny noise, as the authors did
            refs[index] = rng.uniform(-1e-10, 1e-10, refs[index].shape)
    sdr, sir, sar, _ = bss_eval_sources(refs, ests, compute_permutation=False)
    return {"SDR": sdr.tolist(), "SIR": sir.tolist(), "SAR": sar.tolist()}


def _score_track(job) -> Dict:
    """Runs in a worker process: museval (and the paper's protocol) for the estimates and for the mixture."""
    name, dataset, sources, references, estimates, mixture, rate, model_rate, protocol, out_dir = job
    import museval
    result = {"track": name, "dataset": dataset, "sample_rate": rate, "channels": int(mixture.shape[-1]),
              "methods": {}, "silent": []}
    for method, estimate in (("separator", estimates), ("mixture", np.stack([mixture] * len(sources)))):
        silent = [index for index in range(len(sources)) if not np.any(estimate[index])]
        if silent:  # museval refuses silent estimates: score the others, and give the silent ones NaN
            estimate = estimate.copy()
            noise = np.random.default_rng(0).uniform(-1e-10, 1e-10, estimate.shape[1:])
            for index in silent:
                estimate[index] = noise
            result["silent"] += [f"{method}/{sources[index]}" for index in silent]
        scores = bss_scores(references, estimate, rate)
        for index in silent:
            for metric in METRICS:
                scores[metric][index] = np.nan
        store = museval.TrackStore(track_name=name, win=1.0, hop=1.0)
        for index, source in enumerate(sources):
            store.add_target(source, {m: scores[m][index].tolist() for m in METRICS})
        folder = os.path.join(out_dir, method, "test", safe_name(dataset))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, safe_name(name) + ".json")
        with open(path, "w") as handle:
            handle.write(store.json)
        entry = {source: {m: _nanmedian(scores[m][index]) for m in METRICS} for index, source in enumerate(sources)}
        if protocol == "paper":
            paper = paper_scores(references, estimate, rate, model_rate)
            for index, source in enumerate(sources):
                entry[source].update({f"paper_{m}": paper[m][index] for m in paper})
        result["methods"][method] = entry
    return result


def _nanmedian(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def evaluate_tracks(separator: SeparatorLike, tracks: Sequence[Any], read: Callable[[Any, str], np.ndarray],
                    out_dir: str, protocol: str = "sisec", workers: int = 2, progress: bool = True) -> EvaluationTables:
    """Separates each track and scores it.

    Args:
        separator: the separator (its ``sources``, model ``settings`` and ``separate``).
        tracks: tracks (``name``, ``dataset``, ``sample_rate``) with a mixture and every source.
        read: ``read(track, role)`` -> ``(samples, channels)`` at the track's rate, unclipped
            (``Input.track.read_reference``); raises ``AudioReadError`` for an unreadable track.
        out_dir: receives ``separator/test/<dataset>/<track>.json`` (museval's layout, readable by
            ``museval.EvalStore.add_eval_dir``), the same under ``mixture/``, and the tables.
        protocol: ``"sisec"`` or ``"paper"`` (adds the authors' mir_eval v3 numbers).
        workers: processes scoring tracks in parallel (separation runs in this process).
        progress: show a progress bar.
    """
    sources, model_rate = separator.sources, separator.settings["sample_rate"]
    os.makedirs(out_dir, exist_ok=True)
    rows, skipped = [], []
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max(1, workers), mp_context=context) as pool:
        futures = []
        for track in tqdm(tracks, desc="separating", unit="track", disable=not progress):
            try:
                mixture = read(track, "mixture")
                references = np.stack([audio_io.fix_length(read(track, s), len(mixture)) for s in sources])
            except audio_io.AudioReadError as error:
                log.warning("evaluation: skipping %s: %s", track.name, error)
                skipped.append(str(error))
                continue
            estimates = separator.separate(mixture, track.sample_rate)
            stacked = np.stack([estimates[s] for s in sources])
            futures.append(pool.submit(_score_track, (track.name, track.dataset, sources, references, stacked, mixture,
                                                      track.sample_rate, model_rate, protocol, out_dir)))
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc="scoring",
                           unit="track", disable=not progress):
            rows.append(future.result())
    rows.sort(key=lambda row: (row["dataset"], row["track"]))
    for row in rows:
        if row["silent"]:
            log.warning("evaluation: %s: silent estimate (%s), scored as NaN: a dead output head or a diverged run",
                        row["track"], ", ".join(row["silent"]))
    return write_tables(rows, sources, out_dir, skipped)


def summarise(rows: List[Dict], sources: Sequence[str]) -> Dict:
    """Median and mean over tracks of the per-track medians, per method, dataset (and 'all') and source."""
    summary = {}
    metric_names = sorted({m for row in rows for e in row["methods"].values() for s in e.values() for m in s})
    for method in ("separator", "mixture"):
        for dataset in sorted({row["dataset"] for row in rows}) + ["all"]:
            chosen = [row for row in rows if dataset in ("all", row["dataset"])]
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
    """Writes ``scores.json`` (per track), ``summary.csv`` and ``summary.json``; returns them with a printable table."""
    summary = summarise(rows, sources)
    files = [os.path.join(out_dir, name) for name in ("scores.json", "summary.json", "summary.csv")]
    with open(files[0], "w") as handle:
        json.dump({"tracks": rows, "skipped": skipped}, handle, indent=1)
    with open(files[1], "w") as handle:
        json.dump(summary, handle, indent=1)
    columns = sorted({column for entry in summary.values() for column in entry if column != "tracks"})
    with open(files[2], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "dataset", "source", "tracks", *columns])
        for key, entry in summary.items():
            writer.writerow([*key.split("/"), entry["tracks"], *[entry.get(c) for c in columns]])
    lines = [f"{'method':<10}{'dataset':<14}{'source':<15}{'tracks':>6}" +
             "".join(f"{m + ' med':>10}{m + ' mean':>10}" for m in ("SDR", "SIR", "SAR"))]
    for key, entry in summary.items():
        method, dataset, source = key.split("/")
        cells = "".join(f"{_fmt(entry.get(m + '_median'))}{_fmt(entry.get(m + '_mean'))}" for m in ("SDR", "SIR", "SAR"))
        lines.append(f"{method:<10}{dataset:<14}{source:<15}{entry['tracks']:>6}{cells}")
    if skipped:
        lines.append(f"skipped {len(skipped)} unreadable tracks")
    return EvaluationTables(files, summary, "\n".join(lines))


def _fmt(value) -> str:
    return f"{value:>10.2f}" if isinstance(value, float) and np.isfinite(value) else f"{'-':>10}"
