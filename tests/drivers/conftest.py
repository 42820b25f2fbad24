"""Fixtures for the driver tests: pyvisa-sim backends, a recording fake session, TCP servers."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def sim(tmp_path: Path) -> Callable[[str], str]:
    """``sim("srs.sr830")`` -> a pyvisa-sim backend string on a fresh copy of the model's
    pyvisa-sim file (the registry's, :meth:`mrfm.rigdef.registry.DriverEntry.sim_path`).

    pyvisa caches one library (and so one simulated device state) per file path; a copy
    per test gives every test a freshly powered-on instrument.
    """
    from mrfm.rigdef.registry import REGISTRY

    def make(driver: str) -> str:
        src = REGISTRY[driver].sim_path()
        dst = tmp_path / src.name
        shutil.copy(src, dst)
        return f"{dst}@sim"

    return make


class FakeSession:
    """A pyvisa-like resource for protocol tests: checks writes against a script of
    (command, reply-lines) pairs and serves the replies, one line per ``read``.

    ``clear`` is the exchange a driver opens every session with, clearing errors left
    from before (``*CLS``; the E-727 reads ``ERR?``; None for the ANC300, which has none);
    it is expected before the script."""

    def __init__(self, script: list[tuple[str, list[str] | str | None]],
                 clear: tuple[str, str | None] | None = ("*CLS", None)) -> None:
        self.script = ([clear] if clear is not None else []) + list(script)
        self.written: list[str] = []
        self.pending: list[str] = []
        self.closed = False
        self.timeout = 2000.0

    def write(self, command: str) -> None:
        assert not self.pending, f"wrote {command!r} with unread replies {self.pending}"
        assert self.script, f"unexpected write {command!r} (script finished)"
        expected, reply = self.script.pop(0)
        assert command == expected, f"driver sent {command!r}, script expects {expected!r}"
        self.written.append(command)
        if reply is None:
            return
        self.pending.extend([reply] if isinstance(reply, str) else reply)

    def read(self) -> str:
        from pyvisa import constants
        from pyvisa.errors import VisaIOError

        if not self.pending:
            raise VisaIOError(constants.StatusCode.error_timeout)
        return self.pending.pop(0)

    def read_raw(self) -> bytes:
        return (self.read() + "\r\n").encode()

    def clear(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        self.closed = True

    def done(self) -> bool:
        return not self.script and not self.pending


def assert_refused(instrument: Any, name: str, value: Any) -> None:
    """Setting ``instrument.name = value`` raises LimitError and leaves the setting as it was."""
    from mrfm.drivers.errors import LimitError

    before = getattr(instrument, name)
    with pytest.raises(LimitError):
        setattr(instrument, name, value)
    assert getattr(instrument, name) == before


@pytest.fixture
def refused() -> Callable[[Any, str, Any], None]:
    """:func:`assert_refused`, for the driver tests in the model folders."""
    return assert_refused


@pytest.fixture
def fake() -> type[FakeSession]:
    """The :class:`FakeSession` class."""
    return FakeSession


class LineServer:
    """A loopback TCP server: ``respond(line) -> bytes | None`` per received line
    (None: stay silent; b"" closes the connection). ``greeting`` is sent on connect."""

    def __init__(self, respond: Callable[[bytes], bytes | None], greeting: bytes = b"") -> None:
        self.respond = respond
        self.greeting = greeting
        self.lines: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        buf = b""
        try:
            if self.greeting:
                conn.sendall(self.greeting)
            while not self._stop.is_set():
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, _, buf = buf.partition(b"\n")
                    line = line.rstrip(b"\r")
                    self.lines.append(line)
                    reply = self.respond(line)
                    if reply == b"":
                        conn.close()
                        return
                    if reply is not None:
                        conn.sendall(reply)
        except OSError:
            return

    def stop(self) -> None:
        self._stop.set()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


@pytest.fixture
def line_server() -> Iterator[Callable[..., LineServer]]:
    """Factory of :class:`LineServer`; every server is stopped after the test."""
    servers: list[LineServer] = []

    def make(respond: Callable[[bytes], bytes | None], greeting: bytes = b"") -> LineServer:
        s = LineServer(respond, greeting)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
