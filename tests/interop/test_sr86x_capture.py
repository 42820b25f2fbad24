"""The virtual SR86x capture buffer against the SR865A manual ("Capture"): samples at the
capture rate 1.25 MHz / 2^n from the start, one-shot stop when full, continuous
wrap-around, ``CAPTUREPROG?`` in 2 kB chunks, and ``CAPTUREGET? i, j`` as an IEEE 488.2
definite-length block of little-endian floats that wraps past the captured part."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from mrfm.rig.instruments.base import CommandError
from mrfm.rig.instruments.sr86x_capture import MAX_RATE, Capture, ieee_block


def _ramp() -> tuple[Capture, list[float]]:
    seen: list[float] = []

    def sample(t: float) -> complex:
        seen.append(t)
        return complex(t, -2.0 * t)

    return Capture(sample), seen


def _start(cap: Capture, kb: int, cfg: int, rate_index: int, mode: str, t0: float) -> None:
    cap.command("CAPTURELEN", False, [str(kb)], t0)
    cap.command("CAPTURECFG", False, [str(cfg)], t0)
    cap.command("CAPTURERATE", False, [str(rate_index)], t0)
    cap.command("CAPTURESTART", False, [mode, "IMM"], t0)


def _get(cap: Capture, offset: int, size: int, now: float) -> np.ndarray:
    block = cap.command("CAPTUREGET", True, [str(offset), str(size)], now)
    assert isinstance(block, bytes)
    digits = int(block[1:2])
    count = int(block[2:2 + digits])
    assert block[:1] == b"#" and count == size * 1024 == len(block) - 2 - digits
    return np.frombuffer(block[2 + digits:], dtype="<f4")


def test_one_shot_counts_times_and_stop():
    cap, seen = _ramp()
    _start(cap, 2, 1, 10, "ONE", 1.0)  # X and Y (8 bytes) at 1220.703125 Hz into 2 kB
    rate = MAX_RATE / 2**10
    assert cap.command("CAPTURESTAT", True, [], 1.0) == "1"  # capturing
    assert cap.command("CAPTUREBYTES", True, [], 1.1) == str((math.floor(0.1 * rate) + 1) * 8)
    assert seen[0] == 1.0 and seen[1] - seen[0] == pytest.approx(1 / rate)
    assert cap.command("CAPTUREPROG", True, [], 1.1) == "2"  # 984 bytes: one 2 kB chunk
    assert cap.command("CAPTUREBYTES", True, [], 5.0) == "2048"  # 256 samples: full
    assert cap.command("CAPTURESTAT", True, [], 5.0) == "4" and len(seen) == 256
    values = _get(cap, 0, 2, 5.0).reshape(-1, 2)
    times = 1.0 + np.arange(256) / rate
    assert values[:, 0] == pytest.approx(times, rel=1e-7)  # float32
    assert values[:, 1] == pytest.approx(-2.0 * times, rel=1e-7)


def test_partial_buffer_reads_zeros_and_wraps_past_the_captured_part():
    cap, _ = _ramp()
    _start(cap, 4, 0, 12, "ONE", 0.0)  # X only (4 bytes) at 305.17578125 Hz into 4 kB
    cap.catch_up(0.5)
    stored = math.floor(0.5 * MAX_RATE / 2**12) + 1  # 153 samples: 612 bytes, 2 kB chunk
    assert cap.command("CAPTUREPROG", True, [], 0.5) == "2"
    first = _get(cap, 0, 2, 0.5)
    assert np.count_nonzero(first[1:stored]) == stored - 1 and not np.any(first[stored:])
    wrapped = _get(cap, 1, 2, 0.5)  # kB 1 of the 2 kB captured, then kB 0 again
    assert np.array_equal(wrapped, np.concatenate([first[256:], first[:256]]))
    for offset, size in ((3, 1), (0, 3), (0, 65), (0, 0)):  # beyond what is captured
        with pytest.raises(CommandError):
            cap.command("CAPTUREGET", True, [str(offset), str(size)], 0.5)


def test_continuous_capture_wraps_around():
    cap, _ = _ramp()
    _start(cap, 2, 3, 8, "CONT", 0.0)  # X, Y, R, theta (16 bytes): 128 samples in 2 kB
    rate = MAX_RATE / 2**8
    cap.catch_up(0.1)  # 489 samples due; the buffer keeps the newest 128 in a ring
    total = math.floor(0.1 * rate) + 1
    assert cap.command("CAPTURESTAT", True, [], 0.1) == str(1 | 8)  # capturing, wrapped
    assert cap.command("CAPTUREPROG", True, [], 0.1) == "2"
    values = _get(cap, 0, 2, 0.1).reshape(-1, 4)
    n = np.arange(total - 128, total)  # the samples kept, stored at n mod 128
    x = np.empty(128)
    x[n % 128] = n / rate
    assert values[:, 0] == pytest.approx(x, rel=1e-6)
    assert values[:, 2] == pytest.approx(np.sqrt(5.0) * x, rel=1e-6)  # R of (t, -2t)
    assert values[:, 3] == pytest.approx(math.degrees(math.atan2(-2.0, 1.0)), rel=1e-6)
    cap.command("CAPTURESTOP", False, [], 0.2)
    assert cap.command("CAPTURESTAT", True, [], 0.2) == "8"


def test_ieee_block_header():
    assert ieee_block(b"") == b"#10"
    data = struct.pack("<3f", 1.0, 2.0, 3.0)
    assert ieee_block(data) == b"#212" + data
