"""Helpers for the virtual-rig tests (and the driver contract tests): a rig file with
every model, a raw line client."""

from __future__ import annotations

import json
import socket
import weakref
from pathlib import Path

from mrfm.rig.clock import SimClock
from mrfm.rig.server import VirtualRig
from mrfm.rigdef import rigfile

#: the lab limits of the test rigs (also those of tests/scan/scanfiles.py)
LIMITS_TOML = """
[limits]
x_range = ["-5 um", "5 um"]
y_range = ["-5 um", "5 um"]
height_range = ["2 nm", "4 um"]
max_temperature = "10 K"
max_rf_power = "10 dBm"
piezo_voltage = [["4 K", "250 V"], ["300 K", "120 V"]]
"""

#: one instrument of every model the virtual rig serves: the rig's name for it -> driver
INSTRUMENTS = {
    "lockin": "srs.sr830", "lockin2": "srs.sr865", "rf": "srs.sg384", "awg": "keysight.33500b",
    "coarse": "attocube.anc300", "scanner": "pi.e727", "temperature": "lakeshore.336",
    "magnet": "ami.430", "interferometer": "attocube.ids3010",
}
_OPTIONS = {"coarse": 'password = "secret"\n'}

#: a rig with every model (:data:`INSTRUMENTS`) and the lab limits; it names no experiment,
#: so it runs the packaged default (configs/demo.toml), with the magnet at zero field
RIG_TOML = '\nname = "test rig"\n' + "".join(
    f'[instruments.{name}]\ndriver = "{driver}"\n{_OPTIONS.get(name, "")}'
    for name, driver in INSTRUMENTS.items()
) + LIMITS_TOML + """max_field = "3 T"
max_field_rate = "0.02 T/s"

[virtual]
base_temperature = "4.2 K"
initial_field = "0 T"
thermal_time_constant = "20 s"
seed = 1
# positions are compared to the nm and below after minutes of simulated time and heater
# steps; the drift has its own test (test_physics_rig.test_the_tip_drifts_...)
drift = false
"""


#: the CAI experiment of the lock-in tests: a proton pad under a 100 nm sphere at 2.6 T
PAD_EXPERIMENT = Path(__file__).with_name("pad.toml")


def with_experiment(text: str, experiment: Path = PAD_EXPERIMENT) -> str:
    """Rig-file text ``text`` naming the experiment file ``experiment``."""
    return f'experiment = "{experiment.as_posix()}"\n' + text


#: each instrument of RIG_TOML: (query that identifies it, termination, reply contains)
IDENTITY = {
    "lockin": ("*IDN?", "\n", "Stanford_Research_Systems,SR830"),
    "lockin2": ("*IDN?", "\n", "Stanford_Research_Systems,SR865A"),
    "rf": ("*IDN?", "\n", "Stanford Research Systems,SG384"),
    "awg": ("*IDN?", "\n", "Keysight Technologies,33522B"),
    "coarse": ("ver", "\r\n", "attocube ANC300 controller version"),
    "scanner": ("*IDN?", "\n", "(c)2015-2023 Physik Instrumente"),
    "temperature": ("*IDN?", "\r\n", "LSCI,MODEL336"),
    "magnet": ("*IDN?", "\r\n", "AMERICAN MAGNETICS INC.,MODEL 430"),
    "interferometer": (
        json.dumps({"jsonrpc": "2.0", "method": "com.attocube.ids.system.getDeviceType",
                    "params": [], "id": 1, "api": 2}),
        "\r\n", '"IDS3010"',
    ),
}


def connect_ready(rig: VirtualRig, name: str) -> LineClient:
    """A client of instrument ``name`` of :data:`IDENTITY`, logged in where one must."""
    query, term, _ = IDENTITY[name]
    c = LineClient(rig.resources[name], term)
    if name == "coarse":  # banner, then authorize
        data = b""
        while not data.endswith(b"Authorization code: "):
            data += c.read_raw()
        c.send("secret")
        assert c.readline() == "******" and c.readline() == "Authorization success"
    return c


def make_rig(text: str = RIG_TOML, *, clock: SimClock | None = None, **kwargs) -> VirtualRig:
    """A started VirtualRig from rig-file text (caller stops it)."""
    return VirtualRig(rigfile.loads(text), clock=clock, **kwargs).start()


def port_of(resource: str) -> int:
    return int(resource.split("::")[2])


#: read timeout of a test client (s): a hang detector, not a latency bound: a first reading
#: may wait for numba kernels compiling on a cold cache on a loaded two-core machine;
#: tests of the timeout faults pass their own short timeouts
CLIENT_TIMEOUT = 30.0

#: clients not closed yet; the suite's fixture closes them after each test, so a test that
#: fails half way leaves no socket to be reported (as unraisable) in a later test
OPEN_CLIENTS: weakref.WeakSet[LineClient] = weakref.WeakSet()


class LineClient:
    """A raw TCP client speaking lines with a given termination."""

    def __init__(self, resource: str, term: str = "\n",
                 timeout: float = CLIENT_TIMEOUT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port_of(resource)), timeout=timeout)
        self.term = term.encode()
        self.buf = b""
        OPEN_CLIENTS.add(self)

    def send(self, text: str | bytes) -> None:
        data = text if isinstance(text, bytes) else text.encode()
        self.sock.sendall(data + self.term)

    def read_raw(self, n: int = 65536) -> bytes:
        return self.sock.recv(n)

    def readline(self) -> str:
        while self.term not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the instrument")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(self.term)
        return line.decode()

    def query(self, text: str) -> str:
        self.send(text)
        return self.readline()

    def read_until(self, marker: str) -> list[str]:
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if line in (marker, "ERROR"):
                return lines

    def close(self) -> None:
        self.sock.close()
        OPEN_CLIENTS.discard(self)


def close_open_clients() -> None:
    """Close every client a test left open (:data:`OPEN_CLIENTS`)."""
    for c in list(OPEN_CLIENTS):
        c.close()
