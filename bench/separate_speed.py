"""Separation speed on a 3-minute 44.1 kHz stereo file: whole commands and the library in process; peak memory.

    python -m bench.separate_speed [--minutes 3] [--memory-minutes 10] [--repeats 7]

The separator has the paper's architecture (weights do not change its speed). Whole-process rows time
``Separate.py`` from start to written files, as a user waits for it, on each engine (LiteRT, the default,
and TensorFlow) and precision, on the 3-minute song and on a 1-second file. In-process rows time
``Separator.separate_to_file`` and the network alone, comparing the inference window, chunked against
one-piece separation, and the full-band output (the default) against the band-limited one.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

import numpy as np

from bench.common import ROOT, Timer, interleaved, report

SECOND_FILE = 1.0  # seconds of the short file: what a user waits for when the audio is nothing


def make_song(path: str, minutes: float) -> None:
    """A stereo 44.1 kHz song of chords and noise bursts (content does not matter for speed)."""
    from Utils import audio as audio_io
    rate, rng = 44100, np.random.default_rng(0)
    t = np.arange(int(minutes * 60 * rate)) / rate
    left = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 277 * t) + 0.02 * rng.standard_normal(t.size)
    right = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.02 * rng.standard_normal(t.size)
    audio_io.save(path, np.stack([left, right], 1).astype(np.float32), rate)


def paper_separator(folder: str) -> str:
    """The paper's separator (random weights) saved in ``folder``, with its LiteRT exports as training writes them."""
    from Config import resolve
    from Models.build import build_separator, save_separator
    from Models.engines import export_for_litert
    config = resolve(["cfg.semi_sup"])
    network, _ = build_separator(config)
    path = os.path.join(folder, "paper_separator.keras")
    save_separator(network, config, path)
    export_for_litert(path)
    return path


def separate_command(model: str, song: str, out: str, *options: str) -> Tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of Separate.py on a file, as a process of its own."""
    command = [sys.executable, os.path.join(ROOT, "bench", "peak_memory.py"), os.path.join(ROOT, "Separate.py"),
               song, "-o", out, "--checkpoint", model, "--no-progress", *options]
    with Timer() as timer:
        result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return timer.seconds, float(result.stdout.split()[-1])


def whole_process_rows(model: str, songs: Dict[str, Tuple[str, float]], out: str, repeats: int) -> List[List]:
    """Rows of Separate.py's wall time and peak memory, each network on each file, runs taken in turn."""
    from Utils.hardware import auto_precision
    networks = [("litert", "auto"), ("litert", "float32"), ("tensorflow", "auto"), ("tensorflow", "float32")]
    peaks: Dict[Tuple, List[float]] = {}
    cases = {}
    for label, (song, seconds) in songs.items():
        for engine, precision in networks:
            key = (label, seconds, engine, precision)
            peaks[key] = []
            cases[key] = lambda song=song, key=key, engine=engine, precision=precision: peaks[key].append(
                separate_command(model, song, out, "--engine", engine, "--precision", precision)[1])
    rows = []
    for (label, seconds, engine, precision), times in interleaved(cases, repeats).items():
        used = auto_precision(engine) if precision == "auto" else precision
        median = float(np.median(times))
        rows.append([f"whole process: Separate.py --engine {engine} --precision {precision} ({used}), {label}",
                     "default", f"{median:.2f}", f"{seconds / median:.1f}",
                     f"{seconds / max(times):.0f}-{seconds / min(times):.0f}",
                     f"{max(peaks[(label, seconds, engine, precision)]):.2f}"])
    return rows


def in_process_rows(model: str, song: str, seconds: float, repeats: int) -> List[List]:
    """Rows of the library's real-time factor: separate_to_file end to end, and the network alone."""
    from Models.separator import CHUNK_SECONDS, Separator
    from Utils import audio as audio_io
    from Utils.spectral import stft_numpy, to_model_space
    mono = audio_io.load(song, 8192, mono=True)[:, 0]
    spectrum = to_model_space(np.abs(stft_numpy(np.stack([mono, mono]), 512, 256)))  # two channels
    networks = [("litert", "float32", 256), ("litert", "int8", 256), ("tensorflow", "float32", 256),
                ("tensorflow", "bfloat16", 256), ("tensorflow", "float32", 1024)]
    cases = {}
    for engine, precision, frames in networks:
        variants = [(CHUNK_SECONDS, "average")]
        if (engine, precision, frames) == ("tensorflow", "float32", 256):
            variants += [(0.0, "average"), (CHUNK_SECONDS, "none")]
        for chunk_seconds, band in variants:
            separator = Separator.from_checkpoint(model, engine=engine, precision=precision, inference_frames=frames,
                                                  chunk_seconds=chunk_seconds, band_extension=band)
            how = f"chunks of {chunk_seconds:g} s" if chunk_seconds else "in one piece"
            output = "full band (average)" if band == "average" else "band-limited (none)"
            label = f"in process, separate_to_file: {engine} {precision}, {output}, {how}"
            cases[(label, separator.geometry.output_shape[1], seconds)] = \
                lambda separator=separator: separator.separate_to_file(song, os.path.dirname(song), progress=False)
        cases[(f"in process, network alone (both channels): {engine} {precision}", separator.geometry.output_shape[1],
               2 * seconds)] = lambda separator=separator: separator.separate_magnitude(spectrum)
    for case in cases.values():
        case()  # warm-up: traces and allocates each network once
    rows = []
    for (label, width, audio_seconds), times in interleaved(cases, repeats).items():
        median = float(np.median(times))
        rows.append([label, width, f"{median:.2f}", f"{audio_seconds / median:.1f}",
                     f"{audio_seconds / max(times):.0f}-{audio_seconds / min(times):.0f}", "-"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--memory-minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    from bench.flops import forward_flops, peak_gflops
    from Models.build import build_separator
    from Models.saved_separator import load_separator_settings
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as folder:
        model = paper_separator(folder)
        song, short, long_song = (os.path.join(folder, name) for name in ("song.wav", "short.wav", "long.wav"))
        make_song(song, args.minutes)
        make_song(short, SECOND_FILE / 60)
        make_song(long_song, args.memory_minutes)
        out = os.path.join(folder, "out")
        rows = whole_process_rows(model, {f"{args.minutes:g}-minute stereo 44.1 kHz song": (song, seconds),
                                          f"{SECOND_FILE:g}-second file": (short, SECOND_FILE)}, out, args.repeats)
        rows += in_process_rows(model, song, seconds, args.repeats)
        for options, label in (((), "litert auto, default chunks, full band"),
                               (("--chunk-seconds", "0"), "litert auto, in one piece, full band"),
                               (("--band-extension", "none"), "litert auto, default chunks, band-limited"),
                               (("--engine", "tensorflow", "--precision", "float32"),
                                "tensorflow float32, default chunks, full band")):
            rows.append([f"peak memory, {args.memory_minutes:g}-minute stereo 44.1 kHz file: {label}", "default",
                         "-", "-", "-", f"{separate_command(model, long_song, out, *options)[1]:.2f}"])
        settings = load_separator_settings(model)
        for frames in (256, 1024):
            network, geometry = build_separator(settings, frames)
            flops = forward_flops(network) * (8192 / 256) / geometry.output_shape[1]
            rows.append(["network GFLOP per second of mono audio", geometry.output_shape[1], "-", f"{flops / 1e9:.2f}",
                         "-", "-"])
    peaks = peak_gflops()
    report("separate_speed", f"Separation speed, {args.minutes:g}-minute 44.1 kHz stereo file",
           ["what", "output frames per window", "seconds, median", "real-time factor, median (or value)", "range",
            "peak memory (GiB)"],
           rows, f"python -m bench.separate_speed --minutes {args.minutes:g} --memory-minutes {args.memory_minutes:g}"
           f" --repeats {args.repeats}",
           f"Median and range of {args.repeats} runs of each row, taken in turn (round robin) so that drifts in the "
           "machine's speed touch every row alike. Whole-process rows: Separate.py from its start to its written "
           "files (imports, reading, separation, writing; the network's LiteRT exports exist, as Training.py "
           "writes them), with the process's own peak resident memory. In-process rows: after a warm-up run; the "
           "network rows count both channels' audio. Targets (2 cores): the 3-minute song in at most 2 s as a "
           "whole process, under 1 GB; a 10-minute file under 2 GB; 100x real time in float32 in process. "
           "Peak in the same run: " + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in peaks.items()) + ".")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
