"""The message I/O every :class:`~mrfm.drivers.base.Instrument` inherits.

:class:`SessionIO` opens the pyvisa session, runs each read and write under the
watchdog (:mod:`mrfm.drivers.watchdog`) with pyvisa errors mapped to the typed ones of
:mod:`mrfm.drivers.errors`, sends set commands followed by their error check, retries
idempotent queries, and switches the reply timeout. The model-specific parts (the class
attributes, limits, identity, the logbook) are in :mod:`mrfm.drivers.base`.

Only the public pyvisa API is used. What pyvisa-py 0.8 lacks on raw sockets, and how
the drivers live with it, is said where it matters: :meth:`SessionIO.write` (Nagle's
algorithm), :meth:`SessionIO.discard_input` (``clear()``) and :meth:`SessionIO.ask`
(a closed connection reads as a timeout).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from mrfm.drivers.errors import (
    CommandRejected,
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    map_visa_error,
)
from mrfm.drivers.values import parse_int
from mrfm.drivers.watchdog import WATCHDOG


class SessionIO:
    """Session I/O of a VISA message-based instrument (a base of
    :class:`~mrfm.drivers.base.Instrument`, which sets the attributes below)."""

    #: model name used in messages
    model: str
    resource_name: str
    backend: str
    read_termination: str
    write_termination: str
    #: reply timeout (s) of the session
    timeout: float
    #: extra attempts of an idempotent query
    retries: int
    _io_timeout: float
    _lock: threading.RLock
    _closed: bool
    _held: str | None
    _blaming: bool
    _coalesce: bool
    _session: Any

    def _open(self) -> Any:
        """Open the pyvisa session at :attr:`resource_name` (typed error if it fails)."""
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
