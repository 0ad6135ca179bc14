"""The built-in demo corpus: rendered Bach chorale multitracks in the real datasets' layouts.

    python -m Input.demo.corpus --out data/demo

writes, deterministically for a seed (and returns at once when already rendered), the paper's
problem in small: few paired songs of one family of timbres ("studio"), and plenty of unpaired
audio of another ("stage") that a second test set is drawn from too (Input/demo/chorales.py, FAMILIES):

- ``musdb/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav``: MUSDB18-HQ layout, 44.1 kHz
  stereo, studio family: the paired songs, and the in-domain validation and test songs;
- ``ccmixter/<song>/{mix,source-01,source-02}.wav``: CCMixter layout (01 accompaniment, 02 voice),
  stage family: cut in thirds by the partition (unpaired, validation, shifted-domain test);
- ``mixtures/``, ``solo_vocals/``, ``solo_accompaniment/`` and ``solo_{drums,bass,other}/`` (the
  stems of the solo accompaniment songs): unpaired collections of other stage songs, in wav, flac
  and mp3, at 44.1 and 22.05 kHz, mono and stereo;
- ``dsd100/``, ``medleydb/``, ``paper_ccmixter/`` and ``ikala/``: the paper's datasets' layouts, a few
  songs each, named as in the authors' lists (Input/demo/paper_layouts.py), rendered after the rest from
  chorales no other song uses, with their own ``paper_manifest.json`` (so that adding them left the songs
  above as they were);
- ``manifest.json``: each song's chorale, family, licence notes and rendering parameters.
"""
import argparse
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from Input.demo import chorales, fluidsynth
from Input.datasets import musdb
from Input.datasets.errors import DatasetError
from Input.demo.paper_layouts import (LISTED_NAMES, PAPER_COLLECTIONS, PAPER_FOLDERS, ccmixter_files, listed_song_name,
                                  write_paper_layout)
from Utils import audio as audio_io
from Utils import audio_writer
from Utils.files import write_json_atomically

# 2: unpaired wav files were silent in version 1; 3: two families, solo stems; 4: held-out sets of 12 test and
# 12 validation songs per family, so that an interval over songs can hold (bench/results/semi_vs_sup.md)
CORPUS_VERSION = 4
SAMPLE_RATE = 44100
# (collection, number of songs, family): 96 songs. musdb/test halves into 12 validation and 12 test songs,
# ccmixter's thirds into 12 unpaired, 12 validation and 12 test songs (Input/datasets/partition.py).
COLLECTIONS = (("musdb/train", 8, "studio"), ("musdb/test", 24, "studio"), ("ccmixter", 36, "stage"),
               ("mixtures", 12, "stage"), ("solo_vocals", 10, "stage"), ("solo_accompaniment", 10, "stage"))
# Solo collections of single stems, written from the solo accompaniment songs (4-source training).
SOLO_STEM_COLLECTIONS = {"solo_drums": "drums", "solo_bass": "bass", "solo_other": "other"}
# Unpaired collections cycle through these (extension, sample rate, channels).
UNPAIRED_FORMATS = ((".wav", 44100, 2), (".flac", 22050, 1), (".mp3", 44100, 2))


# The shifted families beyond the stage (chorales.FAMILIES), rendered on request into folders of their own,
# each with what the stage family has: multitrack songs in CCMixter's layout (cut in thirds: unpaired,
# validation, test) and unpaired collections (bench.studies.generality).
FAMILY_FOLDERS = ("timbre", "register")
FAMILY_COLLECTIONS = tuple((f"{family}/{collection}", count, family) for family in FAMILY_FOLDERS
                           for collection, count in (("ccmixter", 36), ("mixtures", 12), ("solo_vocals", 10),
                                                     ("solo_accompaniment", 10)))
FAMILIES_MANIFEST = "families_manifest.json"
PAPER_MANIFEST = "paper_manifest.json"
PAPER_DURATIONS = (8.0, 10.0)  # seconds: the paper layouts' songs are shorter (they are read, not studied)


def corpus_key(seed: int, min_duration: float, max_duration: float, soundfont: str, collections=COLLECTIONS,
               families: Sequence[str] = ("studio", "stage")) -> str:
    """Identifies one rendering of songs of ``families``; a folder whose manifest has this key is up to date."""
    families = {name: dataclasses.asdict(chorales.FAMILIES[name]) for name in families}
    text = json.dumps([CORPUS_VERSION, seed, min_duration, max_duration, os.path.basename(soundfont),
                       collections, UNPAIRED_FORMATS, SOLO_STEM_COLLECTIONS, families])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(seed: int, min_duration: float, max_duration: float, collections=COLLECTIONS, first_index: int = 0,
         excluded=()) -> List[dict]:
    """One entry per song: its collection, place in it, name, duration, and the chorales it may use (disjoint
    between songs, and none of ``excluded``); songs are numbered from ``first_index``."""
    ids = [corpus_id for corpus_id in chorales.chorale_ids() if corpus_id not in set(excluded)]
    order = np.random.default_rng(seed).permutation(len(ids))
    total = sum(count for _, count, _ in collections)
    songs, index = [], first_index
    for collection, count, family in collections:
        for place in range(count):
            rng = np.random.default_rng([seed, index])
            songs.append({"index": index, "collection": collection, "place": place, "family": family,
                          "duration": round(float(rng.uniform(min_duration, max_duration)), 2),
                          "candidates": [ids[i] for i in order[index - first_index::total]], "seed": [seed, index]})
            index += 1
    return songs


def render_song(song: dict, out: str, soundfont: str) -> dict:
    """Renders one planned song's stems and writes the files of its collection; returns its manifest entry."""
    rng = np.random.default_rng(song["seed"])
    for corpus_id in song["candidates"]:
        try:
            voices = chorales.read_satb(corpus_id)
            break
        except ValueError:
            continue
    else:
        raise RuntimeError(f"no SATB chorale among the candidates of song {song['index']}")
    arrangement = chorales.arrange(corpus_id, voices, song["duration"], rng, song["family"])
    stems = render_stems(arrangement, soundfont)
    name = (listed_song_name(song["collection"], song["place"])
            or f"Demo{song['index']:02d} - {corpus_id.split('/')[-1].rsplit('.', 1)[0]}")
    files = write_collection(song, name, stems, out)
    return {"name": name, "collection": song["collection"], "files": files, **arrangement.describe()}


def render_stems(arrangement: chorales.Arrangement, soundfont: str) -> Dict[str, np.ndarray]:
    """The four stems as int16 arrays of the song's length, the mix's peak below 0.9 of full scale."""
    length = int(round(arrangement.duration * SAMPLE_RATE))
    fade = np.linspace(1.0, 0.0, int(0.05 * SAMPLE_RATE))[:, None]
    stems = {}
    with tempfile.TemporaryDirectory() as folder:
        for stem in chorales.STEMS:
            midi_path = os.path.join(folder, f"{stem}.mid")
            chorales.stem_midi(arrangement, stem).write(midi_path)
            audio = audio_io.fix_length(fluidsynth.render(midi_path, SAMPLE_RATE, soundfont, arrangement.duration + 30), length)
            audio[-fade.shape[0]:] *= fade
            stems[stem] = audio * 10 ** (arrangement.gains_db[stem] / 20)
    peak = np.abs(sum(stems.values())).max()
    scale = 0.9 / peak if peak > 0.9 else 1.0
    # Integer stems make the mixture written their exact sum, as in MUSDB18 (mixture = sum of stems).
    return {stem: np.round(audio * scale * 32767).astype(np.int16) for stem, audio in stems.items()}


def family_folder(collection: str) -> Tuple[str, str]:
    """``(folder prefix, collection)``: a shifted family's collections lie in a folder of their own
    (``timbre/ccmixter``: ``("timbre/", "ccmixter")``), the main corpus's at the top (``("", "ccmixter")``)."""
    family, _, rest = collection.partition("/")
    return (f"{family}/", rest) if family in FAMILY_FOLDERS else ("", collection)


def write_collection(song: dict, name: str, stems: Dict[str, np.ndarray], out: str) -> Dict[str, str]:
    """Writes a song in its collection's layout; returns ``{role: path relative to out}``."""
    prefix, collection = family_folder(song["collection"])
    stems = {stem: audio.astype(np.int32) for stem, audio in stems.items()}
    accompaniment = stems["drums"] + stems["bass"] + stems["other"]
    mixture = accompaniment + stems["vocals"]
    if collection.split("/")[0] in PAPER_FOLDERS:
        files = write_paper_layout(collection, song["place"], name, stems, out)
    elif collection.startswith("musdb/"):
        subset = collection.split("/")[1]
        files = {role: (f"musdb/{musdb.wav_file(subset, name, role)}", audio)
                 for role, audio in [("mixture", mixture), *stems.items()]}
    elif collection == "ccmixter":
        files = ccmixter_files(prefix + collection, name, stems)
    else:
        extension, rate, channels = UNPAIRED_FORMATS[song["index"] % len(UNPAIRED_FORMATS)]
        if extension == ".mp3" and shutil.which("ffmpeg") is None:
            extension, rate = ".ogg", 32000
        contents = {"solo_vocals": {collection: stems["vocals"]}, "mixtures": {collection: mixture},
                    "solo_accompaniment": {collection: accompaniment, **{folder: stems[stem] for folder, stem
                                                                        in SOLO_STEM_COLLECTIONS.items()}}}
        files = {}
        for folder, content in contents[collection].items():
            content = content.astype(np.float32) / 32768
            content = content if channels == 2 else content.mean(axis=1, keepdims=True)
            files[folder] = (f"{prefix}{folder}/{name}{extension}", audio_io.resample(content, SAMPLE_RATE, rate))
    for relative, audio in files.values():
        path = os.path.join(out, relative)
        if audio is None:  # written already (MedleyDB's metadata)
            continue
        if audio.dtype == np.int32:  # paired stems and their sums: integers, written exactly
            audio_writer.save(path, np.clip(audio, -32768, 32767).astype(np.int16), SAMPLE_RATE)
        elif path.endswith(".wav"):  # resampled or downmixed floats, written as 16-bit PCM like the rest
            audio_writer.save(path, np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16), rate)
        else:
            audio_writer.save(path, audio, rate)
    return {role: relative for role, (relative, _) in files.items()}


def build(out: str, seed: int = 2018, min_duration: float = 20.0, max_duration: float = 24.0,
          workers: Optional[int] = None, progress: bool = True, families: bool = False) -> dict:
    """Renders the demo corpus into ``out`` unless it is already there, then the paper layouts and, with
    ``families``, the shifted families of :data:`FAMILY_FOLDERS`; returns the main manifest (the others are
    ``paper_manifest.json`` and ``families_manifest.json``).

    Raises:
        fluidsynth.MissingToolError: fluidsynth or a soundfont is missing (the message names the package).
        DatasetError: ``out`` is a link to a folder that is gone, or a file cannot be written there.
    """
    if os.path.islink(out) and not os.path.isdir(out):
        raise DatasetError(f"{out} is a link to {os.readlink(out)}, which is not a folder: remove the link (the demo "
                           f"corpus is then rendered there) or point it at a rendered corpus")
    fluidsynth.find_fluidsynth()
    soundfont = fluidsynth.find_soundfont()
    key = corpus_key(seed, min_duration, max_duration, soundfont)
    manifest = render_manifest(out, "manifest.json", key, lambda: plan(seed, min_duration, max_duration),
                               seed, soundfont, workers, progress, "rendering demo corpus")
    used = [song["corpus_id"] for song in manifest["songs"]]
    paper_key = corpus_key(seed, *PAPER_DURATIONS, soundfont, [key, PAPER_COLLECTIONS, LISTED_NAMES])
    paper = render_manifest(out, PAPER_MANIFEST, paper_key,
                            lambda: plan(seed, *PAPER_DURATIONS, PAPER_COLLECTIONS, len(manifest["songs"]), used),
                            seed, soundfont, workers, progress, "rendering paper layouts")
    if families:
        used += [song["corpus_id"] for song in paper["songs"]]
        families_key = corpus_key(seed, min_duration, max_duration, soundfont, [key, paper_key, FAMILY_COLLECTIONS],
                                  FAMILY_FOLDERS)
        first = len(manifest["songs"]) + len(paper["songs"])
        render_manifest(out, FAMILIES_MANIFEST, families_key,
                        lambda: plan(seed, min_duration, max_duration, FAMILY_COLLECTIONS, first, used),
                        seed, soundfont, workers, progress, "rendering shifted families")
    return manifest


def render_manifest(out: str, name: str, key: str, planned, seed: int, soundfont: str, workers: Optional[int],
                    progress: bool, description: str) -> dict:
    """Renders the songs ``planned()`` gives into ``out`` and writes their manifest ``name``, unless a manifest
    with ``key`` lists files that are all there (an older rendering's files are removed first)."""
    manifest_path = os.path.join(out, name)
    if os.path.isfile(manifest_path):
        with open(manifest_path) as handle:
            manifest = json.load(handle)
        if manifest.get("key") == key and all(os.path.isfile(os.path.join(out, f))
                                               for s in manifest["songs"] for f in s["files"].values()):
            return manifest
        remove_rendering(out, manifest)
    songs = planned()
    workers = workers or min(len(songs), os.cpu_count() or 1)
    entries = []
    context = multiprocessing.get_context("spawn")
    try:
        os.makedirs(out, exist_ok=True)
        with context.Pool(workers) as pool:
            jobs = pool.imap(_render_job, [(song, out, soundfont) for song in songs])
            for entry in tqdm(jobs, total=len(songs), desc=description, unit="song", disable=not progress):
                entries.append(entry)
    except OSError as error:  # a full disk, a read-only folder, a link inside ``out`` to a folder that is gone
        raise DatasetError(f"cannot render the demo corpus into {out}: {error.filename or out}: "
                           f"{error.strerror or error}; free the space, or remove the link or folder on that path "
                           f"(the corpus is then rendered there), or point {out} at a rendered corpus") from None
    manifest = {"key": key, "version": CORPUS_VERSION, "seed": seed, "sample_rate": SAMPLE_RATE,
                "soundfont": os.path.basename(soundfont), "songs": entries,
                "licence": "Scores: J. S. Bach chorales, public domain, from the music21 corpus (BSD-3). "
                           "Rendered with fluidsynth (LGPL) and the soundfont named above."}
    write_json_atomically(manifest_path, manifest, indent=1)
    return manifest


def remove_rendering(out: str, manifest: dict) -> None:
    """Removes the files an older rendering's manifest lists (and folders they leave empty), so that a new
    rendering does not mix with songs it no longer has; nothing else in ``out`` is touched."""
    for song in manifest.get("songs", []):
        for relative in song.get("files", {}).values():
            path = os.path.normpath(os.path.join(out, relative))
            if os.path.commonpath([os.path.abspath(out), os.path.abspath(path)]) != os.path.abspath(out):
                continue  # a manifest never names files outside its folder; a damaged one is not obeyed
            if os.path.isfile(path):
                os.remove(path)
            folder = os.path.dirname(path)
            while os.path.abspath(folder) != os.path.abspath(out) and os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
                folder = os.path.dirname(folder)


def render_if_asked(config: Dict, folder: str = "data/demo", progress: bool = True) -> None:
    """Renders the demo corpus into ``folder`` when the ``cfg`` dict asks (``render_demo_corpus``); at once when
    it is there.

    Raises:
        DatasetError: a tool or soundfont is missing (the message names the package), ``folder`` is a link
            to a folder that is gone, or a file cannot be written in it.
    """
    if not config.get("render_demo_corpus"):
        return
    try:
        build(folder, progress=progress)
    except fluidsynth.MissingToolError as error:
        raise DatasetError(str(error)) from None


def _render_job(arguments):
    return render_song(*arguments)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data/demo", help="folder to render into (default: data/demo)")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--workers", type=int, default=None, help="parallel renderers (default: all cores)")
    parser.add_argument("--families", action="store_true",
                        help=f"also the shifted families {', '.join(FAMILY_FOLDERS)} (the generality study)")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.out, seed=args.seed, workers=args.workers, families=args.families)
    except (fluidsynth.MissingToolError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"demo corpus: {len(manifest['songs'])} songs in {args.out}, and "
          f"{sum(count for _, count, _ in PAPER_COLLECTIONS)} in the paper's layouts ({', '.join(PAPER_FOLDERS)})"
          + (f", and {sum(count for _, count, _ in FAMILY_COLLECTIONS)} of the shifted "
             f"families ({', '.join(FAMILY_FOLDERS)})" if args.families else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
