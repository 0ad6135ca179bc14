"""Ending a command's process so that nothing left behind (tf.distribute or tf.data threads) can hang it."""
import os
import sys
from typing import Callable


def run_and_exit(main: Callable[[], object]) -> None:
    """Runs ``main`` and ends the process with its exit status, printing a ``SystemExit`` message first."""
    code = 0
    try:
        main()
    except SystemExit as stop:
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
            code = 1
        else:
            code = stop.code or 0
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
