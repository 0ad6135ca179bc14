"""Training across two worker processes on 127.0.0.1 with MultiWorkerMirroredStrategy (cfg.distribute=multi_worker)."""
import json
import os
import signal
import subprocess
import time

import pytest

from Runs.cluster import free_ports
from tests.conftest import script_command

TINY = ["cfg.demo", "cfg.distribute=multi_worker", "cfg.epoch_it=4", "cfg.batch_size=4", "cfg.n_critic=1",
        "cfg.unet_filters=4", "cfg.critic_filters=8", "cfg.diagnostics_every=0",
        "cfg.checkpoint_every=2", "cfg.cache_size=4", "cfg.min_replacement_rate=2", "cfg.excerpt_duration=2.0",
        "cfg.patience=5", "evaluate=False", "cfg.litert_export=False", "progress=False", "seed=7"]


def start_workers(arguments, cwd, count=2, ports=None):
    """Starts the workers of one cluster, each with its TF_CONFIG; output goes to worker<i>.log in ``cwd``."""
    ports = ports or free_ports(count)
    workers = []
    for index in range(count):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                     "task": {"type": "worker", "index": index}}
        command, environment = script_command(["Training.py", "with", *arguments], {"TF_CONFIG": json.dumps(tf_config)})
        log = open(os.path.join(cwd, f"worker{index}.log"), "w")
        workers.append((subprocess.Popen(command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT), log))
    return workers


def finish(workers, timeout=600):
    """Waits for every worker; returns ``(return codes, outputs)``."""
    codes = [process.wait(timeout=timeout) for process, _ in workers]
    outputs = []
    for _, log in workers:
        log.close()
        outputs.append(open(log.name).read())
    return codes, outputs


def digest(output):
    return next(line.split()[3] for line in output.splitlines() if line.startswith("separator weights digest"))


@pytest.mark.slow(70)
def test_two_workers_train_as_one_stop_together_when_one_is_killed_and_resume_together(workdir):
    """The semi-supervised method, critics and all, on two workers: worker 1 is killed in the second epoch and
    the chief stops with one line naming it and the resume; both workers resume together from the last
    checkpoint and end with the same weights, the steps going on."""
    workers = start_workers(["cfg.semi_sup", *TINY, "cfg.max_epochs=3"], workdir)
    state = workdir / "runs" / "1" / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and not (state.is_file() and json.loads(state.read_text())["step"] >= 6):
        time.sleep(0.2)  # a checkpoint every 2 steps
    workers[1][0].send_signal(signal.SIGKILL)
    stopped = time.time()
    codes, outputs = finish(workers, timeout=120)
    assert time.time() - stopped < 90
    assert codes[0] not in (0, None)
    errors = [line for line in outputs[0].splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "/job:worker/replica:0/task:1 stopped responding" in errors[0], outputs[0][-2000:]
    assert "resume=runs/1" in errors[0] and "Traceback" not in outputs[0]
    assert "worker 1 of 2: 2 examples of each batch of 4; the chief (worker 0) writes the run" in outputs[1]
    assert "vocals_critic_loss" in outputs[1]  # worker 1 trained the critics through the first epoch
    saved = json.loads(state.read_text())["step"]

    codes, outputs = finish(start_workers(["cfg.semi_sup", *TINY, "cfg.max_epochs=3", "resume=runs/1"], workdir))
    assert codes == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert digest(outputs[0]) == digest(outputs[1])  # the same weights on both workers
    assert f"step {saved}" in outputs[0]
    result = json.loads((workdir / "runs" / "2" / "run.json").read_text())["result"]
    assert result["steps"] == 12 and result["epochs"] == 3
    assert sorted(os.listdir(workdir / "runs")) == ["1", "2", "_sources"]  # the chief's runs only


@pytest.mark.slow(25)
def test_a_worker_alone_gives_up_after_cluster_wait_and_two_train_the_baseline_as_one(workdir):
    ports = free_ports(2)
    workers = start_workers(["cfg.sup", *TINY, "cfg.cluster_wait=5"], workdir, count=1, ports=ports)
    codes, outputs = finish(workers, timeout=120)
    assert codes[0] != 0
    assert (f"error: the cluster's workers (127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}) had not all started after "
            f"5 s (cfg.cluster_wait)") in outputs[0]
    codes, outputs = finish(start_workers(["cfg.sup", *TINY, "cfg.epoch_it=2", "cfg.max_epochs=1"], workdir))
    assert codes == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert digest(outputs[0]) == digest(outputs[1]) and "critic" not in outputs[0]  # the baseline has no critics
