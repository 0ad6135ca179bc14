"""Separation speed on a 3-minute 44.1 kHz stereo file: whole commands and the library in process; peak memory.

    python -m bench.separate_speed [--minutes 3] [--memory-minutes 10] [--repeats 7] [--baseline REV]

The separator has the paper's architecture (weights do not change its speed). Whole-process rows time
``Separate.py`` from start to written files, as a user waits for it, on each engine (LiteRT, the default,
and TensorFlow) and precision, on the 3-minute song and on a 1-second file; with ``--baseline REV`` the
default rows are also timed for the project as it was at git revision REV, in turn with today's. In-process
rows time ``Separator.separate_to_file`` and the network alone, comparing the inference window, chunked
against one-piece separation, and the full-band output (the default) against the band-limited one. The
breakdown rows time each stage of the default separation alone, one after the other on one thread.
"""
import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from bench.common import ROOT, Timer, report, timed_in_turn

SECOND_FILE = 1.0  # seconds of the short file: what a user waits for when the audio is nothing


def make_song(path: str, minutes: float) -> None:
    """A stereo 44.1 kHz song of chords and noise bursts (content does not matter for speed)."""
    from Utils import audio_writer
    rate, rng = 44100, np.random.default_rng(0)
    t = np.arange(int(minutes * 60 * rate)) / rate
    left = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 277 * t) + 0.02 * rng.standard_normal(t.size)
    right = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.02 * rng.standard_normal(t.size)
    audio_writer.save(path, np.stack([left, right], 1).astype(np.float32), rate)


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


def baseline_separator(model: str, checkout: str, folder: str) -> str:
    """A copy of ``model`` in ``folder`` with the LiteRT exports the baseline ``checkout`` makes of it (its own
    batch and conversion: an export made today would credit the baseline with today's)."""
    os.makedirs(folder, exist_ok=True)
    for path in (model, model[:-len(".keras")] + ".json"):
        shutil.copy(path, folder)
    copy = os.path.join(folder, os.path.basename(model))
    subprocess.run([sys.executable, "-c", f"from Models.engines import export_for_litert; export_for_litert({copy!r})"],
                   check=True, capture_output=True, cwd=checkout, env=dict(os.environ, PYTHONPATH=checkout))
    return copy


def separate_command(model: str, song: str, out: str, *options: str, root: str = ROOT) -> Tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of Separate.py (the one in ``root``) on a file, as a process
    of its own, into an empty ``out``."""
    command = [sys.executable, os.path.join(ROOT, "bench", "peak_memory.py"), os.path.join(root, "Separate.py"),
               song, "-o", out, "--checkpoint", model, "--no-progress", *options]
    # As installed: modules compiled once (by the warm-up run), not in every run.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    shutil.rmtree(out, ignore_errors=True)  # a new song's outputs (ext4 flushes a file renamed over another)
    with Timer() as timer:
        result = subprocess.run(command, capture_output=True, text=True, env=dict(env, PYTHONPATH=root))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return timer.seconds, float(result.stdout.split()[-1])


NETWORKS = [("litert", "auto", ()), ("litert", "float32", ()), ("litert", "auto", ("--network-channels", "mid")),
            ("tensorflow", "auto", ()), ("tensorflow", "float32", ())]  # engine, precision, other options


@contextlib.contextmanager
def baseline_checkout(revision: Optional[str], folder: str) -> Iterator[Optional[Tuple[str, str]]]:
    """``(revision, checkout)`` of the project at a git revision (a temporary worktree), or None without one."""
    if not revision:
        yield None
        return
    checkout = os.path.join(folder, "baseline")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", checkout, revision], check=True)
    try:
        yield revision, checkout
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", checkout], check=False)


def whole_process_rows(model: str, songs: Dict[str, Tuple[str, float]], out: str, repeats: int,
                       baseline: Optional[Tuple[str, str]] = None) -> List[List]:
    """Rows of Separate.py's wall time and peak memory, each network on each file, runs taken in turn;
    ``baseline``: ``(revision, checkout)``, whose Separate.py is timed too with the default options, on its own
    LiteRT exports of the model."""
    from Utils.hardware import auto_precision
    peaks: Dict[Tuple, List[float]] = {}
    cases = {}
    versions = [("", ROOT, model)]
    if baseline:
        versions.append((f" at {baseline[0]}", baseline[1],
                         baseline_separator(model, baseline[1], os.path.join(os.path.dirname(out), "baseline_model"))))
    for label, (song, seconds) in songs.items():
        for engine, precision, options in NETWORKS:
            for version, root, checkpoint in versions if (engine, precision, options) == NETWORKS[0] else versions[:1]:
                key = (label, seconds, engine, precision, options, version)
                peaks[key] = []
                cases[key] = lambda song=song, key=key, engine=engine, precision=precision, options=options, \
                    root=root, checkpoint=checkpoint: peaks[key].append(separate_command(
                        checkpoint, song, out, "--engine", engine, "--precision", precision, *options, root=root)[1])
    for key, case in cases.items():
        case()  # warm-up: each checkout's modules compiled, the files in the page cache
        peaks[key].clear()
    rows = []
    timed = timed_in_turn(cases, repeats)
    for key, times in timed.items():
        label, seconds, engine, precision, options, version = key
        used = auto_precision(engine) if precision == "auto" else precision
        median = float(np.median(times))
        rows.append([f"whole process{version}: Separate.py --engine {engine} --precision {precision} ({used})"
                     f"{''.join(' ' + option for option in options)}, {label}", "default", f"{median:.2f}",
                     f"{seconds / median:.1f}", f"{seconds / max(times):.0f}-{seconds / min(times):.0f}",
                     f"{max(peaks[key]):.2f}"])
        if version:  # today's time over the baseline's, run for run in the same round: the host's drift cancels
            ratios = [today / before for today, before in zip(timed[key[:-1] + ("",)], times)]
            rows.append([f"whole process, ratio of today's time to the time{version} (same round), {label}", "default",
                         "-", f"{np.median(ratios):.2f}", f"{min(ratios):.2f}-{max(ratios):.2f}", "-"])
    return rows


def stage_rows(model: str, song: str, seconds: float, repeats: int) -> List[List]:
    """Where the default separation's time goes: each stage alone on one thread (the separator overlaps them on
    two), the song in one piece; and the start-up (imports and opening the network) as a process of its own."""
    from Models.band_outputs import FULL_BAND_FRAMES
    from Models.full_band import InputGrid, masks_on_input_grid, own_share, ratio_masks, synthesise, windowed_frames
    from Models.separator import Separator
    from Utils import audio as audio_io
    from Utils import audio_writer
    from Utils.fft import irfft, rfft
    from Utils.spectral import stft_numpy, to_model_space
    separator = Separator.from_checkpoint(model, precision="auto")
    settings, state = separator.settings, {}
    rate = audio_io.info(song).sample_rate
    grid = InputGrid.for_input(rate, settings["sample_rate"], settings["n_fft"], settings["hop"])
    start_up = [sys.executable, "-c", "import Separate; from Models.separator import Separator; "
                f"Separator.from_checkpoint({model!r}, precision='auto')"]

    def blocks(count: int):
        return [(first, min(first + FULL_BAND_FRAMES, count)) for first in range(0, count, FULL_BAND_FRAMES)]

    def input_stft():
        audio = np.ascontiguousarray(state["audio"].T)
        count = grid.frame_count(audio.shape[1])
        padded = np.pad(audio, [(0, 0), (grid.hop, (count + 1) * grid.hop - audio.shape[1] - grid.hop)])
        state["segments"] = [padded[:, a * grid.hop:(b + 1) * grid.hop] for a, b in blocks(count)]
        state["spectra"] = [rfft(windowed_frames(segment, grid)) for segment in state["segments"]]

    def masks():
        magnitudes = np.expm1(np.stack([state["estimates"][source] for source in separator.sources]))
        model_masks = ratio_masks(magnitudes)
        count = sum(len(spectrum[0]) for spectrum in state["spectra"])
        state["masks"] = [masks_on_input_grid(model_masks, 0, grid, frames, "average") for frames in blocks(count)]

    def inverse_stft():  # as the separator: every source but the last inverted, the last the input's share less those
        state["outputs"] = []
        for segment, spectrum, on_grid in zip(state["segments"], state["spectra"], state["masks"]):
            inverted = synthesise(irfft(spectrum[None] * on_grid[:-1], grid.n_fft), grid)
            state["outputs"].append(np.concatenate([inverted, (own_share(segment, grid) - inverted.sum(0))[None]]))

    def write():
        for index, source in enumerate(separator.sources):
            with audio_writer.AudioWriter(os.path.join(os.path.dirname(song), f"stage_{source}.wav"), rate, 2) as writer:
                for output in state["outputs"]:
                    writer.write(np.ascontiguousarray(output[index].T))

    stages = {
        "start-up: Python, imports and opening the network (a process of its own)":
            lambda: subprocess.run(start_up, check=True, capture_output=True, cwd=ROOT),
        "decode": lambda: state.update(audio=audio_io.load(song, clip=False)),
        "resample to the model's rate": lambda: state.update(
            resampled=audio_io.resample(state["audio"], rate, settings["sample_rate"])),
        "STFT at the model's rate": lambda: state.update(
            spectrum=to_model_space(np.abs(stft_numpy(state["resampled"].T, settings["n_fft"], settings["hop"])))),
        "network (both channels)": lambda: state.update(estimates=separator.separate_magnitude(state["spectrum"])),
        "STFT at the input's rate": input_stft,
        "masks (ratio, onto the input's grid)": masks,
        "inverse STFT of the masked spectra": inverse_stft,
        "write (float wav)": write,
    }
    rows = []
    for label, times in timed_in_turn(stages, repeats).items():
        median = float(np.median(times))
        rows.append([f"stage: {label}", separator.geometry.output_shape[1], f"{median:.2f}", "-",
                     f"{min(times):.2f}-{max(times):.2f} s", "-"])
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
    for (label, width, audio_seconds), times in timed_in_turn(cases, repeats).items():
        median = float(np.median(times))
        rows.append([label, width, f"{median:.2f}", f"{audio_seconds / median:.1f}",
                     f"{audio_seconds / max(times):.0f}-{audio_seconds / min(times):.0f}", "-"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--memory-minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", help="a git revision whose Separate.py is timed in turn with today's (a "
                                           "temporary worktree of it)")
    args = parser.parse_args(argv)
    from bench.flops import forward_flops, peak_gflops
    from Models.build import build_separator
    from Models.saved_separator import load_separator_settings
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as folder, baseline_checkout(args.baseline, folder) as baseline:
        model = paper_separator(folder)
        song, short, long_song = (os.path.join(folder, name) for name in ("song.wav", "short.wav", "long.wav"))
        make_song(song, args.minutes)
        make_song(short, SECOND_FILE / 60)
        make_song(long_song, args.memory_minutes)
        out = os.path.join(folder, "out")
        rows = whole_process_rows(model, {f"{args.minutes:g}-minute stereo 44.1 kHz song": (song, seconds),
                                          f"{SECOND_FILE:g}-second file": (short, SECOND_FILE)}, out, args.repeats,
                                  baseline)
        rows += stage_rows(model, song, seconds, args.repeats)
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
           f" --repeats {args.repeats}" + (f" --baseline {args.baseline}" if args.baseline else ""),
           f"Median and range of {args.repeats} runs of each row, taken in turn (round robin) so that drifts in the "
           "machine's speed touch every row alike. Whole-process rows: Separate.py from its start to its written "
           "files (imports, reading, separation, writing; the network's LiteRT exports exist, as Training.py "
           "writes them), with the process's own peak resident memory; 'ratio' rows: the two versions' runs of "
           "each round divided, whose median a drift of the machine's speed does not move. "
           "In-process rows: after a warm-up run; the "
           "network rows count both channels' audio. Stage rows: each stage of the default separation alone, on "
           "one thread but the network's (the separator overlaps them; their sum is more than a whole process's "
           "time). Targets (2 cores): the 3-minute song in at most 1.0 s as a whole process (1.5 s in float32), "
           "under 1 GB; a 1-second file in 0.25 s; a 10-minute file under 2 GB. "
           "Peak in the same run: " + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in peaks.items()) + ".")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
