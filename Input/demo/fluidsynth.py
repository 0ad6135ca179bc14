"""Renders MIDI files to audio with Debian's fluidsynth and a General MIDI soundfont."""
import ctypes
import os
import signal
import shutil
import subprocess
import tempfile
import time

import numpy as np

from Utils import audio as audio_io

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",      # Debian timgm6mb-soundfont, 6 MB (GPL-2)
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",    # Debian fluid-soundfont-gm (MIT)
    "/usr/share/sounds/sf2/default-GM.sf2",
)


class MissingToolError(RuntimeError):
    """A program or data file the demo corpus needs is not installed; the message says which package."""


def find_fluidsynth() -> str:
    path = shutil.which("fluidsynth")
    if path is None:
        raise MissingToolError("fluidsynth is not installed: apt-get install fluidsynth (or run make setup as root)")
    return path


def find_soundfont() -> str:
    """The General MIDI soundfont to render with: ``$DEMO_SOUNDFONT`` or a Debian one."""
    override = os.environ.get("DEMO_SOUNDFONT")
    if override:
        if not os.path.isfile(override):
            raise MissingToolError(f"DEMO_SOUNDFONT={override} does not exist")
        return override
    for path in SOUNDFONT_CANDIDATES:
        if os.path.isfile(path):
            return path
    raise MissingToolError("no General MIDI soundfont found: apt-get install timgm6mb-soundfont "
                           "(or run make setup as root)")


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it when its parent dies (no orphan renders forever)."""
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def render(midi_path: str, sample_rate: int, soundfont: str, max_seconds: float, gain: float = 0.5,
           timeout: float = 60) -> np.ndarray:
    """Renders a MIDI file; returns float32 stereo audio ``(samples, 2)``.

    A note that never ends makes fluidsynth render forever, so the output is watched and the
    renderer killed once it holds more than ``max_seconds`` of audio; it also dies with its parent.

    Raises:
        RuntimeError: fluidsynth failed, rendered more than ``max_seconds`` or ran longer than ``timeout`` seconds.
    """
    limit = int(max_seconds * sample_rate) * 2 * 4 + 4096
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "render.wav")
        command = [find_fluidsynth(), "-ni", "-q", "-g", str(gain), "-r", str(sample_rate), "-O", "float",
                   "-T", "wav", "-F", out, soundfont, midi_path]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        problem = None
        while process.poll() is None:
            if os.path.exists(out) and os.path.getsize(out) > limit:
                problem = f"fluidsynth rendered more than {max_seconds} s of {midi_path}: a note never ends"
            elif time.monotonic() > deadline:
                problem = f"fluidsynth did not finish {midi_path} within {timeout} s"
            if problem:
                process.kill()
                process.wait()
                raise RuntimeError(problem)
            time.sleep(0.05)
        errors = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        if process.returncode != 0 or not os.path.isfile(out):
            raise RuntimeError(f"fluidsynth failed on {midi_path}: {errors.strip()[-300:]}")
        return audio_io.load(out, clip=False)
