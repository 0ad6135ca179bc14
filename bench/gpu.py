"""One command for a GPU lent for a few minutes: what training and separation do on it.

    python -m bench.gpu             # the paper's config on the demo corpus: about 5 minutes on one GPU
    python -m bench.gpu --smoke     # every row for 2 steps at cfg.demo's sizes: a check on any machine, CPU too

Rows:
- training steps/s of cfg.sup and cfg.semi_sup with memory streams, in float32 and in mixed float16, with
  XLA on and off: 'compute' repeats one batch already in memory, 'with input' reads the real streams,
  and 'waiting' is the share of time the step waited for them;
- separating a 3-minute 44.1 kHz stereo song with ``Separate.py`` as a whole process, on TensorFlow (the
  GPU) and on LiteRT (the CPU), in float32.

During each row ``nvidia-smi`` is sampled every 200 ms: the GPU's mean utilisation and its peak memory
(none on a machine without it). Writes ``bench/results/gpu{,_smoke}.{md,csv}``.
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Callable, List, Tuple

from bench.common import Timer, demo_corpus, report


class GPUSampler:
    """``with GPUSampler() as gpu: ...`` then ``gpu.utilisation`` (mean %) and ``gpu.memory`` (peak MiB), or
    None each where nvidia-smi is missing or said nothing."""

    def __init__(self):
        self.samples: List[Tuple[float, float]] = []
        self.utilisation = self.memory = None

    def __enter__(self):
        command = shutil.which("nvidia-smi")
        self._process = subprocess.Popen(
            [command, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits", "-lms", "200"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) if command else None
        if self._process:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self):
        for line in self._process.stdout:
            try:
                utilisation, memory = (float(v) for v in line.split(",")[:2])
            except ValueError:
                continue
            self.samples.append((utilisation, memory))

    def __exit__(self, *exc):
        if self._process:
            self._process.terminate()
            self._process.wait()
            self._reader.join(timeout=2)
        if self.samples:
            self.utilisation = sum(u for u, _ in self.samples) / len(self.samples)
            self.memory = max(m for _, m in self.samples)


def training_row(label: str, semi: bool, mixed: bool, xla: bool, steps: int) -> List:
    """One training row: steps/s from memory and with the real streams, the input wait, the GPU's use."""
    import keras

    from bench.configs import config_for
    from bench.train_speed import StepClock
    from Input.datasets.partition import partitions_from_config
    from Input.streams.settings import StreamSettings
    from Input.streams.training_input import TrainingInput
    from Models.build import build_training_model
    from Utils.native_logs import load_tensorflow
    tf = load_tensorflow()
    config = config_for(label, semi_supervised=semi, mixed_precision=mixed, stream_source="memory")
    try:
        model, geometry = build_training_model(config)
        model.jit_compile = xla
        partitions, settings = partitions_from_config(config, progress=False), StreamSettings.from_config(config)
        data = TrainingInput(partitions, config["sources"], geometry, settings, 1, semi, config["n_critic"],
                             in_memory=True, progress=False).segment(0)
        synthetic = tf.data.Dataset.from_tensors(next(iter(data))).repeat()
        model.fit(synthetic, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)  # trace and compile once
        with GPUSampler() as gpu, Timer() as compute:
            model.fit(synthetic, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        clock = StepClock(warmup=2)
        model.fit(data, steps_per_epoch=steps + clock.warmup, epochs=1, verbose=0, callbacks=[clock], shuffle=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    step, real_step = compute.seconds / steps, clock.seconds / steps
    return ["train", "semi_sup" if semi else "sup", "mixed float16" if mixed else "float32", "on" if xla else "off",
            steps, 1 / step, 1 / real_step, f"{100 * max(0.0, 1 - step / real_step):.0f}%", *_gpu_cells(gpu)]


def separation_row(engine: str, song: str, model: str, out: str) -> List:
    """Separate.py on ``song`` as a whole process (wall seconds), on ``engine`` in float32."""
    from bench.separate_speed import separate_command
    with GPUSampler() as gpu:
        seconds, _ = separate_command(model, song, out, "--engine", engine, "--precision", "float32")
    return ["separate", engine, "float32", "-", 1, 1 / seconds, "-", "-", *_gpu_cells(gpu)]


def _gpu_cells(gpu: GPUSampler) -> List:
    return ["-" if gpu.utilisation is None else f"{gpu.utilisation:.0f}%",
            "-" if gpu.memory is None else f"{gpu.memory:.0f}"]


def rows_for(smoke: bool) -> List[Tuple[str, Callable[[], List]]]:
    """The rows to measure: ``(name, measure)``."""
    label, steps = ("demo", 2) if smoke else ("paper", 30)
    rows = [(f"train {'semi_sup' if semi else 'sup'} {'mixed' if mixed else 'float32'} xla={xla}",
             lambda semi=semi, mixed=mixed, xla=xla: training_row(label, semi, mixed, xla, steps))
            for semi in (False, True) for mixed in (False, True) for xla in (True, False)]
    return rows


def has_gpu() -> bool:
    """Whether TensorFlow sees a GPU here."""
    from Utils.native_logs import load_tensorflow
    return bool(load_tensorflow().config.list_physical_devices("GPU"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="every row for 2 steps at cfg.demo's sizes (any machine)")
    args = parser.parse_args(argv)
    demo_corpus()
    rows = []
    for name, measure in rows_for(args.smoke):
        print(f"measuring {name}", flush=True)
        rows.append(measure())
    from bench.separate_speed import make_song, paper_separator
    with tempfile.TemporaryDirectory() as folder:
        song = os.path.join(folder, "song.wav")
        make_song(song, 10 / 60 if args.smoke else 3.0)
        model = paper_separator(folder)
        for engine in ("tensorflow", "litert"):
            print(f"measuring separation on {engine}", flush=True)
            rows.append(separation_row(engine, song, model, os.path.join(folder, engine)))
    name = "gpu_smoke" if args.smoke else "gpu"
    report(name, "Training and separation on this machine's GPU" + (" (smoke: 2 steps, cfg.demo sizes)" if args.smoke
                                                                     else ""),
           ["task", "method or engine", "precision", "XLA", "steps", "steps/s or files/s (compute)",
            "steps/s (with input)", "waiting for input", "GPU utilisation", "GPU memory (MiB)"], rows,
           "python -m bench.gpu" + (" --smoke" if args.smoke else ""),
           ("Smoke: cfg.demo's sizes, 2 steps per row, a 10 s song: a check that every row runs, not a measurement."
            if args.smoke else "Training: the paper's config (batch 64, 10 s excerpts, 5 critic steps) on the demo "
            "corpus, memory streams. Separation: a 3-minute 44.1 kHz stereo song, Separate.py as a whole process "
            "(files/s)."))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
