"""One virtual instrument served over TCP: :class:`InstrumentServer`.

Each instrument listens on 127.0.0.1 only, on a port the OS chooses (bind
port 0) unless the rig file fixes one, and is addressed as the VISA resource
``TCPIP0::127.0.0.1::<port>::SOCKET``. A connection gets the model's banner,
then request lines (split at LF or CR; at most :data:`MAX_LINE` bytes, longer
requests are discarded up to the next terminator and reported with one short
error, the connection stays open; after :data:`MAX_DISCARD` bytes without a
terminator it is closed) and replies with the model's write termination.
An instrument serves at most :data:`MAX_CONNECTIONS` connections at once, one
thread each; further clients wait in the listen backlog (:data:`LISTEN_BACKLOG`)
until one closes. Faults are injected by :class:`~mrfm.rig.faults.FaultInjector`.
"""

from __future__ import annotations

import select
import socket
import threading

from mrfm.rig.faults import FaultInjector, junk
from mrfm.rig.instruments.base import MAX_LINE, Session, VirtualInstrument

HOST = "127.0.0.1"
#: longest simulated wait (stepw) served, wall seconds
MAX_WAIT = 120.0
#: pending connections the kernel queues for each instrument (listen backlog)
LISTEN_BACKLOG = 512
#: connections an instrument serves at once (one thread each); more wait in the backlog
MAX_CONNECTIONS = 32
#: bytes of one unterminated request discarded before the connection is closed
MAX_DISCARD = 1 << 20
#: bytes read from a connection at a time
RECV_SIZE = 65536
#: how often (s) the accept loop looks for stop() while every connection slot is busy
#: (otherwise stop() wakes it at once through a local socket pair)
POLL_INTERVAL = 0.1


def socket_resource(port: int, host: str = HOST) -> str:
    """VISA resource string of a raw socket."""
    return f"TCPIP0::{host}::{port}::SOCKET"


class InstrumentServer:
    """A TCP server for one virtual instrument, bounded in connections and memory.

    It listens with a backlog of :data:`LISTEN_BACKLOG` and serves at most
    ``max_connections`` connections at once, each in its own thread; while that many
    are open it accepts no more, so further clients wait in the listen backlog
    (connected, unanswered) until a connection closes. A connection holds at most
    :data:`MAX_LINE` bytes of a pending request (plus one read); a longer request is
    discarded up to its terminator with one error, and a connection that sends more
    than :data:`MAX_DISCARD` bytes without a terminator is closed.
    """

    def __init__(
        self,
        instrument: VirtualInstrument,
        *,
        port: int = 0,
        host: str = HOST,
        faults: FaultInjector | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"virtual instruments bind the loopback interface only, not {host!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.instrument = instrument
        self.faults = faults or FaultInjector()
        self.max_connections = int(max_connections)
        self._stuck_replies: dict[str, list[str]] = {}
        self._stuck_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._stopping = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server(
            (host, port), family=family, backlog=LISTEN_BACKLOG
        )
        self.port = int(self._listener.getsockname()[1])
        self.resource = socket_resource(self.port, host)
        # stop() writes a byte here to wake the accept loop's select() at once (an
        # unnamed connected pair: nothing listens on it)
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Accept connections in a background thread (the socket already listens)."""
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"rig-{self.instrument.name}", daemon=True
        )
        self._thread.start()

    def _accept_loop(self) -> None:
        """Take a free connection slot, then accept one connection into it."""
        listener = self._listener
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=POLL_INTERVAL):
                continue  # every slot busy: the next client waits in the backlog
            try:
                ready, _, _ = select.select([listener, self._wake_r], [], [])
                if listener not in ready:  # woken by stop()
                    self._slots.release()
                    continue
                conn, _ = listener.accept()
            except OSError:  # closed by stop(), or a connection reset before accept
                self._slots.release()
                continue
            try:
                threading.Thread(
                    target=self._run_connection, args=(conn,),
                    name=f"rig-{self.instrument.name}-conn", daemon=True,
                ).start()
            except RuntimeError:  # no thread to be had: refuse this one cleanly
                conn.close()
                self._slots.release()

    def _run_connection(self, conn: socket.socket) -> None:
        try:
            self._serve_connection(conn)
        finally:
            self._slots.release()

    @property
    def open_connections(self) -> int:
        """Connections being served now."""
        with self._conn_lock:
            return len(self._connections)

    def stop(self) -> None:
        """Stop accepting, close every connection, release the port."""
        self._stopping.set()
        try:
            self._wake_w.send(b"x")
        except OSError:  # stopped before: the pair is closed
            pass
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        with self._conn_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._connections.clear()

    # ------------------------------------------------------------- connection
    def _serve_connection(self, conn: socket.socket) -> None:
        inst = self.instrument
        with self._conn_lock:
            if self._stopping.is_set():
                conn.close()
                return
            self._connections.add(conn)
        session = inst.new_session()
        term = inst.write_termination.encode()
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            banner = inst.banner()
            if banner:
                conn.sendall(banner)
            buf = bytearray()
            discarded = -1  # bytes of an overlong request thrown away so far (-1: none)
            request = self._request
            stopping = self._stopping
            while not stopping.is_set():
                data = conn.recv(RECV_SIZE)
                if not data:
                    break
                if not buf and discarded < 0:
                    # The usual packet: one request, its terminator(s) at the end.
                    raw = data.rstrip(b"\r\n")
                    if len(raw) < len(data) and b"\n" not in raw and b"\r" not in raw:
                        if not request(conn, raw, session, term):
                            return
                        continue
                buf += data
                while True:
                    cut = _first_terminator(buf)
                    if cut < 0:
                        break
                    raw = bytes(buf[:cut])
                    del buf[: cut + 1]
                    if discarded >= 0:
                        discarded = -1
                        continue
                    if not request(conn, raw, session, term):
                        return
                if len(buf) > MAX_LINE:
                    if discarded < 0:
                        discarded = 0
                        self._send(conn, inst.overlong(session), term)
                    discarded += len(buf)
                    buf.clear()
                    if discarded > MAX_DISCARD:  # an endless line: cut the connection off
                        return
        except OSError:
            pass
        finally:
            with self._conn_lock:
                self._connections.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _request(self, conn: socket.socket, raw: bytes, session: Session, term: bytes) -> bool:
        """One request line without its terminator: an overlong one is refused, a blank one
        ignored, the rest handled. False when the connection must close."""
        if len(raw) > MAX_LINE:
            self._send(conn, self.instrument.overlong(session), term)
            return True
        if not raw.strip(b" \t\r\n"):
            return True
        return self._handle_line(conn, raw, session, term)

    def _handle_line(self, conn: socket.socket, raw: bytes, session: Session, term: bytes) -> bool:
        """Handle one request; False when the connection must close."""
        inst = self.instrument
        line = raw.decode("utf-8", errors="replace")
        modes = self.faults.fire()
        if "timeout" in modes:
            return True
        if "drop" in modes:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        if "stuck" in modes and inst.is_query(line):
            with self._stuck_lock:
                if line in self._stuck_replies:
                    replies = self._stuck_replies[line]
                else:
                    replies = inst.handle(line, session)
                    self._stuck_replies[line] = replies
        else:
            if self._stuck_replies and not self.faults.is_stuck():
                with self._stuck_lock:
                    self._stuck_replies.clear()
            replies = inst.handle(line, session)
        if session.delay > 0:
            self._wait(session)
        if "garbage" in modes and replies:
            replies = [junk()]
        self._send(conn, replies, term)
        return not session.close

    def _wait(self, session: Session) -> None:
        """Serve the simulated wait a command asked for (``session.delay``, s)."""
        wait, session.delay = session.delay, 0.0
        clock = self.instrument.state.clock
        if clock.manual:
            clock.advance(wait)
        else:
            self._stopping.wait(min(wait / clock.time_scale, MAX_WAIT))

    @staticmethod
    def _send(conn: socket.socket, replies: list[str | bytes], term: bytes) -> None:
        """Send text replies each with the terminator, binary blocks (bytes) as they are
        (an SR830 ``TRCB?``/``TRCL?`` transfer carries no terminator)."""
        if len(replies) == 1 and isinstance(replies[0], str):
            conn.sendall(replies[0].encode("utf-8", errors="replace") + term)
        elif replies:
            conn.sendall(b"".join(
                r if isinstance(r, bytes) else r.encode("utf-8", errors="replace") + term
                for r in replies))


def _first_terminator(buf: bytearray) -> int:
    lf = buf.find(b"\n")
    cr = buf.find(b"\r")
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)
