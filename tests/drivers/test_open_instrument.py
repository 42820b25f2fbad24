"""``open_instrument`` and every driver against the virtual rig's TCP servers (mrfm.rig).

The virtual rig speaks the same command sets as the instruments; this is the contract
test between the drivers and the rig (both follow /work/shared/INSTRUMENTS.md).
"""

from __future__ import annotations

import dataclasses
import math
import time

import pytest

from mrfm.drivers import DRIVERS, driver_class, open_instrument
from mrfm.drivers.errors import InstrumentError, LimitError

from ..rig.rig_helpers import RIG_TOML, make_rig


@dataclasses.dataclass(frozen=True)
class Spec:
    name: str
    driver: str
    resource: str
    read_termination: str | None = None
    write_termination: str | None = None
    options: dict = dataclasses.field(default_factory=dict)


def test_driver_table():
    for name in DRIVERS:
        assert driver_class(name).__name__
    with pytest.raises(ValueError):
        driver_class("srs.sr850")


def test_open_instrument_on_a_sim(sim):
    spec = Spec("awg", "keysight.33500b", "TCPIP0::192.168.0.22::5025::SOCKET",
                options={"model": "33511B", "channel": 1})
    with open_instrument(spec, backend=sim("keysight.33500b"), limits={"amplitude": 1.0}) as awg:
        assert awg.channels == (1,)
        with pytest.raises(LimitError):
            awg.amplitude = 2.0


@pytest.fixture(scope="module")
def rig():
    vr = make_rig(RIG_TOML)
    try:
        yield vr
    finally:
        vr.stop()


@pytest.fixture
def drivers(rig):
    opened = {}
    for spec in rig.rig.instruments:
        opened[spec.name] = open_instrument(
            dataclasses.replace(spec, resource=rig.resources[spec.name]))
    yield opened
    for d in opened.values():
        d.close()


def test_every_driver_talks_to_the_virtual_rig(drivers):
    li = drivers["lockin"]
    li.time_constant = 0.03
    li.sensitivity = 1e-3
    assert li.time_constant == pytest.approx(0.03) and li.sensitivity == pytest.approx(1e-3)
    x, y = li.xy()
    assert math.isfinite(x) and math.isfinite(y)
    li2 = drivers["lockin2"]
    li2.sensitivity = 2e-9
    assert li2.sensitivity == pytest.approx(2e-9) and li2.idn["model"] == "SR865A"
    rf = drivers["rf"]
    rf.frequency, rf.power, rf.output = 2.5e9, -5.0, True
    assert (rf.frequency, rf.power, rf.output) == (2.5e9, -5.0, True)
    with pytest.raises(InstrumentError):
        rf.write("AMPR 30")  # above the rig's RF limit: refused by the source
    awg = drivers["awg"]
    awg.output = True
    awg.outputs_off()
    assert awg.output is False
    coarse = drivers["coarse"]  # logged in with the password, echo off
    coarse.set_mode(1, "stp")
    coarse.step_up(1, 3)
    coarse.wait(1)
    coarse.ground(1)
    assert coarse.mode(1) == "gnd"
    scanner = drivers["scanner"]
    for ax in "123":
        scanner.set_servo(ax, True)
    lo, hi = scanner.travel_range("3")
    scanner.move({"1": 0.25, "2": -0.25, "3": (lo + hi) / 2})
    deadline = time.monotonic() + 5
    while not scanner.on_target():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    pos = scanner.position()
    assert pos["1"] == pytest.approx(0.25, abs=0.01) and set(pos) == {"1", "2", "3"}
    tc = drivers["temperature"]
    tc.setpoint = 5.0
    assert tc.setpoint == 5.0 and 0 < tc.temperature("A") < 400
    magnet = drivers["magnet"]  # banner dropped on connect
    magnet.ramp_rate = 0.01
    assert magnet.ramp_rate == pytest.approx(0.01) and magnet.field_units == "T"
    ids = drivers["interferometer"]
    ids.start()
    assert isinstance(ids.mode, str) and len(ids.displacements()) == 3
    ids.stop()
