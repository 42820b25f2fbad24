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

The session I/O (opening, guarded reads and writes, set-and-check, retried queries,
reply timeouts) is :class:`mrfm.drivers.session_io.SessionIO`, a base of
:class:`Instrument`. Only the public pyvisa API is used. What pyvisa-py 0.8 lacks on raw
sockets, and how the drivers live with it, is said where it matters:
:meth:`Instrument.write` (Nagle's algorithm), :meth:`Instrument.discard_input`
(``clear()``) and :meth:`Instrument.ask` (a closed connection reads as a timeout).
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Mapping
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
from mrfm.drivers.session_io import SessionIO
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
class Instrument(SessionIO):
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

    # ------------------------------------------------------------ commands
    def command_fields(self) -> dict[str, Any]:
        """Fields substituted into command templates (``{ch}``...). Default: none."""
        return {}

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


def _nonempty(text: str) -> str:
    if not text.strip() or not text.isprintable():
        raise ValueError("empty or non-printable reply")
    return text
