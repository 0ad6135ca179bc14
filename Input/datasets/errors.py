"""The error every dataset reader raises (its own module, so that readers and tracks import it directly)."""


class DatasetError(Exception):
    """A dataset cannot be read at all (missing folder, empty, wrong layout); the message says how to fix it."""
