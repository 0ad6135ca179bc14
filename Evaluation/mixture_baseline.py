"""The mixture as every source's estimate, an evaluation's reference row. Its scores depend on the song alone,
so they are kept in the user's cache (``~/.cache/adversarial-separation/mixture_scores``), one file per song,
protocol and rate, keyed by the audio itself: evaluating another model or checkpoint on the same songs scores
only its own estimates (museval takes about as long for the mixture as for the estimates)."""
import hashlib
import json
import logging
import os
from typing import Callable, Dict, List, Sequence

import numpy as np

from Utils.files import user_cache, write_atomically

log = logging.getLogger(__name__)
CACHE_FORMAT = 1  # raise it when what an entry holds, or how the mixture is scored, changes


def song_key(name: str, protocol: str, rate: int, sources: Sequence[str], references: np.ndarray,
             mixture: np.ndarray) -> str:
    """The cache key of a song's mixture scores: a digest of the song's name (museval's JSON holds it), the
    protocol and the versions of the libraries that score it, the rate, the sources and the audio
    (``references`` ``(sources, samples, channels)`` and ``mixture`` ``(samples, channels)``) as scored."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps([CACHE_FORMAT, name, protocol, scorer_versions(), rate, list(sources), references.shape,
                              str(references.dtype), mixture.shape, str(mixture.dtype)]).encode())
    for audio in (references, mixture):
        digest.update(np.ascontiguousarray(audio).data)
    return digest.hexdigest()


def scorer_versions() -> List[str]:
    """The installed versions of museval and mir_eval (a new one may score differently)."""
    from importlib.metadata import PackageNotFoundError, version
    versions = []
    for package in ("museval", "mir_eval"):
        try:
            versions.append(version(package))
        except PackageNotFoundError:
            versions.append("")
    return versions


def cached_scores(key: str, score: Callable[[], Dict]) -> Dict:
    """``score()``'s JSON-able result, read from the cache where it holds one for ``key``, else computed and kept
    there. A cache that cannot be read or written is passed by (a debug line), never an error."""
    path = user_cache("mixture_scores", f"{key}.json")
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):  # not cached yet, or a damaged file: scored again
        pass
    result = score()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = json.dumps(result).encode()
        write_atomically(path, lambda handle: handle.write(text))
    except OSError as error:
        log.debug("mixture scores not cached in %s: %s", path, error)
    return result
