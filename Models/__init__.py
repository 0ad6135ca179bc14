"""Model architectures, looked up by name from the config (``cfg.separator``, ``cfg.critic``).

A new separator or critic is one new file and one entry here.
"""
from typing import Callable, Dict

from Models.critic import build_dcgan_critic
from Models.unet import build_unet, unet_geometry

SEPARATORS: Dict[str, Callable] = {"unet": build_unet}
GEOMETRIES: Dict[str, Callable] = {"unet": unet_geometry}
CRITICS: Dict[str, Callable] = {"dcgan": build_dcgan_critic}


def lookup(registry: Dict[str, Callable], kind: str, name: str) -> Callable:
    """The builder registered as ``name``, or a ValueError listing the known names."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]
