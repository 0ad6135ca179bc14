"""Model architectures, looked up by name from the config (``cfg.separator``, ``cfg.critic``).

A new separator or critic is one new file and one entry here. Builders are named as
``"module:function"`` and imported when looked up, so that checking a config loads no Keras.
"""
import importlib
from typing import Callable, Dict

from Models.geometry import unet_geometry

SEPARATORS: Dict[str, str] = {"unet": "Models.unet:build_unet"}
GEOMETRIES: Dict[str, Callable] = {"unet": unet_geometry}
CRITICS: Dict[str, str] = {"dcgan": "Models.critic:build_dcgan_critic"}


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
