"""The training input: the paired and unpaired excerpt streams composed into the batches of
:class:`Models.adversarial.AdversarialSeparation`, each stream read from the files (Input/streams/files.py) or
from spectrograms in memory (Input/streams/memory.py), segment by segment; and the validation sets per dataset.
"""
import dataclasses
from typing import Dict, List, Sequence, Tuple, Union

import tensorflow as tf

from Input.datasets.track import Track
from Input.streams.files import ExcerptSampler, sampler_stream, validation_stream
from Input.streams.memory import SpectrogramBank, load_bank, memory_stream
from Input.streams.settings import ExcerptLayout, StreamSettings, excerpt_layout
from Models.geometry import Geometry


@dataclasses.dataclass(frozen=True)
class Stream:
    """One training stream: its songs, the roles read together, its excerpts' layout, seed and gain."""
    name: str
    tracks: Sequence[Track]
    roles: Sequence[str]
    layout: ExcerptLayout
    seed: int
    amplify: bool


class TrainingInput:
    """The training input of :class:`Models.adversarial.AdversarialSeparation`, segment by segment.

    Batches are ``{"sup": paired}`` or, semi-supervised, ``{"sup": paired, "unsup": unpaired}`` where
    ``unpaired[role]`` stacks ``n_critic + 1`` independent batches of the unpaired ``role`` stream.

    Args:
        partitions: :class:`Input.datasets.partition.Partitions`.
        sources: source names.
        geometry: the separator's geometry.
        settings: stream settings.
        seed: the run's seed; each stream folds in its own offset, each segment its first step.
        semi_supervised: add the unpaired streams.
        n_critic: critic updates per separator step.
        in_memory: read excerpts from spectrograms held in memory (Input/streams/memory.py), loaded here,
            instead of from the files.
        progress: show progress bars while loading.

    Raises:
        ValueError: a stream has no tracks (the message names it and how to give it data).
    """

    def __init__(self, partitions, sources: Sequence[str], geometry: Geometry, settings: StreamSettings, seed: int,
                 semi_supervised: bool, n_critic: int, in_memory: bool = False, progress: bool = True):
        self.geometry, self.settings, self.n_critic = geometry, settings, n_critic

        def new_stream(name, tracks, roles, stream_seed, amplify):
            if not tracks:
                raise ValueError(f"stream {name!r} has no tracks: add data to it or train with cfg.sup")
            return Stream(name, tracks, roles, excerpt_layout(roles, geometry, settings), stream_seed, amplify)

        self.paired = new_stream("paired", partitions.train_sup, ["mixture", *sources], seed, False)
        self.unpaired: Dict[str, Stream] = {}
        if semi_supervised:
            for offset, role in enumerate(["mixture", *sources], start=1):
                self.unpaired[role] = new_stream(f"unpaired {role}", partitions.train_unsup[role], [role],
                                             seed + 1000 * offset, True)
        self.banks: Dict[str, SpectrogramBank] = {}
        self.samplers: Dict[str, ExcerptSampler] = {}
        for spec in self.streams:
            if in_memory:
                self.banks[spec.name] = load_bank(spec.tracks, spec.roles, geometry, settings, spec.layout,
                                                  spec.amplify, spec.name, progress)
            else:
                self.samplers[spec.name] = ExcerptSampler(spec.tracks, spec.roles, settings, spec.layout,
                                                          spec.amplify, spec.seed, spec.name)

    @property
    def streams(self) -> List[Stream]:
        return [self.paired, *self.unpaired.values()]

    @property
    def failed(self) -> List[str]:
        """A message per song or excerpt that could not be read (so far, for file streams)."""
        return ([message for bank in self.banks.values() for message in bank.skipped] +
                [message for sampler in self.samplers.values() for message in sampler.failed])

    def stream(self, spec: Stream, key: Union[int, tf.Tensor], batches: int = 1) -> tf.data.Dataset:
        """One stream's batches in the segment ``key``, from memory or from the files; with ``batches`` > 1,
        that many at once, stacked."""
        if spec.name in self.banks:
            return memory_stream(self.banks[spec.name], spec.layout, self.settings, spec.seed, key, batches)
        stream = sampler_stream(self.samplers[spec.name], self.geometry, self.settings, key)
        return stream if batches == 1 else stream.batch(batches, drop_remainder=True)

    def segment(self, key: Union[int, tf.Tensor]) -> tf.data.Dataset:
        """The endless batches of the segment ``key``."""
        paired = self.stream(self.paired, key)
        if not self.unpaired:
            return paired.map(lambda batch: {"sup": batch})
        unpaired = {role: self.stream(spec, key, self.n_critic + 1).map(lambda batch, role=role: batch[role])
                    for role, spec in self.unpaired.items()}
        zipped = tf.data.Dataset.zip((paired, tf.data.Dataset.zip(unpaired)))
        return zipped.map(lambda sup, unsup: {"sup": sup, "unsup": unsup})

    def steps(self, plan: Sequence[Tuple[int, int, int]]) -> tf.data.Dataset:
        """The batches of a :func:`segment_plan`: of each segment, ``steps`` batches after the first ``skip``,
        one segment after another."""
        columns = [tf.constant([entry[column] for entry in plan], tf.int64) for column in range(3)]
        segments = tf.data.Dataset.from_tensor_slices(tuple(columns))
        return segments.flat_map(lambda key, skip, steps: self.segment(key).skip(skip).take(steps)).prefetch(2)


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


def segment_plan(start_step: int, end_step: int, every: int, epoch_start: int) -> List[Tuple[int, int, int]]:
    """``(key, skip, steps)`` of the segments from ``start_step`` to ``end_step`` in the epoch that began at
    ``epoch_start``: a segment begins at the epoch's start and at every multiple of ``every`` (the periodic
    checkpoints), and is keyed by the step it begins at. A run resumed at a step in the middle of a segment (from
    a Ctrl-C's checkpoint) skips the batches the run drew there, so that it goes on with the uninterrupted run's."""
    plan, step = [], start_step
    while step < end_step:
        key = max(epoch_start, step // every * every)
        end = min(end_step, (step // every + 1) * every)
        plan.append((key, step - key, end - step))
        step = end
    return plan
