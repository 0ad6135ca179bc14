"""Queue-style tf.data streams of training excerpts, and deterministic validation tiles.

The authors' multistream cache (``Input/multistreamcache.py`` in their code) kept ``cache_size``
random excerpts per stream, replaced at least ``min_replacement_rate`` of them per batch, and
drew each batch's examples as random crops from the cache. Here the cache is a shuffle buffer:

    random file (by duration) -> random excerpt (+ context) -> amplify (unpaired) -> STFT -> log1p
      -> k random crops (k = batch_size / min_replacement_rate) -> shuffle buffer of cache_size * k crops
      -> frequency padding -> batch -> prefetch

so a buffer holds crops of about ``cache_size`` excerpts and every batch brings in about
``min_replacement_rate`` new ones. Excerpts are read by ``read_workers`` parallel calls into
libsndfile/ffmpeg and soxr (no worker processes, so nothing can hang on a fork).

Training draws fresh excerpts for the whole run, as the authors' workers did: the input of a run is a
chain of *segments* (:func:`Input.streams.training_input.segment_plan`), each a stream of its own keyed by the run's seed and the
separator step it starts at. Segments end at every checkpoint and epoch end, so each epoch draws new
excerpts and a run resumed from a checkpoint draws exactly what the uninterrupted run drew there.
"""
import logging
import threading
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from Input.datasets.track import Track, read_role
from Input.streams.settings import ExcerptLayout, StreamSettings, excerpt_layout, frequency_padding
from Models.geometry import Geometry
from Utils import audio as audio_io
from Utils.spectral import magnitude, to_model_space

log = logging.getLogger(__name__)


class ExcerptSampler:
    """Reads random excerpts of a track list; called by tf.data with the element index.

    Args:
        tracks: the stream's tracks (each has every role in ``roles``).
        roles: roles to read for the same time window (e.g. mixture and sources).
        settings: stream settings.
        layout: where the crops lie in an excerpt (:func:`Input.streams.settings.excerpt_layout`).
        amplify: multiply the excerpt by a random gain from ``settings.amplify_range``.
        seed: with the segment, makes the i-th excerpt the same in every run.
        name: the stream's name, for messages.
    """

    def __init__(self, tracks: Sequence[Track], roles: Sequence[str], settings: StreamSettings, layout: ExcerptLayout,
                 amplify: bool, seed: int, name: str):
        self.tracks, self.roles, self.settings, self.layout = list(tracks), list(roles), settings, layout
        self.amplify, self.seed, self.name = amplify, seed, name
        durations = np.array([max(t.duration, 1e-3) for t in self.tracks])
        self.weights = durations / durations.sum() if settings.sample_by_duration else None
        self.context_samples = layout.context_frames * settings.hop
        self.window, self.frames = layout.window, layout.frames
        self.failed: List[str] = []
        self._lock = threading.Lock()
        self._failures_in_a_row = 0

    def __call__(self, segment, index) -> Tuple:
        """The ``index``-th excerpt of a segment: ``(ok, crop starts (k,), waveform per role (window,)...)``."""
        rng = np.random.default_rng([self.seed, int(segment), int(index)])
        track = self.tracks[rng.choice(len(self.tracks), p=self.weights)]
        rate = self.settings.sample_rate
        latest = max(track.duration - self.settings.excerpt_duration, 0.0)
        start = int(rng.uniform(0.0, latest) * rate) - self.context_samples
        gain = rng.uniform(*self.settings.amplify_range) if self.amplify else 1.0
        starts = rng.integers(0, max(self.frames - self.layout.span, 0) + 1, self.settings.crops_per_excerpt).astype(np.int32)
        try:
            waves = [gain * read_role(track, role, rate, offset=start / rate, duration=self.window / rate) for role in self.roles]
            waves = [audio_io.fix_length(w[:, None], self.window)[:, 0].astype(np.float32) for w in waves]
        except audio_io.AudioReadError as error:
            self._record_failure(str(error))
            return (False, starts, *[np.zeros(self.window, np.float32) for _ in self.roles])
        with self._lock:
            self._failures_in_a_row = 0
        return (True, starts, *waves)

    def _record_failure(self, message: str) -> None:
        log.warning("stream %s: skipping excerpt: %s", self.name, message)
        with self._lock:
            self.failed.append(message)
            self._failures_in_a_row += 1
            if self._failures_in_a_row >= max(20, 3 * len(self.tracks)):
                raise RuntimeError(f"stream {self.name}: {self._failures_in_a_row} excerpts in a row failed to "
                                   f"decode, last: {message}")


def excerpt_crops(sampler: ExcerptSampler, settings: StreamSettings, segment: tf.Tensor) -> tf.data.Dataset:
    """Unbatched random crops ``{role: (bins, frames)}`` of log1p magnitudes of one segment, before the cache."""
    roles = sampler.roles
    k = settings.crops_per_excerpt

    def read(index):
        outputs = tf.numpy_function(sampler, [segment, index], [tf.bool, tf.int32] + [tf.float32] * len(roles),
                                    stateful=False, name="read_excerpt")
        ok, starts, waves = outputs[0], outputs[1], outputs[2:]
        ok.set_shape([])
        starts.set_shape([k])
        for wave in waves:
            wave.set_shape([sampler.window])
        return ok, starts, dict(zip(roles, waves))

    def crop(ok, starts, waves):
        out = {}
        for role, wave in waves.items():
            spec = to_model_space(magnitude(wave, settings.n_fft, settings.hop))  # (bins, frames)
            frames, shift = sampler.layout.crops[role]
            index = starts[:, None] + shift + tf.range(frames)[None, :]  # (k, frames)
            out[role] = tf.transpose(tf.gather(spec, index, axis=1), [1, 0, 2])  # (k, bins, frames)
        return out

    dataset = tf.data.Dataset.counter(0)
    dataset = dataset.map(read, num_parallel_calls=settings.read_workers, deterministic=True)
    dataset = dataset.filter(lambda ok, starts, waves: ok)
    dataset = dataset.map(crop, num_parallel_calls=settings.read_workers, deterministic=True)
    return dataset.unbatch()


def _shape_for_model(crops: Dict[str, tf.Tensor], geometry: Geometry) -> Dict[str, tf.Tensor]:
    """Pads frequency to the model's input (mixture) or output (sources) height and adds a channel axis."""
    return {role: tf.pad(spec, [frequency_padding(role, geometry), [0, 0]])[..., None] for role, spec in crops.items()}


def stream_sampler(tracks: Sequence[Track], roles: Sequence[str], geometry: Geometry, settings: StreamSettings,
                   seed: int, name: str, amplify: bool = False) -> ExcerptSampler:
    """The excerpt sampler of one training stream (its crops as :func:`Input.streams.settings.excerpt_layout`).

    Args:
        tracks: tracks that have all ``roles``.
        roles: e.g. ``["mixture", "accompaniment", "vocals"]`` (paired), ``["mixture"]`` or ``["vocals"]``.
        geometry: the separator's geometry.
        settings: stream settings.
        seed: element-wise seed: the same seed gives the same excerpts.
        name: the stream's name in messages.
        amplify: random gain per excerpt (unpaired streams).
    """
    return ExcerptSampler(tracks, roles, settings, excerpt_layout(roles, geometry, settings), amplify, seed, name)


def sampler_stream(sampler: ExcerptSampler, geometry: Geometry, settings: StreamSettings,
                   segment: Union[int, tf.Tensor] = 0, batch: bool = True) -> tf.data.Dataset:
    """An endless stream of one segment: ``{role: (batch, F, T, 1)}`` float32 log1p magnitudes.

    Args:
        sampler: the stream's :func:`stream_sampler`.
        geometry: the separator's geometry.
        settings: stream settings.
        segment: the segment's key (the step it starts at): another key, other excerpts.
        batch: batch to ``settings.batch_size`` and prefetch.
    """
    segment = tf.cast(segment, tf.int64)
    dataset = excerpt_crops(sampler, settings, segment)
    # The excerpt cache: crops of about cache_size excerpts, refreshed by ~min_replacement_rate per batch.
    shuffle_seed = tf.random.experimental.stateless_fold_in(tf.constant([sampler.seed, 0], tf.int64), segment)[0]
    dataset = dataset.shuffle(settings.cache_size * settings.crops_per_excerpt, seed=shuffle_seed)
    dataset = dataset.map(lambda crops_: _shape_for_model(crops_, geometry), num_parallel_calls=tf.data.AUTOTUNE)
    if batch:
        dataset = dataset.batch(settings.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    return dataset


def training_stream(tracks: Sequence[Track], roles: Sequence[str], geometry: Geometry, settings: StreamSettings,
                    seed: int, name: str, amplify: bool = False, batch: bool = True,
                    segment: int = 0) -> Tuple[tf.data.Dataset, ExcerptSampler]:
    """One stream's segment and its sampler (whose ``failed`` lists the files that could not be decoded);
    arguments as :func:`stream_sampler` and :func:`sampler_stream`."""
    sampler = stream_sampler(tracks, roles, geometry, settings, seed, name, amplify)
    return sampler_stream(sampler, geometry, settings, segment, batch), sampler


def song_tiles(track: Track, sources: Sequence[str], geometry: Geometry, sample_rate: int, n_fft: int,
               hop: int) -> Iterator[Dict[str, np.ndarray]]:
    """Non-overlapping output windows covering a whole song (the last one aligned to the end), with context."""
    waves = {role: read_role(track, role, sample_rate) for role in ["mixture", *sources]}
    length = min(len(w) for w in waves.values())
    specs = {role: to_model_space(magnitude(w[:length], n_fft, hop)).numpy() for role, w in waves.items()}
    frames = specs["mixture"].shape[1]
    out_frames, context = geometry.output_shape[1], geometry.context_frames
    if frames < out_frames:
        specs = {role: np.pad(s, [(0, 0), (0, out_frames - frames)]) for role, s in specs.items()}
        frames = out_frames
    mixture = np.pad(specs["mixture"], [(0, 0), (context, context)])
    for start in geometry.window_starts(frames):
        tile = {"mixture": mixture[:, start:start + geometry.input_shape[1]]}
        tile.update({s: specs[s][:, start:start + out_frames] for s in sources})
        yield {role: t.numpy() for role, t in _shape_for_model(tile, geometry).items()}


def validation_stream(tracks: Sequence[Track], sources: Sequence[str], geometry: Geometry,
                      settings: StreamSettings, skipped: Optional[List[str]] = None) -> tf.data.Dataset:
    """Deterministic batches of tiles covering every song of a partition (for the validation loss)."""
    def generate():
        for track in tracks:
            try:
                yield from song_tiles(track, sources, geometry, settings.sample_rate, settings.n_fft, settings.hop)
            except audio_io.AudioReadError as error:
                log.warning("validation: skipping %s: %s", track.name, error)
                if skipped is not None:
                    skipped.append(str(error))

    signature = {"mixture": tf.TensorSpec((*geometry.input_shape, 1), tf.float32)}
    signature.update({s: tf.TensorSpec((*geometry.output_shape, 1), tf.float32) for s in sources})
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.batch(settings.batch_size).prefetch(2)
