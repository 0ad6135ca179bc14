"""A saved separator's files and the settings beside it, read without Keras or TensorFlow.

A saved separator is ``<stem>.keras`` (the network), ``<stem>.json`` (the hyperparameters that build
it, :data:`SEPARATOR_KEYS`) and, once exported, ``<stem>.<frames>frames.<precision>.tflite`` (the network
at an inference width, for LiteRT). Separation on LiteRT reads these without importing TensorFlow.
"""
import json
import os
from typing import Dict, Optional, Tuple

from Models import GEOMETRIES, MAX_WINDOW_CELLS, lookup
from Models.geometry import Geometry

# The settings a saved separator needs to be rebuilt and used; written beside every saved model.
SEPARATOR_KEYS = ("sources", "sample_rate", "n_fft", "hop", "separator", "unet_levels", "unet_filters",
                  "output_frames", "inference_frames")


def separator_hyperparameters(config: Dict) -> Dict:
    """The subset of the config that defines a separator (saved as JSON beside it)."""
    return {key: config[key] for key in SEPARATOR_KEYS}


def geometry_for(config: Dict, output_frames: Optional[int] = None) -> Geometry:
    """The separator's geometry for ``output_frames`` (default: the training width ``output_frames``)."""
    frames = output_frames or config["output_frames"]
    return lookup(GEOMETRIES, "separator", config["separator"])(
        config["unet_levels"], (config["n_fft"] // 2, frames), config["n_fft"])


def separator_files(path: str) -> Tuple[str, str]:
    """``(model.keras, model.json)`` for a saved separator given with or without its ``.keras``."""
    stem = path[:-len(".keras")] if path.endswith(".keras") else path
    return f"{stem}.keras", f"{stem}.json"


def litert_file(path: str, output_frames: int, precision: str) -> str:
    """Where the LiteRT export of the separator ``path`` at ``output_frames`` frames per window lives."""
    return f"{separator_files(path)[0][:-len('.keras')]}.{output_frames}frames.{precision}.tflite"


def load_separator_settings(path: str) -> Dict:
    """The hyperparameters saved beside a separator.

    Raises:
        FileNotFoundError: the JSON is missing (the message names it).
        ValueError: it is not JSON, lacks a key or holds an unusable value (the message names the file and key).
    """
    model_path, settings_path = separator_files(path)
    if not os.path.isfile(settings_path):
        raise FileNotFoundError(f"{settings_path}: the hyperparameters of {model_path} are missing")
    try:
        with open(settings_path) as handle:
            settings = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"{settings_path}: not readable as the separator's hyperparameters ({error})") from None
    missing = [key for key in SEPARATOR_KEYS if not isinstance(settings, dict) or key not in settings]
    if missing:
        raise ValueError(f"{settings_path}: the key {missing[0]!r} is missing; Training.py writes this file "
                         f"beside every saved separator")
    for key in ("sample_rate", "n_fft", "hop", "unet_levels", "unet_filters", "output_frames", "inference_frames"):
        value = settings[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{settings_path}: {key}={value!r} must be a positive whole number")
    sources = settings["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise ValueError(f"{settings_path}: sources={sources!r} must be a list of source names")
    if settings["separator"] not in GEOMETRIES:
        raise ValueError(f"{settings_path}: separator={settings['separator']!r} is unknown: known are "
                         f"{', '.join(sorted(GEOMETRIES))}")
    window = geometry_for(settings, settings["inference_frames"]).input_shape
    if window[0] * window[1] > MAX_WINDOW_CELLS:
        raise ValueError(f"{settings_path}: separator={settings['separator']!r} with unet_levels="
                         f"{settings['unet_levels']} is not a separator Training.py builds; this file is damaged")
    return settings
