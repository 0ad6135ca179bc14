"""The authors' song lists: which songs they used, in which order, and (MedleyDB) which stems.

The facts were read from the XML lists the authors' ``Training.py`` reads (``DSD100.xml``, ``MedleyDB.xml``,
``CCMixter.xml``) and are kept as JSON beside this module (``authors_lists/<type>.json``, each naming its
source). They drive ``cfg.partition_order='authors'`` (each dataset cut in the list's order, as the authors
cut theirs) and ``cfg.datasets.<name>.vocals='authors'`` (MedleyDB's stems per role, as their list names them).
iKala and MUSDB have no list here: they keep file order.
"""
import functools
import json
import logging
import os
from typing import List, Optional, Sequence, Tuple

from Input.datasets.track import Track

log = logging.getLogger(__name__)

FOLDER = os.path.join(os.path.dirname(__file__), "authors_lists")


@functools.lru_cache(maxsize=None)
def _load(kind: str) -> Optional[dict]:
    path = os.path.join(FOLDER, f"{kind}.json")
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def song_order(kind: str, subset: str = "train") -> Optional[List[str]]:
    """The authors' order of a dataset type's songs (folder names), or ``None`` where there is no list:
    iKala, MUSDB, and DSD100's Dev split (all of it is paired training data, so its order decides nothing)."""
    data = _load(kind)
    if data is None:
        return None
    if kind == "dsd100":
        return list(data["test"]) if subset == "test" else None
    return [song["song"] if isinstance(song, dict) else song for song in data["songs"]]


def medleydb_stems(song: str) -> Optional[Tuple[List[str], List[str]]]:
    """The stem numbers (``"04"`` for ``<song>_STEM_04.wav``) the authors' MedleyDB list names as the voice and
    as accompaniment, or ``None`` for a song it does not list."""
    for entry in _load("medleydb")["songs"]:
        if entry["song"] == song:
            return list(entry["voice"]), list(entry["accompaniment"])
    return None


def in_listed_order(tracks: List[Track], name: str, kind: str, subset: str, unlisted: List[str]) -> List[Track]:
    """``tracks`` in the authors' order for their dataset type; the songs the list does not name are left out
    and added to ``unlisted`` (as ``<name>/<song>``), and the listed songs that are not on disk are named in a
    warning. Without a list (see :func:`song_order`) the tracks stay in file order."""
    order = song_order(kind, subset)
    if order is None:
        return tracks
    by_name = {track.name: track for track in tracks}
    missing = [song for song in order if song not in by_name]
    if missing:
        log.warning("%s: %d of the %d songs in the authors' list are not on disk and are left out: %s", name,
                    len(missing), len(order), some_names(missing))
    listed = set(order)
    unlisted += [f"{name}/{track.name}" for track in tracks if track.name not in listed]
    return [by_name[song] for song in order if song in by_name]


def some_names(names: Sequence[str], shown: int = 5) -> str:
    """The first ``shown`` names and how many more, for a one-line message."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
