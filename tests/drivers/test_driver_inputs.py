"""What every driver does with its inputs and with errors it did not cause (issue 16.3).

* Errors left in an instrument before the session (a stale error from another program)
  are cleared on connect, so the first set is not blamed for them; an error is reported
  against the command that caused it (read right after that set) - checked on the
  virtual rig for every model with an error report.
* Numpy scalars are numbers (``np.float32``, ``np.int64``); booleans are not.
* The wire text keeps the instrument's resolution (SG384: 1 uHz at 2.87 GHz).
* A driver on its own enforces the model's absolute limits (AMI 430: |B| <= coil
  constant x current limit).
"""

from __future__ import annotations

import numpy as np
import pytest

from mrfm.drivers import driver_class
from mrfm.drivers.ami.ami430 import AMI430
from mrfm.drivers.errors import InstrumentError, LimitError
from mrfm.drivers.pi.e727 import E727
from mrfm.drivers.srs.sg384 import SG384
from mrfm.drivers.srs.sr830 import SR830
from mrfm.rigdef.registry import REGISTRY

from ..rig.rig_helpers import INSTRUMENTS, connect_ready, make_rig

pytestmark = pytest.mark.timeout(120)

#: a set command each model accepts, and one it rejects (unknown to every model)
GOOD_SET = {
    "lockin": "FREQ 1000", "lockin2": "FREQ 1000", "rf": "PHAS 10",
    "awg": "SOUR1:PHAS 10", "scanner": "SVO 1 1", "temperature": "SETP 1,4.5",
    "magnet": "CONF:FIELD:UNITS 1",
}
BAD_SET = "BOGUS 1"


@pytest.fixture(scope="module")
def rig():
    with make_rig() as served:
        yield served


@pytest.mark.parametrize("name", sorted(GOOD_SET))
def test_stale_errors_are_cleared_and_errors_blame_their_command(rig, name):
    stale = connect_ready(rig, name)  # another program leaves an error behind
    stale.send(BAD_SET)
    stale.query("*IDN?")  # answered: the instrument has handled the bad command
    stale.close()
    spec = REGISTRY[INSTRUMENTS[name]]
    with driver_class(spec.name)(rig.resources[name], timeout=2.0) as drv:
        drv.write(GOOD_SET[name])  # not blamed for the stale error
        with pytest.raises(InstrumentError, match="BOGUS"):
            drv.write(BAD_SET)
        drv.write(GOOD_SET[name])  # the error was read (and cleared) with its command



def test_numpy_scalars_are_numbers(sim):
    li = SR830("GPIB::8::INSTR", backend=sim("srs.sr830"))
    li.frequency = np.float32(1000.5)
    assert li.frequency == pytest.approx(1000.5)
    li.harmonic = np.int64(2)
    assert li.harmonic == 2
    li.time_constant = np.float64(0.1)
    assert li.time_constant == pytest.approx(0.1)
    li.time_constant = np.float32(0.3)  # matched to the 300 ms entry within 1e-6
    assert li.time_constant == pytest.approx(0.3)
    st = E727("TCPIP0::192.168.0.24::50000::SOCKET", backend=sim("pi.e727"))
    st.move({"1": np.float32(12.5)})  # the sim takes one axis per MOV
    st.move({"2": np.int64(30)})
    assert st.position("1") == {"1": pytest.approx(12.5)}
    assert st.position("2") == {"2": pytest.approx(30.0)}


def test_booleans_are_not_numbers(sim, fake):
    s = fake([])  # nothing may be sent
    li = SR830("GPIB::8::INSTR", session=s)
    for name in ("frequency", "amplitude", "harmonic", "time_constant"):
        with pytest.raises(LimitError, match="boolean"):
            setattr(li, name, True)
    with pytest.raises(LimitError, match="boolean"):
        li.frequency = np.bool_(True)
    assert s.done() and s.written == ["*CLS"]
    st = E727("TCPIP0::192.168.0.24::50000::SOCKET", backend=sim("pi.e727"))
    with pytest.raises(LimitError, match="boolean"):
        st.move({"1": True})


def test_the_wire_keeps_the_instruments_resolution(fake):
    f = 2_870_000_000.000001  # Hz: 1 uHz above 2.87 GHz (the SG384's resolution is 1 uHz)
    s = fake([(f"FREQ {f!r}", None), ("LERR?", "0"), ("FREQ 1000000", None), ("LERR?", "0")])
    rf = SG384("x", session=s)
    rf.frequency = f
    rf.frequency = 1e6  # exact values keep their short form
    assert s.done()
    assert s.written[1] == "FREQ 2870000000.000001"
    assert float(s.written[1].split()[1]) == f


def test_a_driver_on_its_own_enforces_the_magnets_limit(fake):
    # coil constant 0.1 T/A x current limit 50 A: the programmer's limit is 5 T
    s = fake([("COIL?", "0.1000"), ("FIELD:UNITS?", "1"), ("CURR:LIMIT?", "50.0000"),
              ("COIL?", "0.1000"), ("CURR:LIMIT?", "50.0000"),
              ("CONF:FIELD:TARG 4.5", None), ("SYST:ERR?", '0,"No error"')])
    m = AMI430("x", session=s, skip_banner=False)  # no rig limits at all
    with pytest.raises(LimitError, match="beyond the magnet's limit 5 T"):
        m.target = 100.0
    m.target = 4.5
    assert s.done() and "CONF:FIELD:TARG 100" not in s.written


@pytest.mark.parametrize("name", ["lockin", "rf", "awg", "scanner"])
def test_a_rejected_query_is_blamed_on_itself_not_on_the_next_set(rig, name):
    """A query the instrument does not know goes unanswered and leaves an error: it is
    read at once and blamed on the query (CommandRejected), the next set succeeds."""
    from mrfm.drivers.errors import CommandRejected

    spec = REGISTRY[INSTRUMENTS[name]]
    with driver_class(spec.name)(rig.resources[name], timeout=0.3, retries=0) as drv:
        with pytest.raises(CommandRejected, match="BOGUS"):
            drv.query("BOGUS?")
        drv.write(GOOD_SET[name])
