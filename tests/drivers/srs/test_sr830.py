"""SR830 driver against its pyvisa-sim file and a (command, reply) protocol script."""

from __future__ import annotations

import pytest

from mrfm.drivers.errors import InstrumentError, InvalidResponse, LimitError
from mrfm.drivers.srs.sr830 import SENSITIVITIES, SR830, TIME_CONSTANTS

SETTINGS = [
    ("frequency", 1234.5), ("amplitude", 0.25), ("phase", -45.5), ("sensitivity", 5e-6),
    ("time_constant", 0.3), ("filter_slope", 18), ("harmonic", 3),
    ("reference_source", "external"),
]
OUT_OF_RANGE = [
    ("frequency", 102001.0), ("frequency", 0.0), ("amplitude", 5.1), ("phase", 730.0),
    ("sensitivity", 3e-6), ("time_constant", 0.2), ("filter_slope", 9), ("harmonic", 0),
    ("harmonic", 2.5), ("reference_source", "line"),
]


@pytest.fixture
def li(sim):
    with SR830("GPIB::8::INSTR", backend=sim("srs.sr830"), timeout=0.3) as inst:
        yield inst


def test_tables_match_the_manual():
    assert len(SENSITIVITIES) == 27 and SENSITIVITIES[0] == pytest.approx(2e-9)
    assert SENSITIVITIES[-1] == 1.0 and SENSITIVITIES[14] == pytest.approx(1e-4)
    assert len(TIME_CONSTANTS) == 20 and TIME_CONSTANTS[0] == pytest.approx(1e-5)
    assert TIME_CONSTANTS[-1] == pytest.approx(3e4)


def test_idn(li):
    assert li.idn == {"vendor": "Stanford_Research_Systems", "model": "SR830",
                      "serial": "s/n12345", "firmware": "ver1.07"}


def test_defaults_read(li):
    assert li.settings() == {"frequency": 1000.0, "amplitude": 1.0, "phase": 0.0,
                             "sensitivity": 1.0, "time_constant": 0.1, "filter_slope": 12,
                             "harmonic": 1, "reference_source": "internal"}


@pytest.mark.parametrize(("name", "value"), SETTINGS)
def test_set_then_read_back(li, name, value):
    setattr(li, name, value)
    assert getattr(li, name) == pytest.approx(value) if isinstance(value, float) \
        else getattr(li, name) == value


@pytest.mark.parametrize(("name", "value"), OUT_OF_RANGE)
def test_out_of_range_raises_before_writing(li, refused, name, value):
    refused(li, name, value)


def test_measurements(li):
    assert 0.9e-6 <= li.x <= 1.1e-6 and 0.9e-6 <= li.y <= 1.1e-6
    assert li.r == pytest.approx(1.41421e-6) and li.theta == 45.0
    assert li.xy() == (1e-6, 1e-6)
    assert li.snap("x", "y", "frequency") == (1e-6, 1e-6, 1000.0)
    assert li.aux_in(2) == -0.456
    li.set_aux_out(3, -2.5)
    assert li.aux_out(3) == -2.5


def test_aux_and_snap_validation(li):
    for call in (lambda: li.set_aux_out(5, 1.0), lambda: li.set_aux_out(1, 11.0),
                 lambda: li.aux_in(0), lambda: li.snap("x"), lambda: li.snap("x", "q")):
        with pytest.raises(LimitError):
            call()


def test_instance_limits_narrow_the_range(sim):
    with SR830("GPIB::8::INSTR", backend=sim("srs.sr830"),
               limits={"frequency": (10.0, 5000.0), "amplitude": 0.5, "aux_out": 2.0}) as li:
        li.frequency = 5000.0
        for name, value in (("frequency", 5001.0), ("frequency", 5.0), ("amplitude", 0.6)):
            with pytest.raises(LimitError, match="limit"):
                setattr(li, name, value)
        with pytest.raises(LimitError):
            li.set_aux_out(1, -2.5)
        assert li.frequency == 5000.0 and li.amplitude == 1.0


def test_rejected_command_is_reported_from_esr(li):
    li.write("FREQ 200000", check=False)  # bypasses the driver's check: the sim rejects it
    with pytest.raises(InstrumentError, match="command error"):
        li.check_errors("FREQ 200000")
    with pytest.raises(InstrumentError):
        li.write("FOO 1")
    li.check_errors("after")  # *ESR? was cleared by reading it


PROTOCOL = [
    ("*IDN?", "Stanford_Research_Systems,SR830,s/n12345,ver1.07"),
    ("FREQ 1000", None), ("*ESR?", "0"),
    ("FREQ?", "1000.00"),
    ("SENS 14", None), ("*ESR?", "0"),
    ("OFLT?", "10"),
    ("OFSL 3", None), ("*ESR?", "0"),
    ("FMOD 0", None), ("*ESR?", "0"),
    ("OUTP? 1", "-1.01026"),
    ("SNAP? 1,2", "0.951359,0.0253297"),
    ("SNAP? 3,4,5,9", "1.2,-45.1,0.001,1000.00"),
    ("AUXV 2,-1.25", None), ("*ESR?", "0"),
    ("OAUX? 1", "0.333"),
    ("HARM 2", None), ("*ESR?", "16"),
]


def test_protocol(fake):
    s = fake(PROTOCOL)
    li = SR830("GPIB0::8::INSTR", session=s)
    assert li.idn["model"] == "SR830"
    li.frequency = 1000
    assert li.frequency == 1000.0
    li.sensitivity = 1e-4
    assert li.time_constant == pytest.approx(1.0)
    li.filter_slope = 24
    li.reference_source = "external"
    assert li.x == -1.01026
    assert li.xy() == (0.951359, 0.0253297)
    assert li.snap("r", "theta", "aux1", "frequency") == (1.2, -45.1, 0.001, 1000.0)
    li.set_aux_out(2, -1.25)
    assert li.aux_in(1) == 0.333
    with pytest.raises(InstrumentError, match="execution error"):
        li.harmonic = 2
    assert s.done()


def test_protocol_unknown_codes_are_invalid(fake):
    li = SR830("GPIB0::8::INSTR", session=fake([("OFLT?", "25"), ("OFLT?", "25")]))
    with pytest.raises(InvalidResponse):
        li.time_constant  # noqa: B018
