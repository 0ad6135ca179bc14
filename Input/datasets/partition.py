"""Which tracks train, validate and test: the paper's partitioning, decided by the config and a seed.

- the supervised dataset's training split is ``train_sup`` (paired);
- its test split is halved into ``valid`` and ``test`` (the paper's 25 + 25 DSD100 songs);
- every other multitrack dataset is cut in thirds: unpaired training (its mixtures and each of its
  sources as separate, unpaired lists), validation and test;
- unpaired collections (solo vocals, solo accompaniment, mixtures) add to ``train_unsup``.

Songs are cut after a shuffle by the seed (``cfg.partition_order='shuffled'``, the default), in file
order (``file``), or in the order of the authors' lists (``authors``, ``cfg.paper``: their partition; songs
the lists do not name are left out and counted, see :mod:`Input.datasets.authors_lists`).
"""
import dataclasses
import logging
import math
from typing import Dict, List, Sequence

import numpy as np

from Input.datasets import SPLIT_TYPES, DatasetError, read_collection, read_dataset
from Input.datasets.authors_lists import in_listed_order
from Input.datasets.track import Track

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Partitions:
    """Track lists per partition; ``train_unsup`` has one list per stream ('mixture' and each source)."""
    train_sup: List[Track]
    train_unsup: Dict[str, List[Track]]
    valid: List[Track]
    test: List[Track]
    skipped: List[str] = dataclasses.field(default_factory=list)
    unlisted: List[str] = dataclasses.field(default_factory=list)  # '<dataset>/<song>' left out by 'authors' order

    def summary(self) -> List[dict]:
        """One row per partition (and per unpaired stream): songs and hours."""
        rows = [("train_sup", self.train_sup), *((f"train_unsup/{k}", v) for k, v in self.train_unsup.items()),
                ("valid", self.valid), ("test", self.test)]
        return [{"partition": name, "songs": len(tracks), "hours": round(sum(t.duration for t in tracks) / 3600, 3),
                 "datasets": ", ".join(sorted({t.dataset for t in tracks}))} for name, tracks in rows]

    def table(self) -> str:
        rows = self.summary()
        lines = [f"{'partition':<28}{'songs':>7}{'hours':>9}  datasets"]
        lines += [f"{r['partition']:<28}{r['songs']:>7}{r['hours']:>9.3f}  {r['datasets']}" for r in rows]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} unreadable files (see the run's info)")
        if self.unlisted:
            lines.append(f"left out {len(self.unlisted)} songs the authors' lists do not name (see the run's info)")
        return "\n".join(lines)


def build_partitions(datasets: Dict[str, dict], supervised_dataset: str, unpaired_collections: Sequence[Sequence[str]],
                     sources: Sequence[str], seed: int = 1, index_cache: bool = True,
                     train_sup_songs: int = 0, order: str = "shuffled") -> Partitions:
    """Reads the configured datasets and partitions them as the paper did.

    Args:
        datasets: ``cfg.datasets``: name -> ``{"type", "root", ...}``; a ``root`` of None is left out;
            ``"unpaired": False`` keeps a dataset's unpaired third out of training.
        supervised_dataset: the dataset whose training split is paired training data.
        unpaired_collections: ``[stream, folder or list file]`` pairs of unpaired recordings.
        sources: source names.
        seed: shuffles songs before cutting datasets into parts.
        index_cache: cache audio headers as JSON beside the data.
        train_sup_songs: keep only this many paired training songs (0: all), chosen by the seed.
        order: ``"shuffled"`` (by the seed), ``"file"`` or ``"authors"`` (the authors' lists' order).

    Raises:
        DatasetError: a configured folder is missing or holds no readable audio.
    """
    rng = np.random.default_rng(seed)
    skipped: List[str] = []
    unlisted: List[str] = []

    def ordered(name: str, subset: str) -> List[Track]:
        tracks = read_dataset(name, datasets[name], sources, subset, index_cache, skipped)
        if order == "authors":
            return in_listed_order(tracks, name, datasets[name]["type"], subset, unlisted)
        return tracks if order == "file" else _shuffled(tracks, rng)

    spec = datasets[supervised_dataset]
    if spec.get("root") is None:
        raise DatasetError(f"cfg.datasets.{supervised_dataset}.root is not set: the supervised dataset is required")
    if spec["type"] in SPLIT_TYPES:
        train_sup = read_dataset(supervised_dataset, spec, sources, "train", index_cache, skipped)
        held_out = ordered(supervised_dataset, "test")
        valid, test = held_out[:len(held_out) // 2], held_out[len(held_out) // 2:]
    else:
        tracks = ordered(supervised_dataset, "train")
        cut = len(tracks) // 3
        train_sup, valid, test = tracks[2 * cut:], tracks[:cut], tracks[cut:2 * cut]
    if train_sup_songs:
        # Its own generator, so that the held-out songs do not depend on this choice.
        train_sup = _shuffled(train_sup, np.random.default_rng([seed, 1]))[:train_sup_songs]
    train_unsup: Dict[str, List[Track]] = {stream: [] for stream in ["mixture", *sources]}
    for name, spec in datasets.items():
        if name == supervised_dataset or spec.get("root") is None:
            continue
        tracks = ordered(name, "train")
        if spec["type"] in SPLIT_TYPES:
            tracks += ordered(name, "test")
        third = len(tracks) // 3
        unpaired, valid_part, test_part = tracks[:third], tracks[third:2 * third], tracks[2 * third:]
        share = spec.get("unpaired", True)  # False: the third is left unused; a number: that share of it
        for stream in train_unsup:  # (the held-out songs stay as they are either way)
            train_unsup[stream] += [_single_role(track, stream) for track in unpaired[:math.ceil(len(unpaired) * share)]]
        valid += valid_part
        test += test_part
    for stream, location in unpaired_collections:
        if stream not in train_unsup:
            log.debug("unpaired collection %s is left out: %s is not among the sources %s", location, stream,
                      list(sources))
            continue
        train_unsup[stream] += read_collection(location, stream, index_cache=index_cache, skipped=skipped)
    return Partitions(train_sup, train_unsup, valid, test, skipped, unlisted)  # each skip was logged where found


def _single_role(track: Track, role: str) -> Track:
    return dataclasses.replace(track, name=f"{track.name} [{role}]", roles={role: track.roles[role]})


def _shuffled(tracks: List[Track], rng: np.random.Generator) -> List[Track]:
    return [tracks[i] for i in rng.permutation(len(tracks))]


def partitions_from_config(config: Dict, progress: bool = True) -> Partitions:
    """Partitions for a ``cfg`` dict, resampled to a cache when it asks for one (``progress``: its progress bar).
    The demo corpus must exist: :func:`Input.demo.corpus.render_if_asked` renders it."""
    partitions = build_partitions(config["datasets"], config["supervised_dataset"], config["unpaired_collections"],
                                  config["sources"], config["partition_seed"], config["index_cache"],
                                  config["train_sup_songs"], config["partition_order"])
    if config.get("resampled_cache"):
        from Input.datasets.resampled_cache import resample_partitions
        partitions = resample_partitions(partitions, config["resampled_cache"], config["sample_rate"],
                                         config["read_workers"], progress)
    return partitions
