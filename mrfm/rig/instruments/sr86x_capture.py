"""The SR86x capture buffer (SR860/SR865A manuals, "Capture").

``CAPTURELEN n`` sets the buffer to n kB (1..4096, rounded up to even); ``CAPTURECFG
i`` what each sample holds (0 X, 1 X and Y, 2 R and theta, 3 X, Y, R and theta: 4
bytes each); ``CAPTURERATE n`` the rate, ``CAPTURERATEMAX? / 2^n`` (n = 0..20, the
query answers Hz); ``CAPTURESTART acq,trig`` starts (acq 0 ``ONEshot``, 1 ``CONTinuous``;
trig 0 ``IMMediate``, 1 ``TRIGstart``, 2 ``SAMPpertrig``: numbers or names), ``CAPTURESTOP`` stops.
``CAPTURESTAT?`` answers bits 0 capturing, 1 waiting for a trigger, 2 one-shot done,
3 continuous capture wrapped; ``CAPTUREBYTES?`` the bytes stored; ``CAPTUREPROG?`` the
kilobytes stored rounded up to 2 kB chunks (the whole length once a continuous
capture has wrapped).

``CAPTUREGET? i, j`` returns j kB (1..64) of the buffer from kilobyte i as an IEEE 488.2
definite-length block (``#`` n, n digits giving the byte count, then the bytes; no
terminator follows): 4-byte IEEE floats, least significant byte first, sample after
sample in the order of ``CAPTURECFG``. Neither i nor j may exceed ``CAPTUREPROG?``;
a read past it wraps to the start. The buffer is zeroed when a capture starts, so
the part not yet written reads 0. A one-shot capture stops when the buffer is full; a
continuous one overwrites it from the start.

Samples are taken lazily, as for the SR830's data buffer: before each command the
instrument calls :meth:`Capture.catch_up` with the present simulated time, and the
samples that fell due are computed at their own times, in order (so a capture shows
the lock-in filter's response and noise correlation). The virtual rig has no trigger
input, so captures armed on a trigger wait; its maximum rate is 1.25 MHz at any time
constant.
"""

from __future__ import annotations

import cmath
import math
import struct
from collections.abc import Callable

from mrfm.rig.instruments.base import (
    COMMAND_ERROR,
    DATA_OUT_OF_RANGE,
    CommandError,
    in_range,
    need,
    parse_int,
)

#: fastest capture rate, Hz
MAX_RATE = 1.25e6
#: most kilobytes one ``CAPTUREGET?`` returns
MAX_GET_KB = 64
#: commands of this module
CAPTURE_COMMANDS = frozenset(("CAPTURELEN", "CAPTURECFG", "CAPTURERATEMAX", "CAPTURERATE",
                              "CAPTURESTART", "CAPTURESTOP", "CAPTURESTAT", "CAPTUREBYTES",
                              "CAPTUREPROG", "CAPTUREGET"))
_QUERY_ONLY = ("CAPTURERATEMAX", "CAPTURESTAT", "CAPTUREBYTES", "CAPTUREPROG", "CAPTUREGET")
#: CAPTURESTART arguments by name (short and long forms) or number
_ACQUISITION = {"ONE": 0, "ONESHOT": 0, "CONT": 1, "CONTINUOUS": 1}
_TRIGGER = {"IMM": 0, "IMMEDIATE": 0, "TRIG": 1, "TRIGSTART": 1, "SAMP": 2, "SAMPPERTRIG": 2}
#: floats per sample of each CAPTURECFG
_WIDTH = (1, 2, 2, 4)


def _choice(text: str, names: dict[str, int], what: str) -> int:
    """A CAPTURESTART argument: one of ``names`` or its number."""
    key = text.strip().upper()
    if key in names:
        return names[key]
    return int(in_range(parse_int(key, what), 0, max(names.values()), what))


def ieee_block(data: bytes) -> bytes:
    """``data`` as an IEEE 488.2 definite-length block: ``#``, the count's digit count,
    the byte count, the bytes."""
    count = str(len(data))
    return b"#" + str(len(count)).encode() + count.encode() + data


class Capture:
    """Capture buffer of one SR86x (see module docstring).

    Parameters
    ----------
    sample : callable
        ``sample(t)`` gives X + iY (V) at simulated time ``t`` (s), as the outputs show
        it; called with non-decreasing times.
    """

    def __init__(self, sample: Callable[[float], complex]) -> None:
        self._sample = sample
        self.length_kb = 256
        self.config = 1
        self.rate_index = 0
        self.continuous = False
        self.trigger_mode = 0
        self._memory = bytearray()
        self._written = 0  # samples written since the start (a continuous capture wraps)
        self._next: float | None = None  # time of the next sample, s (None: not sampling)
        self._started = False

    @property
    def rate(self) -> float:
        """Capture rate, Hz."""
        return MAX_RATE / 2**self.rate_index

    @property
    def _sample_bytes(self) -> int:
        return 4 * _WIDTH[self.config]

    @property
    def _capacity(self) -> int:
        """Samples the buffer holds."""
        return len(self._memory) // self._sample_bytes

    @property
    def _stored(self) -> int:
        """Samples in the buffer now."""
        return min(self._written, self._capacity)

    def running(self, now: float) -> bool:
        """A capture is under way (storing, or armed on a trigger)."""
        return self._started and (self._next is not None or self.trigger_mode != 0)

    def catch_up(self, now: float) -> None:
        """Store every sample due at or before ``now``."""
        if self._next is None or self._next > now:
            return
        step = 1.0 / self.rate
        due = math.floor((now - self._next) / step) + 1
        capacity = self._capacity
        if self.continuous and due > capacity:  # only the newest samples survive
            skipped = due - capacity
            self._written += skipped
            self._next += skipped * step
            due = capacity
        elif not self.continuous:
            due = min(due, capacity - self._written)
        t = self._next
        for _ in range(due):
            self._store(t)
            t += step
        self._next = t
        if not self.continuous and self._written >= capacity:
            self._next = None  # one shot: full

    def _store(self, t: float) -> None:
        z = self._sample(t)
        x, y = z.real, z.imag
        r = abs(z)
        theta = math.degrees(cmath.phase(z)) if r else 0.0
        values = ((x,), (x, y), (r, theta), (x, y, r, theta))[self.config]
        size = self._sample_bytes
        at = (self._written % self._capacity) * size
        self._memory[at:at + size] = struct.pack(f"<{len(values)}f", *values)
        self._written += 1

    def progress_kb(self) -> int:
        """``CAPTUREPROG?``: kilobytes stored, rounded up to 2 kB (the length once wrapped)."""
        if self._written > self._capacity:
            return self.length_kb
        return 2 * math.ceil(self._stored * self._sample_bytes / 2048)

    def command(self, head: str, query: bool, args: list[str], now: float) -> str | bytes | None:
        """One command of :data:`CAPTURE_COMMANDS` (``CAPTUREGET?`` answers bytes)."""
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
            self._memory = bytearray(self.length_kb * 1024)
            self._written = 0
            self._started = True
            self._next = now if self.trigger_mode == 0 else None  # no trigger input
            return None
        self.catch_up(now)
        if head == "CAPTURESTOP":
            self._next = None
            self._started = False
            return None
        if head == "CAPTUREBYTES":
            return str(self._stored * self._sample_bytes)
        if head == "CAPTUREPROG":
            return str(self.progress_kb())
        if head == "CAPTUREGET":
            return self._get(args)
        # CAPTURESTAT
        status = 0
        if self.running(now):
            status |= 2 if self.trigger_mode else 1
        elif self._written and not self.continuous:
            status |= 4
        if self._written > self._capacity:
            status |= 8
        return str(status)

    def _get(self, args: list[str]) -> bytes:
        """``CAPTUREGET? i, j``: j kB from kilobyte i, wrapping at ``CAPTUREPROG?``."""
        need(args, 2, "CAPTUREGET")
        offset = parse_int(args[0], "offset (kB)")
        size = int(in_range(parse_int(args[1], "size (kB)"), 1, MAX_GET_KB, "size (kB)"))
        captured = self.progress_kb()
        if captured == 0 or offset > captured or size > captured or offset < 0:
            raise CommandError.of(
                DATA_OUT_OF_RANGE, f"CAPTUREGET {offset},{size} with {captured} kB captured")
        captured_bytes = self._memory[: captured * 1024]
        start, count = offset * 1024 % len(captured_bytes), size * 1024
        data = bytes(captured_bytes[start:start + count])
        if len(data) < count:  # past the captured part: wrap to the start
            data += bytes(captured_bytes[: count - len(data)])
        return ieee_block(data)
