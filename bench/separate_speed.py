"""Real-time factor of separating a 3-minute 44.1 kHz stereo file, and peak memory on a 10-minute one.

    python -m bench.separate_speed [--minutes 3] [--memory-minutes 10]

The separator has the paper's architecture (weights do not change its speed). Rows compare the
inference window (output frames per network call), chunked against one-piece separation, and the
full-band output (the default, ``--band-extension average``) against the band-limited one (``none``).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from bench.common import ROOT, interleaved, report


def make_song(path: str, minutes: float) -> None:
    """A stereo 44.1 kHz song of chords and noise bursts (content does not matter for speed)."""
    from Utils import audio as audio_io
    rate, rng = 44100, np.random.default_rng(0)
    t = np.arange(int(minutes * 60 * rate)) / rate
    left = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 277 * t) + 0.02 * rng.standard_normal(t.size)
    right = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.02 * rng.standard_normal(t.size)
    audio_io.save(path, np.stack([left, right], 1).astype(np.float32), rate)


def paper_separator(folder: str) -> str:
    from Config import resolve
    from Models.build import build_separator, save_separator
    config = resolve(["cfg.semi_sup"])
    network, _ = build_separator(config)
    path = os.path.join(folder, "paper_separator.keras")
    save_separator(network, config, path)
    return path


def child_peak_memory(model: str, song: str, out: str, *options: str) -> float:
    """Peak resident memory (GiB) of Separate.py on a file, in a process of its own."""
    command = [sys.executable, os.path.join(ROOT, "bench", "peak_memory.py"), os.path.join(ROOT, "Separate.py"),
               song, "-o", out, "--checkpoint", model, "--no-progress", *options]
    result = subprocess.run(command, check=True, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    return float(result.stdout.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--memory-minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    from Models.separator import CHUNK_SECONDS, Separator
    from Utils.hardware import NATIVE_BFLOAT16_FLAGS, auto_precision, cpu_flags
    from Utils import audio as audio_io
    from Utils.spectral import magnitude, to_model_space
    from bench.flops import copy_bandwidth, forward_flops, peak_gflops
    seconds, rows = args.minutes * 60, []
    with tempfile.TemporaryDirectory() as folder:
        model = paper_separator(folder)
        song = os.path.join(folder, "song.wav")
        make_song(song, args.minutes)
        mono = audio_io.load(song, 8192, mono=True)[:, 0]
        spectrum = to_model_space(magnitude(np.stack([mono, mono]), 512, 256)).numpy()  # two channels
        # (label, output frames per window, seconds of audio per run, FLOPs per run or None): a run
        cases, flop_rows = {}, []
        for frames, precision in ((256, "float32"), (1024, "float32"), (256, "bfloat16")):
            label = f", {precision} network (--precision {precision})"
            variants = [(CHUNK_SECONDS, "average"), (0.0, "average")] if precision == "float32" else [(CHUNK_SECONDS, "average")]
            if (frames, precision) == (256, "float32"):
                variants.append((CHUNK_SECONDS, "none"))
            for chunk_seconds, band in variants:
                separator = Separator.from_checkpoint(model, inference_frames=frames, precision=precision,
                                                      chunk_seconds=chunk_seconds, band_extension=band)
                width = separator.geometry.output_shape[1]
                how = f"chunks of {chunk_seconds:g} s" if chunk_seconds else "in one piece"
                output = "full band (average)" if band == "average" else "band-limited (none)"
                cases[(f"end to end (read, analyse, network, synthesise, write), {output}, {how}{label}", width,
                       seconds, None)] = lambda separator=separator: separator.separate_to_file(song, folder, progress=False)
            flops = forward_flops(separator.network) * (8192 / 256) / width * 2 * seconds
            cases[(f"network alone (both channels){label}", width, 2 * seconds, flops)] = \
                lambda separator=separator: separator.separate_magnitude(spectrum)
            if precision == "float32":
                flop_rows.append(["network GFLOP per second of mono audio", width, f"{flops / 2 / seconds / 1e9:.2f}",
                                  "-", "-"])
        for case in cases.values():
            case()  # warm-up: traces each network once
        timings = interleaved(cases, args.repeats)
        for (label, width, audio_seconds, flops), times in timings.items():
            median = float(np.median(times))
            rows.append([label, width, audio_seconds / median,
                         f"{audio_seconds / max(times):.0f}-{audio_seconds / min(times):.0f}",
                         f"{flops / median / 1e9:.1f}" if flops else "-"])
        rows += flop_rows
        peaks, bandwidth = peak_gflops(), copy_bandwidth()
        memory_song = os.path.join(folder, "long.wav")
        make_song(memory_song, args.memory_minutes)
        out = os.path.join(folder, "out")
        for options, label in (((), "default chunks, full band"), (("--chunk-seconds", "0"), "in one piece, full band"),
                               (("--band-extension", "none"), "default chunks, band-limited")):
            peak = child_peak_memory(model, memory_song, out, *options)
            rows.append([f"peak memory (GiB), {args.memory_minutes:g}-minute stereo 44.1 kHz file, {label}",
                         "default", f"{peak:.2f}", "-", "-"])
    default = auto_precision()
    report("separate_speed", f"Separation speed, {args.minutes:g}-minute 44.1 kHz stereo file",
           ["what", "output frames per window", "real-time factor, median (or value)", "range", "achieved GFLOP/s"],
           rows, f"python -m bench.separate_speed --minutes {args.minutes:g} --memory-minutes {args.memory_minutes:g}"
           f" --repeats {args.repeats}",
           f"Median and range of {args.repeats} runs of each row, taken in turn (round robin) so that drifts in the "
           "machine's speed touch every row alike; after a warm-up run that traces the network. The network "
           "rows count both channels' audio. Peak in the same run: "
           + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in peaks.items())
           + f"; memory copy {bandwidth:.1f} GB/s. Target: 100x real time end to end. Separate.py's default here, "
           f"--precision auto, is {default}"
           + (f" (the CPU has {', '.join(f for f in NATIVE_BFLOAT16_FLAGS if f in cpu_flags())})."
              if default == "bfloat16" else "."))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
