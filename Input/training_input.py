"""The training input: the paired and unpaired excerpt streams composed into the batches of
:class:`Models.adversarial.AdversarialSeparation`, each stream read from the files (Input/streams.py) or from
spectrograms in memory (Input/memory_streams.py); and the validation sets per dataset.
"""
from typing import Dict, List, Sequence, Tuple, Union

import tensorflow as tf

from Input.memory_streams import load_bank, memory_stream
from Input.streams import (ExcerptSampler, StreamSettings, sampler_stream, stream_sampler, validation_stream)
from Input.track import Track
from Models.geometry import Geometry


class TrainingInput:
    """The training input of :class:`Models.adversarial.AdversarialSeparation`, segment by segment.

    Batches are ``{"sup": paired}`` or, semi-supervised, ``{"sup": paired, "unsup": unpaired}`` where
    ``unpaired[role]`` stacks ``n_critic + 1`` independent batches of the unpaired ``role`` stream.

    Args:
        partitions: :class:`Input.partition.Partitions`.
        sources: source names.
        geometry: the separator's geometry.
        settings: stream settings.
        seed: the run's seed; each stream folds in its own offset, each segment its first step.
        semi_supervised: add the unpaired streams.
        n_critic: critic updates per separator step.
        in_memory: read excerpts from spectrograms held in memory (Input/memory_streams.py), loaded here,
            instead of from the files.
        progress: show progress bars while loading.

    Raises:
        ValueError: a stream has no tracks (the message names it and how to give it data).
    """

    def __init__(self, partitions, sources: Sequence[str], geometry: Geometry, settings: StreamSettings, seed: int,
                 semi_supervised: bool, n_critic: int, in_memory: bool = False, progress: bool = True):
        self.geometry, self.settings, self.n_critic = geometry, settings, n_critic
        self.paired = stream_sampler(partitions.train_sup, ["mixture", *sources], geometry, settings, seed, "paired")
        self.unpaired: Dict[str, ExcerptSampler] = {}
        if semi_supervised:
            for offset, role in enumerate(["mixture", *sources], start=1):
                self.unpaired[role] = stream_sampler(partitions.train_unsup[role], [role], geometry, settings,
                                                     seed + 1000 * offset, f"unpaired {role}", amplify=True)
        self.banks = {}
        if in_memory:
            for sampler in self.samplers:
                bank = load_bank(sampler.tracks, sampler.roles, geometry, settings, sampler.frames,
                                 sampler.context_samples // settings.hop, sampler.amplify, sampler.name, progress)
                sampler.failed += bank.skipped
                self.banks[sampler.name] = bank

    @property
    def samplers(self) -> List[ExcerptSampler]:
        return [self.paired, *self.unpaired.values()]

    def stream(self, sampler: ExcerptSampler, key: Union[int, tf.Tensor], batches: int = 1) -> tf.data.Dataset:
        """One stream's batches in the segment ``key``, from memory or from the files; with ``batches`` > 1,
        that many at once, stacked."""
        if sampler.name in self.banks:
            return memory_stream(self.banks[sampler.name], sampler.crops, sampler.frames, self.settings, sampler.seed,
                                 key, batches)
        stream = sampler_stream(sampler, self.geometry, self.settings, key)
        return stream if batches == 1 else stream.batch(batches, drop_remainder=True)

    def segment(self, key: Union[int, tf.Tensor]) -> tf.data.Dataset:
        """The endless batches of the segment ``key``."""
        paired = self.stream(self.paired, key)
        if not self.unpaired:
            return paired.map(lambda batch: {"sup": batch})
        unpaired = {role: self.stream(sampler, key, self.n_critic + 1).map(lambda batch, role=role: batch[role])
                    for role, sampler in self.unpaired.items()}
        zipped = tf.data.Dataset.zip((paired, tf.data.Dataset.zip(unpaired)))
        return zipped.map(lambda sup, unsup: {"sup": sup, "unsup": unsup})

    def steps(self, plan: Sequence[Tuple[int, int]]) -> tf.data.Dataset:
        """The batches of a :func:`segment_plan`: each segment's first ``steps`` batches, one after another."""
        starts = tf.constant([start for start, _ in plan], tf.int64)
        lengths = tf.constant([steps for _, steps in plan], tf.int64)
        segments = tf.data.Dataset.from_tensor_slices((starts, lengths))
        return segments.flat_map(lambda start, steps: self.segment(start).take(steps)).prefetch(2)


def validation_by_dataset(cfg: dict, tracks: Sequence[Track], geometry: Geometry) -> Dict[str, tuple]:
    """``{dataset: (cached validation batches, steps)}`` of ``tracks`` when ``cfg.valid_by_dataset``, else ``{}``:
    each dataset's validation loss and best model besides the overall one."""
    if not cfg["valid_by_dataset"]:
        return {}
    settings = StreamSettings.from_config(cfg)
    sets = {}
    for name in sorted({track.dataset for track in tracks}):
        data = validation_stream([t for t in tracks if t.dataset == name], cfg["sources"], geometry, settings).cache()
        sets[name] = (data, sum(1 for _ in data))
    return sets
