"""Checks of the configuration's values, so that a bad value stops a run at once with one clear line."""
import difflib
from typing import Any, Dict, Sequence


class ConfigError(ValueError):
    """An invalid configuration value; the message names ``cfg.<key>`` and a valid value."""


def _positive(config, key, examples, kind=int, allow_zero=False):
    value = config[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if kind is int:
        ok = ok and isinstance(value, int)  # 4.0 is refused, not rounded: TensorFlow takes no float counts
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        noun = "a whole number written without a decimal point" if kind is int else "a number"
        example = examples.get(key) or 1
        raise ConfigError(f"cfg.{key}={value!r} is invalid: must be {noun} {bound} (e.g. {key}={example})")


def _one_of(config, key, valid: Sequence[str]):
    if config[key] not in valid:
        raise ConfigError(f"cfg.{key}={config[key]!r} is unknown: valid are {', '.join(valid)}")


def check_config(config: Dict[str, Any], choices: Dict[str, Sequence[str]], defaults: Dict[str, Any]) -> None:
    """Raises :class:`ConfigError` for the first invalid value of the ``cfg`` ingredient's config (the
    datasets' are checked by ``Input.datasets.check_datasets`` and the architecture's by
    ``Models.check_architecture``, each beside what it checks).

    Args:
        config: the ``cfg`` dict.
        choices: key -> its valid values, for the keys that take one of a few (``Config.CHOICES``).
        defaults: the base config's values, given as examples in the messages; its keys are the settings.
    """
    _known_keys(config, defaults)
    for key in ("batch_size", "sample_rate", "n_fft", "hop", "output_frames", "unet_levels", "unet_filters",
                "critic_filters", "n_critic", "epoch_it", "cache_size", "read_workers", "inference_frames",
                "eval_workers", "checkpoint_every"):
        _positive(config, key, defaults)
    for key in ("patience", "max_epochs", "validation_batches", "image_every", "diagnostics_every", "logical_cpus",
                "train_sup_songs"):
        _positive(config, key, defaults, allow_zero=True)
    for key in ("separator_lr", "critic_lr", "excerpt_duration", "min_replacement_rate", "cluster_wait"):
        _positive(config, key, defaults, kind=float)
    for key in ("alpha", "beta", "gp_lambda"):
        _positive(config, key, defaults, kind=float, allow_zero=True)
    for key, valid in choices.items():
        _one_of(config, key, valid)
    if config["min_replacement_rate"] > config["batch_size"]:
        raise ConfigError(f"cfg.min_replacement_rate={config['min_replacement_rate']} is invalid: must not exceed "
                          f"cfg.batch_size={config['batch_size']} (e.g. min_replacement_rate="
                          f"{defaults['min_replacement_rate']})")
    low, high = (list(config["amplify_range"]) + [None, None])[:2]
    if not (isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0 < low <= high):
        raise ConfigError(f"cfg.amplify_range={config['amplify_range']!r} is invalid: must be [low, high] with "
                          f"0 < low <= high (e.g. amplify_range={list(defaults['amplify_range'])})")
    if config["hop"] > config["n_fft"]:
        example = defaults["hop"] if defaults["hop"] <= config["n_fft"] else max(1, config["n_fft"] // 2)
        raise ConfigError(f"cfg.hop={config['hop']} is invalid: must not exceed cfg.n_fft={config['n_fft']} "
                          f"(e.g. hop={example})")
    sources = config["sources"]
    if not sources or len(set(sources)) != len(sources) or not all(isinstance(s, str) and s for s in sources):
        raise ConfigError(f"cfg.sources={sources!r} is invalid: must be distinct names "
                          f"(e.g. sources={list(defaults['sources'])})")
    if config["mono"] is not True:
        raise ConfigError(f"cfg.mono={config['mono']!r} is invalid: the model is single-channel (each channel of "
                          f"a recording is separated on its own); use mono=True")
    if config["valid_by_dataset"] and config["distribute"] == "multi_worker":
        raise ConfigError("cfg.valid_by_dataset=True works on one worker: leave it False with "
                          "cfg.distribute=multi_worker")
    _check_data_service(config)


def did_you_mean(key: str, names, prefix: str = "") -> str:
    """``"did you mean <prefix><name>? "`` for the one of ``names`` that ``key`` is most likely a typo of, or ``""``."""
    close = difflib.get_close_matches(key, list(names), n=1)
    return f"did you mean {prefix}{close[0]}? " if close else ""


def _known_keys(config, defaults):
    """A key the base config lacks is a typo (Sacred would name it with the value None and no hint)."""
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ConfigError(f"cfg.{unknown[0]} is not a setting ({did_you_mean(unknown[0], defaults, 'cfg.')}"
                          f"python Training.py print_config lists them)")


def _check_data_service(config):
    service = config["data_service"]
    if service is not None and not (isinstance(service, str) and service.startswith("grpc://") and ":" in service[7:]):
        raise ConfigError(f"cfg.data_service={service!r} is invalid: must be None or a dispatcher's address "
                          f"(e.g. data_service='grpc://localhost:5000')")
    if service is not None and config["stream_source"] == "files":
        raise ConfigError("cfg.stream_source='files' cannot feed cfg.data_service: tf.data service workers run "
                          "TensorFlow ops only, and file streams call Python per excerpt; valid are auto, memory")
