"""The audio adapter, reading side: every read of an audio file goes through here (every write through
:mod:`Utils.audio_writer`).

libsndfile (``soundfile``) reads wav, flac and ogg, seeking to the excerpt it needs; ffmpeg reads
everything else (mp3, m4a, mp4 stems). Resampling is soxr's band-limited high-quality resampler. Nothing
else in the project knows file formats.
"""
import concurrent.futures
import dataclasses
import functools
import json
import os
import shutil
import subprocess
from typing import List, Optional, Sequence, Tuple

import numpy as np
import soundfile
import soxr

from Utils.files import file_stamp

SNDFILE_EXTENSIONS = {".wav", ".flac", ".ogg", ".aiff", ".aif"}
FFMPEG_EXTENSIONS = {".mp3", ".m4a", ".mp4", ".aac", ".opus", ".wma"}
AUDIO_EXTENSIONS = SNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS


class AudioReadError(Exception):
    """A file could not be read as audio; the message names the file and the problem."""




@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header."""
    path: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / float(self.sample_rate)


def require_ffmpeg() -> str:
    """Path of ffmpeg, or an error saying how to install it."""
    path = shutil.which("ffmpeg")
    if path is None:
        raise AudioReadError("ffmpeg is not on PATH: install it (Debian: apt-get install ffmpeg)")
    return path


def split_reference(reference: str) -> Tuple[str, Optional[int]]:
    """``"song.stem.mp4#4"`` -> ``("song.stem.mp4", 4)``; a plain path -> ``(path, None)``; a file that
    exists under the whole name (``take#2``) is that file."""
    path, _, stream = reference.rpartition("#")
    if path and stream.isdigit() and not os.path.isfile(reference):
        return path, int(stream)
    return reference, None


def ffmpeg_path(path: str) -> str:
    """A file name for ffmpeg and ffprobe that they take as that file whatever it looks like: never an
    option (``-x.mp3``), a protocol (``a:b.mp3``) or relative to their working folder."""
    return "file:" + os.path.abspath(path)


def _uses_sndfile(reference: str) -> bool:
    path, stream = split_reference(reference)
    return stream is None and os.path.splitext(path)[1].lower() in SNDFILE_EXTENSIONS


def info(reference: str) -> AudioInfo:
    """Sample rate, channels and length of an audio file (``path`` or ``path#stream``).

    Headers are remembered per (file, size, modification time), so that reading many excerpts of
    a compressed file probes it once.

    Raises:
        AudioReadError: the file is missing, unreadable, empty or not audio.
    """
    path, _ = split_reference(reference)
    if not os.path.isfile(path):
        raise AudioReadError(f"{path}: a folder, not an audio file" if os.path.isdir(path) else f"{path}: no such file")
    if not os.access(path, os.R_OK):
        raise AudioReadError(f"{path}: permission denied")
    return _cached_info(reference, file_stamp(path))


@functools.lru_cache(maxsize=4096)
def _cached_info(reference: str, stamp: str) -> AudioInfo:
    path, stream = split_reference(reference)
    if _uses_sndfile(reference):
        try:
            header = soundfile.info(path)
        except Exception as error:  # libsndfile's own message says what is wrong
            raise AudioReadError(f"{path}: not readable as audio ({error})") from None
        result = AudioInfo(path, int(header.samplerate), int(header.channels), int(header.frames))
    else:
        result = _ffprobe(path, stream or 0)
    if result.frames <= 0:
        raise AudioReadError(f"{path}: contains no audio samples")
    return result


def _ffprobe(path: str, stream: int) -> AudioInfo:
    ffprobe = shutil.which("ffprobe")
    require_ffmpeg()
    command = [ffprobe, "-v", "error", "-select_streams", f"a:{stream}", "-show_entries",
               "stream=sample_rate,channels,duration:format=duration", "-of", "json", ffmpeg_path(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    try:
        probe = json.loads(result.stdout or "{}")
        entry = probe["streams"][0]
        duration = float(entry.get("duration") or probe["format"]["duration"])
        sample_rate = int(entry["sample_rate"])
        channels = int(entry["channels"])
    except (KeyError, IndexError, ValueError):
        detail = result.stderr.strip().splitlines()[-1:] or ["no audio stream"]
        raise AudioReadError(f"{path}: not readable as audio ({detail[0]})") from None
    return AudioInfo(path, sample_rate, channels, int(round(duration * sample_rate)))


def load(reference: str, sample_rate: Optional[int] = None, mono: bool = False, offset: float = 0.0,
         duration: Optional[float] = None, clip: bool = True) -> np.ndarray:
    """Reads (part of) an audio file.

    Args:
        reference: audio file, or ``path#N`` for its N-th audio stream.
        sample_rate: resample to this rate; ``None`` keeps the file's rate.
        mono: average the channels into one.
        offset: start of the excerpt in seconds; before 0 or past the end is zero-padded.
        duration: excerpt length in seconds (``None``: to the end of the file). With
            ``sample_rate``, the result has exactly ``round(duration * sample_rate)`` samples.
        clip: clip samples to [-1, 1] (the authors' input normalisation).

    Returns:
        float32 array ``(samples, channels)``.

    Raises:
        AudioReadError: the file cannot be decoded; the message names it.
    """
    header = info(reference)
    path, stream = split_reference(reference)
    rate = header.sample_rate
    start = int(round(offset * rate))
    count = header.frames - start if duration is None else int(round(duration * rate))
    pad_front = max(-start, 0)
    read_start = max(start, 0)
    read_count = max(min(count - pad_front, header.frames - read_start), 0)
    if read_count > 0:
        audio = (_read_sndfile(path, read_start, read_count) if _uses_sndfile(path)
                 else _read_ffmpeg(path, stream or 0, header, read_start, read_count))
    else:
        audio = np.zeros((0, header.channels), np.float32)
    pad_back = max(count - pad_front - audio.shape[0], 0)
    if pad_front or pad_back:  # np.pad copies even when it adds nothing (a tenth of a second on a song)
        audio = np.pad(audio, [(pad_front, pad_back), (0, 0)])
    if mono and audio.shape[1] > 1:
        audio = downmix(audio)
    if sample_rate is not None and sample_rate != rate:
        audio = resample(audio, rate, sample_rate)
        if duration is not None:
            audio = fix_length(audio, int(round(duration * sample_rate)))
    if clip:
        audio = np.clip(audio, -1.0, 1.0)
    return audio.astype(np.float32, copy=False)


def _read_sndfile(path: str, start: int, count: int) -> np.ndarray:
    try:
        with soundfile.SoundFile(path) as handle:
            handle.seek(start)
            audio = handle.read(count, dtype="float32", always_2d=True)
    except Exception as error:
        raise AudioReadError(f"{path}: decoding failed ({error})") from None
    _require_finite(path, audio)
    return audio


def _require_finite(path: str, audio: np.ndarray) -> None:
    if not np.all(np.isfinite(audio)):
        raise AudioReadError(f"{path}: contains NaN or infinite samples")


def _read_ffmpeg(path: str, stream: int, header: AudioInfo, start: int, count: int) -> np.ndarray:
    command = [require_ffmpeg(), "-v", "error", "-nostdin", "-ss", f"{start / header.sample_rate:.6f}",
               "-i", ffmpeg_path(path), "-map", f"0:a:{stream}", "-f", "f32le", "-acodec", "pcm_f32le",
               "-ac", str(header.channels), "-ar", str(header.sample_rate),
               "-frames:a", str(count), "-"]
    result = subprocess.run(command, capture_output=True, timeout=600)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["ffmpeg failed"]
        raise AudioReadError(f"{path}: decoding failed ({detail[0]})")
    audio = np.frombuffer(result.stdout, np.float32)
    audio = audio[: audio.size - audio.size % header.channels].reshape(-1, header.channels)[:count]
    _require_finite(path, audio)
    return audio


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of ``(samples, channels)`` audio (soxr, high quality)."""
    if rate_in == rate_out or audio.shape[0] == 0:
        return audio
    return soxr.resample(audio, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


def resample_all(signals: Sequence[np.ndarray], rate_in: int, rate_out: int) -> List[np.ndarray]:
    """:func:`resample` of several ``(samples, channels)`` signals on parallel threads (soxr releases the GIL)."""
    with concurrent.futures.ThreadPoolExecutor(min(len(signals), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda signal: resample(signal, rate_in, rate_out), signals))


def resampled_length(samples: int, rate_in: int, rate_out: int) -> int:
    """Samples :func:`resample` returns for ``samples`` input samples (soxr rounds to nearest)."""
    return (2 * samples * rate_out + rate_in) // (2 * rate_in)


def downmix(audio: np.ndarray) -> np.ndarray:
    """Float ``(samples, channels)`` -> ``(samples, 1)``: the channels' mean, as ``audio.mean(axis=1, keepdims=True)``
    gives it to the bit, summed column by column (numpy reduces a short strided axis slowly)."""
    mono = audio[:, 0].copy()
    for channel in range(1, audio.shape[1]):
        mono += audio[:, channel]
    if audio.shape[1] > 1:
        mono /= audio.shape[1]
    return mono[:, None]


def interleaved(audio: np.ndarray, dtype: "np.typing.DTypeLike" = "<f4") -> np.ndarray:
    """``(samples, channels)`` audio as one C-ordered array of ``dtype``, the layout of a file's samples. A
    transposed view of channels-first audio is copied one channel at a time: numpy's own copy of it loops over
    the few channels innermost, several times slower (bench/results/separate_speed_findings.md)."""
    if audio.flags.c_contiguous:
        return np.ascontiguousarray(audio, dtype)
    out = np.empty(audio.shape, dtype)
    for channel in range(audio.shape[1]):
        out[:, channel] = audio[:, channel]
    return out


def fix_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Cuts or zero-pads ``(samples, channels)`` audio to ``length`` samples."""
    if audio.shape[0] >= length:
        return audio[:length]
    return np.pad(audio, [(0, length - audio.shape[0]), (0, 0)])
