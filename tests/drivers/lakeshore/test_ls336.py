"""Lake Shore 336 driver against its pyvisa-sim file."""

from __future__ import annotations

import pytest

from mrfm.drivers.errors import InstrumentError, InvalidResponse, LimitError
from mrfm.drivers.lakeshore.ls336 import LS336


@pytest.fixture
def tc(sim):
    with LS336("GPIB::12::INSTR", backend=sim("lakeshore.336"), timeout=0.3,
               limits={"setpoint": 10.0, "heater_range": "medium", "ramp_rate": 5.0}) as inst:
        yield inst


def test_readings(tc):
    assert tc.idn["model"] == "MODEL336"
    assert tc.temperature("A") == 4.215 and tc.temperature("b") == 3.987
    assert tc.temperature_a == 4.215 and tc.temperature_d == 0.0
    assert tc.sensor_reading("A") == 1523.4 and tc.reading_status("C") == 1
    assert tc.heater_output == 12.5 and tc.ramping is False
    with pytest.raises(LimitError):
        tc.temperature("E")


def test_set_then_read_back(tc):
    tc.setpoint = 6.5
    tc.heater_range = "medium"
    tc.pid = (30.0, 10.0, 1.5)
    tc.set_ramp(True, 2.5)
    tc.set_output_mode("open_loop", "B")
    assert tc.setpoint == 6.5 and tc.heater_range == "medium"
    assert tc.pid == (30.0, 10.0, 1.5) and tc.ramp == (True, 2.5)
    assert tc.output_mode == ("open_loop", "B", False)
    tc.output = 3
    tc.heater_range = "on"
    assert tc.heater_range == "on"


@pytest.mark.parametrize("call", [
    lambda t: setattr(t, "setpoint", 10.5),       # rig limit
    lambda t: setattr(t, "setpoint", -1.0),       # instrument range
    lambda t: setattr(t, "heater_range", "high"),  # rig limit
    lambda t: setattr(t, "heater_range", "max"),
    lambda t: setattr(t, "pid", (0.01, 1, 1)),
    lambda t: setattr(t, "pid", (1, 1)),
    lambda t: t.set_ramp(True, 6.0),
    lambda t: t.set_output_mode("warm_up"),      # outputs 3-4 only
])
def test_refused_before_writing(tc, call):
    before = (tc.setpoint, tc.heater_range, tc.pid, tc.ramp)
    with pytest.raises(LimitError):
        call(tc)
    assert (tc.setpoint, tc.heater_range, tc.pid, tc.ramp) == before


def test_esr_reports_rejection(tc):
    tc.write("SETP 1,2000", check=False)
    with pytest.raises(InstrumentError, match="command error"):
        tc.check_errors("SETP 1,2000")


def test_protocol(fake):
    s = fake([("SETP 2,4.5", None), ("*ESR?", "0"), ("KRDG? A", "+077.350"),
              ("PID? 2", "+50.0,+20.0,+0.0"), ("RANGE? 2", "7"), ("RANGE? 2", "7")])
    tc = LS336("x", session=s, output=2)
    tc.setpoint = 4.5
    assert tc.temperature("A") == 77.35 and tc.pid == (50.0, 20.0, 0.0)
    with pytest.raises(InvalidResponse):
        tc.heater_range  # noqa: B018
    assert s.done()
