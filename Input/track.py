"""A track: named audio files per role (the mixture and each source), and what their headers say.

A role may be made of several files that are summed (MUSDB's accompaniment = drums + bass + other).
A file reference is a path, or ``path#N`` for the N-th audio stream of a multi-stream file
(MUSDB's ``.stem.mp4``).
"""
import dataclasses
import json
import logging
import os
from typing import Dict, List, Optional

import numpy as np

from Input.errors import DatasetError
from Utils import audio as audio_io
from Utils.files import file_stamp, write_json_atomically

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Track:
    """One song (or one recording of a collection).

    Attributes:
        name: unique name within its dataset.
        dataset: name of the dataset it comes from.
        roles: role ('mixture' or a source name) -> file references summed to make it.
        duration: seconds (the shortest of its files).
        sample_rate: the mixture's (or only file's) sample rate.
        channels: the mixture's (or only file's) channel count.
    """
    name: str
    dataset: str
    roles: Dict[str, List[str]]
    duration: float
    sample_rate: int
    channels: int

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Track":
        return cls(**data)


class HeaderIndex:
    """Per-file header info, cached as JSON beside the data (never pickle); keyed by path and file stamp."""

    FILE_NAME = ".audio_index.json"

    def __init__(self, root: str, enabled: bool = True):
        self.path = os.path.join(root, self.FILE_NAME)
        self.enabled = enabled
        self.entries: Dict[str, dict] = {}
        self.dirty = False
        if enabled and os.path.isfile(self.path):
            try:
                with open(self.path) as handle:
                    self.entries = json.load(handle)
            except (OSError, ValueError):
                log.warning("ignoring unreadable index %s", self.path)

    def info(self, reference: str) -> audio_io.AudioInfo:
        path, _ = audio_io.split_reference(reference)
        key = file_stamp(path)
        cached = self.entries.get(reference)
        if cached and key and cached.get("key") == key:
            return audio_io.AudioInfo(path, cached["sample_rate"], cached["channels"], cached["frames"])
        result = audio_io.info(reference)
        if key:
            self.entries[reference] = {"key": key, "sample_rate": result.sample_rate, "channels": result.channels,
                                       "frames": result.frames}
            self.dirty = True
        return result

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            write_json_atomically(self.path, self.entries)
        except OSError:  # a read-only dataset folder: the index is only a speed-up
            pass


# Files of one track may differ in length by this much (encoders pad); more means they do not belong together.
LENGTH_TOLERANCE_SECONDS = 1.0


def make_track(name: str, dataset: str, roles: Dict[str, List[str]], index: HeaderIndex,
               skipped: Optional[List[str]] = None) -> Optional[Track]:
    """Reads the headers of a track's files; ``None`` (and a logged, counted skip) if any is unreadable.

    Raises:
        DatasetError: its files differ in length by more than ``LENGTH_TOLERANCE_SECONDS`` (the message
            names the shortest and the longest).
    """
    try:
        infos = {role: [index.info(ref) for ref in refs] for role, refs in roles.items()}
    except audio_io.AudioReadError as error:
        log.warning("skipping %s/%s: %s", dataset, name, error)
        if skipped is not None:
            skipped.append(str(error))
        return None
    first = infos.get("mixture", next(iter(infos.values())))[0]
    files = sorted((info for role in infos.values() for info in role), key=lambda info: info.duration)
    if files[-1].duration - files[0].duration > LENGTH_TOLERANCE_SECONDS:
        raise DatasetError(f"{dataset}/{name}: {files[0].path} lasts {files[0].duration:.1f} s but {files[-1].path} "
                           f"{files[-1].duration:.1f} s; the files of a song must be as long as each other")
    duration = files[0].duration
    return Track(name, dataset, roles, duration, first.sample_rate, first.channels)


def read_role(track: Track, role: str, sample_rate: Optional[int] = None, mono: bool = True, offset: float = 0.0,
              duration: Optional[float] = None, clip: bool = True) -> np.ndarray:
    """A role of a track: its files read and summed (MUSDB's accompaniment = drums + bass + other).

    Args:
        track: the track.
        role: ``"mixture"`` or a source name.
        sample_rate: resample to this rate (``None``: the files' own rate).
        mono: average channels; the result is then ``(samples,)``, else ``(samples, channels)``.
        offset: start in seconds (zero-padded before 0 and after the end).
        duration: seconds to read (``None``: to the end).
        clip: clip the sum to [-1, 1] (training input); evaluation reads unclipped references.

    Raises:
        AudioReadError: a file cannot be decoded.
    """
    parts = [audio_io.load(ref, sample_rate, mono=mono, offset=offset, duration=duration, clip=False)
             for ref in track.roles[role]]
    length = min(len(p) for p in parts)
    channels = max(p.shape[1] for p in parts)
    total = sum(np.broadcast_to(p[:length], (length, channels)) for p in parts).astype(np.float32)
    if clip:
        total = np.clip(total, -1.0, 1.0)
    return total[:, 0] if mono else total


def read_reference(track: Track, role: str) -> np.ndarray:
    """A role as evaluation reads it: at the track's own rate and channels, unclipped, ``(samples, channels)``."""
    return read_role(track, role, track.sample_rate, mono=False, clip=False)
