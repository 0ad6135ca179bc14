"""CCMixter: one folder per song with ``mix.wav``, ``source-01.wav`` (accompaniment), ``source-02.wav`` (voice)."""
import os
from typing import List, Optional, Sequence

from Input.errors import DatasetError
from Input.track import HeaderIndex, Track, first_missing_file, make_track

FILES = {"mixture": "mix.wav", "accompaniment": "source-01.wav", "vocals": "source-02.wav"}


def read_ccmixter(root: str, sources: Sequence[str], name: str = "ccmixter", index_cache: bool = True,
                  skipped: Optional[List[str]] = None) -> List[Track]:
    """Tracks with the roles ``mixture`` and ``sources`` (``vocals`` and/or ``accompaniment``).

    Args:
        root: folder of song folders.
        sources: sources to provide.
        name: dataset name recorded in the tracks.
        index_cache: cache header info as JSON in ``root``.
        skipped: receives a message per unreadable or incomplete song.
    """
    if not os.path.isdir(root):
        raise DatasetError(f"CCMixter folder {root} does not exist: set cfg.datasets.{name}.root to the folder "
                           f"of song folders (each with mix.wav, source-01.wav, source-02.wav)")
    index = HeaderIndex(root, index_cache)
    tracks = []
    for song in sorted(os.listdir(root)):
        folder = os.path.join(root, song)
        if not os.path.isdir(folder):
            continue
        roles = {role: [os.path.join(folder, FILES[role])] for role in ["mixture", *sources]}
        missing = first_missing_file(roles)
        if missing:
            if skipped is not None:
                skipped.append(f"{missing}: no such file")
            continue
        track = make_track(song, name, roles, index, skipped)
        if track is not None:
            tracks.append(track)
    index.save()
    if not tracks:
        raise DatasetError(f"no CCMixter songs in {root}: expected <song>/mix.wav, source-01.wav, source-02.wav")
    return tracks
