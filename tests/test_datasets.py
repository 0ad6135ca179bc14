"""Dataset readers and the paper's partitions, on the demo corpus and on files written here."""
import os
import subprocess

import pytest

from Input.datasets import DatasetError, read_ccmixter, read_collection, read_musdb
from tests.conftest import SOURCES, demo_partitions, write_tone



def test_readers_give_tracks_with_headers(demo_root):
    musdb_tracks = read_musdb(os.path.join(demo_root, "musdb"), SOURCES, is_wav=True, subset="train")
    assert len(musdb_tracks) == 8
    track = musdb_tracks[0]
    assert [os.path.basename(p) for p in track.roles["accompaniment"]] == ["drums.wav", "bass.wav", "other.wav"]
    assert track.sample_rate == 44100 and track.channels == 2 and track.duration > 19
    assert os.path.isfile(os.path.join(demo_root, "musdb", ".audio_index.json"))  # JSON header cache
    four = read_musdb(os.path.join(demo_root, "musdb"), ["vocals", "drums", "bass", "other"], is_wav=True)
    assert set(four[0].roles) == {"mixture", "vocals", "drums", "bass", "other"}
    songs = read_ccmixter(os.path.join(demo_root, "ccmixter"), SOURCES)
    assert len(songs) == 36 and songs[0].roles["vocals"][0].endswith("source-02.wav")
    solo = read_collection(os.path.join(demo_root, "solo_vocals"), "vocals")
    assert len(solo) == 10 and {t.sample_rate for t in solo} == {44100, 22050}


def test_collections_from_lists_and_bad_files_are_skipped(tmp_path):
    write_tone(tmp_path / "a.wav")
    (tmp_path / "sub").mkdir()
    write_tone(tmp_path / "sub" / "b.flac", rate=22050)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really")
    (tmp_path / "empty.mp3").write_bytes(b"")
    skipped = []
    tracks = read_collection(str(tmp_path), "vocals", skipped=skipped)
    assert sorted(t.name for t in tracks) == ["a.wav", os.path.join("sub", "b.flac")]
    assert len(skipped) == 2 and any("broken.wav" in s for s in skipped)
    (tmp_path / "list.txt").write_text("a.wav\n# comment\nsub/b.flac\n")
    (tmp_path / "list.csv").write_text("path,singer\na.wav,ann\n")
    assert len(read_collection(str(tmp_path / "list.txt"), "vocals")) == 2
    assert len(read_collection(str(tmp_path / "list.csv"), "vocals")) == 1


def test_musdb_stem_files_are_read(tmp_path):
    folder = tmp_path / "musdb" / "train"
    folder.mkdir(parents=True)
    parts = []
    for index, frequency in enumerate((440, 110, 55, 330, 660)):  # mixture, drums, bass, other, vocals
        write_tone(tmp_path / f"{index}.wav", seconds=3, rate=44100, channels=2, frequency=frequency)
        parts += ["-i", str(tmp_path / f"{index}.wav")]
    maps = [word for index in range(5) for word in ("-map", str(index))]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *parts, *maps, "-c:a", "aac",
                    str(folder / "Artist - Song.stem.mp4")], check=True)
    tracks = read_musdb(str(tmp_path / "musdb"), SOURCES, is_wav=False, subset="train")
    assert tracks[0].roles["vocals"] == [str(folder / "Artist - Song.stem.mp4") + "#4"]
    assert len(tracks[0].roles["accompaniment"]) == 3 and abs(tracks[0].duration - 3) < 0.1


def test_missing_dataset_folder_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="cfg.datasets.musdb.root"):
        read_musdb(str(tmp_path / "nowhere"), SOURCES)
    with pytest.raises(DatasetError, match="does not exist"):
        read_ccmixter(str(tmp_path / "nowhere"), SOURCES)


def test_partitions_follow_the_paper_and_are_repeatable(demo_root):
    partitions = demo_partitions(demo_root)
    assert len(partitions.train_sup) == 8 and {t.dataset for t in partitions.train_sup} == {"musdb"}
    assert len(partitions.valid) == 12 + 12 and len(partitions.test) == 12 + 12  # musdb test halves, ccmixter thirds
    assert {stream: len(v) for stream, v in partitions.train_unsup.items()} == {"mixture": 12 + 12,
                                                                                "accompaniment": 12 + 10, "vocals": 12 + 10}
    assert all(set(t.roles) == {stream} for stream, tracks in partitions.train_unsup.items() for t in tracks)
    names = lambda part: sorted(t.name for t in part)
    again = demo_partitions(demo_root)
    assert names(again.valid) == names(partitions.valid) and names(again.test) == names(partitions.test)
    held_out = {t.name for t in partitions.valid + partitions.test}
    unpaired = {t.name.split(" [")[0] for tracks in partitions.train_unsup.values() for t in tracks}
    assert not held_out & unpaired and not held_out & {t.name for t in partitions.train_sup}
    table = partitions.table()
    assert "train_unsup/vocals" in table and "hours" in table


def test_each_partition_seed_draws_its_own_paired_and_held_out_songs(demo_root):
    from Input.datasets.partition import build_partitions
    datasets = {"musdb": {"type": "musdb", "root": os.path.join(demo_root, "musdb"), "is_wav": True},
                "ccmixter": {"type": "ccmixter", "root": os.path.join(demo_root, "ccmixter")}}
    names = lambda tracks: sorted(t.name for t in tracks)
    one, two = (build_partitions(datasets, "musdb", [], SOURCES, seed, train_sup_songs=2) for seed in (1, 2))
    for partitions in (one, two):
        assert len(partitions.train_sup) == 2
        assert {d: sum(t.dataset == d for t in partitions.test) for d in datasets} == {"musdb": 12, "ccmixter": 12}
    assert names(one.train_sup) != names(two.train_sup) and names(one.test) != names(two.test)


def test_a_dataset_can_keep_its_unpaired_third_out_of_training(demo_root):
    from Input.datasets.partition import build_partitions
    datasets = {"musdb": {"type": "musdb", "root": os.path.join(demo_root, "musdb"), "is_wav": True},
                "ccmixter": {"type": "ccmixter", "root": os.path.join(demo_root, "ccmixter"), "unpaired": False}}
    without = build_partitions(datasets, "musdb", [], SOURCES)
    assert {stream: len(tracks) for stream, tracks in without.train_unsup.items()} == dict.fromkeys(
        ["mixture", *SOURCES], 0)
    with_third = demo_partitions(demo_root)  # the same held-out songs either way
    assert [t.name for t in without.valid] == [t.name for t in with_third.valid]
    assert [t.name for t in without.test] == [t.name for t in with_third.test]
    datasets["ccmixter"]["unpaired"] = 0.25  # a share of the third: its first songs, the held-out ones unchanged
    quarter = build_partitions(datasets, "musdb", [], SOURCES)
    third = [t.name for t in with_third.train_unsup["vocals"] if t.dataset == "ccmixter"]
    assert [t.name for t in quarter.train_unsup["vocals"]] == third[:3] and len(third) == 12
    assert [t.name for t in quarter.test] == [t.name for t in with_third.test]


def test_a_paired_song_whose_files_differ_in_length_is_an_error_naming_both(tmp_path):
    song = tmp_path / "ccm" / "Song"
    song.mkdir(parents=True)
    write_tone(song / "mix.wav", seconds=22.0, rate=8000)
    write_tone(song / "source-01.wav", seconds=22.0, rate=8000)
    write_tone(song / "source-02.wav", seconds=0.6, rate=8000)
    with pytest.raises(DatasetError) as error:
        read_ccmixter(str(tmp_path / "ccm"), SOURCES)
    assert "source-02.wav lasts 0.6 s" in str(error.value) and "22.0 s" in str(error.value)
    write_tone(song / "source-02.wav", seconds=21.5, rate=8000)   # within the tolerance: read
    assert len(read_ccmixter(str(tmp_path / "ccm"), SOURCES, index_cache=False)) == 1


def test_an_empty_collection_folder_is_a_warning_naming_it(tmp_path, caplog):
    (tmp_path / "acapellas").mkdir()
    with caplog.at_level("WARNING"):
        assert read_collection(str(tmp_path / "acapellas"), "vocals") == []
    assert f"unpaired collection {tmp_path / 'acapellas'} (vocals) holds no readable audio" in caplog.text
