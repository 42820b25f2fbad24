"""SG384 driver against its pyvisa-sim file (LERR? error reporting)."""

from __future__ import annotations

import pytest

from mrfm.drivers.errors import InstrumentError
from mrfm.drivers.srs.sg384 import SG384

SETTINGS = [("frequency", 2.96e9), ("power", -20.5), ("output", True), ("phase", 90.0),
            ("modulation", True), ("modulation_type", "pulse"), ("fm_deviation", 2.5e6)]


@pytest.fixture
def rf(sim):
    with SG384("GPIB::27::INSTR", backend=sim("srs.sg384"), timeout=0.3,
               limits={"power": 5.0}) as inst:
        yield inst


def test_idn_and_defaults(rf):
    assert rf.idn["model"] == "SG384"
    assert (rf.frequency, rf.power, rf.output, rf.modulation_type) == (2.87e9, -10.0, False, "fm")


@pytest.mark.parametrize(("name", "value"), SETTINGS)
def test_set_then_read_back(rf, name, value):
    setattr(rf, name, value)
    got = getattr(rf, name)
    assert got == pytest.approx(value) if isinstance(value, float) else got == value


@pytest.mark.parametrize(("name", "value"), [("frequency", 5e9), ("frequency", 1e5),
                                             ("power", 17.0), ("power", 5.5), ("output", "on"),
                                             ("modulation_type", "qam"), ("fm_deviation", 0)])
def test_out_of_range_and_rig_limit(rf, refused, name, value):
    refused(rf, name, value)


def test_amplitude_alias(rf):
    rf.amplitude = 1.0
    assert rf.power == 1.0 and rf.amplitude == 1.0


def test_lerr_reports_rejection(rf):
    rf.write("AMPR 20", check=False)
    with pytest.raises(InstrumentError, match="illegal value"):
        rf.check_errors("AMPR 20")
    rf.check_errors("nothing queued")
