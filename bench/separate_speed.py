"""Real-time factor of separating a 3-minute 44.1 kHz stereo file, and peak memory on a 10-minute one.

    python -m bench.separate_speed [--minutes 3] [--memory-minutes 10]

The separator has the paper's architecture (weights do not change its speed).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile

import numpy as np

from bench.common import ROOT, Timer, report


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


def child_peak_memory(model: str, song: str, out: str) -> float:
    """Peak resident memory (GiB) of Separate.py on a file, in its own process."""
    command = [sys.executable, os.path.join(ROOT, "Separate.py"), song, "-o", out, "--checkpoint", model, "--no-progress"]
    subprocess.run(command, check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT))
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--memory-minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    from Models.separator import Separator
    from Utils import audio as audio_io
    from Utils.spectral import magnitude, to_model_space
    from bench.flops import forward_flops, peak_gflops
    with tempfile.TemporaryDirectory() as folder:
        model = paper_separator(folder)
        song = os.path.join(folder, "song.wav")
        make_song(song, args.minutes)
        separator = Separator.from_checkpoint(model)
        seconds = args.minutes * 60
        with Timer() as end_to_end:
            header = audio_io.info(song)
            estimates = separator.separate(audio_io.load(song, clip=False), header.sample_rate)
            for source, audio in estimates.items():
                audio_io.save(os.path.join(folder, f"{source}.wav"), audio, header.sample_rate)
        mono = audio_io.load(song, 8192, mono=True)[:, 0]
        spectrum = to_model_space(magnitude(mono, 512, 256)).numpy()
        separator.separate_magnitude(spectrum[:, :600])  # warm up
        with Timer() as network:
            for _ in range(2):  # two channels
                separator.separate_magnitude(spectrum)
        geometry = separator.geometry
        windows_per_second = (8192 / 256) / geometry.output_shape[1]
        flops_per_second_audio = forward_flops(separator.network) * windows_per_second
        achieved = 2 * seconds * flops_per_second_audio / network.seconds / 1e9
        peaks = peak_gflops()
        memory_song = os.path.join(folder, "long.wav")
        make_song(memory_song, args.memory_minutes)
        peak_memory = child_peak_memory(model, memory_song, os.path.join(folder, "out"))
    rows = [["end to end (decode, resample, STFT, network, ISTFT, write)", seconds / end_to_end.seconds, "-"],
            ["network alone (both channels)", 2 * seconds / network.seconds, f"{achieved:.1f}"],
            [f"peak memory, {args.memory_minutes:g}-minute stereo 44.1 kHz file", f"{peak_memory:.2f} GiB", "-"]]
    report("separate_speed", f"Separation speed, {args.minutes:g}-minute 44.1 kHz stereo file",
           ["what", "real-time factor", "achieved GFLOP/s"], rows,
           f"python -m bench.separate_speed --minutes {args.minutes:g} --memory-minutes {args.memory_minutes:g}",
           f"Network: {flops_per_second_audio / 1e9:.2f} GFLOP per second of mono audio "
           f"(window of {geometry.output_shape[1]} output frames). Peak in the same run: "
           + ", ".join(f"{k}: {v:.1f} GFLOP/s" for k, v in peaks.items()) + ". Target: 100x real time end to end.")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
