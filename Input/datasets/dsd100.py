"""DSD100: ``Mixtures/{Dev,Test}/<song>/mixture.wav`` and ``Sources/{Dev,Test}/<song>/{bass,drums,other,vocals}.wav``."""
import os
from typing import List, Optional, Sequence

from Input.datasets.errors import DatasetError
from Input.datasets.track import Track, make_tracks

STEMS = ("bass", "drums", "other", "vocals")
SPLIT_FOLDERS = {"train": "Dev", "test": "Test"}


def song_file(split: str, song: str, role: str) -> str:
    """The layout: a song's file of ``role`` (``mixture`` or a stem) in the split folder ``split`` (``Dev`` or
    ``Test``), relative to the root."""
    if role == "mixture":
        return os.path.join("Mixtures", split, song, "mixture.wav")
    return os.path.join("Sources", split, song, f"{role}.wav")


def read_dsd100(root: str, sources: Sequence[str], subset: str = "train", name: str = "dsd100",
                index_cache: bool = True, skipped: Optional[List[str]] = None) -> List[Track]:
    """Tracks of one DSD100 split with the roles ``mixture`` and ``sources``, in file order.

    ``accompaniment`` is the mixture minus the vocals, as the authors made it (DSD100's mixture is the sum
    of its four stems, so this equals bass + drums + other up to the mixture's clipping).

    Args:
        root: the folder holding ``Mixtures/`` and ``Sources/``.
        sources: sources to provide (``vocals``, ``bass``, ``drums``, ``other``, ``accompaniment``).
        subset: ``"train"`` (the Dev split) or ``"test"`` (the Test split).
        name: dataset name recorded in the tracks.
        index_cache: cache header info as JSON in ``root``.
        skipped: receives a message per unreadable or incomplete song.
    """
    split = SPLIT_FOLDERS[subset]
    mixtures, stems = os.path.join(root, "Mixtures", split), os.path.join(root, "Sources", split)
    if not os.path.isdir(mixtures):
        raise DatasetError(f"DSD100 folder {mixtures} does not exist: set cfg.datasets.{name}.root to the folder "
                           f"holding Mixtures/ and Sources/")
    songs = []
    for song in sorted(os.listdir(mixtures)):
        if not os.path.isdir(os.path.join(mixtures, song)):
            continue
        mixture, vocals = (os.path.join(root, song_file(split, song, role)) for role in ("mixture", "vocals"))
        roles = {"mixture": [mixture]}
        for source in sources:
            roles[source] = ([mixture, {"file": vocals, "gain": -1.0}] if source == "accompaniment"
                             else [os.path.join(root, song_file(split, song, source))])
        songs.append((song, roles))
    tracks = make_tracks(songs, name, root, index_cache, skipped)
    if not tracks:
        raise DatasetError(f"no DSD100 songs in {mixtures}: expected <song>/mixture.wav there and "
                           f"<song>/{{bass,drums,other,vocals}}.wav in {stems}")
    return tracks
