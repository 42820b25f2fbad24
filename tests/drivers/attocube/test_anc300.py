"""ANC300 driver: OK/ERROR framing (pyvisa-sim file and a script) and the telnet login."""

from __future__ import annotations

import pytest

from mrfm.drivers.attocube.anc300 import ANC300, parse_value
from mrfm.drivers.errors import InstrumentDisconnected, InstrumentError, LimitError

RES = "TCPIP0::192.168.0.23::7230::SOCKET"


@pytest.fixture
def anc(sim):
    with ANC300(RES, backend=sim("attocube.anc300"), timeout=0.3,
                limits={"voltage": 40.0, "max_steps": 100}) as inst:
        yield inst


def test_getters(anc):
    assert anc.identify().startswith("attocube ANC300 controller version")
    assert anc.idn["serial"] == "ANC300B-C-1234"
    assert (anc.mode(1), anc.voltage(1), anc.frequency(2), anc.offset(3)) == ("gnd", 30.0,
                                                                              100.0, 0.0)
    assert anc.output_voltage(1) == 0.0
    assert anc.capacitance(2) == pytest.approx(998.901733e-9)


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_set_then_read_back(anc, axis):
    anc.set_mode(axis, "stp")
    anc.set_voltage(axis, 35.5)
    anc.set_frequency(axis, 500)
    anc.set_offset(axis, 12.25)
    assert (anc.mode(axis), anc.voltage(axis), anc.frequency(axis), anc.offset(axis)) == (
        "stp", 35.5, 500.0, 12.25)
    anc.step_up(axis, 10)
    anc.step_down(axis, "c")
    anc.stop(axis)
    anc.wait(axis)
    anc.ground(axis)
    assert anc.mode(axis) == "gnd"


@pytest.mark.parametrize("call", [lambda a: a.set_voltage(1, 41), lambda a: a.set_voltage(1, -1),
                                  lambda a: a.set_frequency(1, 0), lambda a: a.set_offset(1, 151),
                                  lambda a: a.set_mode(1, "fast"), lambda a: a.step_up(1, 101),
                                  lambda a: a.step_up(8, 1), lambda a: a.step_down(1, 0)])
def test_refused_before_writing(anc, call):
    with pytest.raises(LimitError):
        call(anc)
    assert anc.voltage(1) == 30.0 and anc.mode(1) == "gnd"


def test_error_reply(anc):
    with pytest.raises(InstrumentError, match="Value out of range"):
        anc.command("setv 1 200")
    with pytest.raises(InstrumentError, match="Unknown command"):
        anc.command("bogus")


def test_parse_value():
    assert parse_value("voltage = 30.000000 V", "V") == 30.0
    assert parse_value("capacitance = 998.901733 nF") == 998.901733
    with pytest.raises(ValueError):
        parse_value("voltage = 30 mV", "V")


def test_protocol_with_echo_and_error(fake):
    s = fake([
        ("getv 1", ["getv 1", "voltage = 30.000000 V", "OK"]),
        ("setf 1 200", ["setf 1 200", "OK"]),
        ("stepu 1 5", ["Axis not in stepping mode", "ERROR"]),
        ("getm 2", ["mode = stp", "OK"]),
        ("getf 1", ["frequency = 200 Hz", "OK"]),
    ], clear=None)
    anc = ANC300("x", session=s)
    assert anc.voltage(1) == 30.0
    anc.set_frequency(1, 200)
    with pytest.raises(InstrumentError, match="not in stepping mode"):
        anc.step_up(1, 5)  # a move: never retried
    assert anc.mode(2) == "stp" and anc.frequency(1) == 200.0
    assert s.done()


def login_server(line_server, password):
    banner = b"\xff\xfb\x01\xff\xfb\x03attocube ANC300 controller\r\nAuthorization code: "
    state = {"auth": False, "echo": True}

    def respond(line: bytes) -> bytes | None:
        text = line.decode()
        if not state["auth"]:
            if text == password:
                state["auth"] = True
                return b"*" * len(text) + b"\r\nAuthorization success\r\n"
            return b"*" * len(text) + b"\r\nAuthorization failed\r\nAuthorization code: "
        echo = (text + "\r\n").encode() if state["echo"] else b""
        if text == "echo off":
            state["echo"] = False
            return echo + b"OK\r\n"
        if text == "getv 1":
            return echo + b"voltage = 30.000000 V\r\nOK\r\n"
        return echo + b"Unknown command\r\nERROR\r\n"

    return line_server(respond, greeting=banner)


def test_login_over_a_real_socket(line_server):
    srv = login_server(line_server, "123456")
    with ANC300(srv.resource, backend="@py", password="123456", timeout=1.0) as anc:
        assert anc.voltage(1) == 30.0
    assert srv.lines == [b"123456", b"echo off", b"getv 1"]


def test_wrong_password(line_server):
    srv = login_server(line_server, "123456")
    with pytest.raises(InstrumentDisconnected, match="authorization failed"):
        ANC300(srv.resource, backend="@py", password="000000", timeout=1.0)
