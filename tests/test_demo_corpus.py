"""The built-in demo corpus: real layouts, exact stems, sung pitch, disjoint collections, clear errors."""
import json
import os
import subprocess
import sys

import musdb
import numpy as np
import soundfile

from tests.conftest import ROOT, write_tone


def manifest(demo_root):
    with open(os.path.join(demo_root, "manifest.json")) as handle:
        return json.load(handle)


def test_musdb_layout_loads_through_musdb_and_stems_sum_to_mixture(demo_root):
    for subset, expected in (("train", 8), ("test", 24)):
        database = musdb.DB(root=os.path.join(demo_root, "musdb"), is_wav=True, subsets=[subset])
        assert len(database) == expected
    track = database.tracks[0]
    assert track.rate == 44100 and track.audio.shape[1] == 2
    stems = sum(source.audio for source in track.sources.values())
    assert np.abs(track.audio - stems).max() < 1e-4
    assert 20.0 <= track.duration <= 60.0


def fundamental(segment: np.ndarray, rate: int, lowest: float = 80.0, highest: float = 1000.0) -> float:
    """The fundamental frequency (Hz) of a steady sung note: the lag of its autocorrelation's peak between
    1/highest and 1/lowest seconds, refined between samples by a parabola through the peak and its neighbours."""
    segment = segment - segment.mean()
    spectrum = np.fft.rfft(segment, 2 * len(segment))
    correlation = np.fft.irfft(np.abs(spectrum) ** 2)[: len(segment)]
    shortest, longest = int(rate / highest), int(rate / lowest)
    lag = shortest + int(np.argmax(correlation[shortest:longest]))
    before, peak, after = correlation[lag - 1:lag + 2]
    return rate / (lag + 0.5 * (before - after) / (before - 2 * peak + after))


def test_vocals_have_the_scores_pitch(demo_root):
    database = musdb.DB(root=os.path.join(demo_root, "musdb"), is_wav=True, subsets=["train"])
    track = database.tracks[0]
    entry = next(song for song in manifest(demo_root)["songs"] if song["name"] == track.name)
    notes = entry["melody_first_notes"][:6]
    vocals = track.sources["vocals"].audio.mean(axis=1)
    for start, end, pitch in notes:  # the steady middle of each note (its attack and release left out)
        middle = vocals[int(44100 * (start + 0.3 * (end - start))):int(44100 * (end - 0.2 * (end - start)))]
        estimate = 69 + 12 * np.log2(fundamental(middle, 44100) / 440.0)
        assert abs(estimate - pitch) < 0.6, (start, pitch, estimate)
    assert len(notes) == 6


def test_ccmixter_layout_and_unpaired_collections(demo_root):
    root = os.path.join(demo_root, "ccmixter")
    songs = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    assert len(songs) == 36
    folder = os.path.join(demo_root, "ccmixter", songs[0])
    mix, rate = soundfile.read(os.path.join(folder, "mix.wav"))
    accompaniment, _ = soundfile.read(os.path.join(folder, "source-01.wav"))
    vocals, _ = soundfile.read(os.path.join(folder, "source-02.wav"))
    assert rate == 44100 and np.abs(mix - accompaniment - vocals).max() < 1e-4
    formats = set()
    for collection in ("solo_vocals", "solo_accompaniment", "mixtures", "solo_drums", "solo_bass", "solo_other"):
        for name in os.listdir(os.path.join(demo_root, collection)):
            if not name.startswith("."):
                formats.add(os.path.splitext(name)[1])
    assert {".wav", ".flac", ".mp3"} <= formats
    rates = {soundfile.info(os.path.join(demo_root, "solo_vocals", n)).samplerate
             for n in os.listdir(os.path.join(demo_root, "solo_vocals")) if n.endswith((".wav", ".flac"))}
    assert {44100, 22050} <= rates


def test_paired_songs_and_unpaired_data_come_from_two_families(demo_root):
    """The paper's problem in small: paired songs of one family, at least 4x as many unpaired recordings
    of another, from which the shifted test songs (CCMixter layout) come too."""
    songs = manifest(demo_root)["songs"]
    family = lambda prefixes: {s["family"] for s in songs if s["collection"].startswith(prefixes)}
    assert family(("musdb",)) == {"studio"}
    assert family(("ccmixter", "mixtures", "solo_")) == {"stage"}
    voices = lambda name: {p for s in songs if s["family"] == name for p in s["programs"]["vocals"]}
    assert not voices("studio") & voices("stage")
    paired = sum(s["collection"] == "musdb/train" for s in songs)
    unpaired = sum(s["collection"] in ("mixtures", "solo_vocals", "solo_accompaniment") for s in songs)
    assert unpaired >= 4 * paired
    # The stage family sings an octave lower: the median sung pitch is lower by about 12 semitones.
    median = lambda name: np.median([n[2] for s in songs if s["family"] == name for n in s["melody_first_notes"]])
    assert 8 <= median("studio") - median("stage") <= 16


def test_a_new_rendering_removes_the_songs_of_the_old_one(tmp_path):
    from Input.demo.corpus import remove_rendering
    old = {"songs": [{"files": {"mixture": "musdb/test/Old song/mixture.wav", "vocals": "musdb/test/Old song/vocals.wav"}},
                     {"files": {"x": "../outside.wav"}}]}
    for relative in ("musdb/test/Old song/mixture.wav", "musdb/test/Old song/vocals.wav", "musdb/test/Kept/mixture.wav"):
        os.makedirs(os.path.dirname(tmp_path / "corpus" / relative), exist_ok=True)
        write_tone(tmp_path / "corpus" / relative)
    write_tone(tmp_path / "outside.wav")
    remove_rendering(str(tmp_path / "corpus"), old)
    assert not (tmp_path / "corpus" / "musdb" / "test" / "Old song").exists()
    assert (tmp_path / "corpus" / "musdb" / "test" / "Kept" / "mixture.wav").is_file()
    assert (tmp_path / "outside.wav").is_file()   # a manifest never removes files outside its folder


def test_unpaired_collections_share_no_song_with_paired_sets(demo_root):
    songs = manifest(demo_root)["songs"]
    assert len(songs) >= 40
    paired = {s["corpus_id"] for s in songs if s["collection"].startswith(("musdb", "ccmixter"))}
    unpaired = {s["corpus_id"] for s in songs if not s["collection"].startswith(("musdb", "ccmixter"))}
    assert paired and unpaired and not paired & unpaired
    assert len({s["corpus_id"] for s in songs}) == len(songs)
    assert all("licence" in s and "tempo_bpm" in s and "programs" in s for s in songs)


def test_second_call_returns_at_once_and_size_is_bounded(demo_root):
    result = subprocess.run([sys.executable, "-m", "Input.demo.corpus", "--out", demo_root], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "100 songs" in result.stdout
    listed = [song for name in ("manifest.json", "paper_manifest.json")
              for song in json.loads(open(os.path.join(demo_root, name)).read())["songs"]]  # not --families' songs
    total = sum(os.path.getsize(os.path.join(demo_root, path)) for song in listed for path in song["files"].values())
    assert total < 1400 * 2 ** 20  # about 1.2 GB (corpus 4), 90 MB of it the paper layouts


def test_missing_fluidsynth_is_one_line_naming_the_package(tmp_path):
    environment = dict(os.environ, PATH=str(tmp_path))  # no fluidsynth on this PATH
    result = subprocess.run([sys.executable, "-m", "Input.demo.corpus", "--out", str(tmp_path / "c")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: fluidsynth is not installed: apt-get install fluidsynth "
                                                  "(or run make setup as root)"]


def test_every_file_of_the_corpus_has_sound(demo_root):
    with open(os.path.join(demo_root, "paper_manifest.json")) as handle:
        paper_songs = json.load(handle)["songs"]
    for song in manifest(demo_root)["songs"] + paper_songs:
        for relative in song["files"].values():
            if relative.endswith(".yaml"):
                continue
            assert has_sound(os.path.join(demo_root, relative)), relative


def has_sound(path: str, level: float = 0.01) -> bool:
    """Whether the file's mono mix exceeds ``level`` anywhere (read a second at a time, up to the first such)."""
    from Utils import audio as audio_io
    if path.endswith(".mp3"):
        return np.abs(audio_io.load(path, mono=True, clip=False)).max() > level
    rate = soundfile.info(path).samplerate
    return any(np.abs(block.mean(axis=1)).max() > level
               for block in soundfile.blocks(path, blocksize=rate, dtype="float32", always_2d=True))


def test_shifted_families_are_planned_apart_and_leave_the_main_corpus_as_it_is(demo_root):
    """The families of the generality study (rendered with --families) draw chorales no other song uses, lie in
    folders of their own, and the main and paper manifests' keys do not depend on them (no re-rendering)."""
    from Input.demo import chorales, corpus, fluidsynth
    main, paper = manifest(demo_root), json.loads(open(os.path.join(demo_root, "paper_manifest.json")).read())
    used = [song["corpus_id"] for song in main["songs"] + paper["songs"]]
    songs = corpus.plan(2018, 20.0, 24.0, corpus.FAMILY_COLLECTIONS, len(used), used)
    assert [s["family"] for s in songs].count("timbre") == [s["family"] for s in songs].count("register") == 68
    candidates = [c for s in songs for c in s["candidates"]]
    assert len(candidates) == len(set(candidates)) and not set(candidates) & set(used)
    assert corpus.family_folder("register/solo_vocals") == ("register/", "solo_vocals")
    assert corpus.family_folder("musdb/test") == ("", "musdb/test")
    timbre, register, studio = (chorales.FAMILIES[name] for name in ("timbre", "register", "studio"))
    assert timbre.voice_octave == studio.voice_octave and not set(timbre.voices + timbre.other) & set(studio.voices + studio.other)
    assert register.voice_octave == studio.voice_octave - 1 and register.other == studio.other
    assert main["key"] == corpus.corpus_key(2018, 20.0, 24.0, fluidsynth.find_soundfont())
