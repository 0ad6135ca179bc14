"""Keras callbacks of a training run: metrics, periodic checkpoints, a NaN guard, spectrogram images."""
import math
from typing import Callable, Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf


class NonFiniteLossError(RuntimeError):
    """A loss or a network's weights became NaN or infinite; the message names it, the step and the last good
    checkpoint."""


def non_finite_networks(model: keras.Model) -> List[str]:
    """The networks of ``model`` (its ``separator`` and ``critics``) with a weight that is NaN or infinite.

    A loss can stay finite while the weights are not: where oneDNN computes ReLU, a NaN activation comes out 0,
    so a separator whose weights went to NaN outputs silence at a finite loss."""
    networks = {"separator": model.separator,
                **{f"{source} critic": critic for source, critic in model.critics.items()}}
    return [name for name, network in networks.items()
            if not all(np.isfinite(weight.numpy()).all() for weight in network.weights)]


class MetricsSink(keras.callbacks.Callback):
    """Sends the named losses to ``log_scalar(name, value, step)`` (Sacred's ``_run.log_scalar``) every ``every`` steps."""

    def __init__(self, log_scalar: Callable[[str, float, int], None], every: int = 10):
        super().__init__()
        self.log_scalar, self.every = log_scalar, every

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if logs and step % self.every == 0:
            for name, value in logs.items():
                self.log_scalar(f"train.{name}", float(value), step)


class TermDiagnostics(keras.callbacks.Callback):
    """Every ``every`` steps sends the model's ``term_diagnostics(batch)`` on a fixed training batch to
    ``log_scalar`` as ``train.<name>`` (what each loss term does to the separator, apart from the update)."""

    def __init__(self, log_scalar: Callable[[str, float, int], None], batch: Dict, every: int = 10):
        super().__init__()
        self.log_scalar, self.batch, self.every = log_scalar, batch, every

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every == 0:
            for name, value in self.model.term_diagnostics(self.batch).items():
                self.log_scalar(f"train.{name}", float(value), step)


class GuardAndCheckpoint(keras.callbacks.Callback):
    """Stops on a non-finite loss or weights (before they are saved) and saves a resumable state every ``every``
    steps."""

    def __init__(self, save: Callable[[], None], every: int, describe_checkpoint: Callable[[], str]):
        super().__init__()
        self.save, self.every, self.describe_checkpoint = save, every, describe_checkpoint

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                raise NonFiniteLossError(f"{name} became {float(value)} at step {step}; training stopped. "
                                         f"{self.describe_checkpoint()}")
        if step % self.every == 0:
            broken = non_finite_networks(self.model)
            if broken:
                raise NonFiniteLossError(f"the weights of the {', '.join(broken)} became NaN or infinite at step "
                                         f"{step}; training stopped. {self.describe_checkpoint()}")
            self.save()


class SpectrogramImages(keras.callbacks.Callback):
    """Every ``every`` steps writes the input mixture and the estimates of a fixed batch to TensorBoard."""

    def __init__(self, log_dir: str, batch: Dict[str, np.ndarray], every: int, count: int = 3):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.batch = {role: value[:count] for role, value in batch.items()}
        self.every = every

    @staticmethod
    def _image(spec) -> tf.Tensor:
        spec = tf.convert_to_tensor(spec, tf.float32)[:, ::-1]  # low frequencies at the bottom
        peak = tf.reduce_max(spec, axis=[1, 2, 3], keepdims=True) + 1e-6
        return spec / peak

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if self.every <= 0 or step % self.every:
            return
        estimates = self.model.separator(self.batch["mixture"], training=False)
        with self.writer.as_default(step=step):
            tf.summary.image("mixture", self._image(self.batch["mixture"]), max_outputs=3)
            for source, estimate in estimates.items():
                tf.summary.image(f"{source}/estimate", self._image(estimate), max_outputs=3)
                if source in self.batch:
                    tf.summary.image(f"{source}/target", self._image(self.batch[source]), max_outputs=3)
        self.writer.flush()


def scalar_writer(log_dir: str) -> Callable[[str, float, int], None]:
    """A ``log_scalar``-like function writing TensorBoard scalars."""
    writer = tf.summary.create_file_writer(log_dir)

    def write(name: str, value: float, step: int) -> None:
        with writer.as_default(step=step):
            tf.summary.scalar(name, value)

    return write


def fan_out(*sinks: Optional[Callable[[str, float, int], None]]) -> Callable[[str, float, int], None]:
    """One ``log_scalar`` that calls several."""
    live = [sink for sink in sinks if sink is not None]

    def log_scalar(name: str, value: float, step: int) -> None:
        for sink in live:
            sink(name, value, step)

    return log_scalar
