"""iKala: ``Wavfile/<id>.wav``, stereo, the accompaniment on the left channel and the voice on the right."""
import os
from typing import List, Optional, Sequence

from Input.datasets.errors import DatasetError
from Input.datasets.track import Track, make_tracks

SOURCES = ("vocals", "accompaniment")
CHANNELS = {"accompaniment": 0, "vocals": 1}


def song_roles(path: str, sources: Sequence[str]) -> dict:
    """The roles of one iKala file: each source one channel, the mixture both."""
    return {"mixture": [{"file": path, "channel": channel} for channel in sorted(CHANNELS.values())],
            **{source: [{"file": path, "channel": CHANNELS[source]}] for source in sources}}


def song_file(song: str) -> str:
    """The layout: a song's stereo file, relative to the root."""
    return os.path.join("Wavfile", f"{song}.wav")


def read_ikala(root: str, sources: Sequence[str], name: str = "ikala", index_cache: bool = True,
               skipped: Optional[List[str]] = None) -> List[Track]:
    """Mono tracks with the roles ``mixture`` and ``sources``, in file order; the mixture is the sum of the
    two channels, as the authors made it.

    Args:
        root: the folder holding ``Wavfile/``.
        sources: sources to provide (``vocals``, ``accompaniment``).
        name: dataset name recorded in the tracks.
        index_cache: cache header info as JSON in ``root``.
        skipped: receives a message per unreadable or mono file.
    """
    folder = os.path.dirname(os.path.join(root, song_file("")))
    if not os.path.isdir(folder):
        raise DatasetError(f"iKala folder {folder} does not exist: set cfg.datasets.{name}.root to the folder "
                           f"holding Wavfile/")
    files = [file for file in sorted(os.listdir(folder)) if file.lower().endswith(".wav") and not file.startswith(".")]
    songs = [(os.path.splitext(file)[0], song_roles(os.path.join(folder, file), sources)) for file in files]
    tracks = make_tracks(songs, name, root, index_cache, skipped)
    if not tracks:
        raise DatasetError(f"no iKala songs in {folder}: expected stereo <id>.wav files (accompaniment left, voice "
                           f"right)")
    return tracks
