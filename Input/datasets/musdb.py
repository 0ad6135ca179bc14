"""MUSDB18 through the ``musdb`` package: the ``.stem.mp4`` release and the HQ wav release."""
import logging
import os
from typing import List, Optional, Sequence

from Input.datasets.errors import DatasetError
from Input.datasets.track import HeaderIndex, Track, make_track

log = logging.getLogger(__name__)
STEMS = ("drums", "bass", "other", "vocals")
STEM_STREAM = {"mixture": 0, "drums": 1, "bass": 2, "other": 3, "vocals": 4}  # .stem.mp4 stream order


def read_musdb(root: str, sources: Sequence[str], is_wav: bool = False, subset: str = "train",
               name: str = "musdb", index_cache: bool = True, skipped: Optional[List[str]] = None) -> List[Track]:
    """Tracks of one MUSDB18 subset with the roles ``mixture`` and ``sources``.

    ``accompaniment`` is the sum of the non-vocal stems.

    Args:
        root: folder holding ``train/`` and ``test/``.
        sources: source names to provide (``vocals``, ``drums``, ``bass``, ``other``, ``accompaniment``).
        is_wav: the HQ release (a folder of wavs per track) instead of ``.stem.mp4`` files.
        subset: ``"train"`` or ``"test"``.
        name: dataset name recorded in the tracks.
        index_cache: cache header info as JSON in ``root``.
        skipped: receives a message per unreadable track.
    """
    if not os.path.isdir(os.path.join(root, subset)):
        raise DatasetError(f"MUSDB18 folder {os.path.join(root, subset)} does not exist: set cfg.datasets.{name}.root "
                           f"to the folder holding train/ and test/")
    import musdb
    database = musdb.DB(root=root, is_wav=is_wav, subsets=[subset])
    index = HeaderIndex(root, index_cache)
    tracks = []
    for item in database.tracks:
        roles = {"mixture": _references(root, item, "mixture", is_wav)}
        for source in sources:
            stems = [s for s in STEMS if s != "vocals"] if source == "accompaniment" else [source]
            roles[source] = [ref for stem in stems for ref in _references(root, item, stem, is_wav)]
        track = make_track(item.name, name, roles, index, skipped)
        if track is not None:
            tracks.append(track)
    index.save()
    if not tracks:
        raise DatasetError(f"no readable MUSDB18 tracks in {os.path.join(root, subset)} "
                           f"(is_wav={is_wav}: {'wav folders' if is_wav else '.stem.mp4 files'} expected)")
    return tracks


def wav_file(subset: str, track: str, role: str) -> str:
    """The HQ release's layout: a track's file of ``role`` (``mixture`` or a stem), relative to the root."""
    return os.path.join(subset, track, f"{role}.wav")


def _references(root: str, item, role: str, is_wav: bool) -> List[str]:
    if is_wav:
        return [os.path.join(root, wav_file(item.subset, item.name, role))]
    return [f"{item.path}#{STEM_STREAM[role]}"]
