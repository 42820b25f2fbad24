"""SR865A driver against its pyvisa-sim file: the SR86x wire differences from the SR830."""

from __future__ import annotations

import pytest

from mrfm.drivers.errors import InstrumentError, LimitError
from mrfm.drivers.srs.sr865 import SENSITIVITIES, SR865, TIME_CONSTANTS

SETTINGS = [
    ("frequency", 3.5e6), ("amplitude", 0.25), ("phase", -45.5), ("sensitivity", 2e-9),
    ("time_constant", 3e-6), ("filter_slope", 6), ("harmonic", 3), ("reference_source", "dual"),
]


@pytest.fixture
def li(sim):
    with SR865("GPIB::8::INSTR", backend=sim("srs.sr865"), timeout=0.3) as inst:
        yield inst


def test_scal_order_is_reversed():
    assert SENSITIVITIES[0] == 1.0 and SENSITIVITIES[27] == pytest.approx(1e-9)
    assert SENSITIVITIES[1] == pytest.approx(0.5) and len(SENSITIVITIES) == 28
    assert TIME_CONSTANTS[0] == pytest.approx(1e-6) and len(TIME_CONSTANTS) == 22


@pytest.mark.parametrize(("name", "value"), SETTINGS)
def test_set_then_read_back(li, name, value):
    setattr(li, name, value)
    got = getattr(li, name)
    assert got == pytest.approx(value) if isinstance(value, float) else got == value


def test_model_sets_frequency_range(li, sim):
    with pytest.raises(LimitError):
        li.frequency = 4.1e6  # SR865A: 4 MHz
    with SR865("GPIB::8::INSTR", backend=sim("srs.sr865"), model_name="SR860") as sr860:
        with pytest.raises(LimitError):
            sr860.frequency = 600e3


def test_readings_are_numbered_from_zero(li):
    assert 0.9e-6 <= li.x <= 1.1e-6
    assert li.r == pytest.approx(1.414214e-6) and li.theta == 45.0
    assert li.xy() == (1e-6, 1e-6)
    assert li.snap("x", "y", "internal_frequency") == (1e-6, 1e-6, 1000.0)
    with pytest.raises(LimitError):
        li.snap("x", "y", "r", "theta")  # SR86x takes at most 3
    li.set_aux_out(0, 1.5)
    assert li.aux_out(0) == 1.5 and li.aux_in(1) == -0.456
    with pytest.raises(LimitError):
        li.aux_in(4)


def test_rejections(li):
    with pytest.raises(LimitError):
        li.sensitivity = 3e-3
    li.write("SCAL 28", check=False)
    with pytest.raises(InstrumentError):
        li.check_errors("SCAL 28")


def test_protocol(fake):
    s = fake([("SCAL 0", None), ("*ESR?", "0"), ("SCAL?", "27"), ("OUTP? 0", "2.3e-09"),
              ("SNAP? 0,1", "2.3346669042e-09,4.3821726803e-10"),
              ("AUXV 3, 0.5", None), ("*ESR?", "0")])
    li = SR865("x", session=s, model_name="SR865A")
    li.sensitivity = 1.0
    assert li.sensitivity == pytest.approx(1e-9)
    assert li.x == 2.3e-9
    assert li.xy() == (2.3346669042e-09, 4.3821726803e-10)
    li.set_aux_out(3, 0.5)
    assert s.done()
