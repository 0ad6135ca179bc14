"""Builds the separator, the critics and the training model from plain settings (no Sacred here)."""
import json
import os
from typing import Dict, Optional, Tuple

import keras

from Models import CRITICS, GEOMETRIES, SEPARATORS, lookup
from Models.adversarial import AdversarialSeparation
from Models.geometry import Geometry
from Utils.files import write_json_atomically

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


def build_separator(config: Dict, output_frames: Optional[int] = None,
                    dtype_policy: Optional[str] = None) -> Tuple[keras.Model, Geometry]:
    """The separator network for a given output width (weights are shared across widths).

    Args:
        config: the settings (``SEPARATOR_KEYS``).
        output_frames: output width (default: the training width ``output_frames``).
        dtype_policy: a Keras dtype policy for this network only, e.g. ``"mixed_bfloat16"``
            (default: the global policy).
    """
    geometry = geometry_for(config, output_frames)
    builder = lookup(SEPARATORS, "separator", config["separator"])
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy or previous)
    try:
        return builder(geometry, config["sources"], config["unet_levels"], config["unet_filters"],
                       head_init=config.get("head_init", "glorot_uniform")), geometry
    finally:
        keras.config.set_dtype_policy(previous)


def build_training_model(config: Dict, seed: int = 0) -> Tuple[AdversarialSeparation, Geometry]:
    """The compiled :class:`AdversarialSeparation` for ``cfg`` (critics only when semi-supervised); ``seed``
    is the run's, which fixes the gradient penalty's random points."""
    if config.get("mixed_precision"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    separator, geometry = build_separator(config)
    critics = {}
    if config["semi_supervised"]:
        builder = lookup(CRITICS, "critic", config["critic"])
        critics = {source: builder(geometry.critic_shape, config["critic_filters"], name=f"{source}_critic")
                   for source in config["sources"]}
    model = AdversarialSeparation(separator, critics, config["sources"], geometry.critic_shape,
                                  semi_supervised=config["semi_supervised"], alpha=config["alpha"],
                                  beta=config["beta"], gp_lambda=config["gp_lambda"], n_critic=config["n_critic"],
                                  one_sided_penalty=config["one_sided_penalty"], seed=seed)

    def adam(rate):
        optimizer = keras.optimizers.Adam(rate)
        return keras.optimizers.LossScaleOptimizer(optimizer) if config.get("mixed_precision") else optimizer

    model.compile(adam(config["separator_lr"]), {source: adam(config["critic_lr"]) for source in critics})
    return model, geometry


def separator_files(path: str) -> Tuple[str, str]:
    """``(model.keras, model.json)`` for a saved separator given with or without its ``.keras``."""
    stem = path[:-len(".keras")] if path.endswith(".keras") else path
    return f"{stem}.keras", f"{stem}.json"


def save_separator(separator: keras.Model, config: Dict, path: str) -> None:
    """Saves the separator (``.keras``) and its hyperparameters (``.json`` beside it), each atomically."""
    model_path, settings_path = separator_files(path)
    partial = model_path[:-len(".keras")] + ".partial.keras"  # Keras wants the extension
    separator.save(partial)
    os.replace(partial, model_path)
    write_json_atomically(settings_path, separator_hyperparameters(config), indent=1)


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
    return settings


def load_separator_weights(path: str) -> keras.Model:
    """Loads a saved separator with Keras' safe mode (no code from the file is run).

    Raises:
        ValueError: the file is not a separator Keras can load (the message names it).
    """
    import Models.layers  # noqa: F401  registers the custom layers
    model_path = separator_files(path)[0]
    try:
        return keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # zip, JSON or Keras errors: all mean the same to the user
        raise ValueError(f"{model_path}: not a saved separator ({type(error).__name__}: {error}); pass the "
                         f"best_separator.keras of a training run") from None
