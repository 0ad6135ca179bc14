"""Dataset readers, one per on-disk layout, each returning :class:`Input.track.Track` lists.

- ``musdb``: MUSDB18 (``.stem.mp4``) and MUSDB18-HQ (wav), through the ``musdb`` package;
- ``ccmixter``: CCMixter's ``<song>/{mix,source-01,source-02}.wav`` folders;
- collections: any folder of audio files (recursive), or a ``.txt``/``.csv`` list of paths.
"""
from Input.datasets.ccmixter import read_ccmixter
from Input.datasets.collection import read_collection
from Input.datasets.musdb import read_musdb
from Input.errors import DatasetError

__all__ = ["read_ccmixter", "read_collection", "read_musdb", "DatasetError"]

