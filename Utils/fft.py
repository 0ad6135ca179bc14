"""Real FFTs for separation, without the cost of importing ``scipy.fft``.

In float32, scipy's pocketfft kernel runs the separator's transforms about twice as fast as numpy's
(``np.fft.rfft`` of float32 frames, 2048 long, took 3.5 times as long here), but ``import scipy.fft``
takes about 0.2 s (its array-API layer and its docstrings), an eighth of a whole separation. The
kernel is a compiled module that needs none of that, so it is loaded from scipy's folder on its own;
where it is missing or does not load (another scipy than the one requirements pin), numpy's FFT is
used: the same numbers to float32 rounding, only slower (a test holds both to numpy's).
"""
import importlib.machinery
import importlib.util
import logging
import os
from types import ModuleType
from typing import Optional

import numpy as np

log = logging.getLogger(__name__)
KERNEL = ("scipy", "fft", "_pocketfft", "pypocketfft")  # where scipy keeps it (scipy 1.4 onwards)


def load_kernel() -> Optional[ModuleType]:
    """scipy's compiled pocketfft module, loaded alone (a few milliseconds), or ``None`` without it."""
    try:
        spec = importlib.util.find_spec(KERNEL[0])  # finds the package without importing it
        folder = os.path.join(os.path.dirname(spec.origin), *KERNEL[1:-1])
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, KERNEL[-1] + suffix)
            if os.path.isfile(path):
                loader = importlib.machinery.ExtensionFileLoader(KERNEL[-1], path)
                module = importlib.util.module_from_spec(importlib.util.spec_from_loader(KERNEL[-1], loader))
                loader.exec_module(module)
                return module if hasattr(module, "r2c") and hasattr(module, "c2r") else None
    except (ImportError, AttributeError, TypeError, OSError) as error:
        log.debug("numpy's FFT is used: scipy's pocketfft did not load (%s)", error)
    return None


_kernel = load_kernel()


def rfft(frames: np.ndarray) -> np.ndarray:
    """The FFT of real frames along the last axis: ``(..., n)`` float32 in, ``(..., n // 2 + 1)`` complex64 out."""
    frames = np.asarray(frames, np.float32)
    if _kernel is not None:
        return _kernel.r2c(frames, axes=(frames.ndim - 1,), forward=True, inorm=0)
    return np.fft.rfft(frames, axis=-1).astype(np.complex64, copy=False)


def irfft(spectra: np.ndarray, n: int) -> np.ndarray:
    """The inverse of :func:`rfft` along the last axis: ``(..., n // 2 + 1)`` complex in, ``(..., n)`` float32 out."""
    spectra = np.asarray(spectra, np.complex64)
    if _kernel is not None:
        return _kernel.c2r(spectra, axes=(spectra.ndim - 1,), lastsize=n, forward=False, inorm=2)
    return np.fft.irfft(spectra, n=n, axis=-1).astype(np.float32, copy=False)
