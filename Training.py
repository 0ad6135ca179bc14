"""Trains the separator, supervised (``cfg.sup``) or semi-supervised adversarially (``cfg.semi_sup``).

    python Training.py with cfg.semi_sup                 # the paper's method
    python Training.py with cfg.sup                      # the supervised baseline
    python Training.py with cfg.semi_sup cfg.demo        # on the built-in demo corpus (make demo)
    python Training.py with cfg.semi_sup resume=runs/3   # continue an interrupted run
    python Training.py with cfg.semi_sup deterministic=True  # the same seed repeats the run exactly
    TF_CONFIG=... python Training.py with cfg.semi_sup cfg.distribute=multi_worker  # on each worker

Epochs of ``epoch_it`` separator steps, validation loss after each, best model kept, early stopping
with ``patience``, then the best model is evaluated on the test partition (Evaluate.py's code). The
weights at the stop are kept too, as ``last_separator.keras`` (for comparisons at a fixed budget).
Everything lands in the run folder ``runs/<id>/`` (and in MongoDB with ``-m`` or ``MONGO_URL``).
"""
import logging
import math
import os
import shutil
import sys
import tempfile
from typing import Callable, Optional, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sacred import SETTINGS, Experiment
from sacred.utils import apply_backspaces_and_linefeeds

from Config import cfg, reject_invalid_seed, reject_unknown_options
from Runs import cluster
from Runs.folders import BEST_MODEL, LAST_MODEL, best_model_for
from Runs.observers import attach_observers, hide_result_line, report_header, run_folder
from Utils.process import run_and_exit

SETTINGS.CAPTURE_MODE = "sys"  # fd capture waits on the evaluation's worker processes at exit
ex = Experiment("adversarial_separation", ingredients=[cfg])
reject_unknown_options(ex, "Training.py")
ex.captured_out_filter = apply_backspaces_and_linefeeds
hide_result_line(ex)
log = logging.getLogger("training")


@ex.config
def run_options():
    resume = None        # run folder or checkpoint folder to continue from (same config)
    evaluate = True      # evaluate the best model on the test partition at the end
    progress = True      # progress bars (Keras) during epochs
    deterministic = False  # a seed repeats the run exactly: one inter-op thread (semi-supervised steps ~1.5x slower)


def check_resumable(cfg, found: str, resume: str) -> None:
    """Stops with one line naming them when settings that a resumed run must keep (``RESUME_FIXED_KEYS``)
    differ from those of the run that wrote the checkpoint ``found`` (its run folder's config.json)."""
    import json
    from Config import RESUME_FIXED_KEYS
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(found)), "config.json")) as handle:
            before = json.load(handle)["cfg"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # a checkpoint folder on its own: its shapes are still checked as it loads
    changed = [key for key in RESUME_FIXED_KEYS if key in before and before[key] != cfg[key]]
    if changed:
        raise SystemExit(f"error: resume={resume}: {', '.join(f'cfg.{key}' for key in changed)} cannot change when a "
                         f"run is resumed (it was {before[changed[0]]!r}, now {cfg[changed[0]]!r}); give the "
                         f"settings the run was started with, or start a new run")


def resumable_state(cfg, resume: str) -> str:
    """The checkpoint's state.json that ``resume`` names, once its run's fixed settings are checked against the
    config: a run that cannot resume stops with one line before any data is read."""
    from Runs import checkpoint
    found = checkpoint.find_state(resume)
    if found is None:
        raise SystemExit(f"error: resume={resume}: no checkpoint (state.json and state.npz) there or in "
                         f"{os.path.join(resume, 'checkpoint')}")
    check_resumable(cfg, found, resume)
    return found


def restore(model, cfg, resume: str, found: str, folder: str, best_path: str) -> dict:
    """Loads the resumable state ``found`` (of ``resume``) into ``model``; returns its counters (the best model
    moves along). The learning rates are the config's, so that a resume may change them."""
    from Models.saved_separator import separator_files
    from Runs import checkpoint
    try:
        counters = checkpoint.load_state(found, model)
    except checkpoint.CheckpointError as error:
        raise SystemExit(f"error: resume={resume}: {error}") from None
    model.optimizer.learning_rate.assign(cfg["separator_lr"])
    for optimizer in getattr(model, "critic_optimizers", {}).values():
        optimizer.learning_rate.assign(cfg["critic_lr"])
    print(f"resumed from {found} at epoch {counters['epoch']}, step {int(model.optimizer.iterations.numpy())}")
    previous = counters.get("best_path")
    if previous and os.path.isfile(previous) and os.path.abspath(previous) != os.path.abspath(best_path):
        # The best models so far move into this run's folder; the old run's folder is left as it was.
        names = [(previous, best_path)] + [
            (os.path.join(os.path.dirname(previous), best_model_for(d)), os.path.join(folder, best_model_for(d)))
            for d in counters.get("best_by_dataset", {})]
        for old_model, new_model in names:
            for source, target in zip(separator_files(old_model), separator_files(new_model)):
                shutil.copyfile(source, target)
    counters["run_folder"] = folder
    return counters


def optimise(model, cfg, batches: Callable, valid_data, valid_steps: int, counters: dict, callbacks, save_state,
             log_scalar, best_path: str, progress: bool, valid_by_dataset: Optional[dict] = None) -> None:
    """Epochs of ``epoch_it`` separator steps until early stopping: validates after each, keeps the best model.

    Each epoch reads fresh excerpts: its input is ``batches(plan)`` for the :func:`Input.streams.training_input.segment_plan`
    from the current step to the epoch's end, cut at every periodic checkpoint (so a resumed run continues the
    same excerpts, from any checkpoint). ``valid_by_dataset`` (``{dataset: (batches, steps)}``) adds each
    dataset's loss and best model.
    """
    from Input.streams.training_input import segment_plan
    from Models.build import save_separator
    while not cfg["max_epochs"] or counters["epoch"] < cfg["max_epochs"]:
        step = int(model.optimizer.iterations.numpy())
        end = cfg["epoch_it"] * (counters["epoch"] + 1)
        print(f"epoch {counters['epoch'] + 1}: {end - step} separator steps")
        if end > step:  # none left when a run was stopped between its epoch's last step and the validation
            plan = segment_plan(step, end, cfg["checkpoint_every"], epoch_start=end - cfg["epoch_it"])
            model.fit(batches(plan), steps_per_epoch=end - step, epochs=1, verbose=1 if progress else 2,
                      callbacks=callbacks, shuffle=False)
        validation = model.evaluate(valid_data, steps=valid_steps, verbose=0, return_dict=True)
        valid_loss = float(validation["sup_loss"])
        dead = [s for s in cfg["sources"] if float(validation[f"{s}_estimate_peak"]) == 0.0]
        if dead:
            # A ReLU output head that went negative everywhere gets no gradient from L_s again (seen with the
            # authors' head initialisation at every learning rate tried: bench/results/semi_vs_sup_findings.md).
            print(f"warning: the separator's {', '.join(dead)} estimates are all zero on the validation songs: "
                  f"a dead output head, which L_s cannot revive; lower cfg.separator_lr or set "
                  f"cfg.head_init=non_negative", file=sys.stderr)
        if not math.isfinite(valid_loss):
            raise SystemExit(f"error: validation loss is {valid_loss}; the last good checkpoint is "
                             f"{os.path.join(counters['run_folder'], 'checkpoint')}")
        step = int(model.optimizer.iterations.numpy())
        log_scalar("valid.sup_loss", valid_loss, step)
        counters["epoch"] += 1
        counters["history"].append({"epoch": counters["epoch"], "step": step, "valid_loss": valid_loss,
                                    "dead_heads": dead})
        if valid_by_dataset:
            keep_best_by_dataset(model, cfg, valid_by_dataset, counters, os.path.dirname(best_path), log_scalar, step)
        if counters["best_loss"] is None or valid_loss < counters["best_loss"]:
            print(f"validation loss improved to {valid_loss:.6f}; saving {best_path}")
            counters.update(best_loss=valid_loss, worse_epochs=0, best_step=step)
            save_separator(model.separator, cfg, best_path)
        else:
            counters["worse_epochs"] += 1
            print(f"validation loss {valid_loss:.6f} is worse than the best {counters['best_loss']:.6f}")
        save_state()
        if counters["worse_epochs"] >= max(cfg["patience"], 1):
            print("early stopping")
            break


def keep_best_by_dataset(model, cfg, valid_by_dataset: dict, counters: dict, folder: str, log_scalar,
                         step: int) -> None:
    """Each dataset's validation loss into the epoch's history, and its best model so far into
    ``best_separator.<dataset>.keras`` (cfg.valid_by_dataset)."""
    from Models.build import save_separator
    losses = {name: float(model.evaluate(data, steps=steps, verbose=0, return_dict=True)["sup_loss"])
              for name, (data, steps) in valid_by_dataset.items()}
    counters["history"][-1]["valid_loss_by_dataset"] = losses
    best = counters.setdefault("best_by_dataset", {})
    for name, loss in losses.items():
        log_scalar(f"valid.{name}.sup_loss", loss, step)
        if name not in best or loss < best[name]["loss"]:
            best[name] = {"loss": loss, "epoch": counters["epoch"]}
            save_separator(model.separator, cfg, os.path.join(folder, best_model_for(name)))


def resumed_seed(resume: Optional[str], seed: int) -> int:
    """The seed of the run being resumed (its excerpt streams and penalty points continue), else ``seed``."""
    from Runs import checkpoint
    found = checkpoint.find_state(resume) if resume else None
    if not found:
        return seed
    try:
        return checkpoint.read_counters(found).get("seed", seed)
    except checkpoint.CheckpointError as error:
        raise SystemExit(f"error: resume={resume}: {error}") from None


def read_partitions(cfg, _run, progress: bool = True):
    """The run's partitions (printed, and recorded in the run's info); a dataset problem is one line."""
    from Input.datasets import DatasetError
    from Input.datasets.partition import partitions_from_config
    from Input.demo.corpus import render_if_asked
    try:
        render_if_asked(cfg, progress=progress)
        partitions = partitions_from_config(cfg, progress=progress)
    except DatasetError as error:
        raise SystemExit(f"error: {error}")
    print(partitions.table())
    _run.info["partitions"] = partitions.summary()
    _run.info["paired_songs"] = [track.name for track in partitions.train_sup]
    _run.info["skipped_files"] = list(partitions.skipped)
    _run.info["unlisted_songs"] = list(partitions.unlisted)
    return partitions


def build_inputs(cfg, partitions, geometry, seed: int, worker: int = 0, workers: int = 1, progress: bool = True):
    """``(training input, cached validation batches, validation steps, stream source)``; missing data is one line.

    With several workers, each reads its share of the batch with its own seed (the chief's is ``seed``)."""
    import dataclasses
    from Input.streams.memory import stream_source_for
    from Input.streams.files import validation_stream
    from Input.streams.settings import StreamSettings
    from Input.streams.training_input import TrainingInput
    settings = StreamSettings.from_config(cfg)
    source, needed = stream_source_for(partitions, cfg["sources"], cfg["semi_supervised"], geometry, settings,
                                       "memory" if cfg["data_service"] else cfg["stream_source"])
    print(f"training streams read from {source}" + (f" ({needed / 2 ** 30:.2f} GB of spectrograms)"
                                                     if source == "memory" else ""))
    if cfg["batch_size"] % workers:
        raise SystemExit(f"error: cfg.batch_size={cfg['batch_size']} is not divisible by the {workers} workers: "
                         f"each reads an equal share of the batch")
    stream_seed = seed if worker == 0 else (seed * 1_000_003 + worker) % 2 ** 31
    try:
        inputs = TrainingInput(partitions, cfg["sources"], geometry,
                               dataclasses.replace(settings, batch_size=cfg["batch_size"] // workers), stream_seed,
                               cfg["semi_supervised"], cfg["n_critic"], source == "memory", progress)
    except ValueError as error:
        raise SystemExit(f"error: {error}")
    valid_data = validation_stream(partitions.valid, cfg["sources"], geometry, settings, partitions.skipped).cache()
    if cfg["validation_batches"]:
        valid_data = valid_data.take(cfg["validation_batches"])
    valid_steps = sum(1 for _ in valid_data)  # fills the cache; evaluate() then knows where it ends
    if valid_steps == 0:
        raise SystemExit("error: the validation partition has no readable audio: add validation songs")
    return inputs, valid_data, valid_steps, source


def evaluate_best(cfg, partitions, best_path: str, folder: str, progress: bool, _run) -> dict:
    """Scores the best model on the test partition (Evaluate.py's code); returns the medians per source."""
    from Input.datasets.track import read_role
    from Models.separator import Separator
    from Evaluation.scores import band_extension_for, evaluate_tracks
    separator = Separator.from_checkpoint(best_path,
                                          band_extension=band_extension_for(cfg["eval_protocol"], cfg["band_extension"]))
    tables = evaluate_tracks(separator, partitions.test, read_role, os.path.join(folder, "evaluation"),
                             cfg["eval_protocol"], cfg["eval_workers"], progress,
                             report_header(_run, best_path, sys.argv))
    for path in tables.files:
        _run.add_artifact(path)
    _run.info["test"] = tables.summary
    print(tables.text)
    print(f"listening report: {tables.files[-1]}")
    return {key: {m: entry[f"{m}_median"] for m in ("SDR", "SIR", "SAR")}
            for key, entry in tables.summary.items() if key.startswith("separator/all/")}


def start_tensorflow(deterministic: bool):
    """TensorFlow, loaded with its start-up lines filtered; with one inter-op thread where ``deterministic``."""
    from Utils.native_logs import load_tensorflow
    tf = load_tensorflow()
    if deterministic:
        # With ops running side by side on two inter-op threads, 8 repeats of 40 semi-supervised steps from
        # one state gave at least 3 different results; with one inter-op thread, all 8 were equal.
        try:
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            raise SystemExit("error: deterministic=True must take effect before TensorFlow starts, and it has "
                             "started already; run Training.py as a command") from None
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # not a line per all-reduce or exported asset
    return tf


def feeds(cfg, inputs, valid_data, strategy, worker: int, workers: int, _run) -> Tuple[Callable, object]:
    """``(plan -> training batches, validation batches)``: from this process's streams, from the tf.data
    service, and spread over the workers of a multi-worker run (each worker its own excerpts; every worker
    validates on all the validation songs)."""
    from Input.streams.service import served_batches
    batches, validation = inputs.steps, valid_data
    if cfg["data_service"]:
        batches = served_batches(inputs.steps, cfg["data_service"])
        print(f"training batches from the tf.data service at {cfg['data_service']}")
        _run.info["data_service"] = cfg["data_service"]
    if cfg["distribute"] == "multi_worker":
        read = batches
        batches = lambda plan: strategy.distribute_datasets_from_function(lambda context: read(plan))
        validation = strategy.distribute_datasets_from_function(lambda context: valid_data)
        print(f"worker {worker} of {workers}: {cfg['batch_size'] // workers} examples of each batch of "
              f"{cfg['batch_size']}" + ("" if worker == 0 else "; the chief (worker 0) writes the run"))
    return batches, validation


def training_callbacks(cfg, folder: str, save_state: Callable, log_scalar: Callable, valid_data, inputs,
                       worker: int) -> list:
    """The checkpoints (on every worker); metrics, images and the loss terms' diagnostics (on the chief)."""
    from Runs import checkpoint
    from Runs.callbacks import GuardAndCheckpoint, MetricsSink, SpectrogramImages, TermDiagnostics
    state_dir = os.path.join(folder, "checkpoint")
    callbacks = [GuardAndCheckpoint(save_state, cfg["checkpoint_every"],
                                    lambda: (f"The last good checkpoint is {state_dir} (resume={folder})."
                                             if checkpoint.find_state(state_dir) else "No checkpoint was saved yet."))]
    if worker == 0:
        callbacks += [MetricsSink(log_scalar, every=10),
                      SpectrogramImages(os.path.join(folder, "tensorboard", "images"), next(iter(valid_data)),
                                        cfg["image_every"])]
        if cfg["semi_supervised"] and cfg["diagnostics_every"]:  # its fixed batch is drawn by an input of its own
            callbacks.append(TermDiagnostics(log_scalar, next(iter(inputs.segment(0))), cfg["diagnostics_every"]))
    return callbacks


def keep_models(model, cfg, partitions, best_path: str, folder: str, evaluate: bool, progress: bool, _run,
                result: dict) -> dict:
    """The chief's end: the last weights saved beside the best, the best's files (and LiteRT export) as
    artifacts, and the best model scored on the test songs."""
    from Models.build import save_separator
    from Models.engines import export_for_litert
    from Models.saved_separator import separator_files
    save_separator(model.separator, cfg, os.path.join(folder, LAST_MODEL))
    for path in (*separator_files(best_path), *(export_for_litert(best_path) if cfg["litert_export"] else [])):
        _run.add_artifact(path, os.path.basename(path))
    if evaluate and partitions.test:
        result["test"] = evaluate_best(cfg, partitions, best_path, folder, progress, _run)
    return result


@ex.main
def train(cfg, resume, evaluate, progress, deterministic, _run, _seed):
    tf = start_tensorflow(deterministic)  # first: its start-up lines are filtered
    import keras

    from Input.streams.service import check_dispatcher
    from Input.streams.training_input import validation_by_dataset
    from Models.build import build_training_model, weights_digest
    from Runs import checkpoint
    from Runs.callbacks import NonFiniteLossError, fan_out, scalar_writer
    from Runs.folders import run_location

    try:
        resume = run_location(resume)
        found = resumable_state(cfg, resume) if resume else None
        if cfg["data_service"]:
            check_dispatcher(cfg["data_service"])  # before any data is read
        strategy = cluster.distribution_strategy(cfg)  # before other TensorFlow ops (a multi-worker strategy)
    except (ValueError, ConnectionError, cluster.ClusterError) as error:
        raise SystemExit(f"error: {'resume=' if isinstance(error, ValueError) else ''}{error}") from None
    multi_worker = cfg["distribute"] == "multi_worker"
    worker, workers = cluster.worker_index(cfg["cluster"]) if multi_worker else (0, 1)
    # Only the chief writes the run; another worker's checkpoints and models go to a folder removed at the end.
    folder = run_folder(_run) if worker == 0 else tempfile.mkdtemp(prefix=f"worker{worker}-")
    state_dir, best_path = os.path.join(folder, "checkpoint"), os.path.join(folder, BEST_MODEL)
    seed = _run.info["seed"] = resumed_seed(resume, _seed)
    keras.utils.set_random_seed(seed)
    partitions = read_partitions(cfg, _run, progress)
    with strategy.scope():
        model, geometry = build_training_model(cfg, seed)
    inputs, valid_data, valid_steps, _run.info["stream_source"] = build_inputs(cfg, partitions, geometry, seed, worker,
                                                                              workers, progress)
    batches, validation = feeds(cfg, inputs, valid_data, strategy, worker, workers, _run)
    counters = (restore(model, cfg, resume, found, folder, best_path) if resume else
                {"epoch": 0, "best_loss": None, "worse_epochs": 0, "history": [], "run_folder": folder})

    def save_state():
        checkpoint.save_state(state_dir, model, {**counters, "best_path": best_path, "seed": seed,
                                                 "step": int(model.optimizer.iterations.numpy())})

    log_scalar = fan_out(_run.log_scalar, scalar_writer(os.path.join(folder, "tensorboard")))
    try:
        optimise(model, cfg, batches, validation, valid_steps, counters,
                 training_callbacks(cfg, folder, save_state, log_scalar, valid_data, inputs, worker), save_state,
                 log_scalar, best_path, progress, validation_by_dataset(cfg, partitions.valid, geometry))
    except tf.errors.OpError as error:
        if not (multi_worker and cluster.is_peer_failure(error)):
            raise
        raise SystemExit(cluster.peer_failure_stop(error, worker, int(model.optimizer.iterations.numpy()),
                                                   folder)) from None
    except KeyboardInterrupt:
        save_state()
        print(f"interrupted: state saved in {state_dir}; continue with resume={folder}", file=sys.stderr)
        raise
    except NonFiniteLossError as error:
        _run.info["stopped"] = str(error)
        raise SystemExit(f"error: {error}")
    finally:
        _run.info["skipped_files"] = list(partitions.skipped) + inputs.failed
        _run.info["skipped_count"] = len(_run.info["skipped_files"])
        _run.info["history"] = counters["history"]
        if worker != 0:
            shutil.rmtree(folder, ignore_errors=True)

    result = {"best_valid_loss": counters["best_loss"], "epochs": counters["epoch"],
              "steps": int(model.optimizer.iterations.numpy()), "weights_digest": weights_digest(model.separator)}
    print(f"separator weights digest {result['weights_digest']} (equal on every worker of a multi-worker run)")
    if worker != 0:
        return result
    return keep_models(model, cfg, partitions, best_path, folder, evaluate, progress, _run, result)


if __name__ == "__main__":
    reject_invalid_seed(sys.argv)
    run_and_exit(lambda: ex.run_commandline(attach_observers(ex, sys.argv, write=cluster.is_chief_command(sys.argv))))
