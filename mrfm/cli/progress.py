"""Progress of a long command on stderr, one implementation for every subcommand.

On a terminal a live bar (rich) redraws in place; when stderr is not a terminal (CI,
``nohup``, notebooks, a pipe) plain lines are printed instead, one when another 5 % of the
work is done or 10 s have passed since the last line, whichever comes first, and one at
100 %::

    mrfm: simulate 1536/4096 tip positions (38 %), 12 s elapsed, about 20 s left

Elapsed time counts from the first report (the start of the work); the rate, and so the
time left, from the first report that shows progress once there is a later one (a numba
compilation or a rig warm-up before the first unit does not stretch the estimate, and a
resumed scan's earlier points do not shorten it). While the work reports nothing (a
long first unit), a heartbeat thread repeats the last state every 10 s, so a log never
falls silent for longer. Nothing goes to stdout, so ``--json``
output stays one object; the lines start only once the work has run for
:data:`QUIET_S` (a job that short gets no progress at all). A command uses
:class:`CommandProgress` as a context manager and passes its :meth:`~CommandProgress.update`
(``update(done, total)``) to the library call as the progress callback.
"""

from __future__ import annotations

import math
import re
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

#: a plain line when this fraction more of the work is done since the last line ...
STEP = 0.05
#: ... or this many seconds have passed since the last line (whichever comes first)
EVERY_S = 10.0
#: no line before the work has run this long, s (short jobs stay quiet)
QUIET_S = 1.0

#: what a plain line looks like (the tests parse it): label, done, total, unit, percent,
#: elapsed and remaining (``12 s`` or ``h:mm:ss``; remaining ``?`` before any progress)
LINE_PATTERN = re.compile(
    r"^mrfm: (?P<label>\S+) (?P<done>\d+)/(?P<total>\d+) (?P<unit>[^(]+) "
    r"\((?P<percent>\d+) %\), (?P<elapsed>[\d:]+ s|\d+:\d\d:\d\d) elapsed, "
    r"about (?P<left>[\d:]+ s|\d+:\d\d:\d\d|\?) left$"
)


def duration(seconds: float) -> str:
    """``42 s`` below a minute, else ``h:mm:ss``; ``?`` when unknown (NaN or inf)."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


class ProgressLines:
    """Plain progress lines for a stderr that is not a terminal (see the module docstring).

    Parameters
    ----------
    label : str
        What runs (``"scan"``, ``"simulate"``), the line's first word after ``mrfm:``.
    unit : str
        What is counted (``"points"``, ``"tip positions"``, ``"samples"``, ``"items"``).
    enabled : bool
        False: :meth:`update` prints nothing (stderr is a terminal with its live bar).
    step, every_s, quiet_s : float, optional
        Fraction of the work and seconds between lines; seconds before the first line
        (default: the module's :data:`STEP`, :data:`EVERY_S`, :data:`QUIET_S` at the time).
    clock : callable
        Time source, s (injectable for tests).
    stream : file, optional
        Where the lines go (default: ``sys.stderr`` at the time of each line).
    """

    def __init__(self, label: str, unit: str, *, enabled: bool = True,
                 step: float | None = None, every_s: float | None = None,
                 quiet_s: float | None = None, clock: Callable[[], float] = time.monotonic,
                 stream: TextIO | None = None):
        self.label = label
        self.unit = unit
        self.enabled = enabled
        self.step = STEP if step is None else step
        self.every_s = EVERY_S if every_s is None else every_s
        self.quiet_s = QUIET_S if quiet_s is None else quiet_s
        self.clock = clock
        self.stream = stream
        self._start: float | None = None  # time and count of the first report
        self._done0 = 0
        self._base: tuple[float, int] | None = None  # the first report that shows progress
        self._state = (0, 0)  # the latest (done, total)
        self._last_time = 0.0
        self._last_fraction = 0.0
        self._printed = False
        self._finished = False
        self._lock = threading.Lock()

    def update(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` units; prints a line when one is due."""
        if not self.enabled or total <= 0:
            return
        with self._lock:
            if self._finished:
                return
            now = self.clock()
            fraction = min(done / total, 1.0)
            self._state = (done, total)
            if self._start is None:  # the start: the baseline, no line
                self._start, self._done0, self._last_time = now, done, now
                self._last_fraction = fraction
                self._finished = done >= total
                return
            if self._base is None and done > self._done0:
                self._base = (now, done)
            elapsed = now - self._start
            if done >= total:
                self._finished = True
                if not self._printed and elapsed < self.quiet_s:
                    return  # a short job: no progress at all
            elif elapsed < self.quiet_s or not (
                    fraction - self._last_fraction >= self.step - 1e-12
                    or now - self._last_time >= self.every_s):
                return
            self._print(now)

    def heartbeat(self) -> None:
        """Repeat the latest state if no line came for ``every_s`` (called by a timer)."""
        if not self.enabled:
            return
        with self._lock:
            if self._start is None or self._finished:
                return
            now = self.clock()
            if now - self._start >= self.quiet_s and now - self._last_time >= self.every_s:
                self._print(now)

    def _print(self, now: float) -> None:
        done, total = self._state
        start = self._start if self._start is not None else now
        fraction = min(done / total, 1.0)
        self._last_fraction, self._last_time, self._printed = fraction, now, True
        since, counted = start, self._done0
        if self._base is not None and done > self._base[1]:
            since, counted = self._base
        rate = (done - counted) / (now - since) if now > since else 0.0
        left = (total - done) / rate if rate > 0 else (0.0 if done >= total else math.nan)
        print(f"mrfm: {self.label} {done}/{total} {self.unit} ({math.floor(100 * fraction)} %), "
              f"{duration(now - start)} elapsed, about {duration(left)} left",
              file=self.stream or sys.stderr, flush=True)


class CommandProgress:
    """A command's progress on stderr: rich's live bar on a terminal, else
    :class:`ProgressLines`. Use as a context manager; pass :meth:`update` as the callback.

    Parameters
    ----------
    label, unit : str
        As for :class:`ProgressLines` (the bar shows them too).
    terminal : bool, optional
        Whether stderr is a terminal (default: ask ``sys.stderr.isatty()``).
    transient : bool
        Remove the live bar when done (the commands whose result follows on stderr).
    console : rich.console.Console, optional
        The console of the bar (a command that prints messages above the live bar passes
        the console it prints with); default a new one on stderr.
    """

    def __init__(self, label: str, unit: str, *, terminal: bool | None = None,
                 transient: bool = True, console: Console | None = None):
        self.terminal = _is_terminal() if terminal is None else terminal
        self._console = console
        self.lines = ProgressLines(label, unit, enabled=not self.terminal)
        self._bar = None
        self._task = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._label = label
        self._unit = unit
        self._transient = transient

    def __enter__(self) -> CommandProgress:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(f"[bold]{self._label}"), BarColumn(), MofNCompleteColumn(),
                TextColumn(self._unit), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=self._console or Console(stderr=True),
                transient=self._transient)
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=None)
        else:
            self._thread = threading.Thread(target=self._beat, name="mrfm-progress",
                                            daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            self.lines.heartbeat()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` units: redraw the bar, or print a line when one is due."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=total)
        self.lines.update(done, total)


def _is_terminal() -> bool:
    """Whether stderr is a terminal now (pytest's capture and notebooks replace it)."""
    return bool(sys.stderr.isatty())


__all__ = ["EVERY_S", "LINE_PATTERN", "QUIET_S", "STEP", "CommandProgress", "ProgressLines",
           "duration"]
