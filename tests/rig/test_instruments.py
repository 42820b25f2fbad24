"""Wire formats of every virtual instrument, their error reporting and the length bound.

Expected strings are the formats in the manuals as collected in INSTRUMENTS.md:
SR865 ``SCAL`` order and 0-based ``OUTP?`` with ``;``-joined replies; SG384 ``LERR?``;
Keysight ``+1.000000000000000E+03`` and ``SYST:ERR?``; ANC300 banner, password, ``OK``/
``ERROR`` framing; GCS space-LF multi-line replies and ``ERR?``; Lake Shore ``+004.200``
with CR LF; AMI banner; IDS JSON-RPC 2.0.
"""

from __future__ import annotations

import json

import pytest

from mrfm.rig.instruments.base import MAX_LINE, scpi_match

from .rig_helpers import LineClient


def test_scpi_header_matching():
    assert scpi_match("SOUR2:FREQ", "[SOURce#:]FREQuency[:CW]") == [2]
    assert scpi_match("FREQuency", "[SOURce#:]FREQuency[:CW]") == [1]
    assert scpi_match("source1:frequency:cw", "[SOURce#:]FREQuency[:CW]") == [1]
    assert scpi_match("SOURC1:FREQ", "[SOURce#:]FREQuency") is None
    assert scpi_match("RAMP:RATE:FIELD:2", "RAMP:RATE:FIELD:#") == [2]
    assert scpi_match("OUTP", "OUTPut#[:STATe]") == [1]


def test_sr865_differs_from_sr830(client):
    c = client("lockin2")
    assert c.query("*IDN?").startswith("Stanford_Research_Systems,SR865A,")
    c.send("SCAL 1")  # 500 mV in the SR86x order
    assert c.query("SCAL?") == "1"
    c.send("FREQ 2500")
    reply = c.query("FREQ?;OUTP? 0;OUTP? THeta").split(";")
    assert float(reply[0]) == 2500 and len(reply) == 3
    assert len(c.query("SNAPD?").split(",")) == 4
    c.send("SCAL5")  # the SR86x requires a space before the argument
    assert int(c.query("*ESR?")) & 32
    c.send("SNAP? 0,1,2,3")  # at most three parameters
    assert int(c.query("*ESR?")) & 32


def test_sr830_errors_and_ranges(client):
    c = client("lockin")
    c.send("SENS 27")  # out of range: execution error, value kept
    assert int(c.query("*ESR?")) == 16
    assert c.query("SENS?") == "26"
    c.send("OUTP 1")  # OUTP is query-only
    assert int(c.query("*ESR?")) == 32
    c.send("SENS5")  # no space is fine on the SR830
    assert c.query("SENS?") == "5"


def test_sg384(client, rig):
    c = client("rf")
    assert c.query("*IDN?").startswith("Stanford Research Systems,SG384,")
    c.send("FREQ 2.96 GHz")
    assert c.query("FREQ?") == "2960000000.000000"
    c.send("AMPR 12")  # above the lab's 10 dBm
    assert c.query("LERR?") == "10"
    assert c.query("AMPR?") == "-10.00"
    c.send("BOGUS 1")
    assert c.query("LERR?") == "111"
    assert c.query("LERR?") == "0"
    c.send("ENBR 1")
    assert c.query("ENBR?") == "1"
    assert rig.state.rf.output is True


def test_keysight_33500b(client):
    c = client("awg")
    assert c.query("*IDN?").split(",")[1] == "33522B"
    c.send("SOUR1:FREQ 1000")
    assert c.query("SOURce1:FREQuency?") == "+1.000000000000000E+03"
    c.send("SOUR2:FUNC SQUare;OUTP2 ON")
    assert c.query("SOUR2:FUNC?;OUTP2?") == "SQU;1"
    assert c.query("SYST:ERR?") == '+0,"No error"'
    c.send("SOUR1:FREQ 1e9")
    c.send("SOUR1:FROB 3")
    assert c.query("SYST:ERR?") == '-222,"Data out of range"'
    assert c.query("SYSTem:ERRor?") == '-113,"Undefined header"'
    assert c.query("SYST:ERR?") == '+0,"No error"'
    assert c.query("FREQ?") == "+1.000000000000000E+03"


def test_anc300_session(rig):
    c = LineClient(rig.resources["coarse"], "\r\n")
    try:
        banner = c.read_raw()
        while not banner.endswith(b"Authorization code: "):
            banner += c.read_raw()
        assert banner.startswith(b"\xff")  # telnet option bytes first
        assert c.query("wrong") == "*****"
        assert c.readline() == "Authorization failed"
        assert c.readline() == "Authorization code: "
        c.send("secret")
        assert c.readline() == "******"
        assert c.readline() == "Authorization success"
        c.send("echo off")
        assert c.read_until("OK") == ["echo off", "OK"]
        c.send("getm 1")
        assert c.read_until("OK") == ["mode = gnd", "OK"]
        c.send("stepu 1 10")
        assert c.read_until("OK")[-1] == "ERROR"  # not in step mode
        c.send("setm 1 stp")
        assert c.read_until("OK") == ["OK"]
        c.send("setv 1 40")
        c.read_until("OK")
        c.send("getv 1")
        assert c.read_until("OK") == ["voltage = 40.000000 V", "OK"]
        c.send("setf 1 1000")
        c.read_until("OK")
        c.send("stepu 1 100")
        c.read_until("OK")
        c.send("stepw 1")  # returns when the 100 steps at 1 kHz are done (manual clock)
        assert c.read_until("OK") == ["OK"]
        step = rig.state.coarse.step_size(rig.state.coarse.axes["1"])
        assert rig.state.coarse.offset("1") == pytest.approx(100 * step)
        assert step == pytest.approx(1.5e-9 * 40 * rig.state.temperature_factor())
        c.send("getc 9")
        assert c.read_until("OK")[-1] == "ERROR"
        c.send("setm 2 cap")
        c.read_until("OK")
        c.send("getc 2")
        assert c.read_until("OK")[0].startswith("capacitance = ")
    finally:
        c.close()


def test_pi_e727_gcs(client):
    c = client("scanner")
    assert "E-727" in c.query("*IDN?")
    c.send("POS?")
    raw = b""
    while not (raw.endswith(b"\n") and not raw.endswith(b" \n")):
        raw += c.read_raw()
    lines = raw.decode()[:-1].split(" \n")
    assert [ln.split("=")[0] for ln in lines] == ["1", "2", "3"]
    assert raw.count(b" \n") == 2
    c.buf = b""
    c.send("XYZ 1")
    assert c.query("ERR?") == "2"
    assert c.query("ERR?") == "0"
    c.send("SVO 1 0")
    c.send("MOV 1 1")
    assert c.query("ERR?") == "5"
    assert c.query("SVO? 1") == "1=0"


def test_lakeshore_336(client):
    c = client("temperature", "\r\n")
    assert c.query("*IDN?").startswith("LSCI,MODEL336,")
    assert c.query("KRDG? A") == "+004.200"
    assert c.query("KRDG? A;RDGST? C") == "+004.200;1"
    c.send("RANGE 3,2")  # outputs 3-4: 0 off, 1 on only
    assert int(c.query("*ESR?")) == 16
    c.send("KRDX? A")
    assert int(c.query("*ESR?")) == 32


def test_ami430_and_ids3010(client):
    m = client("magnet", "\r\n")
    assert m.readline().startswith("American Magnetics Model 430")
    assert m.readline() == "Hello."
    assert m.query("*IDN?").startswith("AMERICAN MAGNETICS INC.,MODEL 430,")
    m.send("CONF:FIELD:TARGET 0.1")
    assert m.query("SYST:ERR?") == '0,"No error"'
    assert float(m.query("FIELD:TARG?")) == pytest.approx(0.1)
    m.send("CONF:WHATEVER 1")
    assert m.query("SYST:ERR?") == '-113,"Undefined header"'

    i = client("interferometer", "\r\n")
    req = {"jsonrpc": "2.0", "method": "com.attocube.ids.system.getCurrentMode", "params": [],
           "id": 41, "api": 2}
    assert json.loads(i.query(json.dumps(req))) == {"jsonrpc": "2.0", "id": 41,
                                                    "result": [0, "system idle"]}
    bad = json.loads(i.query("{not json"))
    assert bad["error"]["code"] == -32700
    req["method"] = "com.attocube.sen.system.noSuchThing"
    assert json.loads(i.query(json.dumps(req)))["error"]["code"] == -32601


def test_overlong_requests_are_discarded_and_the_server_keeps_answering(client):
    c = client("awg")
    c.send("SOUR1:FREQ " + "1" * (MAX_LINE + 100))
    assert c.query("SYST:ERR?") == '-223,"Too much data"'
    assert c.query("*IDN?").split(",")[1] == "33522B"
    s = client("scanner")
    s.send("MOV 1 " + "9" * (3 * MAX_LINE))
    assert s.query("ERR?") == "3"
