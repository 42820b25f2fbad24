"""PI E-727 (GCS 2.0) driver: pyvisa-sim file, and the multi-line protocol in a script."""

from __future__ import annotations

import pytest

from mrfm.drivers.errors import InstrumentError, InvalidResponse, LimitError
from mrfm.drivers.pi.e727 import E727, parse_axis_reply

RES = "TCPIP0::192.168.0.24::50000::SOCKET"


@pytest.fixture
def stage(sim):
    with E727(RES, backend=sim("pi.e727"), timeout=0.3, limits={"position": (0.0, 80.0)}) as s:
        yield s


def test_sim_getters(stage):
    assert stage.idn["model"] == "E-727"
    assert stage.position("1") == {"1": 0.0}
    assert stage.on_target("2") is True
    assert stage.servo("3") is False
    assert stage.travel_range("1") == (0.0, 100.0)


@pytest.mark.parametrize("axis", ["1", "2", "3"])
def test_servo_and_move_read_back(stage, axis):
    stage.set_servo(axis, True)
    assert stage.servo(axis) is True
    stage.move({axis: 42.5})
    assert stage.position(axis) == {axis: 42.5}
    stage.set_servo(axis, False)
    assert stage.servo(axis) is False


@pytest.mark.parametrize("targets", [{"1": 80.5}, {"1": -0.1}, {"1": 101.0}, {"4": 1.0},
                                     {"1": float("nan")}])
def test_bad_moves_refused_before_writing(stage, targets):
    with pytest.raises(LimitError):
        stage.move(targets)
    assert stage.position("1") == {"1": 0.0}


def test_err_reports_rejection(stage):
    stage.write("MOV 1 150", check=False)
    with pytest.raises(InstrumentError, match="position out of limits"):
        stage.check_errors("MOV 1 150")
    stage.stop()


def test_parse_axis_reply():
    assert parse_axis_reply("1=10.0\n2=-3.5e-1") == {"1": "10.0", "2": "-3.5e-1"}
    with pytest.raises(ValueError):
        parse_axis_reply("garbage")


PROTOCOL = [
    ("SVO 1 1", None), ("ERR?", "0"),
    ("POS? 1 2 3", ["1=10.000000 ", "2=20.500000 ", "3=0.250000"]),
    ("TMN? 1", "1=0.000000"), ("TMX? 1", "1=100.000000"),
    ("TMN? 2", "2=0.000000"), ("TMX? 2", "2=100.000000"),
    ("MOV 1 12.5 2 30", None), ("ERR?", "0"),
    ("ONT? 1 2 3", ["1=1 ", "2=0 ", "3=1"]),
    ("ONT? 1 2 3", ["1=1 ", "2=1 ", "3=1"]),
    ("MOV? 1", "1=12.500000"),
    ("MVR 1 -2.5", None), ("ERR?", "5"),
    ("STP", None), ("ERR?", "10"),
    ("POS? 3", "2=1.0"), ("POS? 3", "2=1.0"),
]


def test_protocol(fake):
    s = fake(PROTOCOL, clear=("ERR?", "0"))
    st = E727("x", session=s)
    st.set_servo("1", True)
    assert st.position() == {"1": 10.0, "2": 20.5, "3": 0.25}
    st.move({"1": 12.5, "2": 30})
    assert st.on_target() is False
    assert st.on_target() is True
    with pytest.raises(InstrumentError, match="servo off"):
        st.move_relative({"1": -2.5})
    st.stop()  # error 10 after STP is expected and cleared
    with pytest.raises(InvalidResponse):
        st.position("3")  # reply for the wrong axis
    assert s.done()
