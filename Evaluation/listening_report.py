"""The listening report: one self-contained HTML page per evaluation, to hear and see what a separator does
beside its scores (``evaluation/report/index.html``; ``Compare.py --html`` puts runs side by side).

The page uses relative paths only and opens from ``file://`` without a server or a network. It holds:

- a header: run, named configs, checkpoint, date and the command that reproduces it;
- a summary: median and mean SDR/SIR/SAR per dataset and source, the separator's beside the mixture's
  (the mixture as every source's estimate), and a box plot of the per-song SDR per source;
- a section per song: players for the mixture, each estimate and each reference on the
  :data:`EXCERPT_SECONDS` where the vocals (else the mixture) are loudest, as mp3 at
  :data:`CLIP_BITRATE` (16-bit wav at rates mp3 lacks); their spectrograms on one colour scale, the model's band edge marked; the
  song's scores.
"""
import html
import json
import os
import shutil
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from Utils import audio as audio_io
from Utils import audio_writer
from Utils.files import safe_name

EXCERPT_SECONDS = 12.0   # what each player holds: the demo's report stays under 20 MB
CLIP_BITRATE = "64k"     # mp3, which every browser plays
SPECTROGRAM_DB = 80.0    # the images' colour scale: this many dB below the mixture's peak
SHOWN_HZ = 11025         # the images' top: where a song's sources differ most to the eye
SHOWN_METRICS = ("SDR", "SIR", "SAR")
REPORT_FOLDER = "report"


def loudest_excerpt(signal: np.ndarray, rate: int, seconds: float = EXCERPT_SECONDS) -> Tuple[int, int]:
    """``(start, stop)`` samples of the ``seconds`` of ``(samples, channels)`` audio with the most energy
    (whole seconds apart; the whole signal when it is shorter)."""
    length, width = len(signal), int(seconds * rate)
    if length <= width:
        return 0, length
    energy = np.concatenate([[0.0], np.cumsum(np.square(signal, dtype=np.float64).sum(axis=1))])
    starts = np.arange(0, length - width + 1, rate)
    best = int(starts[np.argmax(energy[starts + width] - energy[starts])])
    return best, best + width


def write_song_media(folder: str, song: str, rate: int, signals: Dict[str, np.ndarray], band_edge: float,
                     excerpt_role: str) -> Dict:
    """Writes one song's clips (``clips/<song>/<role>.mp3``) and spectrogram image (``images/<song>.png``)
    into the report ``folder``; returns their relative paths and the excerpt's seconds.

    Args:
        signals: ``{role: (samples, channels)}``: ``mixture``, ``estimate <source>``, ``reference <source>``.
        band_edge: the model's Nyquist frequency (Hz), marked on the images.
        excerpt_role: the role whose loudest seconds are chosen (the vocals' reference where there is one).
    """
    start, stop = loudest_excerpt(signals[excerpt_role], rate)
    song_id = url_name(song)
    clips = {}
    compressed = rate in audio_writer.FORMAT_LIMITS[".mp3"][1]  # else (the paper's 8192 Hz) 16-bit wav, small anyway
    for role, audio in signals.items():
        relative = f"clips/{song_id}/{url_name(role)}.{'mp3' if compressed else 'wav'}"
        clip = np.clip(audio[start:stop, :2], -1.0, 1.0)
        clip = clip.astype(np.float32) if compressed else np.round(clip * 32767).astype(np.int16)
        audio_writer.save(os.path.join(folder, relative), clip, rate, bitrate=CLIP_BITRATE if compressed else None)
        clips[role] = relative
    image = f"images/{song_id}.jpg"  # a tenth of a PNG's size
    spectrogram_image({role: audio[start:stop] for role, audio in signals.items()}, rate, band_edge,
                      os.path.join(folder, image))
    return {"excerpt": [start / rate, stop / rate], "clips": clips, "image": image}


def spectrogram_image(signals: Dict[str, np.ndarray], rate: int, band_edge: float, path: str) -> None:
    """One panel per signal (its mono downmix), all on the mixture's colour scale, the band edge dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    window, hop = 2048, 512
    spectra = {}
    for role, audio in signals.items():
        mono = audio_io.downmix(audio)[:, 0]
        frames = max(1, 1 + (len(mono) - window) // hop)
        mono = np.pad(mono, (0, max(0, window - len(mono))))
        framed = np.lib.stride_tricks.sliding_window_view(mono, window)[::hop][:frames] * np.hanning(window)
        spectra[role] = 20 * np.log10(np.abs(np.fft.rfft(framed, axis=1)).T + 1e-9)
    top = max(float(spectrum.max()) for spectrum in spectra.values())
    top = top if np.isfinite(top) and top > -170 else 0.0
    figure, axes = plt.subplots(len(spectra), 1, figsize=(9, 1.5 * len(spectra)), sharex=True, squeeze=False)
    seconds = len(next(iter(signals.values()))) / rate
    for axis, (role, spectrum) in zip(axes[:, 0], spectra.items()):
        axis.imshow(spectrum, origin="lower", aspect="auto", cmap="magma", vmin=top - SPECTROGRAM_DB, vmax=top,
                    extent=[0, seconds, 0, rate / 2000])
        if band_edge < rate / 2:
            axis.axhline(band_edge / 1000, color="cyan", linestyle="--", linewidth=0.8)
        axis.set_ylim(0, min(rate / 2, SHOWN_HZ) / 1000)
        axis.set_ylabel("kHz", fontsize=7)
        axis.set_title(role, fontsize=8, loc="left")
        axis.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("seconds into the excerpt", fontsize=7)
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, dpi=72, pil_kwargs={"quality": 80})
    plt.close(figure)


def box_plot(rows: List[Dict], sources: Sequence[str], path: str) -> None:
    """The separator's per-song SDR, one box per source (NaN songs left out)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    values = [[row["methods"]["separator"][s]["SDR"] for row in rows
               if np.isfinite(row["methods"]["separator"][s].get("SDR") or np.nan)] for s in sources]
    figure, axis = plt.subplots(figsize=(2 + 1.4 * len(sources), 3.2))
    axis.boxplot([v if v else [np.nan] for v in values], showmeans=True)
    axis.set_xticks(range(1, len(sources) + 1), list(sources))
    axis.set_ylabel("SDR per song (dB)")
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(folder: str, rows: List[Dict], summary: Dict, sources: Sequence[str], header: Dict) -> str:
    """Writes ``folder/index.html`` (and the box plot) from an evaluation's rows (each with its ``media``)
    and summary; returns the page's path."""
    os.makedirs(folder, exist_ok=True)
    box_plot(rows, sources, os.path.join(folder, "sdr_per_song.png"))
    parts = [_page_head(f"Listening report: {header.get('run', '')}"), _header_table(header),
             "<h2>Summary</h2>", summary_table(summary, sources),
             '<img class="plot" src="sdr_per_song.png" alt="SDR per song, per source">', "<h2>Songs</h2>"]
    for row in rows:
        parts.append(_song_section(row, sources))
    parts.append("</body></html>")
    path = os.path.join(folder, "index.html")
    with open(path, "w") as handle:
        handle.write("\n".join(parts))
    return path


def summary_table(summary: Dict, sources: Sequence[str]) -> str:
    """Median and mean of each metric, separator and mixture rows, per dataset and source (2 decimals)."""
    head = "".join(f"<th>{m} median</th><th>{m} mean</th>" for m in SHOWN_METRICS)
    lines = [f'<table class="summary"><tr><th>method</th><th>dataset</th><th>source</th><th>songs</th>{head}</tr>']
    for key, entry in summary.items():
        method, dataset, source = key.split("/")
        cells = "".join(f"<td>{_number(entry.get(f'{m}_median'))}</td><td>{_number(entry.get(f'{m}_mean'))}</td>"
                        for m in SHOWN_METRICS)
        lines.append(f'<tr class="{method}" data-key="{html.escape(key)}"><td>{method}</td><td>{html.escape(dataset)}'
                     f'</td><td>{html.escape(source)}</td><td>{entry["tracks"]}</td>{cells}</tr>')
    return "\n".join(lines + ["</table>"])


def _song_section(row: Dict, sources: Sequence[str]) -> str:
    media = row.get("media")
    title = f"{html.escape(row['track'])} <small>({html.escape(row['dataset'])})</small>"
    scores = "".join(f"<tr><td>{html.escape(s)}</td>" + "".join(
        f"<td>{_number(row['methods']['separator'][s].get(m))}</td>" for m in SHOWN_METRICS) + "</tr>" for s in sources)
    table = (f'<table class="scores"><tr><th>source</th>{"".join(f"<th>{m}</th>" for m in SHOWN_METRICS)}</tr>'
             f"{scores}</table>")
    if not media:
        return f"<section><h3>{title}</h3>{table}<p>No audio: the song could not be excerpted.</p></section>"
    start, stop = media["excerpt"]
    players = "".join(_player(role, path) for role, path in media["clips"].items())
    return (f'<section id="{url_name(row["dataset"] + " - " + row["track"])}"><h3>{title}</h3>{table}'
            f"<p>Excerpt {start:.0f}-{stop:.0f} s</p>{players}"
            f'<img class="spectrogram" src="{html.escape(media["image"])}" alt="spectrograms of {title}"></section>')


def _header_table(header: Dict) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(str(v))}</code></td></tr>"
                    for k, v in header.items())
    return f'<table class="header">{cells}</table>'


def _page_head(title: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            "<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}"
            "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#f4f4f4}"
            "tr.mixture{color:#777}.player{display:inline-block;margin:.2em 1em .2em 0}.player span{display:block;"
            "font-size:.8em}img.spectrogram{max-width:100%}section{border-top:1px solid #ddd;margin-top:1.5em}"
            f"</style></head><body><h1>{html.escape(title)}</h1>")


def url_name(name: str) -> str:
    """A file name that needs no escaping in a relative URL."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in safe_name(name))


def _number(value: Optional[float]) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) and np.isfinite(value) else "-"


def read_report_rows(evaluation_folder: str) -> List[Dict]:
    """The per-song rows of an evaluation (``scores.json``), each with its report media where it has them."""
    with open(os.path.join(evaluation_folder, "scores.json")) as handle:
        return json.load(handle)["tracks"]


def write_comparison(out: str, runs: Sequence[Tuple[str, str]]) -> str:
    """Writes ``out/index.html``: two or more runs' reports side by side on the songs they share (one mixture
    player, each run's estimates under it, the scores with their differences to the first run).

    Args:
        runs: ``(label, evaluation folder)`` pairs, each folder holding ``scores.json`` and ``report/``.

    Raises:
        ValueError: a run has no listening report, or the runs share no song (the message says which).
    """
    tables = {}
    for label, evaluation in runs:
        report = os.path.join(evaluation, REPORT_FOLDER)
        if not os.path.isfile(os.path.join(report, "index.html")):
            raise ValueError(f"run {label} has no listening report in {report}: evaluate it with Evaluate.py first")
        tables[label] = {(r["dataset"], r["track"]): r for r in read_report_rows(evaluation) if r.get("media")}
    labels = [label for label, _ in runs]
    songs = sorted(set.intersection(*(set(rows) for rows in tables.values())))
    if not songs:
        raise ValueError(f"runs {', '.join(labels)} share no evaluated song")
    sources = list(tables[labels[0]][songs[0]]["methods"]["separator"])
    os.makedirs(out, exist_ok=True)
    for label, evaluation in runs:  # each run's media under its own folder
        target = os.path.join(out, url_name(label))
        for kind in ("clips", "images"):
            source_folder = os.path.join(evaluation, REPORT_FOLDER, kind)
            if os.path.isdir(source_folder):
                shutil.copytree(source_folder, os.path.join(target, kind), dirs_exist_ok=True)
    parts = [_page_head(f"Runs {', '.join(labels)} side by side"), "<h2>SDR per song (dB)</h2>",
             _comparison_table(tables, labels, songs, sources)]
    for song in songs:
        first = tables[labels[0]][song]["media"]
        parts.append(f"<section><h3>{html.escape(song[1])} <small>({html.escape(song[0])})</small></h3>"
                     + _player("mixture", f"{url_name(labels[0])}/{first['clips']['mixture']}"))
        for source in sources:
            parts.append(f"<h4>{html.escape(source)}</h4>" + "".join(
                _player(f"run {label}", f"{url_name(label)}/{tables[label][song]['media']['clips'][f'estimate {source}']}")
                for label in labels) + _player("reference", f"{url_name(labels[0])}/{first['clips'][f'reference {source}']}"))
        parts.append("</section>")
    parts.append("</body></html>")
    path = os.path.join(out, "index.html")
    with open(path, "w") as handle:
        handle.write("\n".join(parts))
    return path


def _comparison_table(tables: Dict, labels: List[str], songs: List, sources: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(s)}, run {html.escape(l)}</th>" + (
        f"<th>{html.escape(s)}, {html.escape(l)} - {html.escape(labels[0])}</th>" if l != labels[0] else "")
        for s in sources for l in labels)
    lines = [f'<table class="comparison"><tr><th>song</th>{head}</tr>']
    for song in songs:
        cells = ""
        for source in sources:
            base = tables[labels[0]][song]["methods"]["separator"][source].get("SDR")
            for label in labels:
                value = tables[label][song]["methods"]["separator"][source].get("SDR")
                cells += f"<td>{_number(value)}</td>"
                if label != labels[0]:
                    both = all(isinstance(v, (int, float)) for v in (value, base))
                    cells += f"<td>{_number(value - base) if both else '-'}</td>"
        lines.append(f"<tr><td>{html.escape(song[1])}</td>{cells}</tr>")
    return "\n".join(lines + ["</table>"])


def _player(label: str, path: str) -> str:
    return (f'<div class="player"><span>{html.escape(label)}</span>'
            f'<audio controls preload="metadata" src="{html.escape(path)}"></audio></div>')
