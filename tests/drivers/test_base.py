"""The driver base: validators, value maps, limits, retries and pyvisa errors -> typed errors.

Timeout, garbage and disconnect handling use a real pyvisa-py session ("@py") on a
loopback TCP socket served by the test.
"""

from __future__ import annotations

import math
import socket

import pytest

from mrfm.drivers.base import (
    Bool,
    Instrument,
    OneOf,
    Range,
    Setting,
    ValueMap,
    parse_float,
    parse_int,
)
from mrfm.drivers.errors import (
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    LimitError,
)
from mrfm.drivers.srs.sr830 import SR830


class Toy(Instrument):
    model = "Toy"
    limit_keys = {"level": "largest level", "span": "span range"}
    level = Setting("LEV?", "LEV {}", unit="V", validator=Range(-5, 5), limit_mode="abs")
    span = Setting("SPAN?", "SPAN {}", unit="Hz", validator=Range(0, 100))
    code = Setting("CODE?", "CODE {}", value_map=[1e-3, 3e-3, 1e-2], limit=None)

    def check_errors(self, after: str = "") -> None:
        pass


def test_parse_numbers_strict():
    assert parse_float("+1.000000000000000E+03") == 1000.0
    assert parse_float(" -0.5 ") == -0.5
    assert parse_int("+2") == 2 and parse_int("3.0") == 3
    for bad in ("nan", "inf", "", "1_0", "0x10", "1,2", "\x00"):
        with pytest.raises(ValueError):
            parse_float(bad)
    with pytest.raises(ValueError):
        parse_int("2.5")


def test_validators_raise_limit_error_never_clip():
    r = Range(0, 10)
    assert r(10, "x") == 10
    with pytest.raises(LimitError):
        r(10.000001, "x")
    with pytest.raises(LimitError):
        r(math.nan, "x")
    with pytest.raises(LimitError):
        Range(1, 5, integer=True)(2.5, "n")
    assert OneOf(["SIN", "SQU"])("squ", "f") == "SQU"
    with pytest.raises(LimitError):
        OneOf(["SIN"])("TRI", "f")
    assert Bool("ON", "OFF")(True, "o") == "ON"
    with pytest.raises(LimitError):
        Bool()("yes", "o")
    assert issubclass(LimitError, ValueError) and issubclass(LimitError, InstrumentError)


def test_value_map_matches_floats_and_refuses_others():
    vm = ValueMap([10e-6, 30e-6, 100e-6])
    assert vm.encode(3e-5, "tc") == 1
    assert vm.encode(0.0001, "tc") == 2
    with pytest.raises(LimitError, match="not an allowed value"):
        vm.encode(50e-6, "tc")  # never rounded to the nearest entry
    assert vm.decode(0) == 10e-6
    with pytest.raises(ValueError):
        vm.decode(7)


def test_setting_checks_range_then_limits_before_writing(fake):
    s = fake([("LEV 2", None), ("SPAN 50", None), ("CODE 1", None), ("LEV?", "2.000")])
    t = Toy("fake", session=s, limits={"level": 3.0, "span": (10, 60)})
    t.level = 2
    t.span = 50
    t.code = 3e-3
    assert t.level == 2.0
    for name, value in (("level", -3.5), ("level", 6), ("span", 70), ("span", 5), ("code", 2e-3)):
        with pytest.raises(LimitError):
            setattr(t, name, value)
    assert s.done()  # nothing else was written


def test_unknown_limit_key_is_refused(fake):
    with pytest.raises(ValueError, match="unknown limit"):
        Toy("fake", session=fake([]), limits={"voltage": 1})


def test_query_retried_after_garbage_then_invalid_response(fake):
    s = fake([("SPAN?", "12x"), ("SPAN?", "12.5")])
    t = Toy("fake", session=s, retries=1)
    assert t.span == 12.5
    s = fake([("SPAN?", "@@"), ("SPAN?", "##")])
    with pytest.raises(InvalidResponse):
        Toy("fake", session=s, retries=1).span  # noqa: B018


def test_set_is_never_retried(fake):
    # a write whose error check times out raises at once; the command is sent once
    s = fake([("FREQ 1000", None), ("*ESR?", None)])
    li = SR830("fake", session=s, retries=3)
    with pytest.raises(InstrumentTimeout):
        li.frequency = 1000
    assert s.written == ["*CLS", "FREQ 1000", "*ESR?"]  # *CLS: connect clears stale errors


def test_context_manager_closes(fake):
    s = fake([])
    with Toy("fake", session=s) as t:
        pass
    assert s.closed
    with pytest.raises(InstrumentDisconnected):
        t.span  # noqa: B018


# ----------------------------------------------------------- real pyvisa-py sockets
def test_silent_instrument_times_out(line_server):
    srv = line_server(lambda line: None)
    with SR830(srv.resource, backend="@py", timeout=0.2, retries=1) as li:
        with pytest.raises(InstrumentTimeout):
            li.frequency  # noqa: B018
    assert srv.lines.count(b"FREQ?") == 2  # the idempotent query was tried twice


def test_garbage_reply_is_invalid_response(line_server):
    srv = line_server(lambda line: b"\x13#garbage!\n" if b"?" in line else None)
    with SR830(srv.resource, backend="@py", timeout=0.5, retries=0) as li:
        with pytest.raises(InvalidResponse):
            li.frequency  # noqa: B018
        with pytest.raises(InvalidResponse):
            li.xy()


def test_dropped_connection_is_disconnected(line_server):
    srv = line_server(lambda line: b"")  # closes on the first line
    with SR830(srv.resource, backend="@py", timeout=0.5) as li:
        with pytest.raises((InstrumentDisconnected, InstrumentTimeout)):
            li.frequency  # noqa: B018


def test_refused_connection_is_disconnected():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # pyvisa-py may open lazily: the refusal shows at the latest on the first query
    with pytest.raises(InstrumentDisconnected):
        with SR830(f"TCPIP0::127.0.0.1::{port}::SOCKET", backend="@py", timeout=0.5) as li:
            li.identify()


def test_real_socket_round_trip(line_server):
    state = {"FREQ": "1000"}

    def respond(line: bytes) -> bytes | None:
        text = line.decode()
        if text == "FREQ?":
            return state["FREQ"].encode() + b"\n"
        if text.startswith("FREQ "):
            state["FREQ"] = text[5:]
            return None
        if text == "*ESR?":
            return b"0\n"
        return None

    srv = line_server(respond)
    with SR830(srv.resource, backend="@py", timeout=0.5) as li:
        li.frequency = 1234.5
        assert li.frequency == 1234.5
    assert srv.lines == [b"*CLS", b"FREQ 1234.5", b"*ESR?", b"FREQ?"]
