"""The configuration as a user meets it: print_config, named configs, and clear errors for bad values."""
import pytest

from tests.conftest import run_script


@pytest.mark.parametrize("named, expected", [
    ("cfg.semi_sup", ["semi_supervised = True", "sample_rate = 8192", "n_fft = 512", "hop = 256",
                      "output_frames = 64", "batch_size = 64", "unet_levels = 4", "unet_filters = 16",
                      "separator_lr = 5e-05", "critic_lr = 5e-05", "alpha = 0.001", "beta = 0.001",
                      "gp_lambda = 10.0", "n_critic = 5", "epoch_it = 1000", "patience = 1", "cache_size = 64",
                      "min_replacement_rate = 8", "excerpt_duration = 10.0", "amplify_range = [0.2, 1.2]",
                      "mono = True"]),
    ("cfg.sup", ["semi_supervised = False", "batch_size = 64"]),
    ("cfg.semi_sup cfg.demo", ["semi_supervised = True", "render_demo_corpus = True", "data/demo/musdb"]),
])
def test_print_config_shows_the_papers_values(tmp_path, named, expected):
    result = run_script(["Training.py", "print_config", "with", *named.split()], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, text


@pytest.mark.parametrize("assignment, key", [
    ("cfg.batch_size=-1", "cfg.batch_size"),
    ("cfg.separator_lr=-0.1", "cfg.separator_lr"),
    ("cfg.output_frames=0", "cfg.output_frames"),
    ("cfg.datasets.musdb.type=slakh", "cfg.datasets.musdb.type"),
    ("cfg.supervised_dataset=slakh", "cfg.supervised_dataset"),
    ("cfg.partition_order=random", "cfg.partition_order"),
    ("cfg.data_service=localhost:5000", "cfg.data_service"),
    ("cfg.stream_source=disk", "cfg.stream_source"),
    ("cfg.min_replacement_rate=128", "cfg.min_replacement_rate"),
    ("cfg.critic=resnet", "cfg.critic"),
    ("cfg.datasets.ccmixter.unpaired=1", "cfg.datasets.ccmixter.unpaired"),
])
def test_invalid_value_stops_with_one_clear_line(tmp_path, assignment, key):
    result = run_script(["Training.py", "print_config", "with", "cfg.semi_sup", assignment], cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Config error:")]
    assert len(errors) == 1 and key in errors[0]
    assert "e.g." in errors[0] or "valid are" in errors[0]
    assert "Traceback" not in result.stderr


def test_unknown_named_config_and_key_fail_clearly(tmp_path):
    result = run_script(["Training.py", "print_config", "with", "cfg.semisup"], cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert 'Named config not found: "semisup"' in result.stderr and "semi_sup" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_script(["Training.py", "print_config", "with", "cfg.bach_size=3"], cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert "bach_size" in result.stderr
