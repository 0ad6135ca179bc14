"""MedleyDB (version 1 layout): ``Audio/<song>/<song>_MIX.wav``, the stems in ``<song>_STEMS/`` and each
stem's instrument in ``<song>_METADATA.yaml``."""
import logging
import os
from typing import Dict, List, Optional, Sequence

from Input.datasets import authors_lists
from Input.datasets.errors import DatasetError
from Input.datasets.track import Part, Track, make_tracks

log = logging.getLogger(__name__)

SOURCES = ("vocals", "accompaniment")
# A stem is vocals when its instrument label (MedleyDB's taxonomy) contains one of these words.
VOCAL_WORDS = ("singer", "vocalist", "rapper", "speaker", "screamer", "choir")
# cfg.datasets.<name>.vocals: 'singers' (every singing stem at unit gain) or 'authors' (their list's stems,
# with the gain and clipping their code gave them; see authors_roles).
VOCALS = ("singers", "authors")
# The authors' Datasets.getMedleyDB concatenates the list of voice stems three times before summing it.
AUTHORS_VOICE_GAIN = 3.0


def is_vocal(instrument) -> bool:
    """Whether a MedleyDB instrument label (or list of labels) names a voice."""
    labels = instrument if isinstance(instrument, list) else [instrument]
    return any(word in str(label).lower() for label in labels for word in VOCAL_WORDS)


def read_medleydb(root: str, sources: Sequence[str], name: str = "medleydb", index_cache: bool = True,
                  skipped: Optional[List[str]] = None, vocals: str = "singers") -> List[Track]:
    """Tracks with the roles ``mixture``, ``vocals`` and ``accompaniment``, in file order.

    The mixture is the sum of the two roles (not ``_MIX.wav``, whose stems are mixed with other gains). A
    song without vocal stems has silent vocals of its length: its accompaniment is real unpaired
    accompaniment. ``vocals`` decides the stems of each role:

    - ``"singers"``: vocals are every vocal stem (see ``VOCAL_WORDS``) at unit gain, the accompaniment all
      the others;
    - ``"authors"``: the stems the authors' list names (:func:`authors_roles`); a song it does not list keeps
      the ``"singers"`` roles, with a warning (``cfg.partition_order='authors'`` leaves such songs out).

    Args:
        root: the folder holding ``Audio/``.
        sources: sources to provide (``vocals``, ``accompaniment``).
        name: dataset name recorded in the tracks.
        index_cache: cache header info as JSON in ``root``.
        skipped: receives a message per song whose metadata or stems cannot be read.
        vocals: ``"singers"`` or ``"authors"``.
    """
    import yaml
    audio = os.path.join(root, "Audio")
    if not os.path.isdir(audio):
        raise DatasetError(f"MedleyDB folder {audio} does not exist: set cfg.datasets.{name}.root to the folder "
                           f"holding Audio/")
    songs, unlisted = [], []
    for song in sorted(os.listdir(audio)):
        folder = os.path.join(audio, song)
        if not os.path.isdir(folder):
            continue
        metadata_path = os.path.join(root, song_file(song, "metadata"))
        try:
            with open(metadata_path) as handle:
                metadata = yaml.safe_load(handle)
            stem_folder = os.path.join(folder, metadata.get("stem_dir") or os.path.basename(song_file(song, "stems")))
            labelled = [(os.path.join(stem_folder, entry["filename"]), entry.get("instrument"))
                        for _, entry in sorted(metadata["stems"].items())]
            if not labelled:
                raise KeyError("no stems")
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
            if skipped is not None:
                problem = "no such file" if isinstance(error, FileNotFoundError) else f"not MedleyDB metadata ({error!r})"
                skipped.append(f"{metadata_path}: {problem}")
            continue
        listed = authors_lists.medleydb_stems(song) if vocals == "authors" else None
        if listed is not None:
            roles = authors_roles(stem_folder, song, *listed)
        else:
            unlisted += [song] if vocals == "authors" else []
            singing = [path for path, instrument in labelled if is_vocal(instrument)]
            others = [path for path, instrument in labelled if not is_vocal(instrument)]
            roles = {"mixture": singing + others, "vocals": singing, "accompaniment": others}
        songs.append((song, {role: parts for role, parts in roles.items() if role == "mixture" or role in sources}))
    if unlisted:
        log.warning("%s: %d songs are not in the authors' list, so their vocals are every singing stem "
                    "(cfg.datasets.%s.vocals='authors' covers listed songs): %s", name, len(unlisted), name,
                    authors_lists.some_names(unlisted))
    tracks = make_tracks(songs, name, root, index_cache, skipped)
    if not tracks:
        raise DatasetError(f"no MedleyDB songs in {audio}: expected <song>/<song>_METADATA.yaml and "
                           f"<song>/<song>_STEMS/")
    return tracks


def song_file(song: str, kind: str, stem: int = 0) -> str:
    """The version 1 layout: a song's ``mix``, ``metadata``, ``stems`` folder or ``stem`` number ``stem``,
    relative to the root."""
    names = {"mix": f"{song}_MIX.wav", "metadata": f"{song}_METADATA.yaml", "stems": f"{song}_STEMS",
             "stem": os.path.join(f"{song}_STEMS", f"{song}_STEM_{stem:02d}.wav")}
    return os.path.join("Audio", song, names[kind])


def authors_roles(stem_folder: str, song: str, voice: Sequence[str], accompaniment: Sequence[str]
                  ) -> Dict[str, List[Part]]:
    """A song's roles as the authors' code made them from their list (``Datasets.getMedleyDB`` and
    ``Input.add_audio``): vocals = the listed voice stems summed three times (the list is concatenated
    thrice) and clipped to [-1, 1]; accompaniment = the other listed stems summed and clipped; mixture =
    those two summed and clipped. Stems the list does not name are in no role. The triple gain looks
    unintended; it is kept because the published numbers came from it.

    Args:
        stem_folder: the song's ``<song>_STEMS`` folder.
        song: the song's folder name.
        voice, accompaniment: stem numbers (``"04"``) from :func:`Input.datasets.authors_lists.medleydb_stems`.
    """
    def stem(number: str) -> str:
        return os.path.join(stem_folder, os.path.basename(song_file(song, "stem", int(number))))

    roles: Dict[str, List[Part]] = {"vocals": [], "accompaniment": []}
    if voice:
        roles["vocals"] = [{"sum": [{"file": stem(n), "gain": AUTHORS_VOICE_GAIN} for n in voice], "clip": True}]
    if accompaniment:
        roles["accompaniment"] = [{"sum": [stem(n) for n in accompaniment], "clip": True}]
    roles["mixture"] = [{"sum": roles["vocals"] + roles["accompaniment"], "clip": True}]
    return roles
