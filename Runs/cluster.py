"""Training across machines: which worker this process is, and TensorFlow's multi-worker strategy.

The cluster comes from ``TF_CONFIG`` (``cfg.cluster=tf_config``, TensorFlow's convention) or from
Slurm (``cfg.cluster=slurm``, under ``srun``). The chief is the task of type ``chief``, or worker 0
when there is none (Slurm: task 0). Only the chief writes the run; the others work in a temporary
folder that is removed at the end, as in TensorFlow's multi-worker guide.
"""
import contextlib
import json
import os
import socket
import subprocess
import sys
from typing import Iterator, List, Optional, Sequence, Tuple

CLUSTERS = ("tf_config", "slurm")
# What TensorFlow's collective ops say when a peer stopped: the run cannot go on without it.
PEER_FAILURE_WORDS = ("unhealthy", "stopped sending heartbeats", "Collective ops is aborted", "failed to connect",
                      "Socket closed", "Connection reset")


class ClusterError(RuntimeError):
    """The cluster is not described where the config says it is; the message says what to set."""


def tf_config_task() -> Optional[Tuple[str, int, int]]:
    """``(task type, index, number of tasks that train)`` from ``TF_CONFIG``, or ``None`` when it is unset.

    Raises:
        ClusterError: ``TF_CONFIG`` is not JSON with a cluster and a task.
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
        return str(task["type"]), int(task["index"]), workers
    except (ValueError, KeyError, TypeError) as error:
        raise ClusterError(f"TF_CONFIG is not a cluster description ({error!r}): expected "
                           f'{{"cluster": {{"worker": ["host:port", ...]}}, "task": {{"type": "worker", "index": 0}}}}')


def worker_index(cluster: str) -> Tuple[int, int]:
    """``(this worker's index, number of workers)``; the chief is 0.

    Raises:
        ClusterError: the cluster is not described (no ``TF_CONFIG``, not under ``srun``).
    """
    if cluster == "slurm":
        if "SLURM_PROCID" not in os.environ:
            raise ClusterError("cfg.cluster=slurm but SLURM_PROCID is not set: start the workers with srun")
        return int(os.environ["SLURM_PROCID"]), int(os.environ.get("SLURM_NTASKS", "1"))
    task = tf_config_task()
    if task is None:
        raise ClusterError("cfg.distribute=multi_worker needs TF_CONFIG in each worker's environment (see the "
                           "docs/multi_worker.md), or cfg.cluster=slurm under srun")
    kind, index, count = task
    has_chief = "chief" in json.loads(os.environ["TF_CONFIG"])["cluster"]
    return (0 if kind == "chief" else index + has_chief), count


def is_chief_command(argv: Sequence[str]) -> bool:
    """Whether this process writes the run, judged from its command line and environment before Sacred
    starts (so that the other workers attach no observers): false only for a non-chief worker of a
    ``cfg.distribute=multi_worker`` run."""
    if "cfg.distribute=multi_worker" not in argv:
        return True
    try:
        return worker_index("slurm" if "cfg.cluster=slurm" in argv else "tf_config")[0] == 0
    except ClusterError:
        return True  # the run stops with this error once the config is read


def multi_worker_strategy(cluster: str, wait_seconds: float):
    """``tf.distribute.MultiWorkerMirroredStrategy`` over the described cluster (create it before any other
    TensorFlow op). Peers exchange heartbeats: a worker that stops makes the others' next collective fail.

    Creating it waits until every worker has started, in native code that holds Python's lock and no
    signal interrupts: if the others have not all started within ``wait_seconds``, a watchdog process
    says so in one line and ends this one.

    Raises:
        ClusterError: the cluster is not described.
    """
    import tensorflow as tf
    worker_index(cluster)  # says what is missing before TensorFlow tries
    resolver = (tf.distribute.cluster_resolver.SlurmClusterResolver() if cluster == "slurm"
                else tf.distribute.cluster_resolver.TFConfigClusterResolver())
    addresses = ", ".join(address for job in resolver.cluster_spec().as_dict().values() for address in job)
    message = (f"error: the cluster's workers ({addresses}) had not all started after {wait_seconds:g} s "
               f"(cfg.cluster_wait): start every worker, or check the addresses and ports")
    with startup_watchdog(wait_seconds, message):
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


# Run in a process of its own: waits for its stdin to close; if the time runs out first, prints the message
# and kills the waiting process (which TensorFlow holds in native code, with Python's lock).
_WATCHDOG = """
import os, select, signal, sys
pid, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ready, _, _ = select.select([sys.stdin], [], [], seconds)
if not ready:
    print(message, file=sys.stderr, flush=True)
    os.kill(pid, signal.SIGKILL)
"""


@contextlib.contextmanager
def startup_watchdog(seconds: float, message: str) -> Iterator[None]:
    """Inside, this process is ended with ``message`` on stderr if it is still inside after ``seconds``."""
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(seconds), message],
                                stdin=subprocess.PIPE)
    try:
        yield
    finally:
        watchdog.stdin.close()
        watchdog.wait()


def free_ports(count: int) -> List[int]:
    """Ports free on 127.0.0.1 now, for a cluster of workers on this machine (tests, benchmarks)."""
    sockets = [socket.socket() for _ in range(count)]
    for one in sockets:
        one.bind(("127.0.0.1", 0))
    ports = [one.getsockname()[1] for one in sockets]
    for one in sockets:
        one.close()
    return ports


def distribution_strategy(config):
    """The default strategy, MirroredStrategy over the GPUs (or over ``logical_cpus`` CPU devices), or
    MultiWorkerMirroredStrategy over the workers of ``cfg.cluster`` (a :class:`ClusterError` where it is not
    described)."""
    import tensorflow as tf
    if config["distribute"] == "multi_worker":
        return multi_worker_strategy(config["cluster"], config["cluster_wait"])
    if config["distribute"] != "mirrored":
        return tf.distribute.get_strategy()
    cpus = tf.config.list_physical_devices("CPU")
    if config["logical_cpus"] > 1 and not tf.config.list_physical_devices("GPU"):
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] *
                                                   config["logical_cpus"])
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    return tf.distribute.MirroredStrategy()


def is_peer_failure(error: BaseException) -> bool:
    """Whether a TensorFlow error means that another worker of the cluster stopped."""
    return any(word in str(error) for word in PEER_FAILURE_WORDS)


def peer_failure_message(error: BaseException) -> str:
    """One line naming the worker(s) that stopped, from a collective op's error."""
    tasks: List[str] = sorted({word for word in str(error).split() if word.startswith("/job:")
                               and "/task:" in word and "/replica:" in word})
    who = ", ".join(tasks) if tasks else "a worker"
    return f"{who} stopped responding, so the cluster's collective ops were aborted"


def peer_failure_stop(error: BaseException, worker: int, step: int, folder: str) -> str:
    """The line a worker stops with when a peer stopped: who, where it stopped, and how to go on."""
    where = f"resume={folder}" if worker == 0 else "resume=<the chief's run folder>"
    return (f"error: {peer_failure_message(error)}; worker {worker} stops at step {step}. Start every worker "
            f"again with {where} (the last checkpoint)")
