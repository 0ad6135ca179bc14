"""The paper's dataset layouts for the demo corpus: DSD100, MedleyDB (version 1) and iKala, a few songs each.

Each writer takes a rendered song's stems and writes them as a user's copy of that dataset is laid out,
so that the readers (Input/datasets/) and ``cfg.paper`` are tried on the layouts themselves:

- ``dsd100/Mixtures/{Dev,Test}/<song>/mixture.wav`` and ``dsd100/Sources/{Dev,Test}/<song>/<stem>.wav``;
- ``medleydb/Audio/<song>/<song>_MIX.wav``, ``<song>_STEMS/<song>_STEM_<k>.wav`` and
  ``<song>_METADATA.yaml`` (instrument labels from MedleyDB's taxonomy); some songs are instrumental;
  the ``_MIX`` is mixed at another level than the stems' sum, as MedleyDB's are;
- ``ikala/Wavfile/<id>.wav``: mono accompaniment on the left channel, mono voice on the right.
"""
import os
from typing import Dict, Tuple

import numpy as np


# (collection, number of songs, family); 14 songs.
PAPER_COLLECTIONS = (("dsd100/Dev", 2, "studio"), ("dsd100/Test", 4, "studio"), ("medleydb", 5, "stage"),
                     ("ikala", 3, "stage"))
# MedleyDB songs (by their place in the collection) written without vocals: the first lands in the
# unpaired third, the last in the test third of the file-order partition.
INSTRUMENTAL_MEDLEYDB = (0, 4)
MEDLEYDB_INSTRUMENTS = {"vocals": "male singer", "drums": "drum set", "bass": "electric bass", "other": "string section"}
MEDLEYDB_MIX_GAIN = 0.8


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
        return {"mixture": (f"dsd100/Mixtures/{split}/{name}/mixture.wav", accompaniment + stems["vocals"]),
                **{stem: (f"dsd100/Sources/{split}/{name}/{stem}.wav", audio) for stem, audio in stems.items()}}
    song = name.replace(" - ", "_").replace(" ", "")
    if collection == "ikala":
        channels = np.stack([accompaniment.mean(axis=1), stems["vocals"].mean(axis=1)], axis=1)
        return {"mixture": (f"ikala/Wavfile/{place + 1:05d}_{song}.wav", np.round(channels).astype(np.int32))}
    if collection != "medleydb":
        raise ValueError(f"{collection} is not a paper layout")
    kept = [stem for stem in MEDLEYDB_INSTRUMENTS if not (stem == "vocals" and place in INSTRUMENTAL_MEDLEYDB)]
    files = {stem: (f"medleydb/Audio/{song}/{song}_STEMS/{song}_STEM_{k + 1:02d}.wav", stems[stem])
             for k, stem in enumerate(kept)}
    mix = np.round(MEDLEYDB_MIX_GAIN * sum(stems[stem] for stem in kept)).astype(np.int32)
    files["mixture"] = (f"medleydb/Audio/{song}/{song}_MIX.wav", mix)
    files["metadata"] = (write_medleydb_metadata(out, song, kept), None)
    return files


def write_medleydb_metadata(out: str, song: str, stems) -> str:
    """Writes ``<song>_METADATA.yaml`` as MedleyDB version 1 has it; returns its path relative to ``out``."""
    import yaml
    metadata = {"artist": "Demo", "title": song, "instrumental": "no" if "vocals" in stems else "yes",
                "mix_filename": f"{song}_MIX.wav", "stem_dir": f"{song}_STEMS", "raw_dir": f"{song}_RAW",
                "stems": {f"S{k + 1:02d}": {"component": "melody" if stem == "vocals" else "",
                                            "filename": f"{song}_STEM_{k + 1:02d}.wav",
                                            "instrument": MEDLEYDB_INSTRUMENTS[stem]}
                          for k, stem in enumerate(stems)},
                "version": 1.2}
    relative = f"medleydb/Audio/{song}/{song}_METADATA.yaml"
    os.makedirs(os.path.dirname(os.path.join(out, relative)), exist_ok=True)
    with open(os.path.join(out, relative), "w") as handle:
        yaml.safe_dump(metadata, handle, sort_keys=True)
    return relative
