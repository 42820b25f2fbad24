"""attocube IDS3010 displacement interferometer over its JSON-RPC 2.0 interface.

Not VISA/SCPI: one JSON object per line over TCP (port 9090), replies end in
CR LF. A request is ``{"jsonrpc": "2.0", "method": "<ns>.displacement.getAxisDisplacement",
"params": [0], "id": 7, "api": 2}`` and its reply ``{"jsonrpc": "2.0", "result":
[0, 1234], "id": 7}``; the first element of ``result`` is an error (or warning)
number, the displacements are in pm. The namespace is ``com.attocube.ids`` before
firmware 1.9.1 and ``com.attocube.sen`` after; pass ``namespace=`` to choose.
Only idempotent getters are retried; start/stop are not.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import Logged
from mrfm.drivers.errors import (
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    LimitError,
)
from mrfm.rigdef.registry import terminations

PM = 1e-12
MAX_REPLY = 1 << 20


def parse_address(resource: str) -> tuple[str, int]:
    """``TCPIP0::host::port::SOCKET`` or ``host:port`` -> (host, port); default port 9090."""
    text = resource.strip()
    if "::" in text:
        parts = text.split("::")
        if len(parts) >= 2 and parts[0].upper().startswith("TCPIP"):
            host = parts[1]
            port = int(parts[2]) if len(parts) >= 4 and parts[2].isdigit() else 9090
            return host, port
        raise ValueError(f"not a TCPIP resource: {resource!r}")
    host, _, port = text.rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return text, 9090


class IDS3010:
    """IDS3010 interferometer (JSON-RPC socket adapter of its own).

    Parameters
    ----------
    resource : str
        ``TCPIP0::host::9090::SOCKET`` or ``host:port``.
    timeout : float
        Seconds to wait for a reply.
    namespace : str
        ``"com.attocube.ids"`` (default) or ``"com.attocube.sen"``.
    retries : int
        Extra attempts for a getter after a timeout or a reply that does not parse.
    read_termination, write_termination : str, optional
        Line ends of replies and requests (default: the registry's, CR LF); a reply
        line is complete at the last character of ``read_termination``.
    limits : mapping, optional
        Must be empty: nothing of the interferometer is set (the common driver signature).
    **_ignored
        ``backend`` of the common driver signature (a plain socket here, not VISA).

    Raises
    ------
    InstrumentDisconnected
        The connection cannot be opened.
    """

    model = "IDS3010"
    read_termination, write_termination = terminations("attocube.ids3010")

    def __init__(self, resource: str, *, timeout: float | None = None,
                 namespace: str = "com.attocube.ids", retries: int = 1,
                 read_termination: str | None = None, write_termination: str | None = None,
                 limits: Mapping[str, Any] | None = None, **_ignored: Any) -> None:
        if limits:
            raise ValueError(f"IDS3010: unknown limit key(s) {sorted(limits)}; known: none")
        if read_termination is not None:
            self.read_termination = read_termination
        if write_termination is not None:
            self.write_termination = write_termination
        self._eol = self.read_termination.encode()[-1:]
        timeout = 2.0 if timeout is None else timeout
        self.resource_name = resource
        self.namespace = namespace.rstrip(".")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self._id = 0
        self._buf = b""
        self._lock = threading.RLock()
        try:
            self.host, self.port = parse_address(resource)
            self._sock: socket.socket | None = socket.create_connection(
                (self.host, self.port), timeout=self.timeout)
        except (OSError, ValueError) as exc:
            raise InstrumentDisconnected(f"IDS3010 {resource}: cannot connect ({exc})") from None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def __enter__(self) -> IDS3010:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _where(self, what: str) -> str:
        return f"IDS3010 {self.resource_name}: {what}"

    # ------------------------------------------------------------ protocol
    def _readline(self) -> bytes:
        """One reply line, complete within :attr:`timeout` (a peer that keeps sending bytes
        without a line end times out too, not only a silent one)."""
        assert self._sock is not None
        deadline = time.monotonic() + self.timeout
        while self._eol not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._buf = b""
                raise InstrumentTimeout(self._where(
                    "no complete reply within the timeout (bytes arrive without a line end)"))
            try:
                self._sock.settimeout(remaining)
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise InstrumentTimeout(self._where("no reply within the timeout")) from None
            except OSError as exc:
                raise InstrumentDisconnected(self._where(f"connection lost ({exc})")) from None
            if not chunk:
                self.close()
                raise InstrumentDisconnected(self._where("connection closed by the instrument"))
            self._buf += chunk
            if len(self._buf) > MAX_REPLY:
                self._buf = b""
                raise InvalidResponse(self._where("reply longer than 1 MiB without a newline"))
        line, _, self._buf = self._buf.partition(self._eol)
        return line.strip()

    def _call_once(self, method: str, params: list[Any]) -> list[Any]:
        if self._sock is None:
            raise InstrumentDisconnected(self._where("the connection is closed"))
        self._id += 1
        rid = self._id
        request = {"jsonrpc": "2.0", "method": f"{self.namespace}.{method}",
                   "params": params, "id": rid, "api": 2}
        try:
            self._sock.sendall((json.dumps(request) + self.write_termination).encode())
        except OSError as exc:
            raise InstrumentDisconnected(self._where(f"send failed ({exc})")) from None
        for _ in range(8):  # skip stale replies to earlier (timed-out) requests
            raw = self._readline()
            try:
                reply = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise InvalidResponse(self._where(f"reply is not JSON: {raw[:80]!r}")) from None
            if not isinstance(reply, dict):
                raise InvalidResponse(self._where(f"reply is not a JSON object: {raw[:80]!r}"))
            if reply.get("id") != rid:
                if isinstance(reply.get("id"), int) and reply["id"] < rid:
                    continue
                raise InvalidResponse(self._where(f"reply id {reply.get('id')!r} != {rid}"))
            if "error" in reply:
                err = reply["error"]
                msg = err.get("message", err) if isinstance(err, dict) else err
                raise InstrumentError(self._where(f"{method} failed: {msg}"))
            result = reply.get("result")
            if not isinstance(result, list) or not result or not isinstance(result[0], int):
                raise InvalidResponse(self._where(f"{method}: bad result {result!r:.80}"))
            if result[0] != 0 and method.startswith("system."):
                raise InstrumentError(self._where(f"{method}: error number {result[0]}"))
            return result
        raise InvalidResponse(self._where("only stale replies"))

    def call(self, method: str, params: list[Any] | None = None, *, retry: bool = False
             ) -> list[Any]:
        """Call ``<namespace>.<method>``; returns the ``result`` list.

        Raises
        ------
        InstrumentError
            A JSON-RPC error or a non-zero error number of a system call.
        InvalidResponse, InstrumentTimeout, InstrumentDisconnected
            As their names say; only ``retry=True`` calls are repeated.
        """
        attempts = 1 + (self.retries if retry else 0)
        last: InstrumentError | None = None
        with self._lock:
            for _ in range(attempts):
                try:
                    return self._call_once(method, list(params or []))
                except (InstrumentTimeout, InvalidResponse) as exc:
                    last = exc
        assert last is not None
        raise last

    # ------------------------------------------------------------- commands
    def identify(self) -> str:
        """``attocube,IDS3010,<host:port>,<namespace>`` once the unit answers a call."""
        self.mode  # noqa: B018 - proves the link answers
        return f"attocube,IDS3010,{self.host}:{self.port},{self.namespace}"

    def logbook(self) -> dict[str, Logged]:
        """The measurement state (``mode``: ``"system idle"``, ``"measurement running"``...)."""
        return {"mode": Logged(self.mode, "")}

    def start(self) -> None:
        """Start the measurement (``system.startMeasurement``)."""
        self.call("system.startMeasurement")

    def stop(self) -> None:
        """Stop the measurement (``system.stopMeasurement``)."""
        self.call("system.stopMeasurement")

    @property
    def mode(self) -> str:
        """``system.getCurrentMode`` (``"system idle"``, ``"measurement running"``, ...)."""
        result = self.call("system.getCurrentMode", retry=True)
        if len(result) < 2 or not isinstance(result[1], str):
            raise InvalidResponse(self._where(f"getCurrentMode: {result!r:.80}"))
        return result[1]

    def _axis(self, axis: int) -> int:
        if isinstance(axis, bool) or axis not in (0, 1, 2):
            raise LimitError(f"IDS3010: axis {axis!r} is not 0, 1 or 2")
        return axis

    def _number(self, result: list[Any], index: int, what: str) -> float:
        if len(result) <= index or not isinstance(result[index], (int, float)) \
                or isinstance(result[index], bool):
            raise InvalidResponse(self._where(f"{what}: {result!r:.80}"))
        return float(result[index])

    def displacement(self, axis: int) -> float:
        """Displacement of ``axis`` (0-2) since the start of the measurement, m."""
        r = self.call("displacement.getAxisDisplacement", [self._axis(axis)], retry=True)
        return self._number(r, 1, "getAxisDisplacement") * PM

    def displacements(self) -> tuple[float, float, float]:
        """Displacements of the three axes, m."""
        r = self.call("displacement.getAxesDisplacement", retry=True)
        d0, d1, d2 = (self._number(r, i, "getAxesDisplacement") * PM for i in (1, 2, 3))
        return d0, d1, d2

    def absolute_position(self, axis: int) -> float:
        """Absolute position of ``axis``, m."""
        r = self.call("displacement.getAbsolutePosition", [self._axis(axis)], retry=True)
        return self._number(r, 1, "getAbsolutePosition") * PM

    def signal_quality(self, axis: int) -> tuple[float, float]:
        """(contrast, baseline) of ``axis`` in per mille."""
        r = self.call("displacement.getSignalQuality", [self._axis(axis)], retry=True)
        return (self._number(r, 1, "getSignalQuality"), self._number(r, 2, "getSignalQuality"))
