"""Dataset readers, one per on-disk layout, each returning :class:`Input.track.Track` lists.

- ``musdb``: MUSDB18 (``.stem.mp4``) and MUSDB18-HQ (wav), through the ``musdb`` package;
- ``ccmixter``: CCMixter's ``<song>/{mix,source-01,source-02}.wav`` folders;
- collections: any folder of audio files (recursive), or a ``.txt``/``.csv`` list of paths.
"""
from typing import Any, Dict

from Input.datasets import ccmixter, musdb
from Input.datasets.ccmixter import read_ccmixter
from Input.datasets.collection import read_collection
from Input.datasets.musdb import read_musdb
from Input.errors import DatasetError
from Utils.config_check import ConfigError

__all__ = ["read_ccmixter", "read_collection", "read_musdb", "DatasetError", "SOURCES_BY_TYPE", "check_datasets"]

# The sources each dataset type provides, as its reader defines them.
SOURCES_BY_TYPE = {"musdb": (*musdb.STEMS, "accompaniment"),
                   "ccmixter": tuple(role for role in ccmixter.FILES if role != "mixture")}
DATASET_KEYS = {"type", "root", "is_wav", "unpaired"}


def check_datasets(config: Dict[str, Any]) -> None:
    """Raises :class:`ConfigError` for the first invalid dataset or unpaired collection of a ``cfg`` dict."""
    sources = config["sources"]
    for name, spec in config["datasets"].items():
        unknown = sorted(set(spec) - DATASET_KEYS)
        if unknown:
            raise ConfigError(f"cfg.datasets.{name}.{unknown[0]} is unknown: valid keys are "
                              f"{', '.join(sorted(DATASET_KEYS))}")
        if not isinstance(spec.get("unpaired", True), bool):
            raise ConfigError(f"cfg.datasets.{name}.unpaired={spec['unpaired']!r} is invalid: valid are True, False")
        kind = spec.get("type")
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

