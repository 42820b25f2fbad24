"""No driver call blocks beyond its deadline: an instrument that keeps the connection busy
without ever completing a reply (bytes trickling in, no termination) ends as
InstrumentTimeout, for a pyvisa driver (the E-727, through the watchdog) and for the
IDS3010's own JSON-RPC socket (a per-reply deadline).

Truth: the deadline each path promises - twice the reply timeout plus 1 s for the
watchdog, the reply timeout for the IDS3010 - with 1 s of slack for a loaded machine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mrfm.drivers.attocube.ids3010 import IDS3010
from mrfm.drivers.errors import InstrumentDisconnected, InstrumentTimeout
from mrfm.drivers.pi.e727 import E727
from mrfm.drivers.watchdog import Watchdog

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def trickler() -> Iterator[int]:
    """A server that answers its first request properly (the E-727's ``ERR?`` on connect:
    ``0``; the IDS3010 sends none) and the next with one byte every 20 ms, never a line end."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def feed(conn: socket.socket) -> None:
        with conn:
            try:
                if conn.recv(4096).startswith(b"ERR?"):
                    conn.sendall(b"0\n")
                    conn.recv(4096)
                while not stop.is_set():
                    conn.sendall(b"7")
                    time.sleep(0.02)
            except OSError:
                pass

    def serve() -> None:
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=feed, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    stop.set()
    time.sleep(0.1)  # the feeding threads close their connections
    srv.close()


def test_a_pyvisa_read_that_never_completes_times_out(trickler):
    drv = E727(f"TCPIP0::127.0.0.1::{trickler}::SOCKET", timeout=0.3, retries=0)
    t0 = time.monotonic()
    with pytest.raises(InstrumentTimeout, match="blocked for more than 1.6 s"):
        drv.position()
    assert time.monotonic() - t0 < 1.6 + 1.0
    with pytest.raises(InstrumentDisconnected):  # the watchdog closed the connection
        drv.position()
    drv.close()


def test_an_ids3010_reply_that_never_completes_times_out(trickler):
    drv = IDS3010(f"127.0.0.1:{trickler}", timeout=0.3, retries=0)
    t0 = time.monotonic()
    with pytest.raises(InstrumentTimeout):
        drv.mode  # noqa: B018
    assert time.monotonic() - t0 < 0.3 + 1.0
    drv.close()


def test_the_watchdog_aborts_only_late_calls():
    dog = Watchdog(period=0.01)
    aborted = []
    with dog.guard(5.0, lambda: aborted.append("quick")) as quick:
        time.sleep(0.05)
    with dog.guard(0.02, lambda: aborted.append("late")) as late:
        time.sleep(0.2)
    assert aborted == ["late"] and late.fired and not quick.fired
