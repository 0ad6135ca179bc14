"""Builds the separator, the critics and the training model from plain settings (no Sacred here)."""
import hashlib
import os
from typing import Dict, Optional, Tuple

import keras

from Models import CRITICS, HEAD_INITS, SEPARATORS, lookup
from Models.adversarial import AdversarialSeparation
from Models.geometry import Geometry
from Models.saved_separator import geometry_for, separator_files, separator_hyperparameters
from Utils.files import write_json_atomically


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
        # A separator saved before head_init was a setting was initialised as the authors' (HEAD_INITS[0]).
        return builder(geometry, config["sources"], config["unet_levels"], config["unet_filters"],
                       config.get("head_init", HEAD_INITS[0])), geometry
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


def save_separator(separator: keras.Model, config: Dict, path: str) -> None:
    """Saves the separator (``.keras``) and its hyperparameters (``.json`` beside it), each atomically."""
    model_path, settings_path = separator_files(path)
    partial = model_path[:-len(".keras")] + ".partial.keras"  # Keras wants the extension
    separator.save(partial)
    os.replace(partial, model_path)
    write_json_atomically(settings_path, separator_hyperparameters(config), indent=1)


def load_separator_weights(path: str) -> keras.Model:
    """Loads a saved separator with Keras' safe mode (no code from the file is run).

    Raises:
        ValueError: the file is not a separator Keras can load (the message names it).
    """
    import zipfile

    import Models.layers  # noqa: F401  registers the custom layers
    model_path = separator_files(path)[0]
    if os.path.isfile(model_path) and not zipfile.is_zipfile(model_path):
        # Keras calls any file it cannot open as a zip "File not found".
        raise ValueError(f"{model_path}: damaged or truncated ({os.path.getsize(model_path)} bytes, not a whole "
                         f".keras archive); copy it again, or pass the best_separator.keras of a training run")
    try:
        return keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as error:  # zip, JSON or Keras errors: all mean the same to the user
        raise ValueError(f"{model_path}: not a saved separator ({type(error).__name__}: {error}); pass the "
                         f"best_separator.keras of a training run") from None


def weights_digest(separator: keras.Model) -> str:
    """A short hash of a separator's weights (equal on every worker of a multi-worker run)."""
    digest = hashlib.sha1()
    for variable in separator.weights:
        digest.update(variable.numpy().tobytes())
    return digest.hexdigest()[:16]
