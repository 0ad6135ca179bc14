"""File names derived from untrusted input (track and song names)."""
import re


def safe_name(name: str) -> str:
    """A file or folder name that stays inside its parent: no separators, no leading dots, no '..'."""
    cleaned = re.sub(r"[^\w\-. ()\[\]]+", "_", name).strip(". ") or "track"
    return cleaned[:200]
