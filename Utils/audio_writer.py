"""The audio adapter, writing side: every write of an audio file goes through here (every read through
:mod:`Utils.audio`).

Float wav is written directly (:class:`FloatWavFile`), 16-bit wav and flac by libsndfile (``soundfile``),
compressed formats by ffmpeg. A file appears atomically when it is complete; a format that cannot hold the
audio as it is refuses it (:func:`check_writable`), and a full disk is named as such (:class:`DiskFullError`).
"""
import errno
import os
import shutil
import struct
import subprocess
import tempfile
from typing import Optional

import numpy as np
import soundfile

from Utils.audio import ffmpeg_path, interleaved, require_ffmpeg


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


class AudioWriter:
    """Writes a file block by block (float wav directly, 16-bit wav and flac by libsndfile, other formats
    through ffmpeg); the file appears atomically when the writer closes without error, and nothing is left
    otherwise.

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
                self._file.write(interleaved(block, np.int16 if block.dtype == np.int16 else np.float32))
            except (soundfile.SoundFileError, OSError) as error:
                raise self._write_error(error) from None
        else:
            samples = block / 32768.0 if block.dtype == np.int16 else block
            try:
                self._encoder.stdin.write(interleaved(samples, np.float32).tobytes())
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
        interleaved(block, "<f4").tofile(self._handle)  # little-endian, as wav is
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
