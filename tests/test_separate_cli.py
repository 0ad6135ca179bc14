"""Separate.py as a user meets it on a batch of files: one line per bad file, nothing half-written, a quiet
happy path, and a full disk that stops the batch."""
import os

import numpy as np
import pytest
import soundfile

from tests.conftest import run_script, small_disk, write_tone


def separate(arguments, trained_run, cwd):
    """Separate.py as a process (what only a process shows: nothing from native libraries on stderr)."""
    _, folder, _ = trained_run
    return run_script(["Separate.py", *arguments, "--checkpoint", str(folder), "--no-progress"], cwd=cwd)


@pytest.fixture
def separate_trained(separate_here, trained_run):
    """``separate_here`` with the session's trained run as the checkpoint, quietly."""
    _, folder, _ = trained_run
    return lambda arguments, cwd: separate_here([*arguments, "--checkpoint", folder, "--no-progress"], cwd)


def leftovers(folder):
    """Partial files anywhere below ``folder``."""
    return [name for _, _, names in os.walk(folder) for name in names if name.startswith(".partial-")]


def test_each_bad_file_of_a_batch_is_one_line_and_the_batch_goes_on(separate_trained, tmp_path):
    write_tone(tmp_path / "good.wav", seconds=2.0, channels=2)
    (tmp_path / "a folder").mkdir()
    soundfile.write(tmp_path / "ten.wav", np.zeros((44100, 10), np.float32), 44100, subtype="FLOAT")
    result = separate_trained(["good.wav", "a folder", "ten.wav", "-o", "out", "--format", "flac"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.splitlines()[-1].startswith("separated 1 of 3 files into out; 2 failed")
    lines = result.stderr.splitlines()
    assert lines == ["skipping a folder: a folder, not an audio file",
                     "could not write the sources of ten.wav: out/ten/accompaniment.flac: flac holds at most 8 "
                     "channels, and this audio has 10 channels at 44100 Hz; wav holds it as it is"], lines
    assert sorted(os.listdir(tmp_path / "out")) == ["good"] and not leftovers(tmp_path / "out")


def test_mp3_refuses_what_it_cannot_hold_instead_of_converting_it(separate_trained, tmp_path):
    soundfile.write(tmp_path / "surround.wav", np.zeros((96000, 6), np.float32), 96000, subtype="FLOAT")
    result = separate_trained(["surround.wav", "-o", "out", "--format", "mp3"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "mp3 holds at most 2 channels" in result.stderr and "6 channels at 96000 Hz" in result.stderr
    assert os.listdir(tmp_path / "out") == []


def test_a_full_disk_stops_the_batch_with_one_line_and_leaves_nothing(separate_trained, tmp_path):
    disk = small_disk(tmp_path / "disk", "1500k")
    for name in ("one", "two", "three"):
        write_tone(tmp_path / f"{name}.wav", seconds=3.0, channels=2)  # 2 MB of float sources each
    result = separate_trained(["one.wav", "two.wav", "three.wav", "-o", disk], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line]
    assert len(errors) == 1 and "is full" in errors[0] and "stopped after 0 of 3 files" in errors[0], errors
    assert os.listdir(disk) == []


def test_a_good_file_gives_one_line_and_nothing_on_stderr(trained_run, tmp_path):
    write_tone(tmp_path / "song.wav", seconds=2.0, channels=2)
    result = separate(["song.wav", "-o", "out"], trained_run, tmp_path)
    assert result.returncode == 0
    assert result.stderr == "" and len(result.stdout.splitlines()) == 1, (result.stdout, result.stderr)
    assert sorted(os.listdir(tmp_path / "out" / "song")) == ["accompaniment.wav", "vocals.wav"]


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_chunk_length_that_is_no_length_is_refused(value, capsys):
    import Separate
    with pytest.raises(SystemExit) as stop:
        Separate.parse_arguments(["song.wav", "--chunk-seconds", value])
    assert stop.value.code == 2 and f"--chunk-seconds {float(value)} is invalid" in capsys.readouterr().err


def test_the_mid_channel_without_full_band_is_refused(capsys):
    import Separate
    with pytest.raises(SystemExit) as stop:
        Separate.parse_arguments(["song.wav", "--network-channels", "mid", "--band-extension", "none"])
    assert stop.value.code == 2 and "--network-channels mid" in capsys.readouterr().err
    assert Separate.parse_arguments(["song.wav", "--network-channels", "mid"]).network_channels == "mid"


def test_a_terminal_gets_progress_bars_and_a_bad_file_is_still_one_line(separate_here, trained_run, tmp_path,
                                                                         monkeypatch):
    import sys
    _, folder, _ = trained_run
    write_tone(tmp_path / "song.wav", seconds=3.0)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # as on a terminal: the bars go to stdout
    result = separate_here([tmp_path / "song.wav", tmp_path / "bad.wav", "-o", tmp_path / "out", "--checkpoint", folder],
                           tmp_path)
    assert result.returncode == 1
    assert "separating" in result.stdout and "/3 s" in result.stdout  # the files' bar and the song's seconds
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith(f"skipping {tmp_path / 'bad.wav'}")
    assert sorted(os.listdir(tmp_path / "out" / "song")) == ["accompaniment.wav", "vocals.wav"]
