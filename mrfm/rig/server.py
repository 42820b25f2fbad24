"""TCP servers for the virtual instruments, and :class:`VirtualRig`.

Each instrument listens on 127.0.0.1 only, on a port the OS chooses (bind
port 0) unless the rig file fixes one, and is addressed as the VISA resource
``TCPIP0::127.0.0.1::<port>::SOCKET``. A connection gets the model's banner,
then request lines (split at LF or CR; at most :data:`MAX_LINE` bytes, longer
requests are discarded up to the next terminator and reported with one short
error, the connection stays open; after :data:`MAX_DISCARD` bytes without a
terminator it is closed) and replies with the model's write termination.
An instrument serves at most :data:`MAX_CONNECTIONS` connections at once, one
thread each; further clients wait in the listen backlog (:data:`LISTEN_BACKLOG`)
until one closes. One physics state serves all; faults are injected by
:class:`~mrfm.rig.faults.FaultInjector`. When the rig starts, a warm-up computes the
experiment's signal map (:meth:`~mrfm.rig.signal.SignalModel.prepare_map`) so that
readings on the experiment's own scan grid cost an interpolation, not a solver call.

Python API (in-process, threads)::

    with VirtualRig.from_file("instruments/virtual.toml") as rig:
        rig.resources          # {"lockin": "TCPIP0::127.0.0.1::40123::SOCKET", ...}
        rig.state              # the RigState
        rig.inject_fault("lockin", "timeout")
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Mapping
from pathlib import Path

from mrfm.config import Experiment
from mrfm.config import load as load_experiment
from mrfm.errors import ConfigError
from mrfm.resources import data_dir
from mrfm.rig.clock import SimClock
from mrfm.rig.faults import FaultInjector, junk
from mrfm.rig.instruments.base import MAX_LINE, Session, VirtualInstrument
from mrfm.rig.signal import SignalModel
from mrfm.rig.state import RigState
from mrfm.rigdef import rigfile as rf
from mrfm.rigdef.registry import REGISTRY
from mrfm.rigdef.rigfile import FaultSpec, RigFile

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
#: how often (s) the accept loop looks for stop()
POLL_INTERVAL = 0.1
#: the packaged experiment (in ``mrfm.resources.data_dir("configs")``) a rig file without
#: an ``experiment`` key runs
DEFAULT_EXPERIMENT = "demo.toml"


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
                ready, _, _ = select.select([listener], [], [], POLL_INTERVAL)
                if not ready:
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
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._listener.close()
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
    def _send(conn: socket.socket, replies: list[str], term: bytes) -> None:
        if len(replies) == 1:
            conn.sendall(replies[0].encode("utf-8", errors="replace") + term)
        elif replies:
            conn.sendall(b"".join(r.encode("utf-8", errors="replace") + term for r in replies))


def _first_terminator(buf: bytearray) -> int:
    lf = buf.find(b"\n")
    cr = buf.find(b"\r")
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)


# ------------------------------------------------------------------- the rig
def default_experiment_path() -> Path:
    """The experiment a rig file without an ``experiment`` key runs: the packaged
    ``configs/demo.toml``."""
    return data_dir("configs") / DEFAULT_EXPERIMENT


def rf_multiplier(rig: RigFile) -> float:
    """The external frequency multiplier after the rig's SG384 (its ``frequency_multiplier``
    option, a positive number; 1 without one): the virtual spins see N x the source.

    This is the option :mod:`mrfm.scan.rig_handle` divides the experiment's frequency
    by when it tunes the source, so both sides agree on the carrier.
    """
    from mrfm.units import parse_quantity

    for spec in rig.instruments:
        if spec.driver != "srs.sg384" or "frequency_multiplier" not in spec.options:
            continue
        where = f"instruments.{spec.name}.frequency_multiplier"
        value = parse_quantity(spec.options["frequency_multiplier"], "dimensionless", where)
        if value <= 0:
            raise ConfigError(f"{where}: must be > 0, got {value:g}")
        return value
    return 1.0


class VirtualRig:
    """All virtual instruments of a rig file around one :class:`RigState`.

    Parameters
    ----------
    rig : RigFile
        The parsed rig file.
    experiment : mrfm.config.Experiment, optional
        Overrides the experiment named in the rig file. Without either, the packaged
        default experiment (:func:`default_experiment_path`) is used and a note says so.
    clock : SimClock, optional
        Overrides ``SimClock(rig.time_scale)`` (tests pass a manual clock).
    signal_model : SignalModel, optional
        Overrides the signal model built from the experiment.

    Attributes
    ----------
    resources : dict
        Instrument name -> VISA resource string (after :meth:`start`).
    notes : list of str
        Things a user should know (e.g. the default experiment is in use).
    """

    def __init__(
        self,
        rig: RigFile,
        *,
        experiment: Experiment | None = None,
        clock: SimClock | None = None,
        signal_model: SignalModel | None = None,
    ) -> None:
        self.rig = rig
        self.notes: list[str] = []
        if experiment is None:
            experiment = self._load_experiment(rig.experiment)
        self.experiment = experiment
        self.state = RigState(
            limits=rig.limits, settings=rig.virtual, experiment=experiment,
            signal_model=signal_model, clock=clock or SimClock(rig.time_scale),
            rf_multiplier=rf_multiplier(rig),
        )
        self.instruments: dict[str, VirtualInstrument] = {}
        self.faults: dict[str, FaultInjector] = {}
        for spec in rig.instruments:
            cls = REGISTRY[spec.driver].virtual_class()
            self.instruments[spec.name] = cls(self.state, name=spec.name, options=spec.options)
            self.faults[spec.name] = FaultInjector(tuple(rig.faults.get(spec.name, ())))
        self.servers: dict[str, InstrumentServer] = {}
        self.resources: dict[str, str] = {}

    def _load_experiment(self, path: Path | None) -> Experiment:
        """The experiment named in the rig file, else the packaged default (with a note).

        Raises
        ------
        ConfigError
            The named experiment file is missing or invalid.
        """
        if path is None:
            path = default_experiment_path()
            self.notes.append(
                f"experiment: the rig file names none; the default experiment {path} is used"
            )
        return load_experiment(path)

    @classmethod
    def from_file(
        cls,
        path: str | Path | None = None,
        *,
        experiment: Experiment | None = None,
        clock: SimClock | None = None,
        signal_model: SignalModel | None = None,
    ) -> VirtualRig:
        """Build from a rig file (default: the shipped ``instruments/virtual.toml``)."""
        if path is None:
            path = data_dir("instruments") / "virtual.toml"
        return cls(rf.load(path), experiment=experiment, clock=clock, signal_model=signal_model)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> VirtualRig:
        """Prepare the physics, then bind and start every server; fills :attr:`resources`.

        The signal model is warmed up first (signal map computed, solver kernels
        compiled: tens of seconds on a cold numba cache), so that no instrument
        listens before it can answer a reading within a driver's timeout.
        """
        self._warm_up()
        try:
            for spec in self.rig.instruments:
                server = InstrumentServer(
                    self.instruments[spec.name], port=spec.port, faults=self.faults[spec.name]
                )
                server.start()
                self.servers[spec.name] = server
                self.resources[spec.name] = server.resource
        except OSError as exc:
            self.stop()
            raise ConfigError(
                f"rig {self.rig.name!r}: cannot listen on 127.0.0.1 ({exc})"
            ) from None
        return self

    def _warm_up(self) -> None:
        """Compute the experiment's signal map (:meth:`SignalModel.prepare_map`) before the
        first reading; without a map, evaluate one point so the solver's kernels compile."""
        model = self.state.signal_model
        try:
            if model.prepare_map():
                return
            if model.map_error:
                self.notes.append(f"signal map not computed ({model.map_error}); "
                                  "readings use the one-point solver")
            exp = self.experiment
            x, y, h = self.state.tip_position()
            model.signal_at(x, y, h, exp.B0, exp.rf.frequency, exp.rf.fm_depth)
        except Exception as exc:  # noqa: BLE001 - a failed warm-up only costs time later
            self.notes.append(f"signal warm-up failed: {exc.__class__.__name__}: {exc}")

    def stop(self) -> None:
        """Stop every server (idempotent)."""
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> VirtualRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- faults
    def inject_fault(
        self, name: str, mode: str, *, after: int = 0, probability: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """Arm a fault on instrument ``name`` (see :class:`~mrfm.rigdef.rigfile.FaultSpec`)."""
        self.faults[name].add(FaultSpec(mode=mode, after=after, probability=probability, seed=seed))

    def clear_faults(self, name: str | None = None) -> None:
        """Remove the faults of ``name`` (or of every instrument)."""
        for key, injector in self.faults.items():
            if name is None or key == name:
                injector.clear()

    def describe(self) -> Mapping[str, dict[str, str]]:
        """``{"instruments": {name: resource}}``, the line ``mrfm rig serve`` prints."""
        return {"instruments": dict(self.resources)}
