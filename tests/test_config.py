"""The configuration as a user meets it: print_config, named configs, and clear errors for bad values."""
import re

import pytest

from tests.conftest import run_script


PAPER_VALUES = {"semi_supervised": True, "sample_rate": 8192, "n_fft": 512, "hop": 256, "output_frames": 64,
                "batch_size": 64, "unet_levels": 4, "unet_filters": 16, "separator_lr": 5e-05, "critic_lr": 5e-05,
                "alpha": 0.001, "beta": 0.001, "gp_lambda": 10.0, "n_critic": 5, "epoch_it": 1000, "patience": 1,
                "cache_size": 64, "min_replacement_rate": 8, "excerpt_duration": 10.0, "amplify_range": [0.2, 1.2],
                "mono": True}


@pytest.mark.parametrize("named, expected", [
    (["cfg.semi_sup"], PAPER_VALUES),
    (["cfg.sup"], {"semi_supervised": False, "batch_size": 64}),
    (["cfg.semi_sup", "cfg.demo"], {"semi_supervised": True, "render_demo_corpus": True}),
    (["cfg.semi_sup", "cfg.paper"], {"partition_order": "authors", "supervised_dataset": "dsd100",
                                     "sample_by_duration": False, "eval_protocol": "paper"}),
])
def test_named_configs_hold_the_papers_values(named, expected):
    from Config import resolve
    config = resolve(named)
    assert {key: config[key] for key in expected} == expected


def test_print_config_shows_the_authors_partition_and_stems(tmp_path):
    result = run_script(["Training.py", "print_config", "with", "cfg.semi_sup", "cfg.paper"], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    shown = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # Sacred colours what a named config changed
    for text in ("partition_order = 'authors'", "vocals = 'authors'", "root = 'data/MedleyDB'", "alpha = 0.001"):
        assert text in shown, text


@pytest.mark.parametrize("assignment, key", [
    ({"batch_size": -1}, "cfg.batch_size"),
    ({"separator_lr": -0.1}, "cfg.separator_lr"),
    ({"output_frames": 0}, "cfg.output_frames"),
    ({"datasets": {"musdb": {"type": "slakh"}}}, "cfg.datasets.musdb.type"),
    ({"supervised_dataset": "slakh"}, "cfg.supervised_dataset"),
    ({"partition_order": "random"}, "cfg.partition_order"),
    ({"datasets": {"medleydb": {"vocals": "lead"}}}, "cfg.datasets.medleydb.vocals"),
    ({"data_service": "localhost:5000"}, "cfg.data_service"),
    ({"stream_source": "disk"}, "cfg.stream_source"),
    ({"min_replacement_rate": 128}, "cfg.min_replacement_rate"),
    ({"critic": "resnet"}, "cfg.critic"),
    ({"datasets": {"ccmixter": {"unpaired": 1}}}, "cfg.datasets.ccmixter.unpaired"),
])
def test_invalid_value_stops_with_one_clear_line(capsys, assignment, key):
    line = config_error(capsys, assignment, named=("cfg.semi_sup",))
    assert key in line and ("e.g." in line or "valid are" in line)


def test_an_invalid_value_on_the_command_line_is_one_line_and_exit_status_2(tmp_path):
    result = run_script(["Training.py", "print_config", "with", "cfg.semi_sup", "cfg.partition_order=random"],
                        cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Config error:")]
    assert errors == ["Config error: cfg.partition_order='random' is unknown: valid are shuffled, file, authors"]


def test_unknown_named_config_and_key_fail_clearly(tmp_path):
    result = run_script(["Training.py", "print_config", "with", "cfg.semisup"], cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert 'Named config not found: "semisup"' in result.stderr and "semi_sup" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_script(["Training.py", "print_config", "with", "cfg.bach_size=3"], cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("Config error: cfg.bach_size is not a setting (did you mean cfg.batch_size? "
                                     "python Training.py print_config lists them)")


@pytest.mark.parametrize("script, typo, expected", [
    ("Training.py", "evalute=False", "Config error: evalute is not an option of Training.py (did you mean evaluate? "
                                     "its options: deterministic, evaluate, progress, resume, seed;"),
    ("Evaluate.py", "partiton=valid", "Config error: partiton is not an option of Evaluate.py (did you mean "
                                      "partition?"),
])
def test_an_option_a_command_lacks_is_one_line_naming_the_closest(tmp_path, monkeypatch, capsys, script, typo,
                                                                   expected):
    import importlib
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        importlib.import_module(script[:-3]).ex.run_commandline([script, "print_config", "with", "cfg.sup", typo])
    errors = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(errors) == 1 and errors[0].startswith(expected), errors


def config_error(capsys, updates, named=("cfg.semi_sup", "cfg.demo")) -> str:
    """The one ``Config error:`` line that resolving the config with ``updates`` prints (as every command would)."""
    from Config import resolve
    with pytest.raises(SystemExit) as stop:
        resolve(list(named), updates)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Config error:")]
    assert stop.value.code == 2 and len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("updates, expected", [
    ({"epoch_it": 4.0}, "cfg.epoch_it=4.0 is invalid: must be a whole number written without a decimal point"),
    ({"batch_size": 8.0}, "cfg.batch_size=8.0 is invalid"),
    ({"head_init": "xx"}, "cfg.head_init='xx' is unknown: valid are glorot_uniform, non_negative"),
    ({"datasets": {"musdb": {"root": 123}}}, "cfg.datasets.musdb.root=123 is invalid: must be a folder's path"),
    ({"unet_levels": 12}, "cfg.unet_levels=12 is too deep"),
    ({"n_fft": 7}, "cfg.hop=256 is invalid: must not exceed cfg.n_fft=7 (e.g. hop=3)"),
    ({"unet_depth": 3}, "cfg.unet_depth is not a setting (python Training.py print_config lists them)"),
])
def test_values_that_crashed_inside_tensorflow_are_one_line(capsys, updates, expected):
    assert expected in config_error(capsys, updates)


@pytest.mark.parametrize("updates", [{"sample_rate": 100}, {"unet_levels": 6, "excerpt_duration": 2.0}])
def test_a_too_short_excerpt_names_the_cause_and_a_fix_that_works(capsys, updates):
    import re
    from Config import resolve
    line = config_error(capsys, updates)
    fix = float(re.search(r"set excerpt_duration=([\d.]+) or more", line).group(1))
    assert resolve(["cfg.semi_sup", "cfg.demo"], dict(updates, excerpt_duration=fix))["excerpt_duration"] == fix
    if "unet_levels" in updates:
        assert "or fewer cfg.unet_levels" in line


def test_a_seed_sacred_cannot_use_is_one_line(tmp_path):
    for seed in ("-1", "abc"):
        result = run_script(["Training.py", "print_config", "with", "cfg.sup", f"seed={seed}"], cwd=tmp_path, timeout=120)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip() == f"Config error: seed={seed} is invalid: must be a whole number from 0 to " \
                                        f"{2 ** 32 - 1} (e.g. seed=1)"
