"""MedleyDB (version 1 layout): ``Audio/<song>/<song>_MIX.wav``, the stems in ``<song>_STEMS/`` and each
stem's instrument in ``<song>_METADATA.yaml``."""
import os
from typing import List, Optional, Sequence

from Input.errors import DatasetError
from Input.track import Track, make_tracks

SOURCES = ("vocals", "accompaniment")
# A stem is vocals when its instrument label (MedleyDB's taxonomy) contains one of these words.
VOCAL_WORDS = ("singer", "vocalist", "rapper", "speaker", "screamer", "choir")


def is_vocal(instrument) -> bool:
    """Whether a MedleyDB instrument label (or list of labels) names a voice."""
    labels = instrument if isinstance(instrument, list) else [instrument]
    return any(word in str(label).lower() for label in labels for word in VOCAL_WORDS)


def read_medleydb(root: str, sources: Sequence[str], name: str = "medleydb", index_cache: bool = True,
                  skipped: Optional[List[str]] = None) -> List[Track]:
    """Tracks with the roles ``mixture``, ``vocals`` and ``accompaniment``, in file order.

    As the authors made them: vocals are the sum of the vocal stems (see ``VOCAL_WORDS``), accompaniment
    the sum of the others, and the mixture their sum (not ``_MIX.wav``, whose stems are mixed with other
    gains). A song without vocal stems has silent vocals of its length: its accompaniment is real unpaired
    accompaniment.

    Args:
        root: the folder holding ``Audio/``.
        sources: sources to provide (``vocals``, ``accompaniment``).
        name: dataset name recorded in the tracks.
        index_cache: cache header info as JSON in ``root``.
        skipped: receives a message per song whose metadata or stems cannot be read.
    """
    import yaml
    audio = os.path.join(root, "Audio")
    if not os.path.isdir(audio):
        raise DatasetError(f"MedleyDB folder {audio} does not exist: set cfg.datasets.{name}.root to the folder "
                           f"holding Audio/")
    songs = []
    for song in sorted(os.listdir(audio)):
        folder = os.path.join(audio, song)
        if not os.path.isdir(folder):
            continue
        metadata_path = os.path.join(folder, f"{song}_METADATA.yaml")
        try:
            with open(metadata_path) as handle:
                metadata = yaml.safe_load(handle)
            stem_folder = os.path.join(folder, metadata.get("stem_dir") or f"{song}_STEMS")
            labelled = [(os.path.join(stem_folder, entry["filename"]), entry.get("instrument"))
                        for _, entry in sorted(metadata["stems"].items())]
            if not labelled:
                raise KeyError("no stems")
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
            if skipped is not None:
                problem = "no such file" if isinstance(error, FileNotFoundError) else f"not MedleyDB metadata ({error!r})"
                skipped.append(f"{metadata_path}: {problem}")
            continue
        vocals = [path for path, instrument in labelled if is_vocal(instrument)]
        accompaniment = [path for path, instrument in labelled if not is_vocal(instrument)]
        roles = {"mixture": vocals + accompaniment, "vocals": vocals, "accompaniment": accompaniment}
        songs.append((song, {role: parts for role, parts in roles.items() if role == "mixture" or role in sources}))
    tracks = make_tracks(songs, name, root, index_cache, skipped)
    if not tracks:
        raise DatasetError(f"no MedleyDB songs in {audio}: expected <song>/<song>_METADATA.yaml and "
                           f"<song>/<song>_STEMS/")
    return tracks
