"""The stock PyMeasure drivers against the virtual rig: SR830, SR860 (on the SR865A),
SG380 (on the SG384), AMI430 and Agilent33500 (on the 33522B). Every property the
model answers is read and every settable one written back with the value read;
chosen settings reach the instrument.

Expected values are the manuals': SRAT 13 stores 512 samples/s, so 0.05 s of storage
from STRT holds floor(0.05 x 512) + 1 = 26 points; the SR830's *STB? bit 5 is set only
when *ESE enables the pending event; the 33500B's high and low levels are the offset
+- half the amplitude.

Properties left out are the drivers' own: the generic SCPI ones (``options``,
``next_error``, ``complete``) on instruments that are not SCPI; setters that send a
command their model does not know or in a form it refuses (SR860 ``ADVFIL``, ``GSDP``,
``PSTF2, ...`` without the space the SR86x requires, ``REFZ&d``); getters whose reply
the driver leaves as a list (SR830 ``channel1``/``channel2`` read ``DDEF?``'s two
fields, AMI ramp-rate segments); the SR830 buffer's binary ``TRCB?`` (not yet served).
"""

from __future__ import annotations

import math

import pytest

pymeasure = pytest.importorskip("pymeasure")
from pymeasure.instruments.agilent import Agilent33500  # noqa: E402
from pymeasure.instruments.ami import AMI430  # noqa: E402
from pymeasure.instruments.srs import SG380, SR830, SR860  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # "SCPI or not" notices

LF = {"read_termination": "\n", "write_termination": "\n", "timeout": 2000}
CRLF = {"read_termination": "\r\n", "write_termination": "\r\n", "timeout": 2000}
#: properties not swept, by driver class (see module docstring)
SKIP = {
    "*": {"options", "next_error", "complete", "status", "id"},
    "SR830": {"channel1", "channel2"},
    "SR860": {"input_filter", "horizontal_time_div", "reference_externalinput",
              *(f"{kind}preset{i}" for kind in ("frequency", "sine_amplitude", "sine_dclevel")
                for i in (1, 2, 3, 4))},
    "SG380": set(),
    "AMI430": {"ramp_rate_current", "ramp_rate_field"},
    "Agilent33500": set(),
}


def sweep(inst) -> int:
    """Read every property of ``inst``'s class (less :data:`SKIP`) and write the settable
    ones back; returns how many were read."""
    cls = type(inst)
    skip = SKIP["*"] | SKIP[cls.__name__]
    count = 0
    for name in sorted(dir(cls)):
        attr = getattr(cls, name)
        if name.startswith("_") or name in skip or not isinstance(attr, property):
            continue
        try:
            value = getattr(inst, name)
        except LookupError:  # "Property can not be read": a write-only control
            continue
        count += 1
        if attr.fset is None or isinstance(value, list):
            continue
        try:
            setattr(inst, name, value)
        except LookupError:  # "Property can not be set": a measurement
            continue
        again = getattr(inst, name)
        if isinstance(value, float):
            assert math.isclose(again, value, rel_tol=1e-6, abs_tol=1e-12), name
        else:
            assert again == value, name
    return count


def test_sr830(rig):
    li = SR830(rig.resources["lockin"], **LF)
    assert li.id.startswith("Stanford_Research_Systems,SR830,")
    assert sweep(li) > 30
    li.frequency = 2345.0
    li.sensitivity = 0.01
    li.time_constant = 0.1
    li.reserve = "Low Noise"
    li.aux_out_1 = 0.75
    li.channel1 = "R"
    assert (li.frequency, li.sensitivity, li.time_constant) == (2345.0, 0.01, 0.1)
    assert (li.reserve, li.aux_out_1, li.ask("DDEF? 1")) == ("Low Noise", 0.75, "1,0")
    x, y = li.xy
    assert math.isfinite(x) and math.isfinite(y)
    # the buffer: SRAT 13 (512 Hz) for 0.05 s of simulated time
    li.reset_buffer()
    li.sample_frequency = 512
    li.start_scan()
    assert li.buffer_count == 1  # a query waits for STRT
    rig.state.clock.advance(0.05)
    li.pause_buffer()
    assert li.buffer_count == 26
    assert len(li.ask("TRCA? 1,0,26").split(",")) == 26
    li.reset_buffer()
    assert li.buffer_count == 0
    # *STB? honours *ESE
    li.write("*ESE 0")
    li.clear()
    li.write("SENS 99")  # execution error
    assert int(li.status) & 32 == 0
    li.write("*ESE 16")
    assert int(li.status) & 32
    li.quick_range()  # LIAE 2,1, LIAS?2 loop, then SENS from the magnitude
    assert li.ask("LIAE?") == "4"
    li.reset()
    li.shutdown()


def test_sr860(rig):
    li = SR860(rig.resources["lockin2"], **LF)
    assert sweep(li) > 30
    li.frequency = 1500.0
    li.sensitivity = 0.05
    li.time_constant = 0.3
    li.harmonicdual = 3
    assert (li.frequency, li.sensitivity, li.time_constant) == (1500.0, 0.05, 0.3)
    assert li.harmonicdual == 3 and li.internalfrequency == 1500.0
    li.shutdown()


def test_sg380(rig):
    sg = SG380(rig.resources["rf"], **LF)
    sg.write("FREQ 2.75 GHz;FDEV 28 MHz")  # the test rig has no x4 multiplier
    assert sweep(sg) > 5
    sg.frequency = 1.5e9
    sg.fm_dev = 1e6
    assert (sg.frequency, sg.fm_dev) == (1.5e9, 1e6)
    assert rig.state.rf.frequency == 1.5e9
    sg.shutdown()


def test_ami430(rig):
    mag = AMI430(rig.resources["magnet"], **CRLF)  # reads the greeting itself
    assert sweep(mag) > 5
    now = rig.state.clock.now()
    assert mag.field == pytest.approx(rig.state.magnet.field(now), abs=1e-9)
    mag.coilconst = rig.state.magnet.coil_constant
    mag.target_field = 0.5
    assert mag.target_field == 0.5
    mag.shutdown()


def test_agilent33500(rig):
    awg = Agilent33500(rig.resources["awg"], **LF)
    assert sweep(awg) > 20
    awg.shape = "SQU"
    awg.frequency = 2000.0
    awg.amplitude = 2.0
    awg.offset = 0.5
    awg.square_dutycycle = 25.0
    assert (awg.shape, awg.frequency, awg.square_dutycycle) == ("SQU", 2000.0, 25.0)
    assert (awg.voltage_high, awg.voltage_low) == (1.5, -0.5)
    awg.voltage_low = -1.5
    assert (awg.amplitude, awg.offset) == (3.0, 0.0)
    awg.burst_state = True
    awg.burst_ncycles = 4
    assert awg.burst_state and awg.burst_ncycles == 4
    awg.shutdown()
