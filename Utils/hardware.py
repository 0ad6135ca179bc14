"""Which arithmetic the network runs in on this machine: the precisions offered and how ``auto`` chooses.

TensorFlow is imported only to count GPUs, so that command lines can list the choices before it loads.
"""
from typing import List, Optional

PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}  # on TensorFlow: the network's Keras dtype policy
QUANTISED = "int8"  # on LiteRT: weights in int8, activations quantised on the fly (dynamic range)
PRECISION_CHOICES = (*PRECISIONS, QUANTISED, "auto")  # what Separator, Separate.py --precision and Evaluate.py take
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> List[str]:
    """The CPU's feature flags as Linux lists them (none where there is no such file)."""
    try:
        with open(cpuinfo) as handle:
            return next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return []


def auto_precision(flags: Optional[List[str]] = None, gpus: Optional[int] = None) -> str:
    """``"bfloat16"`` on a CPU with native bfloat16 arithmetic when no GPU is visible, ``"float32"`` otherwise.

    Args:
        flags: the CPU's feature flags (default: :func:`cpu_flags`).
        gpus: GPUs TensorFlow sees (default: counted).
    """
    flags = cpu_flags() if flags is None else flags
    if gpus is None:
        import tensorflow as tf
        gpus = len(tf.config.list_physical_devices("GPU"))
    return "bfloat16" if not gpus and any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS) else "float32"
