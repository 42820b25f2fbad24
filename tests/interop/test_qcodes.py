"""The stock QCoDeS drivers against the virtual rig: SR830, SR865A, SG384, Lake Shore 336,
AMI 430 and Keysight 33522B connect, every parameter they expose that the model has is
read and written back (the instrument's own error report, ``*ESR?``, ``LERR?`` or
``SYST:ERR?``, clean after each write), chosen settings reach the instrument, and a
station snapshot holds.

Expected values are the instruments' manuals: the SR830 stores 62.5 mHz x 2^SRAT
samples per second (SRAT 13 = 512 Hz), so 0.1 s of storage from STRT holds
floor(0.1 x 512) + 1 = 52 points; *STB? bit 5 summarises *ESR & *ESE.

Two SR830 parameters need the VISA session set as on the GPIB bus the driver was
written for, and are read and set that way in :func:`test_sr830`:

* ``output_interface`` maps ``"0\\n"``/``"1\\n"``: the reply with its LF kept, as a
  GPIB read with QCoDeS's default ``terminator=None`` returns it (EOI on the LF ends
  the read). Over the socket the LF ends a read when termination-character reads are
  on (``VI_ATTR_TERMCHAR_EN``) and stays in the reply when pyvisa's
  ``read_termination`` is unset.
* ``ch1_databuffer``, ``ch2_databuffer``, ``ch1_datatrace``, ``ch2_datatrace`` (``TRCL?
  i,0,N``, then ``read_raw``): the SR830
  sends the 4N-byte binary block without a terminator (the manual: over GPIB its last
  byte carries EOI). A socket has no EOI, and pyvisa-py's socket reads wait for a
  terminator or the timeout (``VI_ATTR_SUPPRESS_END_EN`` on by default, as in
  NI-VISA); with it off a read also ends when the socket falls silent, as a GPIB read
  ends at EOI. (The block has no LF byte: see
  :func:`mrfm.rig.instruments.srs_buffer.sr830_float`.)

The SR865A's ``get_capture_data`` reads ``CAPTUREGET? i, j``, an IEEE 488.2 block with
no terminator after it (as the manual gives it), with ``query_binary_values``: its
first read ends at a terminator, at EOI or after 20 kB, so over the socket it is read
with ``VI_ATTR_SUPPRESS_END_EN`` off as well (:func:`test_sr865a`).

Left out (:data:`SKIP`), where the stock driver is wrong against the model's manual:

* LS336 heater setup (``output_type``, ``output_heater_resistance``,
  ``output_max_current``, ``output_max_user_current``, ``output_display`` of outputs
  1 to 4): QCoDeS uses the Model 335's ``HTRSET <out>,<type>,<resistance>,<max
  current>,<max user current>,<current/power>`` and reads five fields from
  ``HTRSET? <out>``; the 336's ``HTRSET`` has no output type (outputs 1 and 2 are
  current outputs, 3 and 4 voltage outputs without a heater setup): ``HTRSET
  <out>,<resistance>,<max current>,<max user current>,<current/power>`` for outputs 1
  and 2, and ``HTRSET? <out>`` answers the four fields after ``<out>``.
  :func:`test_lakeshore336_heater_setup` checks the 336's form.

Read but not written back (:data:`READ_ONLY`), for the driver's own reasons: the LS336
input ``range`` (QCoDeS keeps the reply string, which its own validator, a number,
refuses; written with a number in :func:`test_lakeshore336`) and the curve header
``curve_*`` (a group QCoDeS declares settable but gives no set command: nothing is
sent).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyvisa import constants

qcodes = pytest.importorskip("qcodes")
from qcodes.instrument_drivers.american_magnetics import AMIModel430  # noqa: E402
from qcodes.instrument_drivers.Keysight import Keysight33522B  # noqa: E402
from qcodes.instrument_drivers.Lakeshore import LakeshoreModel336  # noqa: E402
from qcodes.instrument_drivers.stanford_research import SG384, SR830, SR865A  # noqa: E402
from qcodes.parameters import ArrayParameter, Parameter, ParameterWithSetpoints  # noqa: E402

from tests.interop.interop_helpers import errors  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::qcodes.utils.deprecate.QCoDeSDeprecationWarning"
)

#: (instrument class name, parameter name) pairs left out (see module docstring)
SKIP = {
    ("SR830", "output_interface"),  # read and set in test_sr830 (see module docstring)
    *(("LakeshoreModel336CurrentSource", p) for p in (
        "output_type", "output_heater_resistance", "output_max_current",
        "output_max_user_current", "output_display")),
    *(("LakeshoreModel336VoltageSource", p) for p in (
        "output_type", "output_heater_resistance", "output_max_current",
        "output_max_user_current", "output_display")),
}
#: read only: QCoDeS gives the LS336 input range as the reply string, which its own
#: validator (a number) refuses to write back
READ_ONLY = {("LakeshoreModel336Channel", "range"), *(
    # the curve header: a group QCoDeS declares settable without a set command
    ("LakeshoreModel336Channel", f"curve_{p}") for p in ("name", "sn", "format", "limit",
                                                           "coefficient"))}
#: parameters that move hardware when written back (checked on their own; ``blocking_t``
#: sets the setpoint and waits, in wall-clock time, until the stage reaches it)
NOT_REWRITTEN = {"field", "ramp_rate", "setpoint", "blocking_t", "sensitivity",
                 "current_ramp_limit", "field_ramp_limit", "coil_constant"}


@pytest.fixture(autouse=True, scope="module")
def _close_all():
    yield
    qcodes.Instrument.close_all()


def _modules(inst):
    yield inst
    for sub in inst.instrument_modules.values():
        yield from _modules(sub)


def sweep(inst) -> int:
    """Read every readable parameter of ``inst`` and its modules and write the settable
    ones back with the value read, the instrument reporting no error; returns how many
    were read."""
    errors(inst)  # clear what came before
    count = 0
    for module in _modules(inst):
        kind = type(module).__name__
        for name, p in module.parameters.items():
            if (kind, name) in SKIP or isinstance(p, ArrayParameter | ParameterWithSetpoints):
                continue
            if not p.gettable:
                continue
            value = p.get()
            count += 1
            if value is None or isinstance(value, np.ndarray):  # driver-side: unset, setpoints
                continue
            if (kind, name) in READ_ONLY or name in NOT_REWRITTEN:
                continue
            if p.settable and isinstance(p, Parameter):
                p.set(value)
                assert errors(inst) == "", (kind, name)
                again = p.get()
                if isinstance(value, float):
                    assert math.isclose(again, value, rel_tol=1e-6, abs_tol=1e-12), name
                elif name not in ("IDN",):
                    assert again == value, (kind, name)
    return count


def test_sr830(rig):
    li = SR830("qc_sr830", rig.resources["lockin"], terminator="\n", visalib="@py")
    assert li.IDN()["model"] == "SR830"
    assert sweep(li) > 40
    li.frequency(1234.5)
    li.phase(30.0)
    li.amplitude(0.5)
    li.sensitivity(1e-3)
    li.time_constant(0.03)
    li.filter_slope(24)
    li.harmonic(2)
    li.aux_out1(1.25)
    li.ch1_display("R")
    li.ext_trigger("TTL rising")
    assert (li.frequency(), li.phase(), li.amplitude()) == (1234.5, 30.0, 0.5)
    assert (li.sensitivity(), li.time_constant(), li.filter_slope()) == (1e-3, 0.03, 24)
    assert (li.harmonic(), li.aux_out1(), li.ch1_display()) == (2, 1.25, "R")
    assert li.ask("RSLP?") == "1" and li.ask("DDEF? 1") == "1,0"
    x, y = li.snap("x", "y")
    assert abs(x) < 1.1e-3 and abs(y) < 1.1e-3
    # the data buffer: 512 Hz for 0.1 s of simulated time
    li.buffer_reset()
    li.buffer_SR(512)
    li.buffer_start()
    assert li.buffer_npts() == 1  # a query waits for STRT (writes are not acknowledged)
    rig.state.clock.advance(0.1)
    li.buffer_pause()
    assert li.buffer_npts() == 52
    trace = [float(v) for v in li.ask("TRCA? 1,0,52").split(",")]
    assert len(trace) == 52 and all(v >= 0.0 for v in trace)  # CH1 shows R
    rig.state.clock.advance(1.0)
    assert li.buffer_npts() == 52  # paused
    # the binary buffer read-out of the stock driver (module docstring)
    visa = li.visa_handle
    visa.set_visa_attribute(constants.VI_ATTR_SUPPRESS_END_EN, constants.VI_FALSE)
    li.timeout(1.0)  # a read ends after timeout/2 s of silence
    li.ch1_databuffer.prepare_buffer_readout()
    assert li.ch1_databuffer.unit == "V" and li.ch1_databuffer.shape == (52,)
    for got in (li.ch1_databuffer.get(), li.ch1_datatrace.get()):
        assert got == pytest.approx(trace, rel=2**-14)  # TRCL's 15-bit mantissa
    li.ch2_databuffer.prepare_buffer_readout()  # CH2 shows Y
    trace2 = [float(v) for v in li.ask("TRCA? 2,0,52").split(",")]
    for got in (li.ch2_databuffer.get(), li.ch2_datatrace.get()):
        assert got == pytest.approx(trace2, rel=2**-14, abs=1e-30)
    li.set_sweep_parameters(li.frequency, 1000.0, 2000.0, label="f")
    li.ch1_datatrace.validate_consistent_shape()
    visa.set_visa_attribute(constants.VI_ATTR_SUPPRESS_END_EN, constants.VI_TRUE)
    li.timeout(5.0)
    li.buffer_reset()
    assert li.buffer_npts() == 0
    # output_interface as over GPIB: LF ends the read and stays in the reply
    visa.read_termination = None
    visa.set_visa_attribute(constants.VI_ATTR_TERMCHAR_EN, constants.VI_TRUE)
    assert li.output_interface() == "GPIB"  # "1\n"
    with pytest.warns(UserWarning, match="already ends with termination"):
        li.output_interface("GPIB")  # "OUTX 1\n" + the write terminator (an empty line)
    assert li.output_interface() == "GPIB" and errors(li) == ""
    visa.read_termination = "\n"
    assert li.ask("OUTX?") == "1"
    # status byte: ESB only when *ESE enables the event
    li.write("*ESE 0")
    li.write("*CLS")
    li.write("SENS 99")  # out of range: execution error
    assert int(li.ask("*STB? 5")) == 0
    li.write("*ESE 16")
    assert int(li.ask("*STB? 5")) == 1
    assert int(li.ask("*ESR?")) == 16 and int(li.ask("*STB? 5")) == 0
    li.reset()
    li.close()


def test_sr865a(rig):
    li = SR865A("qc_sr865", rig.resources["lockin2"], terminator="\n", visalib="@py")
    assert li.IDN()["model"] == "SR865A"
    assert sweep(li) > 40
    li.frequency(2500.0)
    li.sensitivity(0.2)
    li.time_constant(0.3)
    li.input_range(0.1)
    li.sine_outdc(0.25)
    li.data_channels[0].assigned_parameter("R")
    assert (li.frequency(), li.sensitivity(), li.time_constant()) == (2500.0, 0.2, 0.3)
    assert (li.input_range(), li.sine_outdc()) == (0.1, 0.25)
    assert li.ask("CDSP? 0") == "2"
    # ENBW of the 12 dB/oct filter: 1/(8 tau) (PHYSICS.md, "Readout")
    li.filter_slope(12)
    assert li.noise_bandwidth() == pytest.approx(1.0 / (8 * 0.3), rel=1e-5)
    buf = li.buffer
    buf.capture_config("X,Y")
    buf.capture_length_in_kb(2)
    buf.capture_rate(buf.capture_rate_max() / 2**10)  # 1220.7 Hz
    buf.start_capture("ONE", "IMM")
    x0 = li.X()  # at the capture's start: its first sample
    assert int(buf.capture_status()) & 1  # capturing
    rig.state.clock.advance(0.1)
    # floor(0.1 x 1220.703125) + 1 = 123 samples of 8 bytes
    assert buf.count_capture_bytes() == 123 * 8
    rig.state.clock.advance(1.0)  # 2 kB hold 256 samples: done
    assert buf.count_capture_bytes() == 2048 and int(buf.capture_status()) & 4
    # CAPTUREGET? 0, 2: an IEEE 488.2 block with no terminator after it; pyvisa reads its
    # length from the header, but its first read waits for a terminator, the block
    # size or (suppress-end off) the socket's silence
    li.visa_handle.set_visa_attribute(constants.VI_ATTR_SUPPRESS_END_EN, constants.VI_FALSE)
    li.timeout(1.0)
    data = buf.get_capture_data(256)
    assert sorted(data) == ["X", "Y"] and data["X"].shape == data["Y"].shape == (256,)
    assert data["X"][0] == pytest.approx(x0, rel=1e-6)  # float32 of the same reading
    assert np.all(np.abs(data["X"]) <= 1.09 * li.sensitivity())
    assert buf.X.get() == pytest.approx(data["X"])
    buf.stop_capture()
    buf.capture_config("X,Y,R,T")  # 16 bytes a sample: 128 in 2 kB
    buf.start_capture("ONE", "IMM")
    rig.state.clock.advance(1.0)
    data = buf.get_capture_data(128)
    assert data["R"] == pytest.approx(np.hypot(data["X"], data["Y"]), rel=1e-6)
    assert data["T"] == pytest.approx(np.degrees(np.arctan2(data["Y"], data["X"])), abs=1e-4)
    assert buf.R.get() == pytest.approx(data["R"]) and buf.T.get() == pytest.approx(data["T"])
    li.close()


def test_sg384(rig):
    sg = SG384("qc_sg384", rig.resources["rf"], terminator="\n", visalib="@py")
    # the test rig has no x4 multiplier: bring its X-band RF into the SG384's ranges first
    sg.frequency(2.75e9)
    sg.FM_deviation(28e6)
    assert sweep(sg) > 15
    sg.frequency(2.6e9)
    sg.amplitude_RF(-5.0)
    sg.amplitude_HF(3.0)
    sg.offset_bnc(0.5)
    sg.noise_mode("Mode 2")
    assert (sg.frequency(), sg.amplitude_RF(), sg.amplitude_HF()) == (2.6e9, -5.0, 3.0)
    assert (sg.offset_bnc(), sg.noise_mode()) == (0.5, "Mode 2")
    assert (rig.state.rf.frequency, rig.state.rf.power_dbm) == (2.6e9, -5.0)
    sg.close()


def test_lakeshore336(rig):
    ls = LakeshoreModel336("qc_ls336", rig.resources["temperature"], visalib="@py")
    assert sweep(ls) > 40
    a = ls.A
    assert a.temperature() == pytest.approx(rig.state.temperature(), abs=1e-3)
    assert (a.sensor_type(), a.curve_number(), a.curve_name().strip()) == (
        "ntc_rtd", 21, "CX-1050-SD")
    assert a.curve_format() == "log Ohms/K" and a.curve_limit() == 325.0
    a.sensor_name("sample stage   ")  # QCoDeS asks for 15 characters
    a.t_limit(300.0)
    a.units("celsius")
    assert (a.sensor_name(), a.t_limit(), a.units()) == ("sample stage   ", 300.0, "celsius")
    before = a.range()
    a.range(5)  # READ_ONLY in the sweep: the driver reads the range as a string
    assert ls.ask("INTYPE? A").split(",")[2] == "5" and errors(ls) == ""
    a.range(int(before))
    out = ls.output_1  # NOT_REWRITTEN in the sweep: the stage's setpoint moves the stage
    out.setpoint(out.setpoint() + 0.5)
    assert rig.state.cryostat.setpoint == pytest.approx(out.setpoint()) and errors(ls) == ""
    ls.close()


def test_lakeshore336_heater_setup(rig):
    """``HTRSET`` as the Model 336 manual gives it (module docstring): four fields after
    the output, outputs 1 and 2 only; the stock driver's Model 335 forms are refused."""
    ls = LakeshoreModel336("qc_ls336_htr", rig.resources["temperature"], visalib="@py")
    errors(ls)
    assert ls.ask("HTRSET? 1") == "2,2,+0.000,1"  # 50 ohm, 1 A, user 0 A, current
    ls.write("HTRSET 1,1,0,1.5,2")  # 25 ohm, user-specified 1.5 A, shown as power
    assert ls.ask("HTRSET? 1") == "1,0,+1.500,2" and errors(ls) == ""
    ls.write("HTRSET 1,0,2,2,0.0,1")  # QCoDeS's six fields (the 335's output type)
    assert int(ls.ask("*ESR?")) & 32 and ls.ask("HTRSET? 1") == "1,0,+1.500,2"
    ls.write("HTRSET? 3")  # QCoDeS asks outputs 3 and 4 too: no heater setup there
    assert int(ls.ask("*ESR?")) & 16
    with pytest.raises(KeyError):  # five parameters parsed from the four fields
        ls.output_1.output_heater_resistance()
    ls.write("HTRSET 1,2,2,0,1")
    ls.close()


def test_ami430(rig):
    mag = AMIModel430("qc_ami430", rig.resources["magnet"], visalib="@py")
    assert sweep(mag) > 15
    sw = mag.switch_heater
    assert sw.enabled() and sw.state()
    sw.current(35.0)
    sw.heat_time(30)
    sw.cool_time(40)
    assert (sw.current(), sw.heat_time(), sw.cool_time()) == (35.0, 30, 40)
    assert mag.field() == pytest.approx(rig.state.magnet.field(rig.state.clock.now()))
    # NOT_REWRITTEN in the sweep, set here: the first segment's rate (QCoDeS sends
    # CONF:RAMP:RATE:SEG 1 and CONF:RAMP:RATE:FIELD 1,<rate>,0) and the coil constant
    segment = mag.ask("RAMP:RATE:FIELD:1?")
    new = min(mag.ramp_rate(), mag.field_ramp_limit()) / 2  # the driver's own limit
    mag.ramp_rate(new)
    assert mag.ramp_rate() == pytest.approx(new) and errors(mag) == ""
    assert rig.state.magnet.rate == pytest.approx(new)  # T/s
    k = mag.coil_constant()
    mag.coil_constant(k)
    assert mag.coil_constant() == k and rig.state.magnet.coil_constant == k
    assert errors(mag) == ""
    mag.write(f"CONF:RAMP:RATE:FIELD 1,{segment}")
    mag.close()


def test_keysight33522b(rig):
    awg = Keysight33522B("qc_33522b", rig.resources["awg"], visalib="@py")
    assert sweep(awg) > 40
    ch = awg.ch1
    ch.burst_state("ON")
    ch.burst_mode("Gated")
    ch.burst_ncycles(5)
    ch.trigger_slope("NEG")
    ch.trigger_count(3)
    ch.output_polarity("INV")
    awg.sync.source(2)
    awg.sync.output("OFF")
    assert (ch.burst_state(), ch.burst_mode(), ch.trigger_slope()) == ("ON", "Gated", "NEG")
    assert (ch.output_polarity(), awg.sync.source(), awg.sync.output()) == ("INV", 2, "OFF")
    assert float(ch.burst_ncycles()) == 5 and float(ch.trigger_count()) == 3
    awg.close()


def test_station_snapshot(rig):
    station = qcodes.Station()
    li = SR830("st_sr830", rig.resources["lockin"], terminator="\n", visalib="@py")
    sg = SG384("st_sg384", rig.resources["rf"], terminator="\n", visalib="@py")
    station.add_component(li)
    station.add_component(sg)
    snap = station.snapshot(update=True)
    params = snap["instruments"]["st_sr830"]["parameters"]
    assert params["frequency"]["value"] == li.frequency()
    assert params["buffer_SR"]["value"] in (0.0625 * 2**i for i in range(14))
    assert snap["instruments"]["st_sg384"]["parameters"]["amplitude_RF"]["unit"] == "dBm"
    li.close()
    sg.close()
