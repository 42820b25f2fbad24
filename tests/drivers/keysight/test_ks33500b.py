"""Keysight 33500B driver against its pyvisa-sim file (SYST:ERR? reporting, two channels)."""

from __future__ import annotations

import math

import pytest

from mrfm.drivers.errors import InstrumentError, LimitError
from mrfm.drivers.keysight.ks33500b import KS33500B

RES = "TCPIP0::192.168.0.22::5025::SOCKET"
SETTINGS = [("function", "SQU"), ("frequency", 25e6), ("amplitude", 2.5), ("offset", -1.25),
            ("phase", 90.0), ("output", True), ("load", math.inf), ("load", 1000.0),
            ("burst", True), ("burst_cycles", 12), ("trigger_source", "BUS")]


@pytest.fixture
def awg(sim):
    with KS33500B(RES, backend=sim("keysight.33500b"), timeout=0.3) as inst:
        yield inst


def test_idn_model_and_channels(awg):
    assert awg.model_name == "33522B" and awg.channels == (1, 2)


@pytest.mark.parametrize("channel", [1, 2])
@pytest.mark.parametrize(("name", "value"), SETTINGS)
def test_set_then_read_back(awg, channel, name, value):
    awg.channel = channel
    setattr(awg, name, value)
    got = getattr(awg, name)
    assert got == pytest.approx(value) if isinstance(value, float) else got == value


def test_channels_are_independent(awg):
    awg.channel = 2
    awg.frequency = 5e3
    awg.channel = 1
    assert awg.frequency == 1000.0


@pytest.mark.parametrize(("name", "value"), [("function", "SAW"), ("frequency", 31e6),
                                             ("amplitude", 0.005), ("offset", 5.0),
                                             ("load", 0.5), ("burst_cycles", 0),
                                             ("trigger_source", "LINE"), ("output", 2)])
def test_out_of_range(awg, refused, name, value):
    refused(awg, name, value)


def test_model_limit_and_instance_limits(sim):
    with KS33500B(RES, backend=sim("keysight.33500b"), model_name="33511B",
                  limits={"amplitude": 1.0, "offset": 0.5}) as awg:
        with pytest.raises(LimitError):
            awg.frequency = 25e6  # 20 MHz model
        with pytest.raises(LimitError):
            awg.amplitude = 1.5
        with pytest.raises(LimitError):
            awg.offset = -0.6
        assert awg.channels == (1,)


def test_outputs_off_and_burst(awg):
    for ch in (1, 2):
        awg.channel = ch
        awg.output = True
    awg.outputs_off()
    for ch in (1, 2):
        awg.channel = ch
        assert awg.output is False
    awg.configure_burst(cycles=3, trigger="EXT")
    assert (awg.burst, awg.burst_cycles, awg.trigger_source) == (True, 3, "EXT")


def test_error_queue(awg):
    with pytest.raises(InstrumentError, match="-222"):
        awg.write("SOUR1:FREQ 1e9")
    awg.check_errors()


def test_protocol(fake):
    s = fake([("*IDN?", "Agilent Technologies,33512B,MY1,2.0"), ("SOUR2:FREQ 1000", None),
              ("SYST:ERR?", '+0,"No error"'), ("OUTP2?", "1"), ("OUTP2:LOAD?", "+9.9E+37"),
              ("OUTP1 OFF", None), ("SYST:ERR?", '+0,"No error"'), ("OUTP2 OFF", None),
              ("SYST:ERR?", '-221,"Settings conflict"'), ("SYST:ERR?", '+0,"No error"')])
    awg = KS33500B("x", session=s, channel=2)
    awg.frequency = 1000
    assert awg.output is True and awg.load == math.inf
    with pytest.raises(InstrumentError, match="Settings conflict"):
        awg.outputs_off()
    assert s.done()
