"""The stock PyMeasure drivers against the virtual rig: SR830, SR860 (on the SR865A),
SG380 (on the SG384), AMI430 and Agilent33500 (on the 33522B). Every property the
model answers is read and every settable one written back with the value read; after
each write the instrument's own error report (``*ESR?``, ``LERR?``, ``SYST:ERR?``)
must be clean, so a set command the instrument refuses cannot pass unnoticed. Chosen
settings reach the instrument.

Expected values are the manuals': SRAT 13 stores 512 samples/s, so 0.05 s of storage
from STRT holds floor(0.05 x 512) + 1 = 26 points; the SR830's *STB? bit 5 is set only
when *ESE enables the pending event; the 33500B's high and low levels are the offset
+- half the amplitude.

Properties whose getter the driver itself does not implement (``id``, ``status``,
``options``, ``complete``, ``next_error`` of the drivers declared "not SCPI": they raise
``NotImplementedError`` and send nothing) are passed over by the sweep. Getters whose
reply the driver leaves as a list are read, not written back: SR830 ``channel1``/
``channel2`` (``DDEF? i`` answers display and ratio, ``j,k``), AMI430 ``ramp_rate_*``
(``rate,upper bound``). The SR830's binary ``TRCB?`` is read with the driver's
``get_buffer`` (it reads bytes until the VISA timeout: nothing ends the block).

Left out of the sweep (:data:`SKIP`) are the properties where the stock driver sends
what the model's manual does not define; each is checked on its own below, against
the manual:

* SR860 ``filter_advanced``: reads ``ADVFILT?`` but sets ``ADVFIL i``; the SR86x
  command is ``ADVFILT i`` (there are no abbreviated mnemonics).
* SR860 ``horizontal_time_div``: reads ``GSPD?`` but sets ``GSDP i``; the command is
  ``GSPD i``.
* SR860 ``reference_externalinput``: the set command is the literal ``REFZ&d``
  (no ``%d``), which fails in the driver (``TypeError``) before anything is sent; the
  command is ``REFZ i``.
* SR860 ``frequencypreset3``/``4``, ``sine_amplitudepreset1``/``2``/``3``,
  ``sine_dclevelpreset4``: sent as ``PSTF2, f``, ``PSTA0, v``, ``PSTL3, v``, ...,
  without the space the SR86x requires between mnemonic and first argument
  (``PSTF 2, f``); the other presets are swept.
* SG380 ``options`` (``*OPT?``) and ``next_error`` (``SYST:ERR?``): SCPI queries the
  SG384 does not have (its options are ``OPTN? i``, its errors ``LERR?``); it answers
  nothing and ``LERR?`` reports 112 ("Illegal query") and 111 ("Undefined command").
* AMI430 ``options`` (``*OPT?``): not a Model 430 command (the 430 answers -113
  "Undefined header" in ``SYST:ERR?``).
* AMI430 ``ramp_rate_current``'s setter sends ``CONF:RAMP:RATE:CURR 1,<rate>``; the
  430 takes ``<segment>,<rate>,<upper bound>`` and refuses two parameters (-109). It
  is read in the sweep (its getter gives a list, never written back).
"""

from __future__ import annotations

import math

import pytest

pymeasure = pytest.importorskip("pymeasure")
from pymeasure.instruments.agilent import Agilent33500  # noqa: E402
from pymeasure.instruments.ami import AMI430  # noqa: E402
from pymeasure.instruments.srs import SG380, SR830, SR860  # noqa: E402

from tests.interop.interop_helpers import errors  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # "SCPI or not" notices

LF = {"read_termination": "\n", "write_termination": "\n", "timeout": 2000}
CRLF = {"read_termination": "\r\n", "write_termination": "\r\n", "timeout": 2000}
#: properties not swept, by driver class (see module docstring)
SKIP = {
    "SR830": set(),
    "SR860": {"filter_advanced", "horizontal_time_div", "reference_externalinput",
              "frequencypreset3", "frequencypreset4", "sine_amplitudepreset1",
              "sine_amplitudepreset2", "sine_amplitudepreset3", "sine_dclevelpreset4"},
    "SG380": {"options", "next_error"},
    "AMI430": {"options"},
    "Agilent33500": set(),
}


def sweep(inst) -> int:
    """Read every property of ``inst``'s class (less :data:`SKIP`) and write the settable
    ones back, the instrument reporting no error; returns how many were read."""
    cls = type(inst)
    skip = SKIP[cls.__name__]
    errors(inst)  # clear what an earlier test left
    count = 0
    for name in sorted(dir(cls)):
        attr = getattr(cls, name)
        if name.startswith("_") or name in skip or not isinstance(attr, property):
            continue
        try:
            value = getattr(inst, name)
        except LookupError:  # "Property can not be read": a write-only control
            continue
        except NotImplementedError:  # the driver has no command for it ("not SCPI")
            continue
        count += 1
        if attr.fset is None or isinstance(value, list):
            continue
        try:
            setattr(inst, name, value)
        except LookupError:  # "Property can not be set": a measurement
            continue
        assert errors(inst) == "", name
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
    assert li.channel1 == [1.0, 0.0]  # the driver's getter keeps both fields of DDEF?
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
    text = [float(v) for v in li.ask("TRCA? 1,0,26").split(",")]
    assert len(text) == 26
    # TRCB?: IEEE floats with no terminator; the driver reads bytes until the timeout
    li.adapter.connection.timeout = 300  # ms
    assert li.get_buffer(1, 0, 26) == pytest.approx(text, rel=1e-5)  # float32 vs 6 digits
    li.adapter.connection.timeout = 2000
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
    assert sweep(li) > 40
    li.frequency = 1500.0
    li.sensitivity = 0.05
    li.time_constant = 0.3
    li.harmonicdual = 3
    li.frequencypreset2 = 2500.0
    li.sine_amplitudepreset4 = 0.5
    li.sine_dclevelpreset1 = -0.25
    assert (li.frequency, li.sensitivity, li.time_constant) == (1500.0, 0.05, 0.3)
    assert li.harmonicdual == 3 and li.internalfrequency == 1500.0
    assert li.ask("PSTF? 1;PSTA? 3;PSTL? 0") == "2500;0.5;-0.25"
    assert errors(li) == ""


def test_sr860_setters_the_manual_does_not_define(rig):
    """The SKIP entries of the SR860: the driver's getters read the manual's commands; its
    setters send mnemonics or forms the SR86x refuses (command error, ESR bit 5), and the
    manual's form of the same setting is accepted."""
    li = SR860(rig.resources["lockin2"], **LF)
    errors(li)
    wrong = {  # property: (value to set, the manual's command, the query reading it back)
        "filter_advanced": ("Off", "ADVFILT 0", "ADVFILT?"),
        "horizontal_time_div": (3, "GSPD 3", "GSPD?"),
        "frequencypreset3": (2e4, "PSTF 2, 2e4", "PSTF? 2"),
        "frequencypreset4": (3e5, "PSTF 3, 3e5", "PSTF? 3"),
        "sine_amplitudepreset1": (0.01, "PSTA 0, 0.01", "PSTA? 0"),
        "sine_amplitudepreset2": (0.02, "PSTA 1, 0.02", "PSTA? 1"),
        "sine_amplitudepreset3": (0.03, "PSTA 2, 0.03", "PSTA? 2"),
        "sine_dclevelpreset4": (1.5, "PSTL 3, 1.5", "PSTL? 3"),
    }
    for name, (value, manual, query) in wrong.items():
        before = li.ask(query)
        setattr(li, name, value)  # e.g. "GSDP 3", "PSTF2, 2.000000e+04"
        assert int(li.ask("*ESR?")) & 32, name  # command error
        assert li.ask(query) == before, name
        li.write(manual)
        assert errors(li) == "", name
        assert getattr(li, name) == pytest.approx(value if name != "filter_advanced"
                                                   else "Off"), name
    assert li.reference_externalinput == "50OHMS"  # REFZ? 0
    with pytest.raises(TypeError):  # the driver's "REFZ&d" % value
        li.reference_externalinput = "1MEG"
    li.write("REFZ 1")
    assert li.reference_externalinput == "1MEG" and errors(li) == ""
    li.write("REFZ 0")
    li.shutdown()


def test_sg380(rig):
    sg = SG380(rig.resources["rf"], **LF)
    sg.write("FREQ 2.75 GHz;FDEV 28 MHz")  # the test rig has no x4 multiplier
    assert sweep(sg) > 8
    sg.frequency = 1.5e9
    sg.fm_dev = 1e6
    assert (sg.frequency, sg.fm_dev) == (1.5e9, 1e6)
    assert rig.state.rf.frequency == 1.5e9
    # SCPI's *OPT? and SYST:ERR? are not SG384 commands: no reply, an error in LERR?
    for query, code in (("*OPT?", "112"), ("SYST:ERR?", "111")):
        sg.write(query)
        assert sg.ask("LERR?") == code, query
    assert sg.ask("OPTN? 2") == "1" and sg.ask("LERR?") == "0"
    sg.shutdown()


def test_ami430(rig):
    mag = AMI430(rig.resources["magnet"], **CRLF)  # reads the greeting itself
    assert sweep(mag) > 10
    now = rig.state.clock.now()
    assert mag.field == pytest.approx(rig.state.magnet.field(now), abs=1e-9)
    mag.coilconst = rig.state.magnet.coil_constant
    mag.target_field = 0.5
    assert mag.target_field == 0.5
    rate, upper = mag.ramp_rate_field
    mag.ramp_rate_field = rate / 2  # CONF:RAMP:RATE:FIELD 1,<rate>,1.00
    assert mag.ramp_rate_field == pytest.approx([rate / 2, 1.0]) and errors(mag) == ""
    mag.write(f"CONF:RAMP:RATE:FIELD 1,{rate},{upper}")
    current = mag.ramp_rate_current
    mag.ramp_rate_current = current[0] / 2  # two parameters: refused, unchanged
    assert mag.ask("SYST:ERR?").startswith("-109")
    assert mag.ramp_rate_current == current
    mag.write("*OPT?")  # not a Model 430 command
    assert mag.ask("SYST:ERR?").startswith("-113")
    mag.shutdown()


def test_agilent33500(rig):
    awg = Agilent33500(rig.resources["awg"], **LF)
    assert sweep(awg) > 25
    assert awg.options == "0"  # *OPT?: no options installed
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
