"""Where the separator network runs at inference: LiteRT (the default; no TensorFlow) or TensorFlow.

An engine is the network at one inference width as a function of numpy arrays: ``(windows, input bins,
input frames, 1)`` float32 log1p mixture windows in, ``{source: (windows, output bins, output frames)}``
log1p estimates out. The LiteRT engine runs ``<checkpoint stem>.<frames>frames.<precision>.tflite``:
Training.py writes one per precision beside ``best_separator.keras``, and :func:`open_engine` exports one
on first use for older checkpoints (that needs TensorFlow once; separating with it afterwards does not).

Precision (:data:`ENGINE_PRECISIONS`): LiteRT runs float32, or int8 (weights stored in int8, activations
quantised per call: XNNPACK's dynamic-range kernels); it has no bfloat16 arithmetic on x86 CPUs. TensorFlow
runs float32 or bfloat16. ``auto`` picks by the CPU on each (:func:`Utils.hardware.auto_precision`).
Speed and quality of each: bench/results/separate_speed.md and precision_quality.md.
"""
import hashlib
import logging
import os
import tempfile
from typing import Dict, List, Optional

import numpy as np

from Models.geometry import Geometry
from Models.saved_separator import geometry_for, litert_file, load_separator_settings, separator_files
from Utils.files import user_cache, write_atomically
from Utils.hardware import PRECISION_CHOICES, PRECISIONS, QUANTISED, auto_precision
from Utils.native_logs import filtered_native_logs, load_tensorflow

ENGINES = ("litert", "tensorflow")  # what Separator, Separate.py --engine and Evaluate.py take
DEFAULT_ENGINE = "litert"
ENGINE_PRECISIONS = {"litert": ("float32", QUANTISED), "tensorflow": tuple(PRECISIONS)}  # besides "auto"
# Windows per LiteRT call. The export's batch is fixed: with a dynamic batch the transposed convolutions'
# output shapes are computed at run time and XNNPACK leaves them out (slower). One window per call was the
# fastest (a window's activations stay in the caches); both measured in bench/results/separate_speed_findings.md
# and bench/README.md. A short file computes only the windows it has. Older exports of 4 windows still run, padded.
LITERT_BATCH = 1
DIGEST_SUFFIX = ".sha256"  # beside an export: the digest of the checkpoint it was made from
TENSORFLOW_CALLS = 2  # calls in flight: one's serial steps (copies, concatenations) overlap the other's convolutions
log = logging.getLogger(__name__)


def unoffered_precision(engine: str, precision: str) -> Optional[str]:
    """Why ``engine`` cannot run ``precision`` (and which engine can), or ``None`` where it can."""
    offered = ENGINE_PRECISIONS[engine]
    if precision == "auto" or precision in offered:
        return None
    other = next(name for name, precisions in ENGINE_PRECISIONS.items() if precision in precisions)
    return f"precision {precision} runs on the {other} engine (the {engine} engine offers {', '.join(offered)})"


class LiteRTEngine:
    """The network exported for LiteRT, run by its XNNPACK CPU kernels.

    Args:
        path: the ``.tflite`` file (:func:`export_litert`).
        geometry: the network's geometry at the export's width.
        precision: the export's, ``"float32"`` or ``"int8"``.
        threads: CPU threads (default: all cores).
    """
    name = "litert"
    concurrent_calls = 1  # an interpreter runs one call at a time; XNNPACK spreads it over the threads

    def __init__(self, path: str, geometry: Geometry, precision: str = "float32", threads: Optional[int] = None):
        from ai_edge_litert.interpreter import Interpreter
        try:
            with filtered_native_logs():  # its note on the XNNPACK delegate, which comes with the allocation
                interpreter = Interpreter(model_path=path, num_threads=threads or os.cpu_count() or 1)
                interpreter.allocate_tensors()  # the delegate made here, not in a first call (a window's work)
                self._run = interpreter.get_signature_runner()
                (name, details), = self._run.get_input_details().items()
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{path}: not a LiteRT separator ({error}); delete it and it is exported again") from None
        self._input, self.batch, self.geometry, self.precision = name, int(details["shape"][0]), geometry, precision
        if tuple(details["shape"][1:3]) != tuple(geometry.input_shape):
            raise ValueError(f"{path}: its windows are {tuple(details['shape'][1:3])}, the separator's "
                             f"{tuple(geometry.input_shape)}; delete it and it is exported again")

    def __call__(self, windows: np.ndarray) -> Dict[str, np.ndarray]:
        count = len(windows)
        padded = np.pad(windows, [(0, -count % self.batch)] + [(0, 0)] * (windows.ndim - 1)) if count % self.batch \
            else windows  # whole batches
        calls = [self._run(**{self._input: padded[first:first + self.batch]})
                 for first in range(0, len(padded), self.batch)]
        return {source: np.concatenate([call[source] for call in calls])[:count, ..., 0] for source in calls[0]}


class TensorFlowEngine:
    """The Keras network in TensorFlow, float32 or bfloat16.

    Args:
        weights: a separator network of any output width (its weights are reused).
        settings: the hyperparameters saved beside it.
        output_frames: output frames per window.
        precision: ``"float32"``, ``"bfloat16"`` or ``"auto"``.
    """
    name = "tensorflow"
    concurrent_calls = TENSORFLOW_CALLS
    batch = None  # any number of windows per call

    def __init__(self, weights, settings: Dict, output_frames: int, precision: str = "float32"):
        tf = load_tensorflow()
        from Models.build import build_separator
        self.precision = auto_precision("tensorflow") if precision == "auto" else precision
        self.network, self.geometry = build_separator(settings, output_frames, PRECISIONS[self.precision])
        self.network.set_weights(weights.get_weights())
        # Any number of windows, one trace: a new batch size would otherwise cost a retrace per song.
        spec = tf.TensorSpec([None, *self.geometry.input_shape, 1], tf.float32)
        self._predict = tf.function(lambda x: self.network(x, training=False), input_signature=[spec])

    def __call__(self, windows: np.ndarray) -> Dict[str, np.ndarray]:
        return {source: value.numpy()[..., 0] for source, value in self._predict(windows).items()}


def export_litert(weights, settings: Dict, paths: Dict[str, str], output_frames: Optional[int] = None,
                  batch: int = LITERT_BATCH, made_from: Optional[str] = None) -> List[str]:
    """Writes the separator as LiteRT models (``batch`` windows of ``output_frames`` output frames per call),
    one per precision, each atomically; one TensorFlow SavedModel serves every conversion.

    Args:
        weights: a separator network of any output width.
        settings: the hyperparameters saved beside it.
        paths: ``{precision: .tflite file}``, precisions ``"float32"`` or ``"int8"`` (the converter's
            dynamic-range quantisation).
        output_frames: output frames per window (default: ``settings["inference_frames"]``).
        batch: windows per call.
        made_from: the ``.keras`` file the weights come from: each export records its content's digest
            (``<export>.sha256``), so that a copied or replaced checkpoint is recognised by content.

    Returns:
        the files written.

    Raises:
        ValueError: the weights are not all finite (a diverged run; the converter would crash on them).
    """
    values = weights.get_weights()
    if not all(np.isfinite(value).all() for value in values):
        raise ValueError(f"{', '.join(paths.values())}: not exported, as the separator's weights are not all "
                         f"finite (a diverged run)")
    tf = load_tensorflow()
    from Models.build import build_separator
    network, geometry = build_separator(settings, output_frames or settings["inference_frames"], "float32")
    network.set_weights(values)
    network = upconvolutions_as_depth_to_space(network, tf)
    spec = tf.TensorSpec([batch, *geometry.input_shape, 1], tf.float32, name="mixture")
    quiet = logging.getLogger("tensorflow")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # "Assets written to <a temporary folder>" is no user's business
    with tempfile.TemporaryDirectory() as folder, filtered_native_logs():  # the converter's warnings
        network.export(folder, format="tf_saved_model", verbose=False, input_signature=[spec])
        for precision, path in paths.items():
            converter = tf.lite.TFLiteConverter.from_saved_model(folder)
            if precision == QUANTISED:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]  # without a dataset: dynamic range
            content = converter.convert()
            write_atomically(path, lambda handle: handle.write(content))
            if made_from:
                write_atomically(path + DIGEST_SUFFIX, lambda handle: handle.write(file_digest(made_from).encode()))
    quiet.setLevel(level)
    return list(paths.values())


def upconvolutions_as_depth_to_space(network, tf):
    """The same network with each up-convolution (kernel 2, stride 2) as a 1x1 convolution to four times the
    channels followed by ``depth_to_space``, for export: its kernel positions do not overlap, so the two are
    one map (the same outputs to the bit in float32), and XNNPACK runs the second faster (its transposed
    convolutions take a one-row int8 kernel). Other layers are copied as they are."""
    import keras

    class UpConvolution(keras.layers.Layer):
        def __init__(self, filters: int, **kwargs):
            super().__init__(**kwargs)
            self.convolution = keras.layers.Conv2D(4 * filters, 1, activation="relu")

        def build(self, input_shape):
            self.convolution.build(input_shape)

        def call(self, x):
            return tf.nn.depth_to_space(self.convolution(x), 2)  # channel (2 row + column) * filters + filter

    def replaces(layer) -> bool:
        config = layer.get_config()
        return (isinstance(layer, keras.layers.Conv2DTranspose) and tuple(config["kernel_size"]) == (2, 2)
                and tuple(config["strides"]) == (2, 2) and config["activation"] == "relu" and config["use_bias"]
                and config["data_format"] == "channels_last")

    rewritten = keras.models.clone_model(network, clone_function=lambda layer: UpConvolution(
        layer.filters, name=layer.name) if replaces(layer) else layer.__class__.from_config(layer.get_config()))
    for layer, new in zip(network.layers, rewritten.layers):
        if replaces(layer):
            kernel, bias = layer.get_weights()  # (row, column, filters, inputs), (filters,)
            columns = np.transpose(kernel, (3, 0, 1, 2)).reshape(kernel.shape[3], -1)  # (inputs, 4 filters)
            new.convolution.set_weights([columns[None, None], np.tile(bias, 4)])
        elif layer.weights:
            new.set_weights(layer.get_weights())
    return rewritten


def file_digest(path: str) -> str:
    """The SHA-256 of a file's content, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_matches(path: str, keras_path: str) -> bool:
    """Whether the LiteRT export ``path`` was made from the checkpoint ``keras_path`` as it is now: by the
    content digest it recorded (an export written before digests were recorded: by being the newer file)."""
    if not os.path.isfile(path):
        return False
    if not os.path.isfile(keras_path):
        return True  # a separation-only install may hold the export and the JSON without the .keras
    try:
        with open(path + DIGEST_SUFFIX) as handle:
            return handle.read().strip() == file_digest(keras_path)
    except FileNotFoundError:
        return os.path.getmtime(path) >= os.path.getmtime(keras_path)


def export_cache(keras_path: str, output_frames: int, precision: str) -> str:
    """Where the export of a checkpoint whose own folder is read-only is kept, keyed by its content (the user's
    cache folder, as pip and torch keep theirs)."""
    return user_cache("litert", f"{file_digest(keras_path)}.{output_frames}frames.{precision}.tflite")


def saved_network(checkpoint: str):
    """The Keras network of a saved separator. TensorFlow loads first through ``load_tensorflow``: Keras would
    load it unfiltered, and its start-up lines (the oneDNN note, where oneDNN is on) would reach stderr."""
    load_tensorflow()
    from Models.build import load_separator_weights
    return load_separator_weights(checkpoint)


def export_for_litert(checkpoint: str) -> List[str]:
    """Writes a saved separator's LiteRT exports beside it, one per precision LiteRT offers, at its inference
    width (what Separate.py runs by default, also where TensorFlow is not installed); returns their paths,
    none (with a warning) where the weights are not finite."""
    settings, weights = load_separator_settings(checkpoint), saved_network(checkpoint)
    paths = {precision: litert_file(checkpoint, settings["inference_frames"], precision)
             for precision in ENGINE_PRECISIONS["litert"]}
    try:
        return export_litert(weights, settings, paths, made_from=separator_files(checkpoint)[0])
    except ValueError as error:
        log.warning("%s", error)
        return []


def litert_model(checkpoint: str, settings: Dict, output_frames: int, precision: str = "float32") -> str:
    """The LiteRT export of ``checkpoint`` at ``output_frames`` and ``precision``: the one beside it if it was
    made from the checkpoint's content, else exported now, once (beside it, or where its folder is read-only
    into the user's cache, :func:`export_cache`).

    Raises:
        ImportError: an export is needed and TensorFlow is not installed (the message says what to do).
    """
    keras_path = separator_files(checkpoint)[0]
    path = litert_file(checkpoint, output_frames, precision)
    if export_matches(path, keras_path):
        return path
    cached = export_cache(keras_path, output_frames, precision)
    if os.path.isfile(cached):
        return cached
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up lines are not the user's business
    try:
        load_tensorflow()
    except ImportError:
        state = "was not made from" if os.path.isfile(path) else "is not beside"
        raise ImportError(f"{path} {state} {keras_path}, and exporting it needs TensorFlow: run Separate.py once "
                          f"with the full install (requirements.txt), or copy the .tflite Training.py wrote") from None
    weights = saved_network(checkpoint)
    log.info("exporting %s for LiteRT (once)", keras_path)
    try:
        return export_litert(weights, settings, {precision: path}, output_frames, made_from=keras_path)[0]
    except OSError:
        log.info("%s cannot be written: the export is kept in %s", path, cached)
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        return export_litert(weights, settings, {precision: cached}, output_frames, made_from=keras_path)[0]


def open_engine(checkpoint: str, settings: Dict, engine: str = DEFAULT_ENGINE, precision: str = "auto",
                output_frames: Optional[int] = None):
    """The network of a saved separator on ``engine`` (``"litert"`` or ``"tensorflow"``).

    LiteRT falls back to TensorFlow, with a warning, where ``ai-edge-litert`` is not installed.

    Raises:
        ValueError: an unknown engine or precision, a precision the engine does not offer, or an unreadable model.
        ImportError: LiteRT needs an export and TensorFlow is missing (the message says what to do).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: use one of {', '.join(ENGINES)}")
    if precision not in PRECISION_CHOICES:
        raise ValueError(f"precision={precision!r}: use one of {', '.join(PRECISION_CHOICES)}")
    if unoffered_precision(engine, precision):
        raise ValueError(unoffered_precision(engine, precision))
    output_frames = output_frames or settings["inference_frames"]
    if engine == "litert":
        precision = auto_precision("litert") if precision == "auto" else precision
        try:
            import ai_edge_litert  # noqa: F401
        except ImportError:
            if precision == QUANTISED:
                raise ImportError("precision int8 runs on LiteRT: pip install ai-edge-litert") from None
            log.warning("ai-edge-litert is not installed: the network runs on TensorFlow")
        else:
            geometry = geometry_for(settings, output_frames)
            return LiteRTEngine(litert_model(checkpoint, settings, output_frames, precision), geometry, precision)
    return TensorFlowEngine(saved_network(checkpoint), settings, output_frames, precision)
