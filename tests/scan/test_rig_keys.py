"""Every rig-file key reaches the instrument (or the scan) it configures.

One test per key, against instruments served by the virtual rig (or, for the SR865's
``model`` and the ``backend`` key, its pyvisa-sim file): the key is written into the rig
file, the rig is opened the way ``mrfm scan`` opens it (:class:`DriverRig`), and the
driver (or the virtual instrument) is asked what it got. A last test checks that these
cases cover every key the registry allows, so a new key cannot go untested.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mrfm.config import load
from mrfm.errors import UserError
from mrfm.rigdef import rigfile
from mrfm.rigdef.registry import REGISTRY
from mrfm.scan.rig_handle import DriverRig
from mrfm.scan.safety import SafetyLimits

from .scanfiles import write_experiment, write_rig

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.filterwarnings("ignore::mrfm.solver.ResonanceOutsideSampleWarning"),
]

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    rig: object  # the VirtualRig
    folder: object
    config: object
    port: int

    def rig_file(self, role: str, text: str, name: str):
        """The test rig file naming the served instruments, with ``text`` (TOML keys)
        set in instrument ``role``'s table (replacing keys it has)."""
        import tomllib

        import tomli_w

        path = write_rig(self.folder, self.config, resources=self.rig.resources, name=name,
                         interferometer=True)
        data = tomllib.loads(path.read_text())
        data["instruments"][role].update(tomllib.loads(text))
        path.write_text(tomli_w.dumps(data))
        return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from mrfm.rig import VirtualRig

    folder = tmp_path_factory.mktemp("keys")
    config = write_experiment(folder, nx=4, ny=3)
    port = _free_port()
    # keys only the virtual instruments read: on the served side
    base = write_rig(folder, config, name="serve.toml", interferometer=True, extra={
        "lockin": 'serial = "77777"', "magnet": "field_units = 0", "awg": f"port = {port}"})
    with VirtualRig.from_file(base) as rig:
        yield Served(rig, folder, config, port)


def _opened(served: Served, role: str, text: str, check: Callable[[DriverRig], None],
            name: str) -> None:
    rf = rigfile.load(served.rig_file(role, text, name))
    with DriverRig.open(rf, experiment=load(served.config)) as handle:
        check(handle)


# ------------------------------------------------------------------ the cases
def _timeout(h):
    assert h.drivers.lockin.timeout == pytest.approx(0.7)
    assert h.drivers.lockin._session.timeout == pytest.approx(700.0)  # pyvisa, ms


def _write_termination(h):
    magnet = h.drivers.magnet
    assert magnet.write_termination == "\n" and magnet._session.write_termination == "\n"
    assert magnet.read_termination == "\r\n"  # the model's own
    assert magnet.state in range(1, 11)  # and the instrument still answers


#: a check that is this string: opening must fail with a UserError matching it
REPLY_KEEPS_CR = r"reply 'AMERICAN MAGNETICS INC\.,MODEL 430,[^']*\\r'"


def _time_constant(h):
    assert h.drivers.lockin.time_constant == pytest.approx(0.03)
    assert h.time_constant() == pytest.approx(0.03)


def _phase(h):
    assert h.drivers.lockin.phase == pytest.approx(33.0)


def _force_per_volt(h):
    assert h.force_per_volt == pytest.approx(2e-12)
    assert h.channels()[0].name == "force"


def _frequency_per_volt(h):
    assert h.frequency_per_volt == pytest.approx(1000.0)
    assert h.channels()[0].name == "frequency_shift"


def _power(h):
    rf = h.drivers.rf
    h.prepare(limits=SafetyLimits(**h.rig.limits.safety_kwargs()))
    try:
        assert (rf.power, rf.output) == (-3.0, True)
    finally:
        rf.output = False


def _frequency_multiplier(h):
    assert h.drivers.rf.frequency == pytest.approx(9.65e9 / 4)


def _awg_model(h):
    awg = h.drivers.awg
    assert awg.model_name == "33511B"  # the rig file's, not *IDN?'s 33522B
    assert awg.channels == (1,)


def _awg_channel(h):
    assert h.drivers.awg.channel == 2
    assert h.read_settings("awg")["output"].value is False  # channel 2 answers


def _password(h):  # pragma: no cover - never reached: the login fails
    raise AssertionError("a wrong password was accepted")


def _coarse_axes(h):
    assert h.coarse_axes() == (1, 2)
    assert {k for k in h.read_settings("coarse") if k.startswith("mode_")} == {"mode_1",
                                                                                "mode_2"}


def _scanner_axes(h):
    assert h.drivers.scanner.axes == ("2", "1", "3")
    assert h.cal.to_axes((1e-7, 0.0, 1e-6)) == {"2": pytest.approx(0.1), "1": 0.0,
                                                "3": pytest.approx(1.0)}


def _calibration(h):
    assert h.cal.calibration == (1.0, -1.0, 1.0)
    assert h.cal.to_axes((0.0, 2e-7, 1e-6))["2"] == pytest.approx(-0.2)


def _offset(h):
    assert h.cal.offset == pytest.approx((0.0, 0.0, 1e-8))


def _park(h):
    assert h.cal.park == pytest.approx((1e-7, -1e-7))


def _park_step(h):
    assert h.cal.park_step == pytest.approx(5e-8)


def _settle_timeout(h):
    assert h.cal.settle_timeout == pytest.approx(3.0)


def _position_tolerance(h):
    assert h.cal.position_tolerance == pytest.approx(8e-9)


def _input(h):
    drv = h.drivers.temperature
    asked = []
    real = drv.temperature
    drv.temperature = lambda sensor="A": asked.append(sensor) or real(sensor)
    assert h.temperature() > 0 and asked == ["B"]


def _output(h):
    assert h.drivers.temperature.output == 2
    assert h.read_settings("temperature")["output"].value == 2


def _namespace(h):
    ids = h.drivers.interferometer
    assert ids.namespace == "com.attocube.sen"
    assert h.read_settings("interferometer")["mode"].value == "system idle"


def _serial(h):
    assert "77777" in h.identities()["lockin"]


def _field_units(h):
    assert h.drivers.magnet.field_units == "kG"  # the served magnet works in kG
    assert h.field() == pytest.approx(h.rig_state_field, abs=1e-6)


def _port(h):
    assert h.roles["awg"].resource.endswith(f"::{h.served_port}::SOCKET")


#: case id -> (role, rig-file text, check); ids are "<driver>:<key>" or "*:<key>" (any model)
CASES = {
    "*:timeout": ("lockin", 'timeout = "0.7 s"', _timeout),
    # LF instead of the magnet's CR LF: the reply keeps its CR and is refused as garbage
    "*:read_termination": ("magnet", 'read_termination = "\\n"', REPLY_KEEPS_CR),
    "*:write_termination": ("magnet", 'write_termination = "\\n"', _write_termination),
    "srs.sr830:time_constant": ("lockin", 'time_constant = "30 ms"', _time_constant),
    "srs.sr830:phase": ("lockin", "phase = 33.0", _phase),
    "srs.sr830:force_per_volt": ("lockin", 'force_per_volt = "2e-12 N/V"', _force_per_volt),
    "srs.sr830:frequency_per_volt": ("lockin", 'frequency_per_volt = "1000 Hz/V"',
                                     _frequency_per_volt),
    "srs.sg384:power": ("rf", 'power = "-3 dBm"', _power),
    "srs.sg384:frequency_multiplier": ("rf", "frequency_multiplier = 4",
                                       _frequency_multiplier),
    "keysight.33500b:model": ("awg", 'model = "33511B"', _awg_model),
    "keysight.33500b:channel": ("awg", "channel = 2", _awg_channel),
    "attocube.anc300:axes": ("coarse", "axes = [1, 2]", _coarse_axes),
    "pi.e727:axes": ("scanner", 'axes = ["2", "1", "3"]', _scanner_axes),
    "pi.e727:calibration": ("scanner", "calibration = [1, -1, 1]", _calibration),
    "pi.e727:offset": ("scanner", 'offset = ["0 nm", "0 nm", "10 nm"]', _offset),
    "pi.e727:park": ("scanner", 'park = ["100 nm", "-100 nm"]', _park),
    "pi.e727:park_step": ("scanner", 'park_step = "50 nm"', _park_step),
    "pi.e727:settle_timeout": ("scanner", 'settle_timeout = "3 s"', _settle_timeout),
    "pi.e727:position_tolerance": ("scanner", 'position_tolerance = "8 nm"',
                                   _position_tolerance),
    "lakeshore.336:input": ("temperature", 'input = "B"', _input),
    "lakeshore.336:output": ("temperature", "output = 2", _output),
    "attocube.ids3010:namespace": ("interferometer", 'namespace = "com.attocube.sen"',
                                   _namespace),
    "*:serial": ("lockin", "", _serial),  # set on the served side (a virtual-rig key)
    "ami.430:field_units": ("magnet", "", _field_units),  # the served side's, too
    "*:port": ("awg", "", _port),  # the served side's
}


@pytest.mark.parametrize("case", list(CASES))
def test_rig_file_key_reaches_the_driver(case, served):
    role, text, check = CASES[case]
    rf = rigfile.load(served.rig_file(role, text, f"{case.replace(':', '_')}.toml"))
    if isinstance(check, str):
        with pytest.raises(UserError, match=check):
            with DriverRig.open(rf, experiment=load(served.config)):
                pass
        return
    with DriverRig.open(rf, experiment=load(served.config)) as h:
        h.rig_state_field = served.rig.state.snapshot()["field_T"]
        h.served_port = served.port
        check(h)


def test_a_wrong_password_never_logs_in(served):
    rf = rigfile.load(served.rig_file("coarse", 'password = "654321"', "pw.toml"))
    with pytest.raises(UserError, match="authorization failed"):
        with DriverRig.open(rf, experiment=load(served.config)) as h:
            _password(h)


def test_backend_and_the_sr865_model_reach_the_driver(tmp_path):
    from mrfm.scan.instruments import open_driver

    sim = tmp_path / "sr865.yaml"
    shutil.copy(REGISTRY["srs.sr865"].sim_path(), sim)
    import yaml

    resource = next(iter(yaml.safe_load(sim.read_text())["resources"]))
    rf = rigfile.loads(f'[instruments.lockin]\ndriver = "srs.sr865"\nresource = "{resource}"\n'
                       f'backend = "{sim}@sim"\nmodel = "SR860"\n')
    with open_driver(rf.instruments[0], "lockin") as li:
        assert li.backend == f"{sim}@sim"
        assert li._model_name == "SR860"  # not read from *IDN?
        with pytest.raises(Exception, match="outside the instrument range"):
            li.frequency = 1e6  # the SR860 stops at 500 kHz (the SR865 would take it)


def test_the_cases_cover_every_key_the_registry_allows():
    covered = {case.split(":")[1] for case in CASES} | {"backend", "password"}
    spec_keys = {"read_termination", "write_termination", "port"}
    for name, e in REGISTRY.items():
        for key in (*e.allowed_options(), *spec_keys):
            specific = key not in (*spec_keys, "timeout", "backend", "serial")
            assert key in covered, (name, key)
            if specific and key not in ("password", "model"):
                assert f"{name}:{key}" in CASES or any(
                    c.endswith(f":{key}") and REGISTRY[c.split(":")[0]].role == e.role
                    for c in CASES if not c.startswith("*")), (name, key)
