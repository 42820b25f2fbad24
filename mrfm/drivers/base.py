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
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from mrfm.drivers.errors import (
    InstrumentDisconnected,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    LimitError,
    map_visa_error,
)

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")


# ---------------------------------------------------------------- reply parsing
def parse_float(text: str) -> float:
    """A finite decimal number (``+1.000E+03``, ``-0.5``); ValueError otherwise.

    Stricter than :func:`float`: ``nan``, ``inf``, ``1_0`` and empty text are refused,
    so a garbled reply is never taken for a number.
    """
    t = text.strip()
    if not _FLOAT.match(t):
        raise ValueError(f"not a number: {t[:60]!r}")
    return float(t)


def parse_int(text: str) -> int:
    """A decimal integer (a number with no fraction, such as ``+2`` or ``2.0``, is accepted)."""
    t = text.strip()
    if _INT.match(t):
        return int(t)
    value = parse_float(t)
    if value != int(value):
        raise ValueError(f"not an integer: {t[:60]!r}")
    return int(value)


def parse_bool(text: str) -> bool:
    """``1``/``0`` (also ``ON``/``OFF``) as a bool."""
    t = text.strip().upper()
    if t in ("1", "ON", "+1"):
        return True
    if t in ("0", "OFF", "+0"):
        return False
    raise ValueError(f"not a boolean: {t[:60]!r}")


def parse_csv(text: str, count: int | None = None) -> list[float]:
    """Comma-separated numbers; ``count`` (if given) must match."""
    values = [parse_float(p) for p in text.split(",")]
    if count is not None and len(values) != count:
        raise ValueError(f"expected {count} comma-separated numbers, got {len(values)}")
    return values


# ------------------------------------------------------------------- validators
class Validator:
    """Checks a set-point and returns it in the type that goes on the wire."""

    def __call__(self, value: Any, name: str) -> Any:
        raise LimitError(f"{name}: no values allowed")


class Range(Validator):
    """``lo <= value <= hi`` (closed interval); ``integer=True`` also requires an integer.

    Parameters
    ----------
    lo, hi : float
        Bounds, in the setting's unit.
    integer : bool
        Only whole numbers (returned as int).
    """

    def __init__(self, lo: float, hi: float, *, integer: bool = False) -> None:
        self.lo = lo
        self.hi = hi
        self.integer = integer

    def __call__(self, value: Any, name: str) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise LimitError(f"{name}: {value!r} is not a number") from None
        if not math.isfinite(value):
            raise LimitError(f"{name}: {value!r} is not finite")
        if self.integer:
            if value != int(value):
                raise LimitError(f"{name}: {value!r} is not an integer")
            value = int(value)
        if not self.lo <= value <= self.hi:
            raise LimitError(f"{name}: {value:g} outside the instrument range "
                             f"[{self.lo:g}, {self.hi:g}]")
        return value

    def __repr__(self) -> str:
        return f"Range({self.lo!r}, {self.hi!r}, integer={self.integer})"


class OneOf(Validator):
    """One of a fixed set of values (strings compared without regard to case)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def __call__(self, value: Any, name: str) -> Any:
        for v in self.values:
            if isinstance(v, str) and isinstance(value, str):
                if v.upper() == value.strip().upper():
                    return v
            elif v == value and type(v) is type(value):
                return v
        raise LimitError(f"{name}: {value!r} is not one of {list(self.values)}")


class Bool(Validator):
    """A boolean switch sent as ``on``/``off`` tokens (``"ON"``/``"OFF"`` or ``"1"``/``"0"``)."""

    def __init__(self, on: str = "1", off: str = "0") -> None:
        self.on = on
        self.off = off

    def __call__(self, value: Any, name: str) -> str:
        if isinstance(value, bool) or value in (0, 1):
            return self.on if value else self.off
        raise LimitError(f"{name}: {value!r} is not True/False")


class ValueMap:
    """Physical value <-> wire code (a list whose index is the code, or a dict value -> code).

    Floats are matched to within a relative 1e-6 (``30e-3`` finds the 30 ms entry);
    anything not in the table raises :class:`LimitError` listing what is allowed.
    """

    def __init__(self, table: Sequence[Any] | Mapping[Any, Any]) -> None:
        if isinstance(table, Mapping):
            self.pairs = tuple(table.items())
        else:
            self.pairs = tuple((v, i) for i, v in enumerate(table))

    @property
    def values(self) -> tuple[Any, ...]:
        """The allowed physical values, in code order."""
        return tuple(v for v, _ in self.pairs)

    def encode(self, value: Any, name: str) -> Any:
        """Wire code of ``value``."""
        for v, code in self.pairs:
            if isinstance(v, bool) or isinstance(value, bool):
                if isinstance(v, bool) and isinstance(value, bool) and v == value:
                    return code
            elif isinstance(v, float) and isinstance(value, (int, float)):
                if math.isclose(v, value, rel_tol=1e-6, abs_tol=0.0):
                    return code
            elif isinstance(v, str) and isinstance(value, str):
                if v.lower() == value.strip().lower():
                    return code
            elif v == value:
                return code
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else repr(v) for v in self.values)
        raise LimitError(f"{name}: {value!r} is not an allowed value ({shown})")

    def decode(self, code: Any) -> Any:
        """Physical value of a wire code; ValueError for an unknown code."""
        for v, c in self.pairs:
            if c == code:
                return v
        raise ValueError(f"unknown code {code!r}")


# ----------------------------------------------------------------- descriptors
class Setting:
    """A read/write instrument parameter, declared as a row of the manual's table.

    Parameters
    ----------
    get_cmd : str or None
        Query, e.g. ``"FREQ?"``; ``{ch}``-style fields are filled from the
        driver's :meth:`Instrument.command_fields`.
    set_cmd : str or None
        Template with one ``{}`` for the value, e.g. ``"FREQ {}"``.
    unit : str
        SI unit of the Python value (documentation and messages).
    validator : Validator or callable
        Instrument range; a callable receives the driver and returns a Validator
        (for ranges that depend on the model).
    value_map : list or dict, optional
        Index-coded settings: list index (or dict value) is the wire code.
    parse : callable
        Turns the reply text into the wire value (default :func:`parse_float`;
        :func:`parse_int` when a value map is given).
    fmt : str
        Format of the wire value inside ``set_cmd`` (default ``"{:.10g}"`` for
        numbers, ``"{:d}"`` for codes, ``"{}"`` for text).
    limit : str or None
        Key of the per-instance ``limits`` that narrows this setting (default: the
        attribute's name); ``None`` disables it.
    limit_mode : {"range", "upper", "abs"}
        How a single number given as the limit is read: ``upper`` value <= n,
        ``abs`` \\|value\\| <= n; a (lo, hi) pair is always a closed range.
    check : bool
        Read the instrument's error report after the write.
    doc : str
        Docstring.
    """

    def __init__(
        self,
        get_cmd: str | None,
        set_cmd: str | None,
        *,
        unit: str = "",
        validator: Validator | Callable[[Any], Validator] | None = None,
        value_map: Sequence[Any] | Mapping[Any, Any] | None = None,
        parse: Callable[[str], Any] | None = None,
        fmt: str | None = None,
        limit: str | None = "",
        limit_mode: str = "range",
        check: bool = True,
        doc: str = "",
    ) -> None:
        self.get_cmd = get_cmd
        self.set_cmd = set_cmd
        self.unit = unit
        self.validator = validator
        self.value_map = ValueMap(value_map) if value_map is not None else None
        if parse is None:
            parse = parse_int if self.value_map is not None else parse_float
        self.parse = parse
        if fmt is None:
            fmt = "{}" if self.value_map is not None else "{:.10g}"
            if isinstance(validator, Range) and validator.integer:
                fmt = "{:d}"
            if isinstance(validator, (OneOf, Bool)):
                fmt = "{}"
        self.fmt = fmt
        self.limit = limit
        self.limit_mode = limit_mode
        self.check = check
        self.__doc__ = doc + (f" [{unit}]" if unit else "")
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.limit == "":
            self.limit = name

    def __get__(self, inst: Any, owner: type | None = None) -> Any:
        if inst is None:
            return self
        if self.get_cmd is None:
            raise AttributeError(f"{self.name} cannot be read back from the instrument")
        cmd = self.get_cmd.format(**inst.command_fields())
        if self.value_map is None:
            return inst.ask(cmd, self.parse)
        return inst.ask(cmd, lambda text: self.value_map.decode(self.parse(text)))

    def __set__(self, inst: Any, value: Any) -> None:
        if self.set_cmd is None:
            raise AttributeError(f"{self.name} is read-only")
        wire = self.encode(inst, value)
        inst.write(self.set_cmd.format(wire, **inst.command_fields()), check=self.check)

    def encode(self, inst: Any, value: Any) -> str:
        """Validate ``value`` (instrument range, then instance limits) and format it.

        Raises
        ------
        LimitError
            Outside the instrument's range, not an allowed value, or outside
            the instance's ``limits``. Nothing has been written.
        """
        what = f"{inst.model}.{self.name}"
        validator = self.validator
        if validator is not None and not isinstance(validator, Validator):
            validator = validator(inst)
        if self.value_map is not None:
            code = self.value_map.encode(value, what)
            if validator is not None:
                validator(value, what)
            inst.check_limit(self.limit, value, mode=self.limit_mode, unit=self.unit, what=what)
            return self.fmt.format(code)
        if validator is not None:
            value = validator(value, what)
        inst.check_limit(self.limit, value, mode=self.limit_mode, unit=self.unit, what=what)
        return self.fmt.format(value)


class Measurement:
    """A read-only reading: ``Measurement("OUTP? 1", unit="V")``.

    Parameters
    ----------
    get_cmd : str
        Query (``{ch}``-style fields from :meth:`Instrument.command_fields`).
    parse : callable
        Reply text -> value (default :func:`parse_float`).
    unit : str
        Unit of the value.
    retry : bool
        Whether a timeout/garbage may be retried (False for queries that change
        state, e.g. registers cleared on read).
    doc : str
        Docstring.
    """

    def __init__(self, get_cmd: str, parse: Callable[[str], Any] = parse_float, *,
                 unit: str = "", retry: bool = True, doc: str = "") -> None:
        self.get_cmd = get_cmd
        self.parse = parse
        self.unit = unit
        self.retry = retry
        self.__doc__ = doc + (f" [{unit}]" if unit else "")
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, inst: Any, owner: type | None = None) -> Any:
        if inst is None:
            return self
        cmd = self.get_cmd.format(**inst.command_fields())
        return inst.ask(cmd, self.parse, retries=None if self.retry else 0)

    def __set__(self, inst: Any, value: Any) -> None:
        raise AttributeError(f"{self.name} is a measurement and cannot be set")


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
        self.retries = int(retries if retries is not None else self.query_retries)
        self.limits = self._parse_limits(limits or {})
        self._lock = threading.RLock()
        self._closed = False
        if session is not None:
            self._session = session
        else:
            self._session = self._open()
        self.connect()

    # ------------------------------------------------------------ lifecycle
    def _open(self) -> Any:
        import pyvisa

        where = f"{self.model} {self.resource_name}"
        try:
            rm = pyvisa.ResourceManager(self.backend)
            return rm.open_resource(
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

    def connect(self) -> None:
        """Model-specific steps after the session opened (banners, login). Default: none."""

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

    def write_line(self, command: str) -> None:
        """Send one command line (termination added by the session); no error check."""
        if self._closed:
            raise InstrumentDisconnected(self._where("the session is closed"))
        try:
            self._session.write(command)
        except Exception as exc:  # noqa: BLE001 - mapped to typed errors
            raise map_visa_error(exc, self._where(f"write {command!r}")) from None

    def read_line(self) -> str:
        """Read one reply line (termination removed)."""
        if self._closed:
            raise InstrumentDisconnected(self._where("the session is closed"))
        try:
            return self._session.read()
        except Exception as exc:  # noqa: BLE001 - mapped to typed errors
            raise map_visa_error(exc, self._where("read")) from None

    def read_reply(self, command: str) -> str:
        """The whole reply to ``command`` (one line by default; multi-line models override)."""
        return self.read_line()

    def write(self, command: str, *, check: bool = True) -> None:
        """Send a set command; then (``check``) read the error report.

        Raises
        ------
        InstrumentError
            The instrument rejected the command (its message included).
        """
        with self._lock:
            self.write_line(command)
            if check:
                self.check_errors(command)

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
            The link is gone (never retried).
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
        raise last

    @contextlib.contextmanager
    def timeout_for(self, seconds: float) -> Iterator[None]:
        """Use another reply timeout (s) inside the ``with`` block (e.g. for a long wait)."""
        old = getattr(self._session, "timeout", None)
        try:
            with contextlib.suppress(Exception):
                self._session.timeout = seconds * 1000.0
            yield
        finally:
            with contextlib.suppress(Exception):
                self._session.timeout = old

    def discard_input(self) -> None:
        """Drop a late reply before retrying: read with a 50 ms timeout until nothing comes.

        (``session.clear()`` is not used: pyvisa-py's socket clear never returns once the
        peer has closed the connection.)
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
            raise InstrumentError(self._where(f"rejected {after!r}: " + "; ".join(messages)))

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



#: IEEE 488.2 standard event status register bits that report an error
ESR_ERROR_BITS = {
    2: "query error",
    3: "device-dependent error",
    4: "execution error (parameter out of range or not allowed now)",
    5: "command error (unknown command or bad syntax)",
}


def check_esr(inst: Instrument, after: str) -> None:
    """Error check of instruments without an error queue: read ``*ESR?`` (clears it on read).

    Raises
    ------
    InstrumentError
        Any of the error bits 2-5 is set; the message names them.
    """
    value = inst.ask("*ESR?", parse_int, retries=0)
    bad = [text for bit, text in ESR_ERROR_BITS.items() if value & (1 << bit)]
    if bad:
        raise InstrumentError(inst._where(f"rejected {after!r}: *ESR? = {value} ("
                                          + "; ".join(bad) + ")"))
