"""TensorFlow's and LiteRT's native log lines kept off the terminal, as ``TF_CPP_MIN_LOG_LEVEL`` asks.

Since TensorFlow 2.19, lines logged while it loads (through absl, before its own log level is read) reach
stderr whatever ``TF_CPP_MIN_LOG_LEVEL`` says (tensorflow/tensorflow#100442), as do the LiteRT converter's
warnings and the interpreter's "Created TensorFlow Lite XNNPACK delegate" note. Around the calls that print
them, :func:`filtered_native_logs` catches what the process writes to stderr and passes on every line
but those the level hides (so errors and Python's own messages still show).
"""
import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

# absl's prefix: severity letter, date, time, thread, file:line] (e.g. "I0000 00:00:1796015645.181043  19363 port.cc:153]")
NATIVE_LINE = re.compile(r"^([IWE])\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\]")
SEVERITY = {"I": 1, "W": 2, "E": 3}  # the TF_CPP_MIN_LOG_LEVEL that hides each
ALWAYS_HIDDEN = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",)
INFO_LINES = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
              "To enable the following instructions:")  # LiteRT's note; the second line of a CPU-feature INFO


def hidden(line: str, level: int) -> bool:
    """Whether a native log line is one that ``TF_CPP_MIN_LOG_LEVEL=level`` hides."""
    match = NATIVE_LINE.match(line)
    if match:
        return level >= SEVERITY[match.group(1)]
    return level >= 1 and (line.startswith(ALWAYS_HIDDEN) or line.startswith(INFO_LINES))


@contextlib.contextmanager
def filtered_native_logs() -> Iterator[None]:
    """Inside, what is written to the process's stderr (file descriptor 2) is held, then passed on without
    the native lines ``TF_CPP_MIN_LOG_LEVEL`` hides. Nothing is held where the level is 0 (show all)."""
    level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0)
    if level == 0:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(keepends=True)
                    if not hidden(line, level)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def load_tensorflow():
    """``import tensorflow`` and ``import keras`` with their start-up lines filtered (the first import prints
    them, and a later unfiltered ``import keras`` would print them again); returns the tensorflow module."""
    with filtered_native_logs():
        import tensorflow
        import keras  # noqa: F401
    return tensorflow
