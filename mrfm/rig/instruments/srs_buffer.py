"""The SR830's data storage: two traces sampled at a fixed rate or on triggers.

SR830 manual, ch. 5 "Data storage commands": ``SRAT i`` sets the sample rate to
62.5 mHz x 2^i (i = 0..13, 62.5 mHz ... 512 Hz) or, with i = 14, one point per
trigger (``TRIG`` or the rear-panel input); ``SEND 0`` stops storing when the
buffer is full (one shot), ``SEND 1`` wraps around and overwrites the oldest
points (loop); ``STRT`` starts or resumes storage, ``PAUS`` pauses it, ``REST``
empties the buffer. With ``TSTR 1`` a trigger starts the scan. Each point holds
the CH1 and CH2 display values at its sample time; the buffer holds 16383 points
(one trace of each channel).

Samples are taken lazily: before any command that looks at the buffer the
instrument calls :meth:`DataBuffer.catch_up` with the present simulated time, and
the points that fell due since the last call are computed at their own times, in
order (the lock-in filter is advanced sample by sample, so a trace shows the
filter's response and its noise correlation, not one reading repeated).
"""

from __future__ import annotations

import math
import struct
from collections import deque
from collections.abc import Callable

from mrfm.rig.instruments.base import (
    COMMAND_ERROR,
    DATA_OUT_OF_RANGE,
    CommandError,
    fmt_g,
    in_range,
    need,
    parse_int,
)

#: points per trace (SR830 manual: 16383 points per channel)
CAPACITY = 16383
#: ``SRAT`` index of triggered sampling
TRIGGERED = 14
#: ``SRAT`` indices of fixed rates, 0..13
RATE_INDICES = range(14)


def sample_rate(index: int) -> float:
    """Sample rate of ``SRAT index`` (0..13), Hz: 62.5 mHz x 2^index."""
    return 0.0625 * 2.0**index


class DataBuffer:
    """Two-trace data storage of the SR830 (see module docstring).

    Parameters
    ----------
    sample : callable
        ``sample(t)`` gives the (CH1, CH2) display values at simulated time ``t`` (s);
        called with non-decreasing times.
    """

    def __init__(self, sample: Callable[[float], tuple[float, float]]) -> None:
        self._sample = sample
        self.rate_index = 4  # 1 Hz
        self.loop = True
        self.trigger_starts = False
        self.traces: tuple[deque[float], deque[float]] = (deque(maxlen=CAPACITY),
                                                          deque(maxlen=CAPACITY))
        self.running = False
        self._next: float | None = None  # time of the next timed sample, s

    # ------------------------------------------------------------ settings
    def set_rate(self, index: int, now: float) -> None:
        """``SRAT``: the rate applies from the next sample on (points so far are kept)."""
        self.catch_up(now)
        self.rate_index = index
        self._next = now if self.running and index != TRIGGERED else None

    # ------------------------------------------------------------- control
    def start(self, now: float) -> None:
        """``STRT``: start or resume storage now (the first sample is taken at once)."""
        self.catch_up(now)
        if self.running:
            return
        if not self.loop and len(self.traces[0]) >= CAPACITY:
            return  # a full one-shot buffer stores nothing more until REST
        self.running = True
        self._next = now if self.rate_index != TRIGGERED else None

    def pause(self, now: float) -> None:
        """``PAUS``: store the points due so far, then stop."""
        self.catch_up(now)
        self.running = False
        self._next = None

    def reset(self) -> None:
        """``REST``: empty both traces and stop."""
        for trace in self.traces:
            trace.clear()
        self.running = False
        self._next = None

    def trigger(self, now: float) -> bool:
        """A trigger (``TRIG``): starts a scan if ``TSTR 1`` and stores a point when
        sampling on triggers. True when the trigger started storage."""
        self.catch_up(now)
        started = False
        if not self.running and self.trigger_starts:
            self.start(now)
            started = self.running
            if self.rate_index != TRIGGERED:
                return started
        if self.running and self.rate_index == TRIGGERED:
            self._store(now)
        return started

    # ------------------------------------------------------------- reading
    @property
    def count(self) -> int:
        """Points stored (``SPTS?``)."""
        return len(self.traces[0])

    def catch_up(self, now: float) -> None:
        """Store every timed sample due at or before ``now``."""
        if not self.running or self._next is None or self._next > now:
            return
        step = 1.0 / sample_rate(self.rate_index)
        due = math.floor((now - self._next) / step) + 1
        if self.loop and due > CAPACITY:  # only the newest CAPACITY points survive
            self._next += (due - CAPACITY) * step
            due = CAPACITY
        t = self._next
        for _ in range(due):
            if not self._store(t):
                return  # a full one-shot buffer stopped
            t += step
        if self.running:
            self._next = t

    def _store(self, t: float) -> bool:
        """Store the point at time ``t``; False (and stop) when a one-shot buffer is full."""
        if not self.loop and len(self.traces[0]) >= CAPACITY:
            self.running = False
            self._next = None
            return False
        ch1, ch2 = self._sample(t)
        self.traces[0].append(ch1)
        self.traces[1].append(ch2)
        if not self.loop and len(self.traces[0]) >= CAPACITY:
            self.running = False
            self._next = None
        return True

    def points(self, trace: int, first: int, count: int) -> list[float]:
        """``count`` points of trace 1 or 2 from bin ``first`` (bin 0 the oldest).

        Raises
        ------
        IndexError
            The bins are not all stored (the instrument reports an execution error).
        """
        data = self.traces[trace - 1]
        if first < 0 or count < 1 or first + count > len(data):
            raise IndexError(f"bins {first}..{first + count - 1} of {len(data)} stored")
        return [data[i] for i in range(first, first + count)]


def ieee_float32(values: list[float]) -> bytes:
    """``TRCB?`` transfer: IEEE 754 single precision, least significant byte first."""
    return struct.pack(f"<{len(values)}f", *values)


def sr830_float(values: list[float]) -> bytes:
    """``TRCL?`` transfer: per point a 16-bit two's complement mantissa m and a 16-bit
    exponent e, both least significant byte first; the value is m x 2^(e - 124).

    The manual's format is not normalized: any (m, e) giving the value is valid. The
    normalized pair (2^14 <= |m| < 2^15) is sent unless one of its bytes is a line feed
    (0x0A, only ever the mantissa's low byte); then m is even and m/2, e+1 (the same
    value exactly, with no LF byte) is sent, so a reader that ends reads at LF, as QCoDeS
    and PyMeasure configure pyvisa, is not cut short by the data.
    """
    out = bytearray()
    for v in values:
        if v == 0.0:
            out += struct.pack("<hh", 0, 124)
            continue
        mant, exp = math.frexp(v)  # v = mant 2^exp, 0.5 <= |mant| < 1
        m = round(mant * 32768.0)
        e = exp - 15
        if m == 32768:  # rounding reached 2^15
            m, e = m // 2, e + 1
        point = struct.pack("<hh", m, e + 124)
        if _LF in point and m % 2 == 0:
            point = struct.pack("<hh", m // 2, e + 125)
        out += point
    return bytes(out)


_LF = 0x0A


#: the mnemonics :func:`storage_command` handles
STORAGE_COMMANDS = frozenset(
    ("SRAT", "SEND", "TSTR", "STRT", "STRD", "PAUS", "REST", "TRIG", "SPTS", "TRCA", "TRCB",
     "TRCL")
)


def storage_command(
    buf: DataBuffer, head: str, query: bool, args: list[str], now: float
) -> tuple[str | bytes | None, bool]:
    """One data-storage command of :data:`STORAGE_COMMANDS` at simulated time ``now``.

    Returns
    -------
    reply : str, bytes or None
        The reply (bytes: a binary ``TRCB?``/``TRCL?`` block), None for a set command.
    started : bool
        A trigger started storage (the instrument sets its LIAS trigger bit).
    """
    if head == "SRAT":
        if query:
            return str(buf.rate_index), False
        need(args, 1)
        buf.set_rate(int(in_range(parse_int(args[0], "SRAT"), 0, TRIGGERED)), now)
        return None, False
    if head in ("SEND", "TSTR"):
        if query:
            return str(int(buf.loop if head == "SEND" else buf.trigger_starts)), False
        need(args, 1)
        on = bool(in_range(parse_int(args[0], head), 0, 1))
        buf.catch_up(now)
        if head == "SEND":
            buf.loop = on
        else:
            buf.trigger_starts = on
        return None, False
    if head in ("SPTS", "TRCA", "TRCB", "TRCL") and not query:
        raise CommandError.of(COMMAND_ERROR, f"{head} is a query")
    if head == "SPTS":
        buf.catch_up(now)
        return str(buf.count), False
    if head in ("TRCA", "TRCB", "TRCL"):
        need(args, 3, head)
        trace = int(in_range(parse_int(args[0], head), 1, 2, "trace"))
        first = int(in_range(parse_int(args[1], head), 0, CAPACITY - 1, "bin"))
        count = int(in_range(parse_int(args[2], head), 1, CAPACITY, "points"))
        buf.catch_up(now)
        if first + count > buf.count:
            raise CommandError.of(
                DATA_OUT_OF_RANGE, f"{head}: bins {first}+{count} > {buf.count} stored")
        values = buf.points(trace, first, count)
        if head == "TRCA":
            return ",".join(fmt_g(v) for v in values), False
        return (ieee_float32(values) if head == "TRCB" else sr830_float(values)), False
    if query:
        raise CommandError.of(COMMAND_ERROR, f"{head} takes no '?'")
    need(args, 0, head)
    if head == "STRT":
        buf.start(now)
    elif head == "STRD":  # start after 0.5 s (the fast-transfer mode's delayed start)
        buf.start(now + 0.5)
    elif head == "PAUS":
        buf.pause(now)
    elif head == "REST":
        buf.reset()
    else:
        return None, buf.trigger(now)
    return None, False
