"""Resamples training audio once: each role of each track becomes one 8 kHz (model-rate) mono wav.

Reading an excerpt then costs a seek into a small wav instead of decoding, summing stems and
resampling 44.1 kHz audio, which otherwise keeps two CPU cores too busy to feed the trainer.
Files are keyed by their sources' paths, sizes and modification times, so a changed source is
converted again; the test partition keeps the original files (evaluation uses the original
rate and channels).
"""
import concurrent.futures
import dataclasses
import hashlib
import logging
import os
from typing import List

from tqdm import tqdm

from Input.datasets.track import Track, read_role, role_key
from Utils import audio as audio_io
from Utils import audio_writer

log = logging.getLogger(__name__)


def cache_path(folder: str, track: Track, role: str, sample_rate: int) -> str:
    """Where the resampled version of a track's role lives."""
    digest = hashlib.sha1(f"{role_key(track, role)}|{sample_rate}".encode()).hexdigest()
    return os.path.join(folder, digest[:2], f"{digest}.wav")


def _convert(job) -> str:
    track, role, path, sample_rate = job
    if not os.path.isfile(path):
        audio_writer.save(path, read_role(track, role, sample_rate), sample_rate)
    return path


def resample_tracks(tracks: List[Track], folder: str, sample_rate: int, workers: int = 2,
                    progress: bool = True, skipped: List[str] = None) -> List[Track]:
    """The same tracks with every role read from a mono ``sample_rate`` wav in ``folder``.

    A track whose files cannot be decoded is left out (with a warning and an entry in ``skipped``).
    """
    jobs = [(track, role, cache_path(folder, track, role, sample_rate), sample_rate)
            for track in tracks for role in track.roles]
    failed = set()
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {pool.submit(_convert, job): job for job in jobs}
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures), unit="file",
                           desc=f"resampling to {sample_rate} Hz", disable=not progress or not jobs):
            try:
                future.result()
            except audio_io.AudioReadError as error:
                track = futures[future][0]
                log.warning("resampling: skipping %s: %s", track.name, error)
                failed.add(id(track))
                if skipped is not None:
                    skipped.append(str(error))
    return [dataclasses.replace(track, sample_rate=sample_rate, channels=1,
                                roles={role: [cache_path(folder, track, role, sample_rate)] for role in track.roles})
            for track in tracks if id(track) not in failed]


def resample_partitions(partitions, folder: str, sample_rate: int, workers: int = 2, progress: bool = True):
    """Partitions whose training and validation tracks read from the resampled cache (test keeps originals)."""
    convert = lambda tracks: resample_tracks(tracks, folder, sample_rate, workers, progress, partitions.skipped)
    return dataclasses.replace(partitions, train_sup=convert(partitions.train_sup), valid=convert(partitions.valid),
                               train_unsup={stream: convert(tracks) for stream, tracks in partitions.train_unsup.items()})
