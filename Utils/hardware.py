"""Which arithmetic the network runs in on this machine: the precisions offered and how ``auto`` chooses.

TensorFlow is imported only to count GPUs for its own engine, so that command lines can list the choices
before it loads, and LiteRT's ``auto`` never loads it.
"""
from typing import List, Optional

PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}  # on TensorFlow: the network's Keras dtype policy
QUANTISED = "int8"  # on LiteRT: weights in int8, activations quantised on the fly (dynamic range)
PRECISION_CHOICES = (*PRECISIONS, QUANTISED, "auto")  # what Separator, Separate.py --precision and Evaluate.py take
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic
NATIVE_INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "asimddp")  # and of int8 dot products (x86 VNNI, Arm dotprod)


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> List[str]:
    """The CPU's feature flags as Linux lists them (none where there is no such file)."""
    try:
        with open(cpuinfo) as handle:
            return next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return []


def auto_precision(engine: str = "tensorflow", flags: Optional[List[str]] = None, gpus: Optional[int] = None) -> str:
    """What ``auto`` stands for on ``engine``: the faster arithmetic where the CPU computes it natively.

    On LiteRT, ``"int8"`` on a CPU with int8 dot-product instructions (VNNI, Arm's dotprod), ``"float32"``
    otherwise. On TensorFlow, ``"bfloat16"`` on a CPU with native bfloat16 arithmetic when no GPU is
    visible, ``"float32"`` otherwise. Both cost hundredths of a dB (bench/results/precision_quality.md).

    Args:
        engine: ``"litert"`` or ``"tensorflow"``.
        flags: the CPU's feature flags (default: :func:`cpu_flags`).
        gpus: GPUs TensorFlow sees (default: counted, on TensorFlow only).
    """
    flags = cpu_flags() if flags is None else flags
    if engine == "litert":
        return QUANTISED if any(flag in flags for flag in NATIVE_INT8_DOT_FLAGS) else "float32"
    if gpus is None:
        from Utils.native_logs import load_tensorflow
        gpus = len(load_tensorflow().config.list_physical_devices("GPU"))
    return "bfloat16" if not gpus and any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS) else "float32"
