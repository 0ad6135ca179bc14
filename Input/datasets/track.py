"""A track: named audio files per role (the mixture and each source), and what their headers say.

A role is a list of parts that are summed (MUSDB's accompaniment = drums + bass + other). A part is
a file reference -- a path, or ``path#N`` for the N-th audio stream of a multi-stream file (MUSDB's
``.stem.mp4``) -- or ``{"file": reference, "gain": g, "channel": c}`` for a scaled file and/or one of
its channels (DSD100's accompaniment = mixture - vocals; iKala's voice = the right channel), or
``{"sum": [parts], "clip": True}`` for parts summed and clipped to [-1, 1] before they are mixed with others
(the authors wrote MedleyDB's summed stems to files, clipped, then mixed those). A role with no parts is
silence of the track's length (a MedleyDB song without vocals).
"""
import dataclasses
import json
import logging
import os
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from Input.datasets.errors import DatasetError
from Utils import audio as audio_io
from Utils.files import file_stamp, write_json_atomically

log = logging.getLogger(__name__)


Part = Union[str, Dict[str, Any]]


def part_file(part: Part) -> str:
    """The file reference of a file part (not a ``"sum"``)."""
    return part if isinstance(part, str) else part["file"]


def file_parts(parts: Iterable[Part]) -> List[Part]:
    """The file parts of ``parts``, with the parts of each ``"sum"`` in its place."""
    return [leaf for part in parts
            for leaf in (file_parts(part["sum"]) if isinstance(part, dict) and "sum" in part else [part])]


def first_missing_file(roles: Dict[str, List[Part]]) -> Optional[str]:
    """The first (sorted) file a track's roles name that does not exist, or ``None``."""
    missing = sorted({part_file(part) for parts in roles.values() for part in file_parts(parts)
                      if not os.path.isfile(audio_io.split_reference(part_file(part))[0])})
    return missing[0] if missing else None


def role_key(track: "Track", role: str) -> str:
    """What a role is made of, as text that changes when it does: each part's real path (links resolved, so
    that a corpus reached through links shares its cache entries), file stamp, gain and channel (silence:
    its length)."""
    if not track.roles[role]:
        return f"silence:{track.duration:.6f}"
    return "|".join(_part_key(part) for part in track.roles[role])


def _part_key(part: Part) -> str:
    if isinstance(part, dict) and "sum" in part:
        return f"sum({'|'.join(_part_key(p) for p in part['sum'])}):clip={part.get('clip', False)}"
    reference = part_file(part)
    key = f"{os.path.realpath(reference)}:{file_stamp(audio_io.split_reference(reference)[0])}"
    if not isinstance(part, str):
        key += f":gain={part.get('gain', 1.0)}:channel={part.get('channel')}"
    return key


@dataclasses.dataclass
class Track:
    """One song (or one recording of a collection).

    Attributes:
        name: unique name within its dataset.
        dataset: name of the dataset it comes from.
        roles: role ('mixture' or a source name) -> the parts summed to make it (see the module's docstring).
        duration: seconds (the shortest of its files).
        sample_rate: the mixture's (or only file's) sample rate.
        channels: the mixture's (or only file's) channel count (1 where its parts take one channel each).
    """
    name: str
    dataset: str
    roles: Dict[str, List[Part]]
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


def make_tracks(songs: Iterable[Tuple[str, Dict[str, List[Part]]]], dataset: str, root: str, index_cache: bool = True,
                skipped: Optional[List[str]] = None) -> List[Track]:
    """The tracks of a dataset's ``(name, roles)`` songs, with their headers cached in ``root``; a song whose
    files are missing or unreadable is left out, with a message in ``skipped``."""
    index = HeaderIndex(root, index_cache)
    tracks = []
    for name, roles in songs:
        missing = first_missing_file(roles)
        if missing:
            if skipped is not None:
                skipped.append(f"{missing}: no such file")
            continue
        track = make_track(name, dataset, roles, index, skipped)
        if track is not None:
            tracks.append(track)
    index.save()
    return tracks


# Files of one track may differ in length by this much (encoders pad); more means they do not belong together.
LENGTH_TOLERANCE_SECONDS = 1.0


def make_track(name: str, dataset: str, roles: Dict[str, List[Part]], index: HeaderIndex,
               skipped: Optional[List[str]] = None) -> Optional[Track]:
    """Reads the headers of a track's files; ``None`` (and a logged, counted skip) if any is unreadable
    or lacks a channel a part takes.

    Raises:
        DatasetError: its files differ in length by more than ``LENGTH_TOLERANCE_SECONDS`` (the message
            names the shortest and the longest).
    """
    try:
        leaves = {role: file_parts(parts) for role, parts in roles.items()}
        infos = {role: [index.info(part_file(part)) for part in parts] for role, parts in leaves.items()}
        for role, parts in leaves.items():
            for part, info in zip(parts, infos[role]):
                if not isinstance(part, str) and part.get("channel", 0) >= info.channels:
                    raise audio_io.AudioReadError(f"{info.path}: has {info.channels} channel(s), no channel "
                                                  f"{part['channel']} (counted from 0) for the {role}")
    except audio_io.AudioReadError as error:
        log.warning("skipping %s/%s: %s", dataset, name, error)
        if skipped is not None:
            skipped.append(str(error))
        return None
    main_role = "mixture" if infos.get("mixture") else next(role for role, found in infos.items() if found)
    first = infos[main_role][0]
    channels = max(1 if isinstance(part, dict) and "channel" in part else info.channels
                   for part, info in zip(leaves[main_role], infos[main_role]))
    files = sorted((info for role in infos.values() for info in role), key=lambda info: info.duration)
    if files[-1].duration - files[0].duration > LENGTH_TOLERANCE_SECONDS:
        raise DatasetError(f"{dataset}/{name}: {files[0].path} lasts {files[0].duration:.1f} s but {files[-1].path} "
                           f"{files[-1].duration:.1f} s; the files of a song must be as long as each other")
    duration = files[0].duration
    return Track(name, dataset, roles, duration, first.sample_rate, channels)


def read_role(track: Track, role: str, sample_rate: Optional[int] = None, mono: bool = True, offset: float = 0.0,
              duration: Optional[float] = None, clip: bool = True) -> np.ndarray:
    """A role of a track: its parts read and summed (MUSDB's accompaniment = drums + bass + other).

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
    if not track.roles[role]:  # silence of the track's length
        rate = sample_rate or track.sample_rate
        seconds = duration if duration is not None else max(track.duration - offset, 0.0)
        silence = np.zeros((int(round(seconds * rate)), 1 if mono else track.channels), np.float32)
        return silence[:, 0] if mono else silence
    total = _summed([_read_part(part, sample_rate, mono, offset, duration) for part in track.roles[role]])
    if clip:
        total = np.clip(total, -1.0, 1.0)
    return total[:, 0] if mono else total


def _summed(parts: List[np.ndarray]) -> np.ndarray:
    """The sum of ``(samples, channels)`` arrays, cut to the shortest; a mono one is added to every channel."""
    length = min(len(p) for p in parts)
    channels = max(p.shape[1] for p in parts)
    return sum(np.broadcast_to(p[:length], (length, channels)) for p in parts).astype(np.float32)


def _read_part(part: Part, sample_rate: Optional[int], mono: bool, offset: float,
               duration: Optional[float]) -> np.ndarray:
    """One part, ``(samples, channels)``: a file, or one of its channels and/or scaled, or a (clipped) sum."""
    if isinstance(part, dict) and "sum" in part:  # summed and clipped at the files' rate, then resampled
        total = _summed([_read_part(p, None, mono, offset, duration) for p in part["sum"]])
        total = np.clip(total, -1.0, 1.0) if part.get("clip") else total
        native = audio_io.info(part_file(file_parts([part])[0])).sample_rate
        if sample_rate in (None, native):
            return total
        total = audio_io.resample(total, native, sample_rate)
        return total if duration is None else audio_io.fix_length(total, int(round(duration * sample_rate)))
    if isinstance(part, str):
        return audio_io.load(part, sample_rate, mono=mono, offset=offset, duration=duration, clip=False)
    channel = part.get("channel")
    audio = audio_io.load(part["file"], sample_rate, mono=mono and channel is None, offset=offset, duration=duration,
                          clip=False)
    if channel is not None:
        audio = audio[:, channel:channel + 1]
    return audio * np.float32(part.get("gain", 1.0))
