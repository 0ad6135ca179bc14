"""The datasets on disk: a reader per layout, each returning :class:`Input.datasets.track.Track` lists; the
tracks and their roles (``track``); the paper's partitions (``partition``, in the order of the authors' lists,
``authors_lists``); the resampled cache (``resampled_cache``).

Readers:

- ``musdb``: MUSDB18 (``.stem.mp4``) and MUSDB18-HQ (wav), through the ``musdb`` package;
- ``dsd100``: DSD100's ``Mixtures/`` and ``Sources/`` folders, split into Dev and Test;
- ``ccmixter``: CCMixter's ``<song>/{mix,source-01,source-02}.wav`` folders;
- ``medleydb``: MedleyDB's ``Audio/<song>/`` folders (stems and metadata);
- ``ikala``: iKala's ``Wavfile/`` (accompaniment left, voice right);
- collections: any folder of audio files (recursive), or a ``.txt``/``.csv`` list of paths.
"""
from typing import Any, Dict, List, Sequence

from Input.datasets import ccmixter, dsd100, ikala, medleydb, musdb
from Input.datasets.ccmixter import read_ccmixter
from Input.datasets.collection import read_collection
from Input.datasets.dsd100 import read_dsd100
from Input.datasets.errors import DatasetError
from Input.datasets.ikala import read_ikala
from Input.datasets.medleydb import read_medleydb
from Input.datasets.musdb import read_musdb
from Input.datasets.track import Track
from Utils.config_check import ConfigError

__all__ = ["read_ccmixter", "read_collection", "read_dataset", "read_dsd100", "read_ikala", "read_medleydb",
           "read_musdb", "DatasetError", "SOURCES_BY_TYPE", "SPLIT_TYPES", "check_datasets"]

# The sources each dataset type provides, as its reader defines them.
SOURCES_BY_TYPE = {"musdb": (*musdb.STEMS, "accompaniment"),
                   "dsd100": (*dsd100.STEMS, "accompaniment"),
                   "ccmixter": tuple(role for role in ccmixter.FILES if role != "mixture"),
                   "medleydb": medleydb.SOURCES,
                   "ikala": ikala.SOURCES}
# Types that come split into training and test songs (the others are one list, cut by the partition).
SPLIT_TYPES = {"musdb", "dsd100"}
DATASET_KEYS = {"type", "root", "is_wav", "unpaired", "vocals"}


def read_dataset(name: str, spec: Dict[str, Any], sources: Sequence[str], subset: str, index_cache: bool,
                 skipped: List[str]) -> List[Track]:
    """Tracks of one configured dataset, in file order (``subset``, ``"train"`` or ``"test"``, is used by the
    :data:`SPLIT_TYPES` only).

    Raises:
        DatasetError: its folder is missing or holds no readable song (the message names the key to set).
    """
    kind, root = spec["type"], spec["root"]
    if kind == "musdb":
        return read_musdb(root, sources, spec.get("is_wav", False), subset, name, index_cache, skipped)
    if kind == "dsd100":
        return read_dsd100(root, sources, subset, name, index_cache, skipped)
    if kind == "medleydb":
        return read_medleydb(root, sources, name, index_cache, skipped, spec.get("vocals", "singers"))
    reader = {"ccmixter": read_ccmixter, "ikala": read_ikala}[kind]
    return reader(root, sources, name, index_cache, skipped)


def check_datasets(config: Dict[str, Any]) -> None:
    """Raises :class:`ConfigError` for the first invalid dataset or unpaired collection of a ``cfg`` dict."""
    sources = config["sources"]
    for name, spec in config["datasets"].items():
        unknown = sorted(set(spec) - DATASET_KEYS)
        if unknown:
            raise ConfigError(f"cfg.datasets.{name}.{unknown[0]} is unknown: valid keys are "
                              f"{', '.join(sorted(DATASET_KEYS))}")
        root = spec.get("root")
        if root is not None and not (isinstance(root, str) and root):
            raise ConfigError(f"cfg.datasets.{name}.root={root!r} is invalid: must be a folder's path in quotes, "
                              f"e.g. cfg.datasets.{name}.root='data/{name}', or None (not used)")
        share = spec.get("unpaired", True)
        if not (isinstance(share, bool) or isinstance(share, float) and 0.0 < share <= 1.0):
            raise ConfigError(f"cfg.datasets.{name}.unpaired={spec['unpaired']!r} is invalid: valid are True, False "
                              f"or the share of its unpaired third to train on, between 0 and 1 (e.g. 0.5)")
        kind = spec.get("type")
        if "vocals" in spec and (kind != "medleydb" or spec["vocals"] not in medleydb.VOCALS):
            raise ConfigError(f"cfg.datasets.{name}.vocals={spec['vocals']!r} is invalid: it is a MedleyDB setting, "
                              f"valid are {', '.join(repr(v) for v in medleydb.VOCALS)}")
        if kind not in SOURCES_BY_TYPE:
            raise ConfigError(f"cfg.datasets.{name}.type={kind!r} is unknown: valid are {', '.join(sorted(SOURCES_BY_TYPE))}")
        missing = [s for s in sources if s not in SOURCES_BY_TYPE[kind]] if spec.get("root") is not None else []
        if missing:
            raise ConfigError(f"cfg.datasets.{name} ({kind}) has no source {missing[0]!r}: valid sources are "
                              f"{', '.join(sorted(SOURCES_BY_TYPE[kind]))}")
    if config["supervised_dataset"] not in config["datasets"]:
        raise ConfigError(f"cfg.supervised_dataset={config['supervised_dataset']!r} is unknown: valid are "
                          f"{', '.join(sorted(config['datasets'])) or '(no datasets configured)'}")
    for entry in config["unpaired_collections"]:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
            raise ConfigError(f"cfg.unpaired_collections entry {entry!r} is invalid: must be [stream, folder], "
                              f"e.g. ['vocals', 'data/solo_vocals']")
        known = {"mixture", *sources, *set().union(*SOURCES_BY_TYPE.values())}  # a known stem not trained is left out
        if entry[0] not in known:
            raise ConfigError(f"cfg.unpaired_collections stream {entry[0]!r} is unknown: valid streams are mixture, "
                              f"{', '.join(sources)}")
