"""The paper's datasets (DSD100, MedleyDB, iKala) read from the demo corpus's copies of their layouts, the
authors' partition, and what a damaged copy gives."""
import os
import shutil

import numpy as np
import pytest
import soundfile

from Input.datasets import DatasetError, read_dsd100, read_ikala, read_medleydb
from Input.partition import build_partitions
from Input.track import read_role
from tests.conftest import SOURCES, run_script, write_tone


def paper_datasets(demo_root):
    return {name: {"type": name, "root": os.path.join(demo_root, name)} for name in ("dsd100", "medleydb", "ikala")} | {
        "ccmixter": {"type": "ccmixter", "root": os.path.join(demo_root, "ccmixter")}}


def test_dsd100_accompaniment_is_mixture_minus_vocals(demo_root):
    root = os.path.join(demo_root, "dsd100")
    train, test = read_dsd100(root, SOURCES, "train"), read_dsd100(root, SOURCES + ["bass"], "test")
    assert len(train) == 2 and len(test) == 4 and [t.name for t in test] == sorted(t.name for t in test)
    track = test[0]
    assert track.channels == 2 and track.sample_rate == 44100
    accompaniment = read_role(track, "accompaniment", mono=False, clip=False)
    stems = sum(soundfile.read(os.path.join(root, "Sources", "Test", track.name, f"{stem}.wav"), dtype="float32")[0]
                for stem in ("bass", "drums", "other"))
    assert np.abs(accompaniment - stems).max() < 1e-4 and np.abs(stems).max() > 0.05


def test_medleydb_sums_stems_by_instrument_and_instrumental_songs_have_silent_vocals(demo_root):
    root = os.path.join(demo_root, "medleydb")
    tracks = read_medleydb(root, SOURCES)
    assert len(tracks) == 5
    sung, instrumental = tracks[1], tracks[0]
    stems = os.path.join(root, "Audio", sung.name, f"{sung.name}_STEMS")
    assert len(sung.roles["vocals"]) == 1 and len(sung.roles["accompaniment"]) == 3
    vocals_file = soundfile.read(sung.roles["vocals"][0], dtype="float32")[0]
    assert os.path.dirname(sung.roles["vocals"][0]) == stems and np.abs(vocals_file).max() > 0.05
    mixture = read_role(sung, "mixture", mono=False, clip=False)
    parts = sum(read_role(sung, source, mono=False, clip=False) for source in SOURCES)
    assert np.abs(mixture - parts).max() < 1e-6  # the stems' sum ...
    mix_file = soundfile.read(os.path.join(root, "Audio", sung.name, f"{sung.name}_MIX.wav"), dtype="float32")[0]
    assert np.abs(mixture - mix_file).max() > 0.01  # ... not the _MIX file, which is mixed at another level
    assert instrumental.roles["vocals"] == []
    silence = read_role(instrumental, "vocals", 8192)
    assert silence.shape == read_role(instrumental, "mixture", 8192).shape and not silence.any()


def test_ikala_channels_are_accompaniment_and_voice(demo_root):
    tracks = read_ikala(os.path.join(demo_root, "ikala"), SOURCES)
    assert len(tracks) == 3 and tracks[0].channels == 1
    stereo = soundfile.read(os.path.join(demo_root, "ikala", "Wavfile", tracks[0].name + ".wav"), dtype="float32")[0]
    roles = {role: read_role(tracks[0], role, mono=False, clip=False) for role in ["mixture", *SOURCES]}
    assert all(audio.shape == (len(stereo), 1) for audio in roles.values())
    assert np.array_equal(roles["accompaniment"][:, 0], stereo[:, 0]) and np.array_equal(roles["vocals"][:, 0], stereo[:, 1])
    assert np.abs(roles["mixture"][:, 0] - stereo.sum(axis=1)).max() < 1e-6


def test_authors_partition_is_in_file_order(demo_root):
    partitions = build_partitions(paper_datasets(demo_root), "dsd100", [], SOURCES, order="file")
    dsd_test = [t.name for t in read_dsd100(os.path.join(demo_root, "dsd100"), SOURCES, "test")]
    held_out = lambda part, name: [t.name for t in getattr(partitions, part) if t.dataset == name]
    assert held_out("valid", "dsd100") == dsd_test[:2] and held_out("test", "dsd100") == dsd_test[2:]
    medley = [t.name for t in read_medleydb(os.path.join(demo_root, "medleydb"), SOURCES)]
    assert held_out("valid", "medleydb") == medley[1:2] and held_out("test", "medleydb") == medley[2:]
    unpaired = [t.name for t in partitions.train_unsup["accompaniment"] if t.dataset == "medleydb"]
    assert unpaired == [f"{medley[0]} [accompaniment]"]  # the instrumental song, as real unpaired accompaniment
    assert {t.dataset for t in partitions.train_unsup["vocals"]} == {"ccmixter", "medleydb", "ikala"}
    assert [t.name for t in partitions.train_sup] == [t.name for t in read_dsd100(os.path.join(demo_root, "dsd100"),
                                                                                    SOURCES, "train")]
    table = partitions.table()
    assert "train_unsup/vocals" in table and "hours" in table and "dsd100" in table


def test_damaged_copies_are_skipped_with_a_reason(tmp_path, demo_root):
    ikala = tmp_path / "ikala" / "Wavfile"
    ikala.mkdir(parents=True)
    write_tone(ikala / "10001_verse.wav", channels=2)
    write_tone(ikala / "10002_mono.wav", channels=1)
    skipped = []
    tracks = read_ikala(str(tmp_path / "ikala"), SOURCES, skipped=skipped)
    assert [t.name for t in tracks] == ["10001_verse"]
    assert len(skipped) == 1 and "10002_mono.wav: has 1 channel(s), no channel 1" in skipped[0]

    medley = tmp_path / "medleydb"
    shutil.copytree(os.path.join(demo_root, "medleydb"), medley, ignore=shutil.ignore_patterns(".audio_index.json"))
    songs = sorted(os.listdir(medley / "Audio"))
    (medley / "Audio" / songs[0] / f"{songs[0]}_METADATA.yaml").write_text("stems: [unclosed\n")
    os.remove(next((medley / "Audio" / songs[1] / f"{songs[1]}_STEMS").iterdir()))
    skipped = []
    tracks = read_medleydb(str(medley), SOURCES, skipped=skipped)
    assert [t.name for t in tracks] == songs[2:] and len(skipped) == 2
    assert "not MedleyDB metadata" in skipped[0] and "no such file" in skipped[1]

    for reader, key in ((read_dsd100, "dsd100"), (read_medleydb, "medleydb"), (read_ikala, "ikala")):
        with pytest.raises(DatasetError, match=f"set cfg.datasets.{key}.root"):
            reader(str(tmp_path / "nowhere"), SOURCES)


def test_paper_config_without_the_datasets_is_one_line_naming_the_key(tmp_path):
    result = run_script(["Training.py", "with", "cfg.semi_sup", "cfg.paper"], cwd=tmp_path, timeout=300)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: DSD100 folder {os.path.join('data', 'DSD100', 'Mixtures', 'Dev')} does not exist: set "
                      f"cfg.datasets.dsd100.root to the folder holding Mixtures/ and Sources/"]
