"""The one audio adapter: every read and write of an audio file goes through here.

libsndfile (``soundfile``) reads wav, flac and ogg, seeking to the excerpt it needs; ffmpeg reads
everything else (mp3, m4a, mp4 stems) and writes compressed formats. Resampling is soxr's
band-limited high-quality resampler. Nothing else in the project knows file formats.
"""
import concurrent.futures
import dataclasses
import errno
import functools
import json
import os
import shutil
import struct
import subprocess
import tempfile
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


class AudioWriteError(OSError):
    """A file could not be written as audio; the message names the file and the problem (nothing is left of it)."""


class DiskFullError(AudioWriteError):
    """The disk that a file was being written to is full."""


# What a format holds, where it is less than anything: (channels at most, sample rates or None for any up to
# FLAC's 655350 Hz). mp3 is MPEG-1/2 layer III as ffmpeg's LAME encoder writes it.
FORMAT_LIMITS = {".flac": (8, None), ".mp3": (2, (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000))}
DISK_FULL_BYTES = 1 << 20  # a write that fails with less than this free is reported as a full disk


def check_writable(path: str, sample_rate: int, channels: int) -> None:
    """Raises :class:`AudioWriteError` naming ``path`` when its format cannot hold the audio as it is
    (too many channels, a sample rate it lacks): it is refused, never converted silently."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMAT_LIMITS:
        return
    most_channels, rates = FORMAT_LIMITS[extension]
    if channels > most_channels or (rates and sample_rate not in rates) or sample_rate > 655350:
        holds = f"at most {most_channels} channels" + (f" at {', '.join(map(str, rates))} Hz" if rates else "")
        raise AudioWriteError(f"{path}: {extension[1:]} holds {holds}, and this audio has {channels} channels at "
                              f"{sample_rate} Hz; wav holds it as it is")


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
        audio = audio.mean(axis=1, keepdims=True)
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


def fix_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Cuts or zero-pads ``(samples, channels)`` audio to ``length`` samples."""
    if audio.shape[0] >= length:
        return audio[:length]
    return np.pad(audio, [(0, length - audio.shape[0]), (0, 0)])


class AudioWriter:
    """Writes a file block by block (wav and flac by libsndfile, other formats through ffmpeg); the
    file appears atomically when the writer closes without error, and nothing is left otherwise.

    Args:
        path: the file to write; the extension picks the format.
        sample_rate: its sample rate.
        channels: its channel count.
        pcm16: 16-bit PCM samples (int16 blocks are written exactly); otherwise float32 wav / 24-bit flac.
        bitrate: for the formats ffmpeg encodes (mp3, ogg, ...), e.g. ``"64k"``; default: ffmpeg's.

    Example::

        with AudioWriter("out.flac", 44100, 2) as writer:
            for block in blocks:  # (samples, channels)
                writer.write(block)
    """

    def __init__(self, path: str, sample_rate: int, channels: int, pcm16: bool = False, bitrate: Optional[str] = None):
        self.path, self.sample_rate, self.channels = path, sample_rate, channels
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        extension = os.path.splitext(path)[1].lower()
        check_writable(path, sample_rate, channels)
        remove_stale_partials(folder)
        self._partial = os.path.join(folder, f".partial-{os.getpid()}-{os.path.basename(path)}")
        self._file = self._encoder = None
        if extension == ".wav" and not pcm16:
            try:
                self._file = FloatWavFile(self._partial, sample_rate, channels)
            except OSError as error:
                _remove(self._partial)
                raise self._write_error(error) from None
        elif extension in (".wav", ".flac"):
            subtype = "PCM_16" if pcm16 else ("FLOAT" if extension == ".wav" else "PCM_24")
            try:
                self._file = soundfile.SoundFile(self._partial, "w", sample_rate, channels, subtype,
                                                 format=extension[1:].upper())
            except (soundfile.SoundFileError, OSError) as error:
                _remove(self._partial)
                raise self._write_error(error) from None
        else:
            command = [require_ffmpeg(), "-v", "error", "-nostdin", "-y", "-f", "f32le",
                       "-ar", str(sample_rate), "-ac", str(channels), "-i", "-", *(["-b:a", bitrate] if bitrate else []),
                       "-f", {".m4a": "mp4", ".ogg": "ogg", ".opus": "ogg"}.get(extension, extension[1:]),
                       ffmpeg_path(self._partial)]
            self._messages = tempfile.TemporaryFile()  # a file, not a pipe: a chatty ffmpeg cannot block
            self._encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=self._messages)

    def write(self, block: np.ndarray) -> None:
        """Appends ``(samples, channels)`` or ``(samples,)`` audio."""
        block = np.asarray(block)
        block = block[:, None] if block.ndim == 1 else block
        if self._file is not None:
            try:
                self._file.write(block if block.dtype == np.int16 else block.astype(np.float32, copy=False))
            except (soundfile.SoundFileError, OSError) as error:
                raise self._write_error(error) from None
        else:
            samples = block / 32768.0 if block.dtype == np.int16 else block
            try:
                self._encoder.stdin.write(np.ascontiguousarray(samples, np.float32).tobytes())
            except BrokenPipeError:
                self._finish_encoder()  # raises with ffmpeg's message where it failed
                raise AudioWriteError(f"{self.path}: ffmpeg stopped reading before the end of the audio") from None

    def _finish_encoder(self) -> None:
        try:
            self._encoder.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self._encoder.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self._encoder.kill()
            raise OSError(f"{self.path}: ffmpeg did not finish encoding within 10 minutes") from None
        if self._encoder.returncode != 0:
            self._messages.seek(0)
            message = self._messages.read().decode(errors="replace").strip()
            raise self._write_error(f"ffmpeg could not encode ({message})")

    def _write_error(self, error) -> AudioWriteError:
        """The error to raise for a failed write: :class:`DiskFullError` where the disk has (almost) no room left."""
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            free = None
        if getattr(error, "errno", None) == errno.ENOSPC or (free is not None and free < DISK_FULL_BYTES):
            return DiskFullError(f"the disk holding {folder} is full ({(free or 0) / 2 ** 20:.1f} MB free) "
                                 f"while writing {self.path}")
        reason = str(error).replace(self._partial, os.path.basename(self.path))
        return AudioWriteError(f"{self.path}: cannot be written ({reason})")

    def __enter__(self) -> "AudioWriter":
        return self

    def __exit__(self, error_type, error, trace) -> None:
        try:
            if self._file is not None:
                try:
                    self._file.close()
                except (soundfile.SoundFileError, OSError) as close_error:
                    if error_type is None:
                        raise self._write_error(close_error) from None
            elif error_type is None:
                self._finish_encoder()
            else:
                self._encoder.kill()
                self._encoder.wait()
            if error_type is None:
                os.replace(self._partial, self.path)
        finally:
            _remove(self._partial)  # gone after the rename; otherwise nothing is left behind
            if self._encoder is not None:
                self._messages.close()


class FloatWavFile:
    """A float32 wav file written block by block (IEEE float, with the ``fact`` chunk the format asks of non-PCM
    data), in a fifth of libsndfile's time: the samples go to disk as they are, and the header's sizes are
    filled in on :meth:`close`. libsndfile, ffmpeg and the tests read it back sample for sample.

    Args:
        path: the file to write.
        sample_rate: its sample rate.
        channels: its channel count.
    """
    HEADER = struct.Struct("<4sI4s4sIHHIIHHH4sII4sI")  # RIFF, WAVE, fmt (18 bytes: IEEE float), fact, data
    LIMIT = 2 ** 32 - 1 - HEADER.size  # the RIFF sizes are 32 bits

    def __init__(self, path: str, sample_rate: int, channels: int):
        self.sample_rate, self.channels, self.frames = sample_rate, channels, 0
        self._handle = open(path, "wb")
        self._write_header()

    def _write_header(self) -> None:
        data = self.frames * self.channels * 4
        self._handle.write(self.HEADER.pack(
            b"RIFF", self.HEADER.size - 8 + data, b"WAVE", b"fmt ", 18, 3, self.channels, self.sample_rate,
            self.sample_rate * self.channels * 4, self.channels * 4, 32, 0, b"fact", 4, self.frames, b"data", data))

    def write(self, block: np.ndarray) -> None:
        """Appends ``(samples, channels)`` samples: float, or int16 scaled to full scale (as the ffmpeg formats are)."""
        block = block / 32768.0 if block.dtype == np.int16 else block
        if (self.frames + len(block)) * self.channels * 4 > self.LIMIT:
            raise OSError(errno.EFBIG, "a wav file holds at most 4 GiB; write flac instead")
        np.ascontiguousarray(block, "<f4").tofile(self._handle)  # little-endian, as wav is
        self.frames += len(block)

    def close(self) -> None:
        """Fills in the header's sizes and closes the file."""
        try:
            self._handle.seek(0)
            self._write_header()
        finally:
            self._handle.close()


def remove_stale_partials(folder: str) -> None:
    """Removes the ``.partial-<pid>-<name>`` files in ``folder`` whose writing process is gone (killed with
    SIGKILL mid-write), whatever file they were to become; the partial files of live processes are left alone."""
    prefix = ".partial-"
    for entry in os.listdir(folder):
        pid = entry[len(prefix):].split("-", 1)[0] if entry.startswith(prefix) else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            _remove(os.path.join(folder, entry))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def save(path: str, audio: np.ndarray, sample_rate: int, bitrate: Optional[str] = None) -> None:
    """Writes ``(samples, channels)`` or ``(samples,)`` audio in one piece (see :class:`AudioWriter`):
    float32 samples as float wav / 24-bit flac, int16 samples exactly as 16-bit PCM."""
    audio = np.asarray(audio)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with AudioWriter(path, sample_rate, channels, pcm16=audio.dtype == np.int16, bitrate=bitrate) as writer:
        writer.write(audio)
