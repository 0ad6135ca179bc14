"""How a long recording is cut into chunks of whole network windows: plain arithmetic on frames and samples.

A chunk estimates its own STFT frames from the input samples around them (with a margin of the
network's context). The ISTFT and the resampling are linear, so the chunks' waveforms, added where
they overlap, are the whole song's (see :class:`Models.separator.Separator`).
"""
import dataclasses
import math
from typing import List, Optional

import numpy as np

from Utils import audio as audio_io

CHUNK_SECONDS = 60.0  # audio per chunk by default (Separator, Separate.py --chunk-seconds)


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A chunk estimates song frames ``[first_frame, stop_frame)`` from input samples ``[read_start, read_stop)``."""
    first_frame: int
    stop_frame: int
    read_start: int
    read_stop: int


def chunk_plan(length: int, sample_rate: int, model_rate: int, hop: int, chunk_frames: Optional[int],
               margin_frames: int) -> List[Chunk]:
    """Cuts a song's STFT frames (at the model rate) into chunks, each with the input samples it reads.

    Args:
        length: input samples.
        sample_rate: the input's rate.
        model_rate: the separator's rate.
        hop: STFT hop at the model rate.
        chunk_frames: frames a chunk estimates; ``None``: the whole song in one chunk.
        margin_frames: frames of input read on each side of them.
    """
    song_frames = 1 + audio_io.resampled_length(length, sample_rate, model_rate) // hop
    # Reads start on a whole number of hops at the model rate (every 0.25 s at 44.1 kHz), so that a
    # chunk's STFT frames are the song's.
    unit = math.lcm(model_rate, hop * sample_rate) // model_rate
    step = chunk_frames or song_frames
    chunks = []
    for first in range(0, song_frames, step):
        stop = min(first + step, song_frames)
        read_start = (first - margin_frames) * hop * sample_rate // model_rate // unit * unit
        read_stop = -(-(stop + margin_frames) * hop * sample_rate // model_rate)
        chunks.append(Chunk(first, stop, max(read_start, 0), min(read_stop, length)))
    return chunks


def song_frames_range(spectra: np.ndarray, first_frame: int, start: int, stop: int) -> np.ndarray:
    """Song frames ``[start, stop)`` of ``spectra`` ``(..., frames)``, which holds frames ``first_frame`` onwards;
    frames it does not hold are zeros."""
    inside_start = min(max(start, first_frame), stop)
    inside_stop = max(min(stop, first_frame + spectra.shape[-1]), inside_start)
    inside = spectra[..., inside_start - first_frame:inside_stop - first_frame]
    return np.pad(inside, [(0, 0)] * (spectra.ndim - 1) + [(inside_start - start, stop - inside_stop)])
