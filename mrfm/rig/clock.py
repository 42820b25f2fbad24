"""The virtual rig's simulated clock: :class:`SimClock`."""

from __future__ import annotations

import threading
import time


class SimClock:
    """Simulated time in seconds since creation.

    Parameters
    ----------
    time_scale : float
        Simulated seconds per wall-clock second.
    manual : bool
        If True, time only moves through :meth:`advance` (and :meth:`sleep`).
    """

    def __init__(self, time_scale: float = 1.0, *, manual: bool = False) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = float(time_scale)
        self.manual = manual
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Simulated time, s."""
        if self.manual:
            return self._offset
        return (time.monotonic() - self._t0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` (any clock)."""
        with self._lock:
            self._offset += max(0.0, float(seconds))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time (advances a manual clock instead)."""
        if self.manual:
            self.advance(seconds)
        elif seconds > 0:
            time.sleep(seconds / self.time_scale)
