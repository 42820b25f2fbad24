"""Stopping a scan between instrument exchanges: :class:`StopFlag`, set by Ctrl-C and SIGTERM
while :func:`signals_set_flag` routes them to it, and checked by the scan loop
(:class:`mrfm.scan.controller.ScanController`) between points and during every wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopFlag:
    """Set by SIGINT/SIGTERM (or by :meth:`request`); checked by the loop between points."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    def request(self, reason: str = "stop requested") -> None:
        """Ask the scan to stop at the next check."""
        if self.signal_name is None:
            self.signal_name = reason
        self._event.set()

    @property
    def is_set(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()


@contextmanager
def signals_set_flag(flag: StopFlag) -> Iterator[None]:
    """Route SIGINT and SIGTERM to ``flag`` for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        flag.request(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
