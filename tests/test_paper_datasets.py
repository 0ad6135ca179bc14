"""The paper's datasets (DSD100, MedleyDB, CCMixter, iKala) read from the demo corpus's copies of their layouts,
the authors' lists (their partition, their MedleyDB stems), and what a damaged copy gives."""
import csv
import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import soundfile
import soxr

from Input.datasets import DatasetError, read_dsd100, read_ikala, read_medleydb
from Input.datasets.partition import build_partitions
from Input.datasets.track import read_role
from Runs.folders import newest_run_folder
from tests.conftest import SOURCES, run_script, stop_message, trained_once, write_tone

PAPER_ON_DEMO = ["cfg.semi_sup", "cfg.demo", "cfg.paper", "cfg.resampled_cache=data/paper_8k", "cfg.eval_workers=2",
                 *[f"cfg.datasets.{name}.root=data/demo/{name}" for name in ("dsd100", "medleydb", "ikala")],
                 "cfg.datasets.ccmixter.root=data/demo/paper_ccmixter"]


def paper_datasets(demo_root, medleydb_vocals="singers"):
    datasets = {name: {"type": name, "root": os.path.join(demo_root, name)} for name in ("dsd100", "medleydb", "ikala")}
    datasets["medleydb"]["vocals"] = medleydb_vocals
    return datasets | {"ccmixter": {"type": "ccmixter", "root": os.path.join(demo_root, "paper_ccmixter")}}


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
    tracks = {track.name: track for track in read_medleydb(root, SOURCES)}
    assert len(tracks) == 5
    sung, instrumental = tracks["MusicDelta_Hendrix"], tracks["MusicDelta_FreeJazz"]
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


def test_medleydb_authors_vocals_are_the_listed_stem_at_triple_gain_clipped_and_unlisted_stems_are_left_out(demo_root):
    root = os.path.join(demo_root, "medleydb")
    singers = {t.name: t for t in read_medleydb(root, SOURCES)}["MusicDelta_Punk"]
    authors = {t.name: t for t in read_medleydb(root, SOURCES, vocals="authors")}["MusicDelta_Punk"]
    stems = os.path.join(root, "Audio", "MusicDelta_Punk", "MusicDelta_Punk_STEMS")
    stem = lambda n: read_role(dataclasses.replace(singers, roles={"x": [os.path.join(stems, f"MusicDelta_Punk_STEM_{n}.wav")]}),
                               "x", clip=False)
    lead, backing, accompaniment = stem("04"), stem("05"), stem("01") + stem("02") + stem("03")
    assert np.abs(backing).max() > 0.01  # the backing vocal the authors' list does not name
    assert np.allclose(read_role(singers, "vocals", clip=False), lead + backing, atol=1e-6)
    vocals = read_role(authors, "vocals", clip=False)
    assert np.allclose(vocals, np.clip(3 * lead, -1, 1), atol=1e-6) and np.abs(vocals).max() > 1.5 * np.abs(lead).max()
    assert np.allclose(read_role(authors, "accompaniment", clip=False), np.clip(accompaniment, -1, 1), atol=1e-6)
    expected = np.clip(np.clip(3 * lead, -1, 1) + np.clip(accompaniment, -1, 1), -1, 1)  # the backing vocal in no role
    assert np.allclose(read_role(authors, "mixture", clip=False), expected, atol=1e-6)
    instrumental = {t.name: t for t in read_medleydb(root, SOURCES, vocals="authors")}["MusicDelta_FreeJazz"]
    assert instrumental.roles["vocals"] == [] and np.abs(read_role(instrumental, "mixture", clip=False)).max() > 0.01


def test_medleydb_authors_vocals_keep_the_singers_stems_for_a_song_the_list_does_not_name(demo_root, tmp_path,
                                                                                         monkeypatch):
    from Input.datasets import medleydb
    warnings = []
    monkeypatch.setattr(medleydb.log, "warning", lambda message, *args: warnings.append(message % args))
    audio = tmp_path / "medleydb" / "Audio"
    shutil.copytree(os.path.join(demo_root, "medleydb", "Audio", "MusicDelta_Punk"), audio / "Someone_Unlisted")
    os.rename(audio / "Someone_Unlisted" / "MusicDelta_Punk_METADATA.yaml", audio / "Someone_Unlisted" /
              "Someone_Unlisted_METADATA.yaml")
    [track] = read_medleydb(str(tmp_path / "medleydb"), SOURCES, vocals="authors")
    assert [os.path.basename(p) for p in track.roles["vocals"]] == ["MusicDelta_Punk_STEM_04.wav",
                                                                     "MusicDelta_Punk_STEM_05.wav"]
    assert warnings == ["medleydb: 1 songs are not in the authors' list, so their vocals are every singing stem "
                        "(cfg.datasets.medleydb.vocals='authors' covers listed songs): Someone_Unlisted"]


def test_ikala_channels_are_accompaniment_and_voice(demo_root):
    tracks = read_ikala(os.path.join(demo_root, "ikala"), SOURCES)
    assert len(tracks) == 3 and tracks[0].channels == 1
    stereo = soundfile.read(os.path.join(demo_root, "ikala", "Wavfile", tracks[0].name + ".wav"), dtype="float32")[0]
    roles = {role: read_role(tracks[0], role, mono=False, clip=False) for role in ["mixture", *SOURCES]}
    assert all(audio.shape == (len(stereo), 1) for audio in roles.values())
    assert np.array_equal(roles["accompaniment"][:, 0], stereo[:, 0]) and np.array_equal(roles["vocals"][:, 0], stereo[:, 1])
    assert np.abs(roles["mixture"][:, 0] - stereo.sum(axis=1)).max() < 1e-6


def test_paper_partition_follows_the_authors_lists_and_leaves_unlisted_songs_out(demo_root, tmp_path, monkeypatch):
    from Input.datasets import authors_lists
    warnings = []
    monkeypatch.setattr(authors_lists.log, "warning", lambda message, *args: warnings.append(message % args))
    datasets = paper_datasets(demo_root)
    ccmixter = tmp_path / "ccmixter"  # the demo's CCMixter songs and one the authors' list does not name
    shutil.copytree(datasets["ccmixter"]["root"], ccmixter, ignore=shutil.ignore_patterns(".audio_index.json"))
    shutil.copytree(ccmixter / "casimps1_-_Could_Be", ccmixter / "Someone_-_Unlisted")
    datasets["ccmixter"]["root"] = str(ccmixter)
    partitions = build_partitions(datasets, "dsd100", [], SOURCES, order="authors")
    held_out = lambda part, name: [t.name for t in getattr(partitions, part) if t.dataset == name]
    unpaired = lambda name: [t.name for t in partitions.train_unsup["accompaniment"] if t.dataset == name]
    # DSD100.xml lists its Test songs 001-012, 040-050, 031-038, 022-029, 013-021, 030, 039: the first half validates.
    assert held_out("valid", "dsd100") == ["001 - ANiMAL - Clinic A", "040 - The Long Wait - Back Home To Blue"]
    assert held_out("test", "dsd100") == ["032 - Raft Monk - Tiring", "013 - Drumtracks - Ghost Bitch"]
    # MedleyDB.xml: FreeJazz (instrumental: real unpaired accompaniment), Hendrix, Punk, 80sRock, CaptainSky.
    assert unpaired("medleydb") == ["MusicDelta_FreeJazz [accompaniment]"]
    assert held_out("valid", "medleydb") == ["MusicDelta_Hendrix"]
    assert held_out("test", "medleydb") == ["MusicDelta_Punk", "MusicDelta_80sRock", "TablaBreakbeatScience_CaptainSky"]
    assert unpaired("ccmixter") == ["AlexBeroza_-_To_Be_Sensitive_(with_mindmapthat) [accompaniment]",
                                    "casimps1_-_Could_Be [accompaniment]"]
    assert held_out("test", "ccmixter") == ["VonKorf_-_Marktversagen", "Nikmusik_-_Little_White_Lies"]
    assert partitions.unlisted == ["ccmixter/Someone_-_Unlisted"]
    assert "left out 1 songs the authors' lists do not name" in partitions.table()
    assert any("ccmixter: 44 of the 50 songs in the authors' list are not on disk" in w for w in warnings), warnings
    assert [t.name for t in partitions.train_sup] == [t.name for t in read_dsd100(os.path.join(demo_root, "dsd100"),
                                                                                    SOURCES, "train")]
    # File order cuts the same songs otherwise: the alphabetical first half of DSD100's Test songs validates.
    by_file = build_partitions(paper_datasets(demo_root), "dsd100", [], SOURCES, order="file")
    assert [t.name for t in by_file.valid if t.dataset == "dsd100"] == ["001 - ANiMAL - Clinic A",
                                                                       "013 - Drumtracks - Ghost Bitch"]
    assert by_file.unlisted == [] and {t.dataset for t in by_file.train_unsup["vocals"]} == {"ccmixter", "medleydb", "ikala"}


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


def test_paper_config_without_the_datasets_is_one_line_naming_the_key(tmp_path, monkeypatch):
    message = stop_message("Training.py", ["with", "cfg.semi_sup", "cfg.paper"], tmp_path, monkeypatch)
    assert message == (f"error: DSD100 folder {os.path.join('data', 'DSD100', 'Mixtures', 'Dev')} does not exist: set "
                       f"cfg.datasets.dsd100.root to the folder holding Mixtures/ and Sources/")


@pytest.fixture(scope="session")
def paper_run(tmp_path_factory, demo_root, resampled_cache):
    """A few steps of the paper's semi-supervised run on the demo corpus's copies of its datasets."""
    return trained_once(tmp_path_factory, "paper_run", [
        *PAPER_ON_DEMO, "cfg.epoch_it=4", "cfg.max_epochs=1", "cfg.batch_size=4", "cfg.n_critic=1", "cfg.cache_size=4",
        "cfg.min_replacement_rate=2", "cfg.excerpt_duration=2.0", "evaluate=False", "progress=False", "seed=3"],
        demo_root, resampled_cache)


def test_paper_run_prints_the_authors_partition(paper_run):
    _, folder, result = paper_run
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith(("train_", "valid", "test"))}
    assert rows["train_sup"][:1] == ["2"] and rows["train_sup"][-1] == "dsd100"
    assert rows["valid"][0] == "6" and rows["test"][0] == "8"  # dsd100 2 + 2; thirds of 6, 5 and 3 songs
    assert rows["train_unsup/vocals"][-3:] == ["ccmixter,", "ikala,", "medleydb"]
    info = json.loads((folder / "info.json").read_text())
    assert {row["partition"]: row["songs"] for row in info["partitions"]}["train_unsup/mixture"] == 4
    assert info["unlisted_songs"] == []
    # cfg.stream_source=auto: the demo's copies fit in memory many times over, so the streams read from there
    assert "training streams read from memory" in result.stdout and info["stream_source"] == "memory"


def test_paper_protocol_scores_the_mono_8k_estimates_with_mir_eval(paper_run, demo_root):
    from mir_eval.separation import bss_eval_sources

    from Models.separator import Separator
    workdir, folder, _ = paper_run
    result = run_script(["Evaluate.py", "with", *PAPER_ON_DEMO, f"run={folder}", "progress=False"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    for dataset in ("dsd100", "medleydb", "ccmixter", "ikala"):
        assert any(line.split()[:2] == ["separator", dataset] for line in result.stdout.splitlines()), dataset
    evaluation = os.path.join(newest_run_folder(str(workdir / "runs")), "evaluation")
    rows = {row["track"]: row for row in json.loads(open(os.path.join(evaluation, "scores.json")).read())["tracks"]}
    assert len(rows) == 8 and {row["protocol"] for row in rows.values()} == {"paper"}
    assert not os.path.exists(os.path.join(evaluation, "separator"))  # no museval files: not that protocol

    # One DSD100 test song, separated and scored here: its mono downmix at 8192 Hz through the network's own
    # band-limited estimates, and mir_eval's BSS Eval v3 on the whole song.
    song = sorted(name for name, row in rows.items() if row["dataset"] == "dsd100")[0]
    def mono_8k(path):
        audio, rate = soundfile.read(path, dtype="float32")
        return soxr.resample(audio.mean(axis=1), rate, 8192, quality="HQ")
    mixture = mono_8k(os.path.join(demo_root, "dsd100", "Mixtures", "Test", song, "mixture.wav"))
    vocals = mono_8k(os.path.join(demo_root, "dsd100", "Sources", "Test", song, "vocals.wav"))
    separator = Separator.from_checkpoint(str(folder / "best_separator.keras"), band_extension="none")
    estimates = separator.separate(mixture, 8192)
    with pytest.warns(FutureWarning):  # mir_eval 0.8 marks BSS Eval v3 deprecated
        sdr, sir, sar, _ = bss_eval_sources(np.stack([mixture - vocals, vocals]),
                                            np.stack([estimates["accompaniment"], estimates["vocals"]]),
                                            compute_permutation=False)
    for index, source in enumerate(SOURCES):
        scored = rows[song]["methods"]["separator"][source]
        assert np.allclose([scored["SDR"], scored["SIR"], scored["SAR"]], [sdr[index], sir[index], sar[index]],
                           atol=1e-3), source

    # The instrumental MedleyDB test song: silent vocals scored against tiny noise, as the authors did; its
    # mixture row left out, as theirs was.
    instrumental = rows["TablaBreakbeatScience_CaptainSky"]
    assert np.isfinite(instrumental["methods"]["separator"]["vocals"]["SDR"])
    assert np.isnan(instrumental["methods"]["mixture"]["vocals"]["SDR"])
    # ... and summarised in a row of its own, so that the separator and mixture rows average the same songs.
    summary = json.loads(open(os.path.join(evaluation, "summary.json")).read())
    assert summary["separator/medleydb (silent ref)/vocals"]["tracks"] == 1
    assert summary["separator/medleydb/vocals"]["tracks"] == summary["mixture/medleydb/vocals"]["tracks"] == 2
    assert summary["separator/all/vocals"]["tracks"] == 7
    with open(os.path.join(evaluation, "scores.csv")) as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 8 * 2 * 2 and {line["summary_row"] for line in lines if line["track"] ==
                                         "TablaBreakbeatScience_CaptainSky"} == {"medleydb (silent ref)"}
