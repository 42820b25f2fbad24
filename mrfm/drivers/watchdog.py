"""A watchdog for instrument calls: none may block beyond its deadline.

A reply timeout protects against an instrument that is silent, not against one that
keeps the connection busy without ever completing a reply (a frozen firmware that
trickles bytes, a bridge that echoes noise): pyvisa-py 0.8 and a plain socket both keep
reading as long as bytes arrive. Every driver I/O runs inside :meth:`Watchdog.guard`;
one daemon thread, shared by all drivers, calls the guard's ``abort`` (which closes the
connection, making the blocked read fail) once the deadline has passed, and the driver
then raises :class:`~mrfm.drivers.errors.InstrumentTimeout`.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: seconds between the watchdog's looks at the calls in flight
PERIOD = 0.05


@dataclass
class GuardedCall:
    """One call in flight: its deadline (``time.monotonic``), abort action and whether the
    watchdog fired."""

    deadline: float
    abort: Callable[[], None]
    fired: bool = False


class Watchdog:
    """Aborts guarded calls that outlive their deadline (one daemon thread, started lazily)."""

    def __init__(self, period: float = PERIOD) -> None:
        self.period = period
        self._lock = threading.Lock()
        self._calls: dict[int, GuardedCall] = {}
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, seconds: float, abort: Callable[[], None]) -> Iterator[GuardedCall]:
        """Run the ``with`` body under a deadline of ``seconds``; past it, ``abort()`` is
        called from the watchdog thread and the yielded call's ``fired`` is True."""
        call = GuardedCall(time.monotonic() + seconds, abort)
        key = next(self._keys)
        with self._lock:
            self._calls[key] = call
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mrfm-watchdog",
                                                 daemon=True)
                self._thread.start()
        try:
            yield call
        finally:
            with self._lock:
                del self._calls[key]

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            now = time.monotonic()
            with self._lock:
                late = [c for c in self._calls.values() if not c.fired and now > c.deadline]
                for call in late:
                    call.fired = True
            for call in late:
                with contextlib.suppress(Exception):  # the abort only has to try
                    call.abort()


#: the watchdog of every driver in this process
WATCHDOG = Watchdog()
