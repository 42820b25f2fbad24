"""AMI 430 driver: pyvisa-sim file, ramp_to protocol script, and the Ethernet banner."""

from __future__ import annotations

import pytest

from mrfm.drivers.ami.ami430 import AMI430
from mrfm.drivers.errors import InstrumentError, InstrumentTimeout, LimitError

RES = "TCPIP0::192.168.0.26::7180::SOCKET"


@pytest.fixture
def magnet(sim):
    with AMI430(RES, backend=sim("ami.430"), skip_banner=False, timeout=0.3,
                limits={"max_field": 3.0, "max_ramp_rate": 0.02}) as m:
        yield m


def test_getters(magnet):
    assert magnet.idn["model"] == "MODEL 430"
    assert (magnet.field, magnet.target, magnet.state, magnet.state_name) == (0.5, 0.0, 2,
                                                                             "holding")
    assert magnet.ramping is False
    assert (magnet.field_units, magnet.ramp_rate_units) == ("T", "s")
    assert magnet.ramp_rate == 0.01 and magnet.coil_constant == 0.08
    assert (magnet.current, magnet.current_limit) == (6.25, 100.0)


def test_set_then_read_back(magnet):
    magnet.target = -1.5
    magnet.ramp_rate = 0.005
    magnet.coil_constant = 0.1
    assert (magnet.target, magnet.ramp_rate, magnet.coil_constant) == (-1.5, 0.005, 0.1)
    magnet.ramp_rate_units = "min"
    assert magnet.ramp_rate == pytest.approx(0.005 / 60)  # the stored 0.005 T/min
    magnet.field_units = "kG"
    assert magnet.field == pytest.approx(0.05) and magnet.target == pytest.approx(-0.15)


@pytest.mark.parametrize("call", [lambda m: setattr(m, "target", 3.5),
                                  lambda m: setattr(m, "target", -3.01),
                                  lambda m: setattr(m, "ramp_rate", 0.03),
                                  lambda m: setattr(m, "ramp_rate", 0.0),
                                  lambda m: m.ramp_to(4.0, timeout=1.0),
                                  lambda m: setattr(m, "field_units", "G")])
def test_limits_refuse_before_writing(magnet, call):
    with pytest.raises(LimitError):
        call(magnet)
    assert magnet.target == 0.0 and magnet.ramp_rate == 0.01


def test_ramp_to_in_sim_holds(magnet):
    assert magnet.ramp_to(2.0, timeout=1.0) == 0.5  # the sim's field reading is fixed
    assert magnet.target == 2.0
    magnet.pause()
    magnet.zero()


def test_error_queue(magnet):
    magnet.write("CONF:FIELD:TARG 20", check=False)
    with pytest.raises(InstrumentError, match="-222"):
        magnet.check_errors("CONF:FIELD:TARG 20")


def ramp_script(states, final_field="1.0000"):
    script = [("COIL?", "0.1000"), ("FIELD:UNITS?", "1"), ("CURR:LIMIT?", "50.0000"),
              ("RAMP:RATE:FIELD:1?", "0.0100,3.0000"),
              ("RAMP:RATE:UNITS?", "0"), ("STATE?", "3"),
              ("CONF:FIELD:TARG 1", None), ("SYST:ERR?", "0,No error"),
              ("RAMP", None), ("SYST:ERR?", "0,No error")]
    script += [("STATE?", str(s)) for s in states]
    return script


def test_protocol_ramp_to(fake):
    s = fake([*ramp_script([1, 1, 2]), ("FIELD:MAG?", "1.0000")])
    m = AMI430("x", session=s, skip_banner=False, limits={"max_field": 3, "max_ramp_rate": 0.02})
    assert m.ramp_to(1.0, timeout=5.0, poll=0.001) == 1.0
    assert s.done()


def test_protocol_ramp_to_quench_and_bad_end(fake):
    coil = [("COIL?", "0.1000"), ("FIELD:UNITS?", "1"), ("CURR:LIMIT?", "50.0000")]
    s = fake([*coil, ("STATE?", "7")])
    with pytest.raises(InstrumentError, match="quench"):
        AMI430("x", session=s, skip_banner=False).ramp_to(1.0, timeout=1.0)
    s = fake([*coil, ("STATE?", "2"), ("CONF:FIELD:TARG 1", None),
              ("SYST:ERR?", "0,No error"), ("RAMP", None), ("SYST:ERR?", "0,No error"),
              ("STATE?", "3")])
    with pytest.raises(InstrumentError, match="paused"):
        AMI430("x", session=s, skip_banner=False).ramp_to(1.0, timeout=1.0, poll=0.001)


class StuckRamping:
    """A session whose magnet never stops ramping (STATE? 1 for ever)."""

    replies = {"FIELD:UNITS?": "1", "RAMP:RATE:UNITS?": "0", "STATE?": "1",
               "RAMP:RATE:FIELD:1?": "0.0100,3.0000", "SYST:ERR?": "0,No error",
               "COIL?": "0.1000", "CURR:LIMIT?": "50.0000"}

    def __init__(self):
        self.written, self.pending, self.timeout = [], [], 2000.0

    def write(self, command):
        self.written.append(command)
        if command in self.replies:
            self.pending.append(self.replies[command])

    def read(self):
        return self.pending.pop(0)

    def close(self):
        pass


def test_protocol_ramp_to_timeout_pauses():
    s = StuckRamping()
    m = AMI430("x", session=s, skip_banner=False, limits={"max_ramp_rate": 0.02})
    with pytest.raises(InstrumentTimeout):
        m.ramp_to(1.0, timeout=0.05, poll=0.01)
    assert s.written[-2:] == ["PAUSE", "SYST:ERR?"]
    assert s.written.index("CONF:FIELD:TARG 1") < s.written.index("RAMP")


def test_banner_is_dropped_on_a_socket(line_server):
    srv = line_server(lambda line: b"0.5000\r\n" if line == b"FIELD:MAG?" else
                      b"1\r\n" if line == b"FIELD:UNITS?" else None,
                      greeting=b"American Magnetics Model 430 IP Interface\r\nHello.\r\n")
    with AMI430(srv.resource, backend="@py", timeout=0.5) as m:
        assert m.field == 0.5
