"""Renders MIDI files to audio with Debian's fluidsynth and a General MIDI soundfont."""
import os
import shutil
import subprocess
import tempfile

import numpy as np
import soundfile

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


def render(midi_path: str, sample_rate: int, soundfont: str, gain: float = 0.5, timeout: float = 60) -> np.ndarray:
    """Renders a MIDI file; returns float32 stereo audio ``(samples, 2)``.

    Raises:
        RuntimeError: fluidsynth failed or ran longer than ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "render.wav")
        command = [find_fluidsynth(), "-ni", "-q", "-g", str(gain), "-r", str(sample_rate), "-O", "float",
                   "-T", "wav", "-F", out, soundfont, midi_path]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"fluidsynth did not finish {midi_path} within {timeout} s") from None
        if result.returncode != 0 or not os.path.isfile(out):
            raise RuntimeError(f"fluidsynth failed on {midi_path}: {result.stderr.strip()[-300:]}")
        audio, _ = soundfile.read(out, dtype="float32", always_2d=True)
    return audio
