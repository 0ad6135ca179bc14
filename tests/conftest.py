"""Shared fixtures: the demo corpus (rendered once, cached in data/demo) and small audio helpers."""
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, List

import numpy as np
import pytest
import soundfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_addoption(parser):
    parser.addoption("--shuffle", type=int, metavar="SEED", default=None,
                     help="run the tests in an order shuffled by SEED: each test must pass in any order")


SHARED_RUNS = {"trained_run", "trained_copy", "paper_run"}  # fixtures of the session's trained runs
TRAINING_FIXTURES = {"workdir", "mini_demo"}  # the other tests that train or evaluate (or start processes that do)


def pytest_collection_modifyitems(config, items):
    """Shuffled with --shuffle SEED. Else in the order that keeps pytest-xdist's two workers (``--dist
    worksteal``: the first gets the first half, the second the rest, and an idle one steals) from waiting on
    each other: the tests of the session's trained runs first, so that the first worker trains them while the
    second starts, at the middle, with the tests that train on their own, longest first (``slow(seconds)``), so
    that the last test of that half is short and neither worker ends long after the other; short tests fill
    both halves.
    (``--dist loadgroup`` would pin each run's tests to one worker, but pytest-xdist 3.8 cannot mark groups
    under pytest 9.)"""
    seed = config.getoption("--shuffle")
    if seed is not None:
        import random
        random.Random(seed).shuffle(items)
        return
    fixtures = {item: set(getattr(item, "fixturenames", ())) for item in items}
    shared = [item for item in items if SHARED_RUNS & fixtures[item]]
    training = [item for item in items if not SHARED_RUNS & fixtures[item] and TRAINING_FIXTURES & fixtures[item]]
    training.sort(key=lambda item: -max([0, *(mark.args[0] for mark in item.iter_markers("slow"))]))
    short = [item for item in items if not (SHARED_RUNS | TRAINING_FIXTURES) & fixtures[item]]
    filler = max(0, len(items) // 2 - len(shared))
    items[:] = shared + short[:filler] + training + short[filler:]


@contextlib.contextmanager
def workers_in_turn(tmp_path_factory, name: str):
    """Under pytest-xdist, one worker at a time inside (a lock file in the folder the workers' own temporary
    folders share); yields that shared folder, or this session's temporary folder where there are no workers."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield tmp_path_factory.getbasetemp()
        return
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared


def made_once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name`` filled by ``make(folder)`` once for the test session: under pytest-xdist by the first
    worker to ask, while the others wait, then use it."""
    with workers_in_turn(tmp_path_factory, name) as shared:
        folder = shared / name
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture(scope="session", autouse=True)
def user_cache_home(tmp_path_factory):
    """The session's own user cache (``XDG_CACHE_HOME``), shared by its workers and the processes they start:
    what a test finds there (LiteRT exports, mixture scores), the session made, never the user's ~/.cache."""
    with workers_in_turn(tmp_path_factory, "user_cache") as shared:
        folder = shared / "user_cache"
        folder.mkdir(exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    """The built-in demo corpus, rendered by the public entry point (cached between sessions)."""
    out = os.environ.get("DEMO_CORPUS_DIR", os.path.join(ROOT, "data", "demo"))
    with workers_in_turn(tmp_path_factory, "demo_corpus"):  # the first renders it, the next find it rendered
        result = subprocess.run([sys.executable, "-m", "Input.demo.corpus", "--out", out], cwd=ROOT,
                                capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


# Songs per folder of the small corpus the training tests use (the demo's layouts, its first songs).
MINI_SONGS = {"musdb/train": 3, "musdb/test": 4, "ccmixter": 6, "mixtures": 3, "solo_vocals": 3,
              "solo_accompaniment": 3}
MINI_WHOLE = ("dsd100", "medleydb", "paper_ccmixter", "ikala", "paper_manifest.json")
# The multitrack songs' first seconds (validated and evaluated whole); the unpaired recordings are linked whole.
MINI_CUT = {"musdb/train", "musdb/test", "ccmixter"}
MINI_SECONDS = 6.0


def cut_copy(source: str, target: str, seconds: float) -> None:
    """A song folder's wav files cut to their first ``seconds``, in the same format (so stems still add up)."""
    os.makedirs(target)
    for name in os.listdir(source):
        info = soundfile.info(os.path.join(source, name))
        audio, rate = soundfile.read(os.path.join(source, name), frames=int(seconds * info.samplerate),
                                     always_2d=True, dtype="float32")
        soundfile.write(os.path.join(target, name), audio, rate, subtype=info.subtype)


@pytest.fixture(scope="session")
def mini_demo(tmp_path_factory, demo_root):
    """The demo corpus cut to a few songs per folder (and a manifest listing just them, so that ``cfg.demo``
    takes it as rendered): 3 paired songs, 2 + 2 held-out studio songs, 6 CCMixter songs, each cut to its first
    MINI_SECONDS (the evaluations' museval and clips take time in proportion); 3 recordings per unpaired
    collection, linked. Training and evaluating on it is what the tests need."""
    return str(made_once(tmp_path_factory, "mini_demo", lambda out: write_mini_demo(out, demo_root)))


def write_mini_demo(out: Path, demo_root: str) -> None:
    import json
    with open(os.path.join(demo_root, "manifest.json")) as handle:
        manifest = json.load(handle)
    kept = []
    for folder, count in MINI_SONGS.items():
        names = sorted(name for name in os.listdir(os.path.join(demo_root, folder)) if not name.startswith("."))[:count]
        os.makedirs(out / folder, exist_ok=True)
        for name in names:
            if folder in MINI_CUT:
                cut_copy(os.path.join(demo_root, folder, name), str(out / folder / name), MINI_SECONDS)
            else:
                os.symlink(os.path.join(demo_root, folder, name), out / folder / name)
        kept += [f"{folder}/{name}" for name in names]
    stems = {os.path.splitext(name)[0] for name in os.listdir(out / "solo_accompaniment")}
    for folder in ("solo_drums", "solo_bass", "solo_other"):  # the solo accompaniments' own stems
        os.makedirs(out / folder)
        for name in sorted(os.listdir(os.path.join(demo_root, folder))):
            if os.path.splitext(name)[0] in stems and not name.startswith("."):
                os.symlink(os.path.join(demo_root, folder, name), out / folder / name)
                kept.append(f"{folder}/{name}")
    for name in MINI_WHOLE:
        os.symlink(os.path.join(demo_root, name), out / name)
    inside = lambda relative: any(relative == k or relative.startswith(k + "/") for k in kept)
    manifest["songs"] = [song for song in manifest["songs"] if all(inside(f) for f in song["files"].values())]
    with open(out / "manifest.json", "w") as handle:
        json.dump(manifest, handle)


@pytest.fixture(scope="session")
def resampled_cache(tmp_path_factory):
    """One resampled cache (cfg.resampled_cache) for every run of the session: each song is resampled once
    (its files are written whole, then renamed, so that runs side by side share it)."""
    return made_once(tmp_path_factory, "demo_8k", lambda folder: None)


def user_checkout(folder, corpus, resampled_cache):
    """``folder`` made like a user's checkout: data/demo points at ``corpus``, data/demo_8k at the session's
    resampled cache; runs/ will be its own."""
    os.makedirs(folder / "data")
    os.symlink(corpus, folder / "data" / "demo")
    os.symlink(resampled_cache, folder / "data" / "demo_8k")
    return folder


@pytest.fixture
def workdir(tmp_path, mini_demo, resampled_cache):
    """A working folder like a user's checkout, with the small corpus as data/demo."""
    return user_checkout(tmp_path, mini_demo, resampled_cache)


def script_command(arguments, env=None):
    """The command line and environment that run one of the project's commands as a user would
    (``env`` adds variables to this process's; a variable given as ``None`` is left out)."""
    environment = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    environment = {name: value for name, value in environment.items() if value is not None}
    command = [sys.executable, *arguments]
    if arguments[0].endswith(".py"):
        command[1] = os.path.join(ROOT, arguments[0])
    return command, environment


def run_script(arguments, cwd, timeout=900, env=None):
    """Runs one of the project's commands as a user would; returns the CompletedProcess."""
    command, environment = script_command(arguments, env)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment)


def start_script(arguments, cwd=None, env=None):
    """Starts one of the project's commands (output piped) with Ctrl-C's signal at its default, as a
    terminal's foreground job has it: a shell's background job (``make test &``) ignores SIGINT, and
    its children would inherit that."""
    command, environment = script_command(arguments, env)
    return subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.fixture
def separate_here(monkeypatch, capsys):
    """Separate.py's ``main`` in this process (for all it prints in Python; a process shows the rest):
    ``(arguments, cwd=None) -> CompletedProcess`` with its exit status, stdout and stderr."""
    import Separate

    def run(arguments, cwd=None) -> subprocess.CompletedProcess:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = Separate.main([str(argument) for argument in arguments])
        printed = capsys.readouterr()
        return subprocess.CompletedProcess(arguments, code, printed.out, printed.err)
    return run


def stop_message(script: str, arguments, cwd, monkeypatch) -> str:
    """The one line a command stops with (its ``SystemExit`` text, which the process prints alone on stderr),
    run in this process from ``cwd`` with its command line parsed as Sacred parses it."""
    import importlib
    monkeypatch.chdir(cwd)
    with pytest.raises(SystemExit) as stop:
        importlib.import_module(script[:-len(".py")]).ex.run_commandline([script, *arguments])
    assert isinstance(stop.value.code, str), stop.value.code
    return stop.value.code


def write_tone(path, seconds=2.0, rate=44100, channels=1, frequency=440.0, amplitude=0.3):
    """Writes a sine tone (any format soundfile knows) and returns the samples written."""
    t = np.arange(int(seconds * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * frequency * t)
    audio = np.stack([tone * (1 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)
    soundfile.write(str(path), audio, rate)
    return audio


# A short run of a small network (the demo's halved): what the tests check of a run does not depend on its size.
TINY = ["cfg.epoch_it=6", "cfg.max_epochs=2", "cfg.patience=5", "cfg.batch_size=4", "cfg.n_critic=1",
        "cfg.unet_filters=4", "cfg.critic_filters=8",
        "cfg.checkpoint_every=3", "cfg.cache_size=4", "cfg.min_replacement_rate=2", "cfg.excerpt_duration=2.0",
        "cfg.image_every=0", "cfg.diagnostics_every=0", "cfg.eval_workers=1", "cfg.litert_export=False",
        "progress=False", "seed=7"]


def trained_once(tmp_path_factory, name: str, arguments: List[str], corpus: str, cache: Path):
    """``Training.py with <arguments>`` run once for the test session in a checkout of its own (``corpus`` as
    data/demo): ``(checkout, run folder, CompletedProcess)``, its output kept beside the checkout."""
    def train(folder: Path) -> None:
        result = run_script(["Training.py", "with", *arguments], cwd=user_checkout(folder / "user", corpus, cache))
        (folder / "stdout.txt").write_text(result.stdout)
        (folder / "stderr.txt").write_text(result.stderr)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    folder = made_once(tmp_path_factory, name, train)
    result = subprocess.CompletedProcess(arguments, 0, (folder / "stdout.txt").read_text(),
                                         (folder / "stderr.txt").read_text())
    return folder / "user", folder / "user" / "runs" / "1", result


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, mini_demo, resampled_cache):
    """One short semi-supervised run on the small demo corpus, evaluated on its test partition."""
    return trained_once(tmp_path_factory, "trained_run",
                        ["cfg.semi_sup", "cfg.demo", *TINY, "cfg.valid_by_dataset=True", "cfg.litert_export=True",
                         "cfg.diagnostics_every=5", "cfg.image_every=3", "cfg.eval_workers=2"],
                        mini_demo, resampled_cache)


@pytest.fixture
def trained_copy(trained_run, tmp_path):
    """A checkout of its own holding a copy of the session's trained run as runs/1, for a test that resumes,
    evaluates or changes it (the session's run stays as trained, and its runs/ holds it alone)."""
    import shutil
    trained_workdir, folder, _ = trained_run
    workdir = user_checkout(tmp_path / "user", *(os.path.realpath(trained_workdir / "data" / name)
                                                 for name in ("demo", "demo_8k")))
    shutil.copytree(folder, workdir / "runs" / "1", ignore=shutil.ignore_patterns("tensorboard", "evaluation"))
    return workdir


SOURCES = ["accompaniment", "vocals"]


def stream_settings(**changes):
    """The base config's stream settings (the paper's), with ``changes``."""
    import dataclasses
    from Config import resolve
    from Input.streams.settings import StreamSettings
    return dataclasses.replace(StreamSettings.from_config(resolve()), **changes)


def demo_partitions(demo_root, seed=1):
    """The paper's partitions of the demo corpus, built from its folders (no config, no Sacred)."""
    from Input.datasets.partition import build_partitions
    return build_partitions(
        {"musdb": {"type": "musdb", "root": os.path.join(demo_root, "musdb"), "is_wav": True},
         "ccmixter": {"type": "ccmixter", "root": os.path.join(demo_root, "ccmixter")}},
        "musdb", [["mixture", os.path.join(demo_root, "mixtures")],
                  ["vocals", os.path.join(demo_root, "solo_vocals")],
                  ["accompaniment", os.path.join(demo_root, "solo_accompaniment")]], SOURCES, seed)


@pytest.fixture(scope="session")
def partitions(demo_root):
    """``demo_partitions(demo_root)``, built once: the tests that read them change nothing in them."""
    return demo_partitions(demo_root)


def tiny_batch(geometry, sources=SOURCES, n_critic=2, batch=3, seed=1):
    rng = np.random.default_rng(seed)
    draw = lambda *shape: rng.uniform(0, 1, shape).astype(np.float32)
    paired = {"mixture": draw(batch, *geometry.input_shape, 1), **{s: draw(batch, *geometry.output_shape, 1) for s in sources}}
    unpaired = {"mixture": draw(n_critic + 1, batch, *geometry.input_shape, 1),
                **{s: draw(n_critic + 1, batch, *geometry.output_shape, 1) for s in sources}}
    return {"sup": paired, "unsup": unpaired}


def small_disk(folder, size):
    """A tmpfs of ``size`` mounted at ``folder`` (root only; unmounted at exit): a real full disk."""
    import atexit
    if os.geteuid() != 0:
        pytest.skip("a full disk is made by mounting a small tmpfs, which needs root (CI runs as root)")
    os.makedirs(folder, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"this machine does not let root mount a tmpfs: {result.stderr.decode().strip()}")
    atexit.register(subprocess.run, ["umount", "-l", str(folder)])
    return str(folder)

