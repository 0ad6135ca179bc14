"""Does tensorflow-io read training excerpts faster than the project's reader? The measurement behind dropping it.

    pip install tensorflow-cpu==2.16.2 tensorflow-io==0.37.1   # the last pair whose ops load (not installed here)
    python -m bench.tfio_decoding [--excerpts 240]

The training streams read each excerpt with ``tf.numpy_function`` calls into libsndfile/ffmpeg and soxr
(``Input.streams``, ``read_workers`` in parallel). tensorflow-io's place would be inside the graph:
``tfio.audio.AudioIOTensor`` sliced to the excerpt and ``tfio.audio.resample``, with the same parallel
calls and no Python per excerpt. Both read the same random excerpts (10 s plus the network's context,
downmixed, at 8192 Hz) of the files a run reads: for the paper config the demo corpus's 44.1 kHz stems
and collections (wav, flac, mp3), for ``cfg.demo`` its resampled 8 kHz cache. Rows: excerpts per second,
and how closely each excerpt agrees with the project's reader (signal to difference, after alignment).
"""
import argparse
import os
from typing import List, Tuple

import numpy as np

from bench.common import demo_corpus, interleaved, report

SAMPLE_TYPES = ({"PCM_16": 0, "PCM_24": 1, "PCM_32": 1}, ((16, 32768.0), (32, 2.0 ** 31), (0, 1.0)))


def plan_for(config, count: int, seed: int = 0) -> List[Tuple[str, float, float]]:
    """``(file, offset s, duration s)`` of random excerpts of the single-file roles a training run reads."""
    from Input.datasets.partition import partitions_from_config
    from Utils import audio as audio_io
    partitions = partitions_from_config(config)
    files = sorted({ref for tracks in [partitions.train_sup, *partitions.train_unsup.values()] for track in tracks
                    for refs in track.roles.values() if len(refs) == 1 for ref in refs})
    rng = np.random.default_rng(seed)
    duration = config["excerpt_duration"] + 2.0  # the context the network's valid convolutions need, rounded up
    plan = []
    for path in rng.choice(files, count):
        length = audio_io.info(path).duration
        plan.append((str(path), float(rng.uniform(0, max(length - duration, 0))), duration))
    return plan


def project_reader(plan, rate: int, workers: int):
    """The streams' way: ``tf.numpy_function`` into Utils.audio (libsndfile/ffmpeg, soxr), in parallel calls."""
    import tensorflow as tf
    from Utils import audio as audio_io

    def read(index):
        path, offset, duration = plan[int(index)]
        return audio_io.load(path, rate, mono=True, offset=offset, duration=duration)[:, 0]

    dataset = tf.data.Dataset.range(len(plan)).map(
        lambda i: tf.numpy_function(read, [i], tf.float32), num_parallel_calls=workers, deterministic=True)
    return lambda: [x.numpy() for x in dataset]


def tfio_reader(plan, rate: int, workers: int):
    """tensorflow-io in the graph: the file's sample type must be given (a wrong one aborts the process), so it
    is looked up first and the decoder chosen by ``tf.switch_case``."""
    import soundfile
    import tensorflow as tf
    import tensorflow_io as tfio
    codes, types = SAMPLE_TYPES
    kinds = [2 if p.endswith((".mp3", ".ogg")) else codes.get(soundfile.info(p).subtype, 2) for p, _, _ in plan]
    dtypes = {16: tf.int16, 32: tf.int32, 0: tf.float32}

    def excerpt(path, kind, offset, duration):
        def decoder(bits, scale):
            def run():
                audio = tfio.audio.AudioIOTensor(path, dtype=dtypes[bits])
                source_rate = tf.cast(audio.rate, tf.int64)
                start = tf.cast(offset * tf.cast(source_rate, tf.float64), tf.int64)
                stop = start + tf.cast(duration * tf.cast(source_rate, tf.float64), tf.int64)
                return tf.reduce_mean(tf.cast(audio[start:stop], tf.float32) / scale, axis=1, keepdims=True), source_rate
            return run
        samples, source_rate = tf.switch_case(kind, [decoder(bits, scale) for bits, scale in types])
        resampled = tf.cond(source_rate == rate, lambda: samples,  # (samples, channels) in and out
                            lambda: tfio.audio.resample(samples, source_rate, rate))
        return resampled[:, 0]

    paths, offsets, durations = zip(*plan)
    seconds = (np.array(offsets, np.float64), np.array(durations, np.float64))
    dataset = tf.data.Dataset.from_tensor_slices((list(paths), kinds, *seconds)).map(
        excerpt, num_parallel_calls=workers, deterministic=True)
    return lambda: [x.numpy() for x in dataset]


def agreements(ours: List[np.ndarray], theirs: List[np.ndarray], reach: int = 64) -> np.ndarray:
    """Per excerpt, the signal-to-difference ratio (dB) between two readers' excerpts, aligned by the best shift
    within ``reach`` samples (the two round the excerpt's start differently, and tensorflow-io's resampler
    delays its output by 32 samples at 8192 Hz) and compared over their middle (the resamplers' filters differ
    at the edges)."""
    ratios = []
    for a, b in zip(ours, theirs):
        n = min(len(a), len(b)) - 2 * reach
        middle = slice(n // 10 + reach, n - n // 10 + reach)
        reference = a[middle]
        energy = max(float(np.sum(reference ** 2)), 1e-20)
        ratios.append(max(10 * np.log10(energy / max(float(np.sum((reference - b[middle.start + shift:middle.stop + shift])
                                                                    ** 2)), 1e-20))
                          for shift in range(-reach, reach + 1)))
    return np.array(ratios)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--excerpts", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from bench.configs import config_for
    demo_corpus()
    rows = []
    for label in ("paper", "demo"):
        config = config_for(label)
        plan = plan_for(config, args.excerpts)
        formats = sorted({os.path.splitext(p)[1] for p, _, _ in plan})
        readers = {"project (numpy_function: libsndfile/ffmpeg, soxr)": project_reader(plan, config["sample_rate"],
                                                                                     config["read_workers"]),
                   "tensorflow-io in the graph (AudioIOTensor, resample)": tfio_reader(plan, config["sample_rate"],
                                                                                   config["read_workers"])}
        outputs = {name: read() for name, read in readers.items()}  # warm-up, and the samples compared
        reference = next(iter(outputs.values()))
        for name, times in interleaved(readers, args.repeats).items():
            agreement = agreements(reference, outputs[name])
            rows.append([label, " ".join(formats), name, config["read_workers"], args.excerpts / float(np.median(times)),
                         float(np.median(agreement)), int(np.sum(agreement < 40))])
    report("tfio_decoding", "Reading training excerpts: the project's reader against tensorflow-io in the graph",
           ["config", "formats read", "reader", "parallel calls", "excerpts/s", "agreement with the project's, median (dB)",
            f"excerpts below 40 dB of {args.excerpts}"], rows,
           f"python -m bench.tfio_decoding --excerpts {args.excerpts}",
           "Median of the runs, taken in turn. The paper config reads the demo corpus's 44.1 kHz files as a run "
           "without the resampled cache does (tensorflow-io resamples them with tfio.audio.resample, whose output "
           "lags by 32 samples at 8192 Hz; the agreement is measured after aligning it); cfg.demo reads its 8 kHz "
           "cache, which needs no resampling. tensorflow-io 0.37.1 reads wav, flac, mp3 and ogg, not MUSDB18's "
           ".stem.mp4 nor m4a, which the project reads through ffmpeg; its AudioIOTensor needs each file's sample "
           "type in advance, and a wrong one aborts the process (a failed check in TensorFlow, not an exception).")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
