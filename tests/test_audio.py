"""The audio adapter on real files: formats, excerpts, resampling, and broken input."""
import os
import shutil

import numpy as np
import pytest
import soundfile

from Utils import audio as audio_io
from Utils import audio_writer
from tests.conftest import small_disk, write_tone


@pytest.mark.parametrize("name, rate, channels", [("a.wav", 44100, 2), ("b.flac", 22050, 1), ("c.wav", 96000, 2),
                                                  ("d.wav", 11025, 1), ("e.ogg", 32000, 2), ("f.wav", 48000, 6)])
def test_excerpt_is_resampled_downmixed_and_padded(tmp_path, name, rate, channels):
    path = tmp_path / name
    write_tone(path, seconds=2.0, rate=rate, channels=channels, frequency=440)
    header = audio_io.info(str(path))
    assert (header.sample_rate, header.channels) == (rate, channels)
    excerpt = audio_io.load(str(path), 8192, mono=True, offset=-0.5, duration=1.0)
    assert excerpt.shape == (8192, 1) and excerpt.dtype == np.float32
    assert np.abs(excerpt[:4000]).max() < 1e-3          # zeros before the file starts
    spectrum = np.abs(np.fft.rfft(excerpt[4200:, 0]))
    peak = np.argmax(spectrum) * 8192 / (2 * (len(spectrum) - 1))
    assert abs(peak - 440) < 5                           # the tone survives resampling
    stored, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    assert np.array_equal(audio_io.load(str(path), mono=True), stored.mean(axis=1, keepdims=True))  # to the bit


def test_mp3_is_read_through_ffmpeg(tmp_path):
    tone = write_tone(tmp_path / "t.wav", seconds=3.0, rate=44100, channels=2)
    audio_writer.save(str(tmp_path / "t.mp3"), tone, 44100)
    header = audio_io.info(str(tmp_path / "t.mp3"))
    assert header.channels == 2 and header.sample_rate == 44100 and abs(header.duration - 3.0) < 0.1
    excerpt = audio_io.load(str(tmp_path / "t.mp3"), offset=1.0, duration=0.5)
    assert excerpt.shape == (22050, 2) and 0.2 < np.abs(excerpt).max() < 0.4


def test_save_roundtrip_keeps_samples(tmp_path):
    """A float wav keeps every sample exactly, levels above full scale too, for libsndfile and for ffmpeg (the
    same bytes under a name that only ffmpeg reads)."""
    audio = (np.random.default_rng(0).standard_normal((1000, 2)) * 0.8).astype(np.float32)
    assert np.abs(audio).max() > 1.5
    audio_writer.save(str(tmp_path / "x.wav"), audio, 16000)
    shutil.copy(tmp_path / "x.wav", tmp_path / "x.mp3")
    for name in ("x.wav", "x.mp3"):
        header = audio_io.info(str(tmp_path / name))
        assert (header.sample_rate, header.channels, header.frames) == (16000, 2, 1000)
        assert np.array_equal(audio_io.load(str(tmp_path / name), clip=False), audio)


@pytest.mark.parametrize("extension", ["wav", "mp3"])
def test_int16_blocks_in_a_float_file_are_scaled_to_full_scale(tmp_path, extension):
    samples = (np.arange(-8, 8) * 4000).astype(np.int16)[:, None].repeat(100, axis=0)
    with audio_writer.AudioWriter(str(tmp_path / f"x.{extension}"), 8000, 1) as writer:
        writer.write(samples)
    back = audio_io.load(str(tmp_path / f"x.{extension}"), clip=False)
    assert 0.5 < np.abs(back).max() < 1.1  # samples up to 32000 of 32768: near full scale, not 32000.0
    if extension == "wav":
        assert np.array_equal(back, samples / np.float32(32768))


@pytest.mark.parametrize("extension", ["wav", "flac", "mp3"])
def test_writing_in_blocks_gives_the_file_written_at_once(tmp_path, extension):
    audio = write_tone(tmp_path / "t.wav", seconds=3.0, rate=44100, channels=2)
    audio_writer.save(str(tmp_path / f"whole.{extension}"), audio, 44100)
    with audio_writer.AudioWriter(str(tmp_path / f"blocks.{extension}"), 44100, 2) as writer:
        for start in range(0, len(audio), 10000):
            block = audio[start:start + 10000]  # every other block a view of channels-first samples, as the separator's
            writer.write(np.ascontiguousarray(block.T).T if start % 20000 else block)
    whole, blocks = (audio_io.load(str(tmp_path / f"{name}.{extension}"), clip=False) for name in ("whole", "blocks"))
    assert blocks.shape == whole.shape and np.abs(blocks - whole).max() < 1e-6
    if extension != "mp3":
        assert np.abs(blocks - audio).max() < 1e-6


@pytest.mark.parametrize("extension", ["wav", "mp3"])
def test_a_failed_write_leaves_no_file(tmp_path, extension):
    with pytest.raises(RuntimeError):
        with audio_writer.AudioWriter(str(tmp_path / f"x.{extension}"), 44100, 1) as writer:
            writer.write(np.zeros(44100, np.float32))
            raise RuntimeError("the separation failed")
    assert os.listdir(tmp_path) == []
    with pytest.raises(OSError, match="unknown.xyz"):
        audio_writer.save(str(tmp_path / "unknown.xyz"), np.zeros(44100, np.float32), 44100)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("content, problem", [(b"", "not readable"), (b"this is not audio" * 100, "not readable"),
                                              (None, "no such file")])
def test_broken_files_raise_one_clear_error(tmp_path, content, problem):
    path = tmp_path / "broken.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(audio_io.AudioReadError) as error:
        audio_io.load(str(path), 8192)
    assert str(path) in str(error.value) and problem in str(error.value)


def test_truncated_wav_reads_what_is_there(tmp_path):
    path = tmp_path / "cut.wav"
    write_tone(path, seconds=2.0, rate=8000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    audio = audio_io.load(str(path), 8000, duration=2.0)
    assert audio.shape == (16000, 1)
    # The first second is there (the 440 Hz tone at 0.3), the cut-off part is zero padding.
    assert abs(np.abs(audio[:7000]).max() - 0.3) < 0.01 and not audio[8200:].any()
    spectrum = np.abs(np.fft.rfft(audio[:7000, 0]))
    assert abs(np.argmax(spectrum) * 8000 / 7000 - 440) < 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_permissions(tmp_path):
    path = tmp_path / "locked.wav"
    write_tone(path)
    os.chmod(path, 0)
    with pytest.raises(audio_io.AudioReadError, match="permission denied"):
        audio_io.info(str(path))


def test_multistream_reference_reads_one_stream(tmp_path):
    import subprocess
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    write_tone(low, frequency=220, rate=44100, channels=2)
    write_tone(high, frequency=880, rate=44100, channels=2)
    stem = tmp_path / "song.stem.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(low), "-i", str(high), "-map", "0", "-map", "1",
                    "-c:a", "aac", str(stem)], check=True)
    for stream, frequency in ((0, 220), (1, 880)):
        audio = audio_io.load(f"{stem}#{stream}", 8192, mono=True, offset=0.5, duration=1.0)[:, 0]
        peak = np.argmax(np.abs(np.fft.rfft(audio))) * 8192 / len(audio)
        assert abs(peak - frequency) < 5


@pytest.mark.parametrize("name", ["-starts with a dash.mp3", "a:b.mp3", "take#1.mp3", "-x.wav", "take#2"])
def test_any_existing_file_name_is_read_and_written_as_that_file(tmp_path, monkeypatch, name):
    """ffmpeg and ffprobe never see a name as an option, a protocol or a stream selector (names relative to
    the working folder, as a user types them)."""
    monkeypatch.chdir(tmp_path)
    tone = write_tone("tone.wav", seconds=1.0, rate=44100)
    written = name if "." in name else name + ".mp3"   # 'take#2' has no extension: written as mp3, renamed
    audio_writer.save(written, tone, 44100)
    os.replace(written, name)
    assert abs(audio_io.info(name).duration - 1.0) < 0.1
    assert abs(np.abs(audio_io.load(name, 44100, mono=True)).max() - 0.3) < 0.05


def test_a_writer_removes_the_partial_files_that_killed_writers_left(tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid names no running process now
    (tmp_path / f".partial-{dead.pid}-out.wav").write_bytes(b"x" * 1000)
    (tmp_path / f".partial-{os.getppid()}-out.wav").write_bytes(b"y")      # a live writer's: kept
    (tmp_path / f".partial-{dead.pid}-out.flac").write_bytes(b"z")         # the dead writer's in another format
    audio_writer.save(str(tmp_path / "out.wav"), np.zeros((100, 1), np.float32), 8000)
    assert sorted(os.listdir(tmp_path)) == sorted(["out.wav", f".partial-{os.getppid()}-out.wav"])


@pytest.mark.parametrize("name, rate, channels, refused", [
    ("ten.flac", 44100, 10, "flac holds at most 8 channels"),
    ("hi.mp3", 192000, 8, "mp3 holds at most 2 channels at 8000"),
    ("odd.mp3", 96000, 2, "this audio has 2 channels at 96000 Hz"),
])
def test_a_format_that_cannot_hold_the_audio_is_refused_not_converted(tmp_path, name, rate, channels, refused):
    with pytest.raises(audio_writer.AudioWriteError, match=refused):
        audio_writer.save(str(tmp_path / name), np.zeros((rate // 10, channels), np.float32), rate)
    assert os.listdir(tmp_path) == []
    audio_writer.save(str(tmp_path / "kept.wav"), np.zeros((rate // 10, channels), np.float32), rate)  # wav holds it
    assert soundfile.info(str(tmp_path / "kept.wav")).channels == channels


def test_a_full_disk_is_its_own_error_and_leaves_nothing(tmp_path):
    disk = small_disk(tmp_path / "disk", "600k")
    with pytest.raises(audio_writer.DiskFullError, match="is full"):
        audio_writer.save(os.path.join(disk, "big.wav"), np.zeros((44100 * 10, 2), np.float32), 44100)
    assert os.listdir(disk) == []


@pytest.mark.parametrize("name", ["nan.wav", "nan.mp3"])
def test_nan_samples_are_refused_whichever_decoder_reads_them(tmp_path, name):
    """A float wav with NaN and inf samples, read by libsndfile (.wav) and by ffmpeg (the same bytes named .mp3)."""
    import soundfile
    audio = np.full((8000, 1), 0.1, np.float32)
    audio[100], audio[200] = np.nan, np.inf
    soundfile.write(tmp_path / "nan.wav", audio, 8000, subtype="FLOAT")
    if name != "nan.wav":
        os.replace(tmp_path / "nan.wav", tmp_path / name)
    with pytest.raises(audio_io.AudioReadError, match="NaN or infinite"):
        audio_io.load(str(tmp_path / name), 8000)
