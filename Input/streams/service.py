"""A tf.data service for the training streams (``cfg.data_service``): a dispatcher, and workers that compute
the batches on other cores or machines.

    python -m Input.streams.service dispatcher --port 5000
    python -m Input.streams.service worker --dispatcher localhost:5000   # on each machine lending cores
    python Training.py with cfg.semi_sup cfg.data_service=grpc://localhost:5000

The trainer sends the streams' graph (with the songs' spectrograms, ``cfg.stream_source=memory``) to the
workers through the dispatcher; the workers need no data of their own. Each runs until stopped (Ctrl-C).
"""
import argparse
import os
import sys
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def check_dispatcher(address: str) -> None:
    """Raises ConnectionError (its message says what to do) where no dispatcher answers at ``address``: a run
    checks it before it reads any data."""
    import socket
    host, port = address[len("grpc://"):].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as error:
        raise ConnectionError(f"cfg.data_service={address}: no dispatcher answers ({error}); start one "
                              f"(docs/data_service.md) or leave cfg.data_service unset") from None


def served_batches(batches: Callable, address: str) -> Callable:
    """``plan -> dataset`` whose batches (``batches(plan)``'s) the tf.data service at ``address`` computes: its
    workers run the streams' graph."""
    import tensorflow as tf
    return lambda plan: batches(plan).apply(
        tf.data.experimental.service.distribute(processing_mode="parallel_epochs", service=address))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=["dispatcher", "worker"])
    parser.add_argument("--port", type=int, default=0, help="port to serve on (0: any free port, printed)")
    parser.add_argument("--dispatcher", help="worker: the dispatcher's host:port")
    args = parser.parse_args(argv)
    if args.role == "worker" and not args.dispatcher:
        parser.error("a worker needs --dispatcher host:port")
    from Utils.native_logs import load_tensorflow
    service = load_tensorflow().data.experimental.service
    if args.role == "dispatcher":
        server = service.DispatchServer(service.DispatcherConfig(port=args.port))
        print(f"dispatcher at {server.target}", flush=True)
    else:
        server = service.WorkerServer(service.WorkerConfig(dispatcher_address=args.dispatcher, port=args.port))
        print(f"worker serving the dispatcher at {args.dispatcher}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
