"""Robustness: random bytes never kill a virtual instrument; injected faults behave as specified.

Faults (rig file ``[faults.<name>]`` or ``VirtualRig.inject_fault``): timeout = no reply,
drop = connection closed, garbage = junk instead of the reply, stuck = readings frozen;
each fires after ``after`` commands with ``probability`` per command.
"""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrfm.errors import ConfigError
from mrfm.rig.clock import SimClock
from mrfm.rigdef import rigfile

from .rig_helpers import IDENTITY, RIG_TOML, LineClient, make_rig
from .rig_helpers import connect_ready as _connect


def _identifies(c: LineClient, name: str) -> bool:
    query, term, expected = IDENTITY[name]
    c.send(b"")  # end whatever junk came before
    c.send(query)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        if expected in c.readline():
            return True
    return False


def _fuzzer(c: LineClient, name: str):
    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(junk=st.binary(min_size=1, max_size=300))
    def check(junk: bytes) -> None:
        c.sock.sendall(junk)
        assert _identifies(c, name), name

    return check


def test_random_bytes_never_kill_an_instrument():
    rig = make_rig(RIG_TOML, clock=SimClock(manual=True))
    try:
        for name in IDENTITY:
            c = _connect(rig, name)
            _fuzzer(c, name)()
            c.close()
            fresh = _connect(rig, name)
            assert _identifies(fresh, name)
            fresh.close()
    finally:
        rig.stop()


def test_timeout_fault_then_recovery(rig, client):
    c = client("lockin", timeout=0.5)
    assert c.query("*IDN?").startswith("Stanford")
    rig.inject_fault("lockin", "timeout", after=1)
    assert c.query("FREQ?")  # one more command is answered
    with pytest.raises(socket.timeout):
        c.query("*IDN?")
    rig.clear_faults("lockin")
    assert c.query("*IDN?").startswith("Stanford")


def test_drop_fault_closes_the_connection(rig, client):
    c = client("awg")
    rig.inject_fault("awg", "drop")
    with pytest.raises(ConnectionError):
        c.query("*IDN?")
    rig.clear_faults()
    assert client("awg").query("*IDN?").split(",")[1] == "33522B"


def test_garbage_fault_answers_junk(rig, client):
    c = client("temperature", "\r\n")
    rig.inject_fault("temperature", "garbage")
    reply = c.query("*IDN?")
    assert reply and not reply.startswith("LSCI")
    rig.clear_faults()
    assert c.query("*IDN?").startswith("LSCI,MODEL336")


def test_stuck_fault_freezes_readings(rig, client):
    c = client("lockin")
    fresh = {c.query("OUTP? 1") for _ in range(3) if rig.state.clock.advance(1.0) is None}
    assert len(fresh) == 3  # noise moves the reading
    rig.inject_fault("lockin", "stuck")
    frozen = set()
    for _ in range(3):
        rig.state.clock.advance(1.0)
        frozen.add(c.query("OUTP? 1"))
    assert len(frozen) == 1
    rig.clear_faults()
    rig.state.clock.advance(1.0)
    assert c.query("OUTP? 1") not in frozen


def test_faults_from_the_rig_file_with_probability():
    text = RIG_TOML + """
[faults.rf]
mode = "timeout"
after = 2

[[faults.awg]]
mode = "garbage"
probability = 0.5
seed = 4
"""
    rig = make_rig(text, clock=SimClock(manual=True))
    try:
        rf = LineClient(rig.resources["rf"], timeout=0.5)
        assert rf.query("*IDN?").startswith("Stanford")
        assert rf.query("FREQ?")
        with pytest.raises(socket.timeout):
            rf.query("*IDN?")
        rf.close()
        awg = LineClient(rig.resources["awg"])
        replies = [awg.query("*IDN?") for _ in range(40)]
        junk = sum(not r.startswith("Keysight") for r in replies)
        assert 8 <= junk <= 32  # ~Binomial(40, 0.5)
        awg.close()
    finally:
        rig.stop()


def test_rig_file_errors_name_the_key():
    with pytest.raises(ConfigError, match="faults.lockin.*mode"):
        rigfile.loads(RIG_TOML + '[faults.lockin]\nmode = "explode"\n')
    with pytest.raises(ConfigError, match="faults.nope"):
        rigfile.loads(RIG_TOML + '[faults.nope]\nmode = "drop"\n')
    with pytest.raises(ConfigError, match="instruments.x.driver"):
        rigfile.loads('[instruments.x]\ndriver = "srs.sr999"\n')
    with pytest.raises(ConfigError, match="limits.max_field"):
        rigfile.loads(RIG_TOML.replace('max_field = "3 T"', 'max_field = "3 m"'))
    with pytest.raises(ConfigError, match="did you mean"):
        rigfile.loads(RIG_TOML.replace("max_temperature", "max_temprature"))
    rig = rigfile.loads(RIG_TOML)
    assert rig.limits.max_rf_power_dbm == 10.0
    assert rig.limits.max_field_rate == pytest.approx(0.02)
    assert rig.limits.piezo_voltage_limit(152.0) == pytest.approx(185.0)
    assert rig.instrument("coarse").options == {"password": "secret"}
