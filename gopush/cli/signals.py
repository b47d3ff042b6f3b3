"""SIGTERM as an exception, so that a stopped gopush cleans up as after Ctrl-C.

CI runners, ``timeout`` and container stops send SIGTERM. Python's default action kills the
process on the spot: temporary directories (a build's spill files, the zip ``push`` built)
stay behind, and nothing says what state the registry was left in. Raised as
``Terminated``, a ``KeyboardInterrupt``, it takes the Ctrl-C path instead: ``finally``
blocks and context managers run, and push reports what was left where.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; handled like Ctrl-C, but the process exits 143 (128 + SIGTERM)."""


received = False  # a SIGTERM arrived in this process: the exit code is 143, not 130


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` in the main thread (unless someone
    else already handles SIGTERM); ``received`` tells afterwards whether one arrived."""
    global received
    received = False
    if (threading.current_thread() is not threading.main_thread()  # tests, embedding
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: FrameType | None) -> None:
    global received
    received = True
    raise Terminated
