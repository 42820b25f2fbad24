"""The SR86x capture buffer's settings and progress (SR860/SR865A manuals, "Capture").

``CAPTURELEN n`` sets the buffer to n kB (1..4096, rounded up to even); ``CAPTURECFG
i`` what each sample holds (0 X, 1 X and Y, 2 R and theta, 3 X, Y, R and theta: 4
bytes each); ``CAPTURERATE n`` the rate, ``CAPTURERATEMAX? / 2^n`` (n = 0..20, the
query answers Hz); ``CAPTURESTART acq,trig`` starts (acq 0 ``ONEshot``, 1 ``CONTinuous``;
trig 0 ``IMMediate``, 1 ``TRIGstart``, 2 ``SAMPpertrig``: numbers or names), ``CAPTURESTOP`` stops.
``CAPTURESTAT?`` answers bits 0 capturing, 1 waiting for a trigger, 2 one-shot done,
3 continuous capture wrapped; ``CAPTUREBYTES?`` the bytes stored; ``CAPTUREPROG?`` the
kilobytes stored rounded up to 2 kB chunks.

The virtual rig has no trigger input, so captures armed on a trigger wait; its
maximum rate is 1.25 MHz at any time constant. The samples themselves
(``CAPTUREGET?``, an IEEE 488.2 binary block) are not served by the virtual
instrument: only its progress is modelled.
"""

from __future__ import annotations

import math

from mrfm.rig.instruments.base import COMMAND_ERROR, CommandError, in_range, need, parse_int

#: fastest capture rate, Hz
MAX_RATE = 1.25e6
#: commands of this module
CAPTURE_COMMANDS = frozenset(("CAPTURELEN", "CAPTURECFG", "CAPTURERATEMAX", "CAPTURERATE",
                              "CAPTURESTART", "CAPTURESTOP", "CAPTURESTAT", "CAPTUREBYTES",
                              "CAPTUREPROG"))
_QUERY_ONLY = ("CAPTURERATEMAX", "CAPTURESTAT", "CAPTUREBYTES", "CAPTUREPROG")
#: CAPTURESTART arguments by name (short and long forms) or number
_ACQUISITION = {"ONE": 0, "ONESHOT": 0, "CONT": 1, "CONTINUOUS": 1}
_TRIGGER = {"IMM": 0, "IMMEDIATE": 0, "TRIG": 1, "TRIGSTART": 1, "SAMP": 2, "SAMPPERTRIG": 2}


def _choice(text: str, names: dict[str, int], what: str) -> int:
    """A CAPTURESTART argument: one of ``names`` or its number."""
    key = text.strip().upper()
    if key in names:
        return names[key]
    return int(in_range(parse_int(key, what), 0, max(names.values()), what))


class Capture:
    """Capture settings and progress of one SR86x (see module docstring)."""

    def __init__(self) -> None:
        self.length_kb = 256
        self.config = 1
        self.rate_index = 0
        self.continuous = False
        self.trigger_mode = 0
        self._start: float | None = None  # simulated time the capture started
        self._stop: float | None = None  # ... and stopped

    @property
    def rate(self) -> float:
        """Capture rate, Hz."""
        return MAX_RATE / 2**self.rate_index

    def _samples(self, now: float) -> tuple[int, bool]:
        """(samples stored, the continuous capture wrapped) at simulated time ``now``."""
        if self._start is None or self.trigger_mode != 0:
            return 0, False
        end = now if self._stop is None else self._stop
        taken = max(0, math.floor((end - self._start) * self.rate) + 1)
        per_sample = 4 * (1, 2, 2, 4)[self.config]
        capacity = self.length_kb * 1024 // per_sample
        return min(taken, capacity), taken > capacity and self.continuous

    def running(self, now: float) -> bool:
        """A capture is under way."""
        if self._start is None or self._stop is not None:
            return False
        stored, _ = self._samples(now)
        full = stored * 4 * (1, 2, 2, 4)[self.config] >= self.length_kb * 1024
        return self.continuous or not full

    def command(self, head: str, query: bool, args: list[str], now: float) -> str | None:
        """One command of :data:`CAPTURE_COMMANDS`."""
        if head in _QUERY_ONLY and not query:
            raise CommandError.of(COMMAND_ERROR, f"{head} is a query")
        if head == "CAPTURERATEMAX":
            return f"{MAX_RATE:.6g}"
        if head == "CAPTURELEN":
            if query:
                return str(self.length_kb)
            need(args, 1)
            kb = int(in_range(parse_int(args[0], head), 1, 4096, "kB"))
            self.length_kb = kb + kb % 2
            return None
        if head == "CAPTURECFG":
            if query:
                return str(self.config)
            need(args, 1)
            self.config = int(in_range(parse_int(args[0], head), 0, 3, head))
            return None
        if head == "CAPTURERATE":
            if query:
                return f"{self.rate:.6g}"
            need(args, 1)
            self.rate_index = int(in_range(parse_int(args[0], head), 0, 20, head))
            return None
        if head == "CAPTURESTART":
            need(args, 2)
            self.continuous = bool(_choice(args[0], _ACQUISITION, "acquisition"))
            self.trigger_mode = _choice(args[1], _TRIGGER, "trigger")
            self._start, self._stop = now, None
            return None
        if head == "CAPTURESTOP":
            if self._start is not None and self._stop is None:
                self._stop = now
            return None
        stored, wrapped = self._samples(now)
        nbytes = stored * 4 * (1, 2, 2, 4)[self.config]
        if head == "CAPTUREBYTES":
            return str(nbytes)
        if head == "CAPTUREPROG":
            return str(self.length_kb if wrapped else 2 * math.ceil(nbytes / 2048))
        # CAPTURESTAT
        status = 0
        if self.running(now):
            status |= 2 if self.trigger_mode else 1
        elif self._start is not None and not self.continuous and self.trigger_mode == 0:
            status |= 4
        if wrapped:
            status |= 8
        return str(status)
