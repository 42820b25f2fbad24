"""IDS3010 JSON-RPC adapter against an in-process fake server on 127.0.0.1."""

from __future__ import annotations

import json
import socket

import pytest

from mrfm.drivers.attocube.ids3010 import IDS3010, parse_address
from mrfm.drivers.errors import (
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    LimitError,
)

NS = "com.attocube.ids."


def fake_ids(line_server, *, mode="normal"):
    state = {"running": False}

    def respond(line: bytes) -> bytes | None:
        req = json.loads(line)
        assert req["jsonrpc"] == "2.0" and req["api"] == 2
        method, params, rid = req["method"], req["params"], req["id"]
        if mode == "silent":
            return None
        if mode == "garbage":
            return b"}{ not json\r\n"
        if mode == "close":
            return b""
        m = method.removeprefix(NS)
        if m == "system.startMeasurement":
            state["running"] = True
            result = [0]
        elif m == "system.stopMeasurement":
            state["running"] = False
            result = [0]
        elif m == "system.getCurrentMode":
            result = [0, "measurement running" if state["running"] else "system idle"]
        elif m == "displacement.getAxisDisplacement":
            result = [0, 1000 * (params[0] + 1)]
        elif m == "displacement.getAxesDisplacement":
            result = [0, 1000, 2000, -3000]
        elif m == "displacement.getAbsolutePosition":
            result = [0, 5_000_000]
        elif m == "displacement.getSignalQuality":
            result = [0, 850, 500]
        else:
            return (json.dumps({"jsonrpc": "2.0", "id": rid,
                                "error": {"code": -32601, "message": "Method not found"}})
                    + "\r\n").encode()
        return (json.dumps({"jsonrpc": "2.0", "result": result, "id": rid}) + "\r\n").encode()

    return line_server(respond)


def test_parse_address():
    assert parse_address("TCPIP0::10.0.0.5::9090::SOCKET") == ("10.0.0.5", 9090)
    assert parse_address("localhost:1234") == ("localhost", 1234)


def test_measurement_round_trip(line_server):
    srv = fake_ids(line_server)
    with IDS3010(srv.resource, timeout=1.0) as ids:
        assert ids.mode == "system idle"
        ids.start()
        assert ids.mode == "measurement running"
        assert ids.displacement(1) == pytest.approx(2e-9)
        assert ids.displacements() == pytest.approx((1e-9, 2e-9, -3e-9))
        assert ids.absolute_position(0) == pytest.approx(5e-6)
        assert ids.signal_quality(2) == (850.0, 500.0)
        assert ids.identify().startswith("attocube,IDS3010,127.0.0.1:")
        ids.stop()
        with pytest.raises(LimitError):
            ids.displacement(3)
        with pytest.raises(InstrumentError, match="Method not found"):
            ids.call("system.reboot")
    ids_ = [json.loads(x)["id"] for x in srv.lines]
    assert ids_ == sorted(ids_) and len(set(ids_)) == len(ids_)  # increasing ids


def test_typed_failures(line_server):
    with IDS3010(fake_ids(line_server, mode="silent").resource, timeout=0.2) as ids:
        with pytest.raises(InstrumentTimeout):
            ids.displacement(0)
    with IDS3010(fake_ids(line_server, mode="garbage").resource, timeout=0.5) as ids:
        with pytest.raises(InvalidResponse):
            ids.displacement(0)
    with IDS3010(fake_ids(line_server, mode="close").resource, timeout=0.5) as ids:
        with pytest.raises(InstrumentDisconnected):
            ids.start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InstrumentDisconnected):
        IDS3010(f"127.0.0.1:{port}", timeout=0.2)
