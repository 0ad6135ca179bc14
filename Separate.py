"""Separates songs into their sources with a trained model.

    python Separate.py song.mp3 other.wav -o separated/
    python Separate.py *.flac -o out/ --checkpoint runs/3/best_separator.keras --format mp3
    python Separate.py long_set.wav -o out/ --chunk-seconds 30
    python Separate.py song.wav -o out/ --engine tensorflow --precision bfloat16

Writes ``OUTDIR/<input name>/<source>.<format>`` at the input's sample rate, length and channel
count, separating in chunks of about a minute (bounded memory, no seam). Full band by default: the
model's estimates become masks on each channel's own STFT, and the sources add up to the input.
Reads anything ffmpeg decodes; an unreadable input (or one whose sources cannot be written) is
reported and skipped, and the exit status is 1 if any input failed.
The checkpoint defaults to the best model of the latest finished training run in ``runs/``.
The network runs on LiteRT (``Models.engines``): TensorFlow is not imported unless ``--engine tensorflow``
is asked for or the checkpoint has no LiteRT export yet (one is written beside it, once), so that this
command also works with the separation-only install (requirements-separate.txt).
"""
import argparse
import concurrent.futures
import logging
import math
import os
import signal
import sys
from typing import Dict, List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if __name__ == "__main__":  # a separating process makes no BLAS call: numpy's OpenBLAS needs no threads to spin a core
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# None of these loads TensorFlow: --help is quick.
from Models.chunks import CHUNK_SECONDS  # noqa: E402
from Models.engines import DEFAULT_ENGINE, ENGINES, unoffered_precision  # noqa: E402
from Models.full_band import (BAND_EXTENSIONS, DEFAULT_BAND_EXTENSION, DEFAULT_NETWORK_CHANNELS,  # noqa: E402
                              NETWORK_CHANNELS)
from Runs.folders import RUNS_DIR  # noqa: E402
from Utils.hardware import PRECISION_CHOICES  # noqa: E402


def parse_arguments(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="audio files to separate")
    parser.add_argument("-o", "--out", default="separated", help="output folder (default: separated)")
    parser.add_argument("--checkpoint", default=None,
                        help="a saved separator (.keras) or a run folder (default: latest finished run in runs/)")
    parser.add_argument("--format", choices=("wav", "flac", "mp3"), default="wav", help="output format")
    parser.add_argument("--runs", default=RUNS_DIR, help="where to look for the latest run (default: %(default)s)")
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS,
                        help="separate in chunks of about this length (whole network windows), bounding memory; "
                             "0: in one piece (default: 60)")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help="where the network runs: litert starts in a fraction of a second and needs no "
                             "TensorFlow; tensorflow offers bfloat16 and GPUs (default: litert; speeds in "
                             "bench/results/separate_speed.md)")
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="the network's arithmetic: int8 (litert; fast on CPUs with VNNI or Arm dotprod) and "
                             "bfloat16 (tensorflow; fast on CPUs with AVX512-BF16 or AMX) cost hundredths of a dB "
                             "against float32 (bench/results/precision_quality.md); auto: the faster one where the "
                             "CPU computes it natively (and no GPU), float32 otherwise (default: auto)")
    parser.add_argument("--band-extension", choices=BAND_EXTENSIONS, default=DEFAULT_BAND_EXTENSION,
                        help="above the model's band (4096 Hz for the paper's 8192 Hz models): average: the masks' "
                             "mean over its top 1 kHz, so the sources keep cymbals and sibilants and add up to "
                             "the input; zeros: nothing there; "
                             "none: the model's band-limited estimates, resampled, as the paper "
                             f"(default: {DEFAULT_BAND_EXTENSION}; measured in bench/results/band_extension.md)")
    parser.add_argument("--network-channels", choices=NETWORK_CHANNELS, default=DEFAULT_NETWORK_CHANNELS,
                        help="each: the network hears each channel; mid: once, the channels' mean, whose masks apply to "
                             "every channel (half the network's work on stereo; full band only; speed and quality in "
                             "bench/results/separate_speed.md and network_channels.md) (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.chunk_seconds) and args.chunk_seconds >= 0):
        parser.error(f"--chunk-seconds {args.chunk_seconds} is invalid: give 0 (in one piece) or a positive number of "
                     f"seconds")
    if args.network_channels == "mid" and args.band_extension == "none":
        parser.error("--network-channels mid gives masks for the input's own channels: it needs --band-extension "
                     "average or zeros")
    if unoffered_precision(args.engine, args.precision):
        parser.error(f"{unoffered_precision(args.engine, args.precision)}: choose it with --engine")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    from Utils.files import output_folder  # the libraries load only after the arguments are checked

    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the library's notes (an export made once)
    # A terminated run (kill, a closed terminal) cleans up as Ctrl-C does: no partial files are left behind.
    signal.signal(signal.SIGTERM, lambda number, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    folders: Dict[str, str] = {}
    for source_path in args.inputs:
        folder = output_folder(source_path, args.out)
        other = folders.setdefault(folder, source_path)
        if other != source_path:
            print(f"error: {other} and {source_path} would both be written to {folder}; "
                  f"separate them into different -o folders (nothing was written)", file=sys.stderr)
            return 2
    from Models.separator import Separator
    from Utils import audio as audio_io
    from Utils.audio_writer import DiskFullError
    from Runs.folders import resolve_checkpoint

    reader = concurrent.futures.ThreadPoolExecutor(1)  # decodes the first file while the separator loads
    first_mixture = reader.submit(audio_io.load, args.inputs[0], clip=False)
    reader.shutdown(wait=False)
    try:
        path = resolve_checkpoint(args.checkpoint, None, args.runs)
        separator = Separator.from_checkpoint(path, engine=args.engine, chunk_seconds=args.chunk_seconds or None,
                                             precision=args.precision, band_extension=args.band_extension,
                                             network_channels=args.network_channels)
    except (FileNotFoundError, ValueError, OSError, ImportError) as error:
        print(f"error: cannot load the separator: {error}", file=sys.stderr)
        return 2
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as error:
        print(f"error: cannot create the output folder {args.out}: {error.strerror}; choose another with -o",
              file=sys.stderr)
        return 2
    network = f"network on {separator.engine.name} in {separator.precision}" + (
        " (--precision auto)" if args.precision == "auto" else "")
    progress = not args.no_progress and sys.stdout.isatty()  # bars on a terminal only, on stdout: stderr is for errors
    if progress:
        from tqdm import tqdm
        files, say = tqdm(args.inputs, desc="separating", unit="file", file=sys.stdout, leave=False), tqdm.write
    else:  # tqdm is not even imported
        files, say = args.inputs, print
    failed = finished = 0
    try:
        for index, source_path in enumerate(files):
            try:
                separator.separate_to_file(source_path, args.out, args.format, progress=progress,
                                           mixture=first_mixture.result() if index == 0 else None)
            except audio_io.AudioReadError as error:
                say(f"skipping {error}", file=sys.stderr)
                failed += 1
            except DiskFullError as error:  # every later file would fail the same way
                print(f"error: {error}; stopped after {finished - failed} of {len(args.inputs)} files (nothing "
                      f"of {source_path} was kept): free some space or choose another -o", file=sys.stderr)
                return 1
            except OSError as error:  # the output could not be written (a format that cannot hold it, a name taken...)
                say(f"could not write the sources of {source_path}: {error}", file=sys.stderr)
                failed += 1
            finished += 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: {finished - failed} of {len(args.inputs)} files separated into {args.out}; "
              "the file in progress left nothing behind", file=sys.stderr)
        return 130
    print(f"separated {len(args.inputs) - failed} of {len(args.inputs)} files into {args.out}"
          + (f"; {failed} failed" if failed else "") + f"; {network}")
    return 1 if failed else 0


if __name__ == "__main__":
    from Utils.allocator import reuse_freed_memory
    reuse_freed_memory()  # a chunk's arrays take the last chunk's pages, not fresh ones
    sys.exit(main())
