"""Collections of single recordings (solo vocals, solo accompaniment, unpaired mixtures).

A collection is a folder of audio files (searched recursively) or a ``.txt`` / ``.csv`` list of
paths (one per line; for CSV the ``path`` column or the first column; relative to the list's folder).
"""
import csv
import logging
import os
from typing import List, Optional

from Input.datasets.errors import DatasetError
from Input.datasets.track import HeaderIndex, Track, make_track
from Utils.audio import AUDIO_EXTENSIONS

log = logging.getLogger(__name__)


def list_audio_files(location: str) -> List[str]:
    """The audio files of a folder (recursively, sorted) or of a .txt/.csv list."""
    if os.path.isdir(location):
        found = []
        for folder, _, names in os.walk(location):
            found += [os.path.join(folder, n) for n in names
                      if os.path.splitext(n)[1].lower() in AUDIO_EXTENSIONS and not n.startswith(".")]
        return sorted(found)
    if os.path.isfile(location) and location.lower().endswith((".txt", ".csv")):
        base = os.path.dirname(os.path.abspath(location))
        with open(location, newline="") as handle:
            if location.lower().endswith(".csv"):
                rows = list(csv.reader(handle))
                column = rows[0].index("path") if rows and "path" in rows[0] else 0
                entries = [row[column] for row in rows[1 if rows and "path" in rows[0] else 0:] if row]
            else:
                entries = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
        return [entry if os.path.isabs(entry) else os.path.join(base, entry) for entry in entries]
    raise DatasetError(f"collection {location} does not exist: give a folder of audio files or a .txt/.csv list")


def read_collection(location: str, role: str, name: Optional[str] = None, index_cache: bool = True,
                    skipped: Optional[List[str]] = None) -> List[Track]:
    """One single-role track per readable file of a collection.

    Args:
        location: folder or list file.
        role: the role of every file (``mixture`` or a source name).
        name: dataset name (default: the folder's name).
        index_cache: cache header info as JSON in the folder.
        skipped: receives a message per unreadable file.
    """
    name = name or os.path.basename(os.path.normpath(location))
    root = location if os.path.isdir(location) else os.path.dirname(os.path.abspath(location))
    index = HeaderIndex(root, index_cache)
    tracks = []
    for path in list_audio_files(location):
        track = make_track(os.path.relpath(path, root), name, {role: [path]}, index, skipped)
        if track is not None:
            tracks.append(track)
    index.save()
    if not tracks:
        log.warning("unpaired collection %s (%s) holds no readable audio", location, role)
    return tracks
