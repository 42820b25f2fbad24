"""The monitor's HTTP server: a few fixed GET paths on 127.0.0.1, bounded worker threads.

Paths (anything else is 404, any other method 405/501, a foreign ``Host`` 403)::

    /  /index.html       the page (static HTML)
    /monitor.js  /monitor.css  /favicon.svg  /favicon.ico
    /state.json          the scan's state (small JSON; the page polls it)
    /map.png?channel=C   map of channel C (a channel of the file; default its signal)
    /line.png?channel=C  the latest line of C and the line before it
    /channels.png        every channel against time

One :class:`mrfm.monitor.model.Model` of the file serves all clients (it re-reads the
file and renders each figure only as often as its docstring says).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mrfm.errors import UserError
from mrfm.monitor.model import FIGURES, Model

HOST = "127.0.0.1"
#: static files served from mrfm/monitor/static (name -> content type)
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "monitor.js": "text/javascript; charset=utf-8",
    "monitor.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
#: most seconds MonitorServer.stop waits for a figure being drawn and for the requests
#: being served (their connections are shut down first; a figure takes well under a
#: second)
STOP_WAIT_S = 20.0
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
}


def _static(name: str) -> bytes:
    return resources.files("mrfm.monitor").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "mrfm-monitor"
    sys_version = ""
    timeout = 15  # s: a stalled client frees its thread

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the terminal shows the URL, not every poll."""

    def _send(self, code: int, body: bytes, ctype: str, cache: str = "no-store") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for k, v in _HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, code: int, text: str) -> None:
        self._send(code, (text + "\n").encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._error(405, "read-only monitor: GET only")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def do_GET(self) -> None:  # noqa: N802
        host = self.headers.get("Host", "")
        if host not in self.server.allowed_hosts:
            self._error(403, "unexpected Host header")
            return
        parts = urlsplit(self.path)
        name = parts.path.lstrip("/") or "index.html"
        model = self.server.model
        try:
            if name in STATIC:
                self._send(200, _static(name), STATIC[name], cache="no-cache")
            elif name == "favicon.ico":
                self._send(200, model.favicon(), "image/x-icon", cache="max-age=3600")
            elif name == "state.json":
                body = json.dumps(model.state(), allow_nan=False).encode()
                self._send(200, body, "application/json")
            elif name.endswith(".png") and name[:-4] in FIGURES:
                snap = model.refresh()
                channel = ""  # channels.png shows every channel
                if name != "channels.png":
                    channel = parse_qs(parts.query).get("channel", [snap.signal])[0]
                    if channel not in {c.name for c in snap.channels}:
                        self._error(404, "no such channel in this file")
                        return
                # the page asks for ?v=<version>: a new URL whenever the file changed
                self._send(200, model.figure(name[:-4], channel), "image/png",
                           cache="private, max-age=600")
            else:
                self._error(404, "not found")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - one bad figure must not end the monitor
            print(f"mrfm monitor: {self.path}: {exc.__class__.__name__}: {exc}",
                  file=sys.stderr)
            with contextlib.suppress(OSError):
                self._error(500, "internal error (see the monitor's terminal)")

    do_HEAD = do_GET


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with at most ``max_threads`` requests served at once."""

    daemon_threads = True

    def __init__(self, port: int, model: Model, max_threads: int):
        self.model = model
        self.max_threads = max_threads
        self._slots = threading.BoundedSemaphore(max_threads)
        self._live: set[socket.socket] = set()  # connections being served
        self._live_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)
        p = self.server_address[1]
        self.allowed_hosts = {f"{HOST}:{p}", f"localhost:{p}"}

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        if not self._slots.acquire(timeout=5.0):
            self.shutdown_request(request)  # overloaded: drop, the page retries
            return
        with self._live_lock:
            self._live.add(request)
        try:
            threading.Thread(target=self._work, args=(request, client_address),
                             daemon=True).start()
        except BaseException:  # no thread: give back what _work would have
            self.shutdown_request(request)
            self._slots.release()
            raise

    def _work(self, request, client_address) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        # out of the live set before it is closed, so drain never shuts down a closed
        # socket's descriptor number (which the OS may have handed to a new socket)
        with self._live_lock:
            self._live.discard(request)
        super().shutdown_request(request)

    def drain(self, timeout: float) -> bool:
        """Wait until no request is being served (at most ``timeout`` s); True if none is.

        The connections being served are shut down first: a client that opened one and
        sent nothing (browsers open spare connections) would otherwise hold its thread
        for the handler's 15 s timeout. A figure being drawn is finished, its reply not
        sent."""
        with self._live_lock:
            for conn in self._live:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        taken = 0
        try:
            while taken < self.max_threads and self._slots.acquire(
                    timeout=max(deadline - time.monotonic(), 0.0)):
                taken += 1
        finally:
            for _ in range(taken):
                self._slots.release()
        return taken == self.max_threads


class MonitorServer:
    """Serve the live page of the scan file ``path`` on ``http://127.0.0.1:port/``.

    Parameters
    ----------
    path : str or Path
        The scan file (it must exist: :meth:`start` reads it once first).
    port : int
        TCP port on 127.0.0.1; 0 lets the OS choose (see :attr:`url` after start).
    max_threads : int
        Requests served at once (each browser polls one small JSON per second).

    Use as ``with MonitorServer(path) as mon: print(mon.url)``, or ``start()``/``stop()``.
    Run it in a process other than the scan's writer (:class:`~mrfm.monitor.MonitorProcess`
    does): HDF5 serializes every call within one process, so a monitor thread beside
    the writer would make the writer wait.
    """

    def __init__(self, path: str | Path, port: int = 0, *, max_threads: int = 16):
        if not 0 <= int(port) <= 65535:
            raise UserError(f"--port {port}: must be in 0..65535 (0: the OS chooses)")
        self.path = Path(path)
        self.port = int(port)
        self.max_threads = int(max_threads)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._prerender: threading.Thread | None = None
        #: False after a stop() that gave up waiting (STOP_WAIT_S) for a figure being
        #: drawn or a request being served: a thread may still be inside matplotlib/HDF5
        self.stopped_cleanly = True

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/`` (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("monitor not started")
        return f"http://{HOST}:{self._server.server_address[1]}/"

    def start(self) -> str:
        """Read the file once, bind, serve in a background thread; returns :attr:`url`.

        Raises FileFormatError (a UserError) for a missing or unreadable scan file and
        for a port that cannot be bound.
        """
        model = Model(self.path)
        model.first_read()
        try:
            self._server = _Server(self.port, model, self.max_threads)
        except OSError as exc:
            raise UserError(f"--port {self.port}: cannot listen on {HOST} "
                                  f"({exc.strerror or exc})") from None
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="mrfm-monitor", daemon=True)
        self._thread.start()
        # draw the first figures now, so that the first page shows them at once
        self._prerender = threading.Thread(target=model.prerender,
                                           name="mrfm-monitor-prerender", daemon=True)
        self._prerender.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, wait for the figures being drawn and the requests being served
        (at most :data:`STOP_WAIT_S` s), and close the socket (idempotent).

        The wait matters when the process exits next: a thread still inside matplotlib or
        HDF5 while the interpreter shuts down crashed ``mrfm monitor`` stopped by SIGTERM
        0.2-0.5 s after its start, in 19 of 24 tries (SIGSEGV, or SIGABRT "terminate
        called without an active exception"; 5 December 2026)."""
        if self._server is not None:
            self._server.model.closing.set()
            self._server.shutdown()
            if self._prerender is not None:
                self._prerender.join(timeout=STOP_WAIT_S)
                self.stopped_cleanly = not self._prerender.is_alive()
                self._prerender = None
            self.stopped_cleanly &= self._server.drain(STOP_WAIT_S)
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def __enter__(self) -> MonitorServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
