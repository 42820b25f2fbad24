"""Typed instrument exceptions.

Everything an instrument (or its connection) can do wrong maps to one of these;
the command line exits with code 3 for any :class:`InstrumentError`.
:func:`map_visa_error` turns a pyvisa (or socket) exception into the matching
type, so no pyvisa exception leaves a driver.
"""

from __future__ import annotations

from pyvisa import constants
from pyvisa.errors import InvalidSession, VisaIOError

from mrfm.errors import InstrumentFault


class InstrumentError(InstrumentFault):
    """An instrument reported an error or could not be talked to."""


class InstrumentTimeout(InstrumentError):
    """The instrument did not answer within its timeout."""


class InstrumentDisconnected(InstrumentError):
    """The connection to the instrument was lost or could not be opened."""


class InvalidResponse(InstrumentError):
    """The instrument answered something that does not parse (garbage, wrong format)."""


class CommandRejected(InstrumentError):
    """The instrument's error report says it rejected a command (named in the message)."""


class LimitError(InstrumentError, ValueError):
    """A set-point outside the instrument's or the rig's limits; nothing was sent."""


#: VISA status codes that mean the session or link is gone
_LOST = {
    constants.StatusCode.error_connection_lost,
    constants.StatusCode.error_invalid_object,
    constants.StatusCode.error_resource_not_found,
    constants.StatusCode.error_closing_failed,
    constants.StatusCode.error_resource_busy,
    constants.StatusCode.error_io,
}


def map_visa_error(exc: BaseException, where: str) -> InstrumentError:
    """The :class:`InstrumentError` subclass for a pyvisa/OS exception.

    Parameters
    ----------
    exc : BaseException
        What pyvisa (or the socket below it) raised.
    where : str
        Instrument and operation, put in front of the message
        (``"SR830 GPIB::8::INSTR: query 'FREQ?'"``).

    Returns
    -------
    InstrumentError
        :class:`InstrumentTimeout` for a VISA timeout, :class:`InstrumentDisconnected`
        for a lost or invalid session, a refused connection or a socket error,
        :class:`InvalidResponse` for bytes that do not decode, else :class:`InstrumentError`.
    """
    if isinstance(exc, InstrumentError):
        return exc
    if isinstance(exc, VisaIOError):
        if exc.error_code == constants.StatusCode.error_timeout:
            return InstrumentTimeout(f"{where}: no reply within the timeout")
        if exc.error_code in _LOST:
            return InstrumentDisconnected(f"{where}: connection lost ({exc.abbreviation})")
        return InstrumentError(f"{where}: VISA error {exc.abbreviation}: {exc.description}")
    if isinstance(exc, InvalidSession):
        return InstrumentDisconnected(f"{where}: the session is closed")
    if isinstance(exc, UnicodeDecodeError):
        return InvalidResponse(f"{where}: reply is not text ({exc.reason})")
    if isinstance(exc, TimeoutError):
        return InstrumentTimeout(f"{where}: no reply within the timeout")
    if isinstance(exc, (ConnectionError, OSError, EOFError)):
        return InstrumentDisconnected(f"{where}: {exc.__class__.__name__}: {exc}")
    return InstrumentError(f"{where}: {exc.__class__.__name__}: {exc}")
