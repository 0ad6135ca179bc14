"""Files: names derived from untrusted input, and writes that a crash cannot leave half done."""
import os
import re
from typing import IO, Callable, Optional


def safe_name(name: str) -> str:
    """A file or folder name that stays inside its parent: no separators, no leading dots, no '..'."""
    cleaned = re.sub(r"[^\w\-. ()\[\]]+", "_", name).strip(". ") or "track"
    return cleaned[:200]


def file_stamp(path: str) -> Optional[str]:
    """``"size:mtime_ns"`` of a file, the key under which facts read from it are cached (``None``: no file).
    A file rewritten in place gets a new stamp, so what was cached of it is read again."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def user_cache(*parts: str) -> str:
    """A path in the user's cache folder for this project (``$XDG_CACHE_HOME`` or ``~/.cache``, as pip and torch
    keep theirs): what can be made again, kept so that it is made once."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "adversarial-separation", *parts)


def output_folder(source_path: str, out: str) -> str:
    """Where the separated sources of ``source_path`` go: ``out/<input name without extension>``."""
    return os.path.join(out, safe_name(os.path.splitext(os.path.basename(source_path))[0]))


def write_atomically(path: str, write: Callable[[IO[bytes]], object]) -> None:
    """Calls ``write(handle)`` on a file beside ``path``, syncs it, then renames it into place.

    A process killed meanwhile leaves the previous ``path`` untouched.
    """
    partial = f"{path}.partial"
    with open(partial, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def write_json_atomically(path: str, data, indent=None) -> None:
    """Writes ``data`` as JSON with :func:`write_atomically`."""
    import json
    text = json.dumps(data, indent=indent).encode()
    write_atomically(path, lambda handle: handle.write(text))
