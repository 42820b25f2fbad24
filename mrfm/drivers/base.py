"""What every mrfm instrument driver shares: the session, typed errors, declarative settings.

A driver is a subclass of :class:`Instrument` whose body reads as a table of the
manual::

    class SR830(Instrument):
        frequency = Setting("FREQ?", "FREQ {}", unit="Hz", validator=Range(1e-3, 102e3))
        x = Measurement("OUTP? 1", unit="V")

The same driver opens a real address, a loopback socket or a pyvisa-sim file;
only the resource string and the pyvisa backend change::

    SR830("GPIB::8::INSTR", backend="/path/sr830.yaml@sim")
    SR830("TCPIP0::127.0.0.1::5000::SOCKET", backend="@py")

Rules every driver follows:

* A set-point is validated (instrument range, then the per-instance ``limits``)
  *before* anything is written; out of range raises :class:`LimitError`. Values
  are never clipped or rounded to the nearest allowed one.
* After a write that the instrument can reject, its error report is read
  (:meth:`Instrument.check_errors`, model-specific) and a rejection raises
  :class:`InstrumentError` with the instrument's own message.
* Queries are retried (``retries`` times) on a timeout or an unparsable reply;
  writes, moves and queries that change state (error queues) never are.
* pyvisa exceptions never leave a driver: they become :class:`InstrumentTimeout`,
  :class:`InstrumentDisconnected`, :class:`InvalidResponse` or :class:`InstrumentError`.
* :meth:`Instrument.logbook` reads the model's settings back (names in ``logged``) with
  their units, for the scan file's logbook.

Reply parsers and validators live in :mod:`mrfm.drivers.values`, the ``Setting`` and
``Measurement`` descriptors in :mod:`mrfm.drivers.descriptors` (both re-exported here);
a model's default terminations come from the registry
(:func:`mrfm.rigdef.registry.terminations`).

Only the public pyvisa API is used. What pyvisa-py 0.8 lacks on raw sockets, and how
the drivers live with it, is said where it matters: :meth:`Instrument.write` (Nagle's
algorithm), :meth:`Instrument.discard_input` (``clear()``) and :meth:`Instrument.ask`
(a closed connection reads as a timeout).
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from mrfm.drivers.descriptors import Measurement, Setting
from mrfm.drivers.errors import (
    CommandRejected,
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    LimitError,
    map_visa_error,
)
from mrfm.drivers.ieee488 import ESR_ERROR_BITS, check_esr
from mrfm.drivers.values import (
    Bool,
    OneOf,
    Range,
    Validator,
    ValueMap,
    parse_bool,
    parse_csv,
    parse_float,
    parse_int,
)
from mrfm.drivers.watchdog import WATCHDOG

__all__ = [
    "ESR_ERROR_BITS", "Bool", "CommandRejected", "Instrument", "InstrumentDisconnected",
    "InstrumentError", "InstrumentTimeout", "InvalidResponse", "LimitError", "Logged",
    "Measurement", "OneOf",
    "Range", "Setting", "Validator", "ValueMap", "check_esr", "map_visa_error", "parse_bool",
    "parse_csv", "parse_float", "parse_int",
]


class Logged(NamedTuple):
    """One setting as read back for the scan's logbook: its value and unit (SI)."""

    value: float | int | bool | str
    unit: str


# ------------------------------------------------------------------ instrument
class Instrument:
    """A VISA message-based instrument (base of every pyvisa driver in mrfm).

    Parameters
    ----------
    resource : str
        VISA resource string (``"GPIB::8::INSTR"``, ``"TCPIP0::127.0.0.1::5025::SOCKET"``).
    backend : str
        pyvisa backend: ``"@py"`` (pyvisa-py), ``"/path/model.yaml@sim"`` (pyvisa-sim),
        ``""`` (the system VISA library).
    read_termination, write_termination : str, optional
        Override the model's terminations (class attributes of the same names).
    timeout : float, optional
        Seconds to wait for a reply (default: the class's ``default_timeout``).
    limits : mapping, optional
        Per-instance safety limits narrowing the instrument's own ranges; keys
        are listed in the class's ``limit_keys`` (a key naming a setting takes a
        (lo, hi) pair or a single bound, see :class:`Setting`).
    retries : int, optional
        Extra attempts for an idempotent query after a timeout or an unparsable
        reply (default: the class's ``query_retries``). Never used for writes.
    session : object, optional
        An already-open pyvisa-like resource (``write``, ``read``, ``close``) used
        instead of opening ``resource``; for protocol tests.

    Raises
    ------
    InstrumentDisconnected
        The resource cannot be opened.
    ValueError
        An unknown key in ``limits``.
    """

    #: model name used in messages
    model = "instrument"
    read_termination = "\n"
    write_termination = "\n"
    #: seconds
    default_timeout = 2.0
    query_retries = 1
    #: per-instance limit keys this driver understands -> description
    limit_keys: Mapping[str, str] = {}
    #: settings read back by :meth:`logbook` (attribute names of the driver)
    logged: tuple[str, ...] = ()
    #: units of logged attributes that are plain properties (Settings carry their own)
    logged_units: Mapping[str, str] = {}
    #: command that clears errors left from before the session (IEEE 488.2 ``*CLS``: the
    #: status registers and the error queue); None: the model keeps none
    clear_command: str | None = "*CLS"

    def __init__(
        self,
        resource: str,
        *,
        backend: str = "@py",
        read_termination: str | None = None,
        write_termination: str | None = None,
        timeout: float | None = None,
        limits: Mapping[str, Any] | None = None,
        retries: int | None = None,
        session: Any = None,
    ) -> None:
        self.resource_name = resource
        self.backend = backend
        if read_termination is not None:
            self.read_termination = read_termination
        if write_termination is not None:
            self.write_termination = write_termination
        self.timeout = float(timeout if timeout is not None else self.default_timeout)
        #: reply timeout in force (s): :attr:`timeout`, or that of :meth:`timeout_for`
        self._io_timeout = self.timeout
        self.retries = int(retries if retries is not None else self.query_retries)
        self.limits = self._parse_limits(limits or {})
        self._lock = threading.RLock()
        self._closed = False
        # a set command held back to go out with its error query in one write (see write)
        self._held: str | None = None
        self._blaming = False  # reading the error report after an unanswered query
        self._coalesce = False
        if session is not None:
            self._session = session
        else:
            self._session = self._open()
        self.connect()
        self.clear_errors()

    # ------------------------------------------------------------ lifecycle
    def _open(self) -> Any:
        import pyvisa

        where = f"{self.model} {self.resource_name}"
        try:
            rm = pyvisa.ResourceManager(self.backend)
            session = rm.open_resource(
                self.resource_name,
                read_termination=self.read_termination,
                write_termination=self.write_termination,
                timeout=self.timeout * 1000.0,
            )
        except Exception as exc:  # noqa: BLE001 - every failure to open is one typed error
            err = map_visa_error(exc, f"{where}: open")
            if not isinstance(err, InstrumentDisconnected):
                err = InstrumentDisconnected(str(err))
            raise err from None
        if self.resource_name.upper().endswith("::SOCKET") and not self.backend.endswith("@sim"):
            # a stream socket that keeps Nagle's algorithm: coalesce set + error query
            self._coalesce = not _no_delay(session)
        return session

    def connect(self) -> None:
        """Model-specific steps after the session opened (banners, login). Default: none."""

    def clear_errors(self) -> None:
        """Clear errors left in the instrument before this session (sent on connect), so
        that the error check after the first set blames only that set's command.
        Default: :attr:`clear_command` (``*CLS``)."""
        if self.clear_command is not None:
            self.write_line(self.clear_command)

    def close(self) -> None:
        """Close the VISA session (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._session.close()

    def __enter__(self) -> Instrument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.resource_name!r}>"

    # -------------------------------------------------------------- limits
    def _parse_limits(self, limits: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(limits) - set(self.limit_keys))
        if unknown:
            known = ", ".join(sorted(self.limit_keys)) or "none"
            raise ValueError(f"{self.model}: unknown limit key(s) {unknown}; known: {known}")
        out: dict[str, Any] = {}
        for key, value in limits.items():
            if isinstance(value, (tuple, list)):
                if len(value) != 2 or not value[0] <= value[1]:
                    raise ValueError(f"{self.model}: limit {key} must be (lo, hi), got {value!r}")
                out[key] = (float(value[0]), float(value[1]))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = float(value)
            else:
                out[key] = value
        return out

    def check_limit(self, key: str | None, value: Any, *, mode: str = "range", unit: str = "",
                    what: str = "") -> None:
        """Raise :class:`LimitError` if ``value`` breaks the instance limit ``key``.

        A (lo, hi) limit is a closed range; a single number is an upper bound
        (``mode="upper"`` or ``"range"``) or a bound on the magnitude (``"abs"``).
        """
        if key is None or key not in self.limits or not isinstance(value, (int, float)):
            return
        lim = self.limits[key]
        what = what or f"{self.model}.{key}"
        if isinstance(lim, tuple):
            ok = lim[0] <= value <= lim[1]
            shown = f"[{lim[0]:g}, {lim[1]:g}]"
        elif mode == "abs":
            ok = abs(value) <= lim
            shown = f"|value| <= {lim:g}"
        else:
            ok = value <= lim
            shown = f"<= {lim:g}"
        if not ok:
            raise LimitError(f"{what}: {value:g} {unit} outside this instrument's limit "
                             f"{key} ({shown} {unit}); nothing was sent".replace("  ", " "))

    # ---------------------------------------------------------------- I/O
    def command_fields(self) -> dict[str, Any]:
        """Fields substituted into command templates (``{ch}``...). Default: none."""
        return {}

    def _where(self, what: str) -> str:
        return f"{self.model} {self.resource_name}: {what}"

    def guarded(self, what: str, io: Callable[[], Any]) -> Any:
        """Run one session I/O ``io()`` under the watchdog; pyvisa errors become typed ones.

        The deadline is twice the reply timeout in force plus one second: a read that
        keeps receiving bytes without its termination (pyvisa-py then never times out)
        has its connection closed by the watchdog and ends as :class:`InstrumentTimeout`.
        """
        if self._closed:
            raise InstrumentDisconnected(self._where("the session is closed"))
        limit = 2.0 * self._io_timeout + 1.0
        with WATCHDOG.guard(limit, self._abort) as call:
            try:
                return io()
            except Exception as exc:  # noqa: BLE001 - mapped to typed errors
                if call.fired:
                    raise InstrumentTimeout(self._where(
                        f"{what}: blocked for more than {limit:.3g} s (the instrument holds "
                        "the connection without completing a reply); connection closed"
                    )) from None
                raise map_visa_error(exc, self._where(what)) from None

    def _abort(self) -> None:
        """Close the session from the watchdog thread (a blocked read then fails)."""
        self._closed = True
        with contextlib.suppress(Exception):
            self._session.close()

    def write_line(self, command: str) -> None:
        """Send one command line (termination added by the session); no error check."""
        if self._held is not None:
            command, self._held = self._held + self.write_termination + command, None
        self.guarded(f"write {command!r}", lambda: self._session.write(command))

    def read_line(self) -> str:
        """Read one reply line (termination removed)."""
        return self.guarded("read", self._session.read)

    def read_reply(self, command: str) -> str:
        """The whole reply to ``command`` (one line by default; multi-line models override)."""
        return self.read_line()

    def write(self, command: str, *, check: bool = True) -> None:
        """Send a set command; then (``check``) read the error report.

        Over a raw TCP socket (``::SOCKET``) the command goes out in the same write as
        the first query of its error check (``MOV 1 2\\nERR?\\n``): the byte stream is
        the same, but the command no longer waits for the peer's delayed ACK before its
        error query may leave (Nagle's algorithm, ~40 ms per set; pyvisa-py 0.8 cannot
        switch it off, see :func:`_no_delay`).

        Raises
        ------
        InstrumentError
            The instrument rejected the command (its message included).
        """
        with self._lock:
            if not (check and self._coalesce):
                self.write_line(command)
                if check:
                    self.check_errors(command)
                return
            self._held = command
            try:
                self.check_errors(command)
            finally:
                if self._held is not None:  # the check sent nothing: send the command alone
                    held, self._held = self._held, None
                    self.write_line(held)

    def query(self, command: str, *, retries: int | None = None) -> str:
        """Send a query and return its reply text (retried on timeout)."""
        return self.ask(command, str, retries=retries)

    def ask(self, command: str, parse: Callable[[str], Any] = str, *,
            retries: int | None = None) -> Any:
        """Query and parse; a timeout or unparsable reply is retried ``retries`` times.

        Raises
        ------
        InstrumentTimeout
            No reply after every attempt.
        InvalidResponse
            The reply never parsed.
        InstrumentDisconnected
            The link is gone (never retried). Over pyvisa-py a connection the instrument
            closed reads as a timeout instead (pyvisa-py 0.8 reports no lost connection on
            a raw socket), so it ends as :class:`InstrumentTimeout` after the retries.
        """
        attempts = 1 + (self.retries if retries is None else int(retries))
        last: InstrumentError | None = None
        for attempt in range(attempts):
            with self._lock:
                if attempt:
                    self.discard_input()
                try:
                    self.write_line(command)
                    reply = self.read_reply(command)
                except InstrumentTimeout as exc:
                    last = exc
                    continue
            try:
                return parse(reply)
            except (ValueError, IndexError, KeyError, TypeError) as exc:
                last = InvalidResponse(self._where(f"cannot parse the reply {reply[:80]!r} to "
                                                   f"{command!r} ({exc})"))
        assert last is not None
        if isinstance(last, InstrumentTimeout):
            self._blame_unanswered(command)
        raise last

    def _blame_unanswered(self, command: str) -> None:
        """A query left unanswered may be one the instrument rejected (it then answers
        nothing and records an error): read the error report now, so that the error is
        blamed on ``command`` (raised here) and not on the next set. Quietly does nothing
        when the report cannot be read either (the instrument is gone)."""
        if self._closed or self._blaming:
            return
        self._blaming = True
        try:
            with self.timeout_for(min(self.timeout, 0.5)):
                self.check_errors(command)
        except CommandRejected:
            raise
        except InstrumentError:
            return
        finally:
            self._blaming = False

    @contextlib.contextmanager
    def timeout_for(self, seconds: float) -> Iterator[None]:
        """Use another reply timeout (s) inside the ``with`` block (e.g. for a long wait)."""
        old = getattr(self._session, "timeout", None)
        old_io = self._io_timeout
        try:
            with contextlib.suppress(Exception):
                self._session.timeout = seconds * 1000.0
            self._io_timeout = float(seconds)
            yield
        finally:
            self._io_timeout = old_io
            with contextlib.suppress(Exception):
                self._session.timeout = old

    def discard_input(self) -> None:
        """Drop a late reply before retrying: read with a 50 ms timeout until nothing comes.

        (``session.clear()`` is not used: pyvisa-py 0.8's socket ``clear`` never returns
        once the peer has closed the connection; a bounded read loop through the public
        ``read`` does the same job and always ends.)
        """
        with self.timeout_for(0.05):
            for _ in range(16):
                try:
                    self._session.read()
                except Exception:  # noqa: BLE001 - nothing (more) to discard
                    break

    def check_errors(self, after: str = "") -> None:
        """Read the instrument's error report and raise if it holds an error.

        Default: the SCPI queue ``SYST:ERR?`` (``+0,"No error"``), read until empty.
        """
        messages = []
        for _ in range(16):
            reply = self.ask("SYST:ERR?", str, retries=0)
            try:
                code = parse_int(reply.split(",", 1)[0])
            except ValueError:
                raise InvalidResponse(self._where(f"SYST:ERR? answered {reply[:80]!r}")) from None
            if code == 0:
                break
            messages.append(reply.strip())
        if messages:
            raise CommandRejected(self._where(f"rejected {after!r}: " + "; ".join(messages)))

    # ------------------------------------------------------------- logbook
    def logbook(self) -> dict[str, Logged]:
        """Every setting of :attr:`logged`, read back from the instrument, with its unit."""
        return {name: Logged(getattr(self, name), self.unit_of(name)) for name in self.logged}

    @classmethod
    def unit_of(cls, name: str) -> str:
        """Unit of the attribute ``name``: a Setting's or Measurement's own, else
        :attr:`logged_units` (``""`` for dimensionless values and names)."""
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (Setting, Measurement)):
            return attr.unit
        return cls.logged_units.get(name, "")

    # ------------------------------------------------------------- identity
    def identify(self) -> str:
        """The raw identification string (``*IDN?``)."""
        return self.ask("*IDN?", _nonempty).strip()

    @property
    def idn(self) -> dict[str, str]:
        """``*IDN?`` split into vendor, model, serial and firmware."""
        text = self.identify()
        parts = [p.strip() for p in text.split(",")]
        if len(parts) < 4:
            raise InvalidResponse(self._where(f"*IDN? answered {text[:80]!r} "
                                              "(expected vendor,model,serial,firmware)"))
        vendor, model, serial = parts[0], parts[1], parts[2]
        firmware = ",".join(parts[3:])
        return {"vendor": vendor, "model": model, "serial": serial, "firmware": firmware}


def _no_delay(session: Any) -> bool:
    """Ask the VISA library to send small TCP segments at once (``VI_ATTR_TCPIP_NODELAY``).

    A set command followed by its error query (``MOV`` then ``ERR?``) otherwise waits for
    the peer's delayed ACK (Nagle's algorithm). Public pyvisa API only: pyvisa-py 0.8
    refuses this attribute for ``::SOCKET`` resources (it raises ``UnknownAttribute``),
    and the session then keeps Nagle's algorithm. Returns whether the library accepted it.
    """
    from pyvisa import constants

    try:
        session.set_visa_attribute(constants.ResourceAttribute.tcpip_nodelay,
                                   constants.VisaBoolean.true)
    except Exception:  # noqa: BLE001 - the library does not support the attribute
        return False
    return True


def _nonempty(text: str) -> str:
    if not text.strip() or not text.isprintable():
        raise ValueError("empty or non-printable reply")
    return text
