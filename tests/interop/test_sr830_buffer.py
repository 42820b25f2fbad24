"""The virtual SR830's data storage and status byte, per the SR830 manual (ch. 5): sample
counts from rate x time, one-shot stop at 16383 points, loop wrap-around, triggered
sampling, the TRCL? number format m x 2^(e - 124), and *STB? bits from the enables."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from mrfm.rig.instruments.srs_buffer import CAPACITY, DataBuffer, ieee_float32, sr830_float

from ..rig.rig_helpers import LineClient


def _ramp_buffer() -> tuple[DataBuffer, list[float]]:
    seen: list[float] = []

    def sample(t: float) -> tuple[float, float]:
        seen.append(t)
        return t, -t

    return DataBuffer(sample), seen


def test_rate_times_and_counts():
    buf, seen = _ramp_buffer()
    buf.set_rate(13, 0.0)  # 512 Hz
    buf.start(1.0)
    buf.catch_up(1.25)
    assert buf.count == 129  # floor(0.25 x 512) + 1
    assert seen[1] - seen[0] == pytest.approx(1 / 512) and seen[0] == 1.0
    assert buf.points(2, 0, 2) == [-1.0, -(1 + 1 / 512)]
    with pytest.raises(IndexError):
        buf.points(1, 128, 2)


def test_one_shot_stops_full_and_loop_keeps_the_newest():
    buf, _ = _ramp_buffer()
    buf.loop = False
    buf.set_rate(13, 0.0)
    buf.start(0.0)
    buf.catch_up(100.0)  # 51201 samples due
    assert buf.count == CAPACITY and not buf.running
    buf.reset()
    buf.loop = True
    buf.start(0.0)
    buf.catch_up(100.0)
    assert buf.count == CAPACITY and buf.running
    assert buf.points(1, CAPACITY - 1, 1) == [pytest.approx(100.0)]  # newest last
    assert buf.points(1, 0, 1) == [pytest.approx(100.0 - (CAPACITY - 1) / 512)]


def test_triggered_sampling():
    buf, _ = _ramp_buffer()
    buf.set_rate(14, 0.0)  # one point per trigger
    buf.trigger_starts = True
    assert buf.trigger(2.0) and buf.count == 1  # the trigger started storage and sampled
    buf.catch_up(50.0)
    assert buf.count == 1
    buf.trigger(3.0)
    assert buf.points(1, 0, 2) == [2.0, 3.0]


def test_binary_formats():
    values = [1.0, -2.5e-6, 0.0, 3.3e-9, -0.999]
    assert struct.unpack("<5f", ieee_float32(values)) == pytest.approx(values, rel=1e-7)
    raw = np.frombuffer(sr830_float(values), dtype="<i2")
    decoded = raw[::2] * 2.0 ** (raw[1::2].astype(float) - 124)
    assert decoded == pytest.approx(values, rel=2 ** -14, abs=1e-30)
    # 0x400A x 2^-15: the normalized mantissa's low byte is a line feed; m/2, e+1 is sent
    lf = [0x400A / 32768, -0x4FF6 / 2**40]  # m = 0x400A, 0xB00A (two's complement)
    block = sr830_float(lf)
    assert b"\n" not in block
    raw = np.frombuffer(block, dtype="<i2")
    assert list(raw[::2] * 2.0 ** (raw[1::2].astype(float) - 124)) == lf  # exactly


def test_status_byte_and_event_bits(rig):
    c = LineClient(rig.resources["lockin"], "\n")
    try:
        c.send("*CLS;*ESE 0;*SRE 0;LIAE 0;REST")
        assert int(c.query("*STB?")) == 3  # SCN (not storing) and IFC (idle)
        c.send("SENS 99")  # execution error (ESR bit 4)
        assert int(c.query("*STB?")) == 3
        c.send("*ESE 16;*SRE 32")
        assert int(c.query("*STB?")) == 3 + 32 + 64  # ESB, and MSS since SRE enables ESB
        assert c.query("*ESR? 4") == "1" and c.query("*ESR?") == "0"  # a bit read clears it
        c.send("LIAE 2,1;ERRE 255")
        assert c.query("LIAE?") == "4" and c.query("LIAE? 2") == "1"
        c.send("SRAT 4;STRT")
        assert c.query("*STB? 0") == "0"  # storing
        c.send("PAUS;REST;*ESE 0;*SRE 0;LIAE 0;ERRE 0")
        # answered only after the line above has run: the next test on this module's rig
        # must not have its buffer reset by it (each connection has its own server thread)
        assert c.query("*IDN?").startswith("Stanford_Research_Systems,SR830")
    finally:
        c.close()


def test_binary_buffer_transfers_over_the_socket(rig):
    """TRCB? and TRCL? arrive as raw blocks (4 bytes per point, no terminator) through the
    server; TRCA? of the same points agrees."""
    c = LineClient(rig.resources["lockin"], "\n")
    try:
        c.send("REST;SRAT 13;SEND 0;STRT")
        assert int(c.query("SPTS?")) <= 1  # the manual clock has not moved yet
        rig.state.clock.advance(0.05)  # 512 Hz for 50 ms of simulated time: 26 points
        c.send("PAUS")
        n = int(c.query("SPTS?"))
        assert n >= 3
        text = [float(v) for v in c.query("TRCA? 1,0,3").strip(",").split(",")]
        for command in ("TRCB? 1,0,3", "TRCL? 1,0,3"):
            c.send(command)
            data = b""
            while len(data) < 12:
                data += c.read_raw(12 - len(data))
            if command.startswith("TRCB"):
                got = struct.unpack("<3f", data)
            else:
                raw = np.frombuffer(data, dtype="<i2")
                got = raw[::2] * 2.0 ** (raw[1::2].astype(float) - 124)
            assert list(got) == pytest.approx(text, rel=2 ** -14, abs=1e-30), command
        assert c.query("*IDN?").startswith("Stanford_Research_Systems,SR830")  # still in step
    finally:
        c.close()
