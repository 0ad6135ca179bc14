"""Training streams read from memory: each stream's songs held as magnitude spectrograms, excerpts cut by
TensorFlow ops inside the ``tf.data`` graph, a whole batch at a time, with no Python per excerpt.

The authors' cache semantics are kept, with the cache holding *where* its excerpts are rather than their
samples: a pool of ``cache_size`` excerpts (a song, a start, a gain), of which ``min_replacement_rate``
(rounded up) are replaced by fresh ones before each batch, and each of the batch's examples a random crop
of a random excerpt of the pool. The pool is keyed like the file streams (the run's seed and the
segment's first step), so every epoch draws new excerpts and a resumed run draws what the uninterrupted
run drew.

One difference from the file streams: excerpts start on STFT frames (every ``hop`` samples) since the
spectrograms are computed once per song, where a file stream's excerpt starts on any sample.

:func:`memory_bytes` and :func:`choose_stream_source` decide, for ``cfg.stream_source=auto``, whether the
training streams fit: memory when they take at most a quarter of the machine's RAM.
"""
import concurrent.futures
import dataclasses
import logging
import math
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from Input.datasets.track import Track, read_role
from Input.streams.settings import ExcerptLayout, StreamSettings, frequency_padding
from Models.geometry import Geometry
from Utils import audio as audio_io
from Utils.spectral import stft_numpy, to_model_space

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SpectrogramBank:
    """A stream's songs as magnitude spectrograms put end to end, each padded so that any excerpt fits.

    Attributes:
        rows: role -> ``(frames, height)`` float32 tensor, frequency padded to the model's height (frames
            first: a crop is one gather of whole rows); log1p magnitudes, or plain ones where a gain is
            applied first (``amplify``).
        amplify: the stream applies a random gain per excerpt.
        first_starts: each song's first excerpt start (a frame of ``rows``).
        start_counts: each song's number of excerpt starts (at least 1).
        weights: the probability of drawing each song.
        skipped: songs that could not be read.
    """
    rows: Dict[str, tf.Tensor]
    amplify: bool
    first_starts: np.ndarray
    start_counts: np.ndarray
    weights: np.ndarray
    skipped: List[str]


MEMORY_SHARE = 0.25  # cfg.stream_source=auto holds the streams in memory when they take at most this share of RAM


def memory_bytes(streams: Sequence[Tuple[Sequence[Track], Sequence[str]]], geometry: Geometry,
                 settings: StreamSettings) -> int:
    """Bytes the banks of ``(tracks, roles)`` streams take at their peak, while loading (float32 frames of each
    role at the model's height, with the context's frames around each song of a stream with a mixture;
    twice: the arrays and their TensorFlow copy)."""
    frames_per_second = settings.sample_rate / settings.hop
    rows = sum((t.duration * frames_per_second + (2 * geometry.context_frames if "mixture" in roles else 0)) *
               (geometry.input_shape[0] if role == "mixture" else geometry.output_shape[0])
               for tracks, roles in streams for t in tracks for role in roles)
    return int(2 * rows * 4)


def choose_stream_source(choice: str, needed: int) -> str:
    """``memory`` or ``files`` for ``cfg.stream_source`` (``auto``: memory if ``needed`` bytes are at most
    :data:`MEMORY_SHARE` of the RAM)."""
    if choice != "auto":
        return choice
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return "memory" if needed <= MEMORY_SHARE * ram else "files"


def stream_source_for(partitions, sources: Sequence[str], semi_supervised: bool, geometry: Geometry,
                      settings: StreamSettings, choice: str) -> Tuple[str, int]:
    """``(source, bytes)``: where a run's training streams read from for ``cfg.stream_source=choice`` and the
    bytes their banks would take."""
    streams = [(partitions.train_sup, ["mixture", *sources])]
    if semi_supervised:
        streams += [(partitions.train_unsup[role], [role]) for role in ["mixture", *sources]]
    needed = memory_bytes(streams, geometry, settings)
    return choose_stream_source(choice, needed), needed


def load_bank(tracks: Sequence[Track], roles: Sequence[str], geometry: Geometry, settings: StreamSettings,
              layout: ExcerptLayout, amplify: bool, name: str, progress: bool = True) -> SpectrogramBank:
    """Reads and transforms a stream's songs once (at the model's rate, mono).

    Args:
        tracks: the stream's songs.
        roles: the roles read together (e.g. mixture and sources).
        geometry: the separator's geometry (the model's heights).
        settings: stream settings.
        layout: the stream's excerpts: their frames (context included) and the context, added as zero frames
            before and after each song (the U-Net's context at its edges).
        amplify: the stream applies a random gain per excerpt (the bank keeps plain magnitudes).
        name: the stream's name, for messages.
        progress: show a progress bar.

    Raises:
        ValueError: no song of the stream could be read.
    """
    excerpt_frames, context_frames = layout.frames, layout.context_frames

    def transform(track):
        waves = [read_role(track, role, settings.sample_rate) for role in roles]
        length = min(len(wave) for wave in waves)
        spectra = np.abs(stft_numpy(np.stack([wave[:length] for wave in waves]), settings.n_fft, settings.hop))
        frames = spectra.shape[-1] + 2 * context_frames
        padding = [(0, 0), (0, 0), (context_frames, context_frames + max(excerpt_frames - frames, 0))]
        return np.pad(spectra, padding).astype(np.float32)

    parts, kept, skipped = [], [], []
    with concurrent.futures.ThreadPoolExecutor(max(1, settings.read_workers)) as pool:
        for track, future in tqdm(zip(tracks, pool.map(lambda t: _try(transform, t), tracks)), total=len(tracks),
                                  desc=f"loading {name}", unit="song", disable=not progress, leave=False):
            if isinstance(future, audio_io.AudioReadError):
                log.warning("stream %s: skipping %s: %s", name, track.name, future)
                skipped.append(str(future))
                continue
            parts.append(future)
            kept.append(track)
    if not parts:
        raise ValueError(f"stream {name!r}: none of its {len(tracks)} songs could be read")
    lengths = np.array([part.shape[-1] for part in parts])
    first_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    durations = np.array([max(t.duration, 1e-3) for t in kept])
    weights = durations / durations.sum() if settings.sample_by_duration else np.full(len(kept), 1.0 / len(kept))
    rows = {}
    for index, role in enumerate(roles):
        magnitudes = np.concatenate([part[index] for part in parts], axis=-1)
        padding = frequency_padding(role, geometry)
        rows[role] = tf.constant(np.pad(magnitudes if amplify else to_model_space(magnitudes), [padding, (0, 0)]).T)
    return SpectrogramBank(rows, amplify, first_starts, lengths - excerpt_frames + 1, weights, skipped)


def _try(function, argument):
    try:
        return function(argument)
    except audio_io.AudioReadError as error:
        return error


def memory_stream(bank: SpectrogramBank, layout: ExcerptLayout, settings: StreamSettings, seed: int, segment,
                  batches: int = 1) -> tf.data.Dataset:
    """An endless stream of one segment from a bank: ``{role: (batch, F, T, 1)}`` float32 log1p magnitudes, or
    with ``batches`` > 1, ``batches`` consecutive batches at once, ``{role: (batches, batch, F, T, 1)}``.

    Args:
        bank: the stream's :func:`load_bank`.
        layout: the stream's excerpts and crops (as given to :func:`load_bank`).
        settings: stream settings.
        seed: the stream's seed.
        segment: the segment's key (its first step).
        batches: batches drawn at once (the pool is refreshed as for each of them).
    """
    crops = layout.crops
    offsets = max(layout.frames - layout.span, 0) + 1
    pool_size, batch = settings.cache_size, settings.batch_size * batches
    replaced = min(pool_size, math.ceil(settings.min_replacement_rate) * batches)
    log_weights = tf.constant(np.log(bank.weights)[None], tf.float32)
    first_starts = tf.constant(bank.first_starts, tf.int64)
    start_counts = tf.constant(bank.start_counts, tf.int64)
    rows, amplify = bank.rows, bank.amplify
    low, high = settings.amplify_range if amplify else (1.0, 1.0)
    key = tf.random.experimental.stateless_fold_in(tf.constant([seed, 7], tf.int64), tf.cast(segment, tf.int64))

    def fresh(count, rng_key):
        keys = tf.random.experimental.stateless_split(rng_key, 3)
        songs = tf.random.stateless_categorical(log_weights, count, keys[0])[0]
        positions = tf.random.stateless_uniform([count], keys[1], dtype=tf.float32)
        starts = tf.gather(first_starts, songs) + tf.cast(
            positions * tf.cast(tf.gather(start_counts, songs), tf.float32), tf.int64)
        gains = tf.random.stateless_uniform([count], keys[2], low, high) if amplify else tf.ones([count])
        return starts, gains

    def next_batch(pool, index):
        keys = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(key, index), 4)
        starts, gains = pool
        slots = tf.argsort(tf.random.stateless_uniform([pool_size], keys[0]))[:replaced]  # distinct slots
        new_starts, new_gains = fresh(replaced, keys[1])
        starts = tf.tensor_scatter_nd_update(starts, slots[:, None], new_starts)
        gains = tf.tensor_scatter_nd_update(gains, slots[:, None], new_gains)
        chosen = tf.random.stateless_uniform([batch], keys[2], 0, pool_size, dtype=tf.int32)
        crop_offsets = tf.random.stateless_uniform([batch], keys[3], 0, offsets, dtype=tf.int64)
        return (starts, gains), (tf.gather(starts, chosen) + crop_offsets, tf.gather(gains, chosen))

    @tf.function(jit_compile=True)  # XLA fuses the gather, gain, log1p and transpose (bench/results/input_speed.md)
    def gather(bases, gains):
        out = {}
        for role, (frames, shift) in crops.items():
            index = bases[:, None] + shift + tf.range(frames, dtype=tf.int64)[None, :]  # (batch, frames)
            crop = tf.gather(rows[role], index)  # (batch, frames, height)
            if amplify:
                crop = to_model_space(crop * gains[:, None, None])
            crop = tf.transpose(crop, [0, 2, 1])[..., None]  # (batch, height, frames, 1)
            out[role] = crop if batches == 1 else tf.reshape(crop, [batches, settings.batch_size, *crop.shape[1:]])
        return out

    initial = fresh(pool_size, tf.random.experimental.stateless_fold_in(key, -1))
    dataset = tf.data.Dataset.counter(0).scan(initial, next_batch)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
