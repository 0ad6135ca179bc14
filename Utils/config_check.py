"""Checks of the configuration's values, so that a bad value stops a run at once with one clear line."""
from typing import Any, Dict


class ConfigError(ValueError):
    """An invalid configuration value; the message names ``cfg.<key>`` and a valid value."""




def _positive(config, key, kind=int, allow_zero=False):
    value = config[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if kind is int:
        ok = ok and isinstance(value, int)  # 4.0 is refused, not rounded: TensorFlow takes no float counts
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        noun = "a whole number written without a decimal point" if kind is int else "a number"
        raise ConfigError(f"cfg.{key}={value!r} is invalid: must be {noun} {bound} "
                          f"(e.g. {key}={_DEFAULT_EXAMPLES.get(key, 1)})")


_DEFAULT_EXAMPLES = {"batch_size": 64, "sample_rate": 8192, "n_fft": 512, "hop": 256, "output_frames": 64,
                     "unet_levels": 4, "unet_filters": 16, "critic_filters": 32, "n_critic": 5, "epoch_it": 1000,
                     "cache_size": 64, "min_replacement_rate": 8, "excerpt_duration": 10.0, "separator_lr": 5e-5,
                     "critic_lr": 5e-5, "gp_lambda": 10, "alpha": 0.001, "beta": 0.001, "patience": 1,
                     "read_workers": 4, "inference_frames": 256, "eval_workers": 2}


def check_config(config: Dict[str, Any]) -> None:
    """Raises :class:`ConfigError` for the first invalid value of the ``cfg`` ingredient's config (the
    datasets' are checked by ``Input.datasets.check_datasets`` and the architecture's by
    ``Models.check_architecture``, each beside what it checks)."""

    for key in ("batch_size", "sample_rate", "n_fft", "hop", "output_frames", "unet_levels", "unet_filters",
                "critic_filters", "n_critic", "epoch_it", "cache_size", "read_workers", "inference_frames",
                "eval_workers", "checkpoint_every"):
        _positive(config, key)
    for key in ("patience", "max_epochs", "validation_batches", "image_every", "logical_cpus",
                "train_sup_songs"):
        _positive(config, key, allow_zero=True)
    for key in ("separator_lr", "critic_lr", "excerpt_duration", "min_replacement_rate", "cluster_wait"):
        _positive(config, key, kind=float)
    for key in ("alpha", "beta", "gp_lambda"):
        _positive(config, key, kind=float, allow_zero=True)
    if config["min_replacement_rate"] > config["batch_size"]:
        raise ConfigError(f"cfg.min_replacement_rate={config['min_replacement_rate']} is invalid: must not exceed "
                          f"cfg.batch_size={config['batch_size']} (e.g. min_replacement_rate=8)")
    low, high = (list(config["amplify_range"]) + [None, None])[:2]
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 < low <= high):
        raise ConfigError(f"cfg.amplify_range={config['amplify_range']!r} is invalid: must be [low, high] with "
                          f"0 < low <= high (e.g. amplify_range=[0.2, 1.2])")
    if config["hop"] > config["n_fft"]:
        raise ConfigError(f"cfg.hop={config['hop']} is invalid: must not exceed cfg.n_fft={config['n_fft']} (e.g. hop=256)")
    sources = config["sources"]
    if not sources or len(set(sources)) != len(sources) or not all(isinstance(s, str) and s for s in sources):
        raise ConfigError(f"cfg.sources={sources!r} is invalid: must be distinct names "
                          f"(e.g. sources=['accompaniment', 'vocals'])")
    if config["mono"] is not True:
        raise ConfigError(f"cfg.mono={config['mono']!r} is invalid: the model is single-channel (each channel of "
                          f"a recording is separated on its own); use mono=True")
    if config["distribute"] not in ("none", "mirrored", "multi_worker"):
        raise ConfigError(f"cfg.distribute={config['distribute']!r} is unknown: valid are none, mirrored, multi_worker")
    if config["valid_by_dataset"] and config["distribute"] == "multi_worker":
        raise ConfigError("cfg.valid_by_dataset=True works on one worker: leave it False with "
                          "cfg.distribute=multi_worker")
    if config["cluster"] not in ("tf_config", "slurm"):
        raise ConfigError(f"cfg.cluster={config['cluster']!r} is unknown: valid are tf_config, slurm")
    if config["stream_source"] not in ("auto", "memory", "files"):
        raise ConfigError(f"cfg.stream_source={config['stream_source']!r} is unknown: valid are auto, memory, files")
    service = config["data_service"]
    if service is not None and not (isinstance(service, str) and service.startswith("grpc://") and ":" in service[7:]):
        raise ConfigError(f"cfg.data_service={service!r} is invalid: must be None or a dispatcher's address "
                          f"(e.g. data_service='grpc://localhost:5000')")
    if service is not None and config["stream_source"] == "files":
        raise ConfigError("cfg.stream_source='files' cannot feed cfg.data_service: tf.data service workers run "
                          "TensorFlow ops only, and file streams call Python per excerpt; valid are auto, memory")
    if config["partition_order"] not in ("shuffled", "file", "authors"):
        raise ConfigError(f"cfg.partition_order={config['partition_order']!r} is unknown: valid are shuffled, file, "
                          f"authors")
    if config["eval_protocol"] not in ("sisec", "paper"):
        raise ConfigError(f"cfg.eval_protocol={config['eval_protocol']!r} is unknown: valid are sisec, paper")
