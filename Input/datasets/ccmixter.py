"""CCMixter: one folder per song with ``mix.wav``, ``source-01.wav`` (accompaniment), ``source-02.wav`` (voice)."""
import os
from typing import List, Optional, Sequence

from Input.datasets.errors import DatasetError
from Input.datasets.track import Track, make_tracks

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
    songs = [(song, {role: [os.path.join(root, song, FILES[role])] for role in ["mixture", *sources]})
             for song in sorted(os.listdir(root)) if os.path.isdir(os.path.join(root, song))]
    tracks = make_tracks(songs, name, root, index_cache, skipped)
    if not tracks:
        raise DatasetError(f"no CCMixter songs in {root}: expected <song>/mix.wav, source-01.wav, source-02.wav")
    return tracks
