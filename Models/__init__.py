"""Model architectures, looked up by name from the config (``cfg.separator``, ``cfg.critic``).

A new critic is one new file and one entry in ``CRITICS``. A new separator is one new file, one entry in
``SEPARATORS`` and its geometry in ``GEOMETRIES``; its size settings are the U-Net's today: ``unet_levels`` and
``unet_filters`` are read by :func:`check_architecture`, ``Models/build.py``, ``Models/saved_separator.py`` and
``Models/separator.py`` (the context of a window), which a separator with other sizes would change. Builders
are named as ``"module:function"`` and imported when looked up, so that checking a config loads no Keras.
"""
import importlib
import math
from typing import Any, Callable, Dict

from Models.full_band import BAND_EXTENSIONS
from Models.geometry import frames_of, unet_geometry
from Utils.config_check import ConfigError

SEPARATORS: Dict[str, str] = {"unet": "Models.unet:build_unet"}
GEOMETRIES: Dict[str, Callable] = {"unet": unet_geometry}
CRITICS: Dict[str, str] = {"dcgan": "Models.critic:build_dcgan_critic"}
HEAD_INITS = ("glorot_uniform", "non_negative")  # the separator heads' initial kernels (Models/unet.py)
MAX_WINDOW_CELLS = 1 << 24  # bins x frames of a network window: deeper U-Nets than any trainable here are refused


def lookup(registry: Dict, kind: str, name: str) -> Callable:
    """The builder registered as ``name`` (imported if named as ``"module:function"``), or a ValueError
    listing the known names."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(sorted(registry))}")
    entry = registry[name]
    if isinstance(entry, str):
        module, function = entry.split(":")
        return getattr(importlib.import_module(module), function)
    return entry


def check_architecture(config: Dict[str, Any]) -> None:
    """Raises :class:`Utils.config_check.ConfigError` naming the key when ``cfg``'s separator, critic or
    sizes cannot be built (checked without Keras)."""
    for key, registry in (("separator", SEPARATORS), ("critic", CRITICS)):
        if config[key] not in registry:
            raise ConfigError(f"cfg.{key}={config[key]!r} is unknown: valid are {', '.join(sorted(registry))}")
    try:
        geometry = GEOMETRIES[config["separator"]](config["unet_levels"], (config["n_fft"] // 2, config["output_frames"]),
                                                   config["n_fft"])
        GEOMETRIES[config["separator"]](config["unet_levels"], (config["n_fft"] // 2, config["inference_frames"]),
                                        config["n_fft"])
    except ValueError as error:
        raise ConfigError(f"cfg.output_frames={config['output_frames']} with cfg.unet_levels={config['unet_levels']} "
                          f"cannot be produced: {error} (e.g. output_frames=64, unet_levels=4)") from None
    if config["head_init"] not in HEAD_INITS:
        raise ConfigError(f"cfg.head_init={config['head_init']!r} is unknown: valid are {', '.join(HEAD_INITS)}")
    if geometry.input_shape[0] * geometry.input_shape[1] > MAX_WINDOW_CELLS:
        raise ConfigError(f"cfg.unet_levels={config['unet_levels']} is too deep: its windows are "
                          f"{geometry.input_shape[0]} x {geometry.input_shape[1]} (bins x frames) "
                          f"(e.g. unet_levels=4)")
    if config["band_extension"] not in BAND_EXTENSIONS:
        raise ConfigError(f"cfg.band_extension={config['band_extension']!r} is unknown: valid are "
                          f"{', '.join(BAND_EXTENSIONS)}")
    excerpt_frames = frames_of(config["excerpt_duration"], config["sample_rate"], config["hop"])
    needed = geometry.output_shape[1]
    if excerpt_frames < needed:
        shortest = math.ceil((needed - 1) * config["hop"] / config["sample_rate"] * 10) / 10
        deeper = (f", or fewer cfg.unet_levels (its {config['unet_levels']} levels round cfg.output_frames="
                  f"{config['output_frames']} up to {needed})" if needed > config["output_frames"] else "")
        raise ConfigError(f"cfg.excerpt_duration={config['excerpt_duration']} is too short: an excerpt has "
                          f"{excerpt_frames} frames at cfg.sample_rate={config['sample_rate']} and cfg.hop="
                          f"{config['hop']}, fewer than the separator's {needed} output frames: set "
                          f"excerpt_duration={shortest} or more{deeper}")
