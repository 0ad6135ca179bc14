"""The paper's dataset layouts for the demo corpus: DSD100, MedleyDB (version 1), CCMixter and iKala, a few
songs each.

Each writer takes a rendered song's stems and writes them as a user's copy of that dataset is laid out,
so that the readers (Input/datasets/) and ``cfg.paper`` are tried on the layouts themselves:

- ``dsd100/Mixtures/{Dev,Test}/<song>/mixture.wav`` and ``dsd100/Sources/{Dev,Test}/<song>/<stem>.wav``;
- ``medleydb/Audio/<song>/<song>_MIX.wav``, ``<song>_STEMS/<song>_STEM_<k>.wav`` and
  ``<song>_METADATA.yaml`` (instrument labels from MedleyDB's taxonomy); some songs are instrumental;
  the ``_MIX`` is mixed at another level than the stems' sum, as MedleyDB's are;
- ``paper_ccmixter/<song>/{mix,source-01,source-02}.wav`` (the demo's own ``ccmixter/`` is its stage family);
- ``ikala/Wavfile/<id>.wav``: mono accompaniment on the left channel, mono voice on the right.

DSD100's, MedleyDB's and CCMixter's songs carry names from the authors' lists (``LISTED_NAMES``), chosen so
that the lists' order and alphabetical order cut them differently; MedleyDB's stems are numbered as the
authors' list numbers them, and one song has a backing-vocal stem the list does not name.
"""
import os
from typing import Dict, Optional, Tuple

import numpy as np

from Input.datasets import dsd100, ikala, medleydb
from Input.datasets.ccmixter import FILES as CCMIXTER_FILES


# (collection, number of songs, family); 20 songs.
PAPER_COLLECTIONS = (("dsd100/Dev", 2, "studio"), ("dsd100/Test", 4, "studio"), ("medleydb", 5, "stage"),
                     ("paper_ccmixter", 6, "stage"), ("ikala", 3, "stage"))
PAPER_FOLDERS = tuple(dict.fromkeys(collection.split("/")[0] for collection, _, _ in PAPER_COLLECTIONS))
# Song names by place, from the authors' lists (Input/datasets/authors_lists/). In the lists' order DSD100's
# validation half is 001 and 040 (alphabetically: 001 and 013); MedleyDB's first song is FreeJazz
# (alphabetically: 80sRock); CCMixter's thirds differ from the case-sensitive alphabetical ones.
LISTED_NAMES = {
    "dsd100/Dev": ("051 - AM Contra - Heart Peripheral", "052 - ANiMAL - Easy Tiger"),
    "dsd100/Test": ("040 - The Long Wait - Back Home To Blue", "001 - ANiMAL - Clinic A",
                    "013 - Drumtracks - Ghost Bitch", "032 - Raft Monk - Tiring"),
    "medleydb": ("MusicDelta_FreeJazz", "MusicDelta_Hendrix", "MusicDelta_Punk", "MusicDelta_80sRock",
                 "TablaBreakbeatScience_CaptainSky"),
    "paper_ccmixter": ("stellarartwars_-_Music", "AlexBeroza_-_To_Be_Sensitive_(with_mindmapthat)",
                       "Nikmusik_-_Little_White_Lies", "casimps1_-_Could_Be", "VonKorf_-_Marktversagen",
                       "Kamihamiha_-_A_Spatial_Voyage_From_A_To_B_(Stems)"),
}
# MedleyDB songs (by their place in the collection) written without vocals: instrumental in the authors'
# list too; the first and the last in its order, so the unpaired and the test third each get one.
INSTRUMENTAL_MEDLEYDB = (0, 4)
# Stem numbers as the authors' list has them for these songs: accompaniment 01-03, voice 04.
MEDLEYDB_STEM_NUMBERS = {"drums": 1, "bass": 2, "other": 3, "vocals": 4}
MEDLEYDB_INSTRUMENTS = {"vocals": "male singer", "drums": "drum set", "bass": "electric bass", "other": "string section",
                        "backing": "female singer"}
# A backing-vocal stem (05) the authors' list does not name: in the vocals of cfg.datasets.medleydb.vocals=
# 'singers', in no role of 'authors'.
MEDLEYDB_BACKING = ("MusicDelta_Punk", 5)
MEDLEYDB_MIX_GAIN = 0.8


def listed_song_name(collection: str, place: int) -> Optional[str]:
    """The authors' name for a paper-layout song, or ``None`` (iKala has no list)."""
    names = LISTED_NAMES.get(collection)
    return names[place] if names else None


def write_paper_layout(collection: str, place: int, name: str, stems: Dict[str, np.ndarray], out: str
                       ) -> Dict[str, Tuple[str, np.ndarray]]:
    """The files of one song in a paper layout: ``{role: (path relative to out, int32 audio)}``; MedleyDB's
    metadata is written here, and listed with ``None`` audio.

    Args:
        collection: ``dsd100/Dev``, ``dsd100/Test``, ``medleydb`` or ``ikala``.
        place: the song's place in its collection (0, 1, ...).
        name: the song's name (spaces are replaced where the layout has none).
        stems: the four stems, int32 ``(samples, 2)`` at 44.1 kHz.
        out: the corpus folder (MedleyDB's metadata is written there at once).
    """
    accompaniment = stems["drums"] + stems["bass"] + stems["other"]
    if collection.startswith("dsd100/"):
        split = collection.split("/")[1]
        return {"mixture": (f"dsd100/{dsd100.song_file(split, name, 'mixture')}", accompaniment + stems["vocals"]),
                **{stem: (f"dsd100/{dsd100.song_file(split, name, stem)}", audio) for stem, audio in stems.items()}}
    if collection == "paper_ccmixter":
        return ccmixter_files(collection, name, stems)
    song = name.replace(" - ", "_").replace(" ", "")
    if collection == "ikala":
        channels = np.stack([accompaniment.mean(axis=1), stems["vocals"].mean(axis=1)], axis=1)
        return {"mixture": (f"ikala/{ikala.song_file(f'{place + 1:05d}_{song}')}", np.round(channels).astype(np.int32))}
    if collection != "medleydb":
        raise ValueError(f"{collection} is not a paper layout")
    return medleydb_files(song, place, stems, out)


def ccmixter_files(folder: str, name: str, stems: Dict[str, np.ndarray]) -> Dict[str, Tuple[str, np.ndarray]]:
    """A song in CCMixter's layout, with the file names its reader expects (``Input.datasets.ccmixter.FILES``):
    the mixture, the accompaniment and the voice."""
    accompaniment = stems["drums"] + stems["bass"] + stems["other"]
    audio = {"mixture": accompaniment + stems["vocals"], "accompaniment": accompaniment, "vocals": stems["vocals"]}
    return {role: (f"{folder}/{name}/{file}", audio[role]) for role, file in CCMIXTER_FILES.items()}


def medleydb_files(song: str, place: int, stems: Dict[str, np.ndarray], out: str
                   ) -> Dict[str, Tuple[str, Optional[np.ndarray]]]:
    """A MedleyDB song's stems numbered as the authors' list numbers them, its ``_MIX`` and its metadata."""
    audio = {stem: stems[stem] for stem in MEDLEYDB_STEM_NUMBERS
             if not (stem == "vocals" and place in INSTRUMENTAL_MEDLEYDB)}
    numbers = {stem: MEDLEYDB_STEM_NUMBERS[stem] for stem in audio}
    if song == MEDLEYDB_BACKING[0]:  # a quieter second voice, a fifth later in time
        audio["backing"] = np.round(0.5 * np.roll(stems["vocals"], len(stems["vocals"]) // 5, axis=0)).astype(np.int32)
        numbers["backing"] = MEDLEYDB_BACKING[1]
    files = {stem: (f"medleydb/{medleydb.song_file(song, 'stem', numbers[stem])}", audio[stem]) for stem in audio}
    mix = np.round(MEDLEYDB_MIX_GAIN * sum(audio.values())).astype(np.int32)
    files["mixture"] = (f"medleydb/{medleydb.song_file(song, 'mix')}", mix)
    files["metadata"] = (write_medleydb_metadata(out, song, numbers), None)
    return files


def write_medleydb_metadata(out: str, song: str, numbers: Dict[str, int]) -> str:
    """Writes ``<song>_METADATA.yaml`` as MedleyDB version 1 has it (``numbers``: stem -> its number); returns
    its path relative to ``out``."""
    import yaml
    metadata = {"artist": "Demo", "title": song, "instrumental": "no" if "vocals" in numbers else "yes",
                "mix_filename": os.path.basename(medleydb.song_file(song, "mix")),
                "stem_dir": os.path.basename(medleydb.song_file(song, "stems")), "raw_dir": f"{song}_RAW",
                "stems": {f"S{k:02d}": {"component": "melody" if stem == "vocals" else "",
                                        "filename": os.path.basename(medleydb.song_file(song, "stem", k)),
                                        "instrument": MEDLEYDB_INSTRUMENTS[stem]}
                          for stem, k in numbers.items()},
                "version": 1.2}
    relative = f"medleydb/{medleydb.song_file(song, 'metadata')}"
    os.makedirs(os.path.dirname(os.path.join(out, relative)), exist_ok=True)
    with open(os.path.join(out, relative), "w") as handle:
        yaml.safe_dump(metadata, handle, sort_keys=True)
    return relative
