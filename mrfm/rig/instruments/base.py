"""What every virtual instrument shares: line handling, error queue, argument parsing.

A virtual instrument turns one request line into zero or more reply strings
(:meth:`VirtualInstrument.handle`); the TCP server (:mod:`mrfm.rig.server`)
adds the terminations, the connect banner, the length bound and fault
injection. Malformed or out-of-range requests never raise out of ``handle``:
they go to the instrument's error queue (SCPI numbering: -100 "Command error",
-222 "Data out of range", ...) and are reported the way the real model reports
them (``SYST:ERR?``, ``*ESR?``, ``ERR?``, an ``ERROR`` line, a JSON-RPC error).
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from mrfm.rig.state import RigState

#: longest request line accepted, bytes (longer ones are discarded with an error)
MAX_LINE = 4096
#: longest detail an error message keeps of the offending request, bytes (UTF-8)
MAX_DETAIL = 64
#: longest line of an error reply, bytes (UTF-8; an error never echoes a whole request)
MAX_ERROR_REPLY = 128
#: parsed request lines remembered per instrument (:meth:`VirtualInstrument.remember`)
MAX_PLANS = 64

COMMAND_ERROR = (-100, "Command error")
UNDEFINED_HEADER = (-113, "Undefined header")
DATA_TYPE_ERROR = (-104, "Data type error")
MISSING_PARAMETER = (-109, "Missing parameter")
PARAMETER_NOT_ALLOWED = (-108, "Parameter not allowed")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
TOO_MUCH_DATA = (-223, "Too much data")
EXECUTION_ERROR = (-200, "Execution error")
SETTINGS_CONFLICT = (-221, "Settings conflict")
DEVICE_ERROR = (-300, "Device-specific error")


#: IEEE 488.2 standard event status register bits: execution error, command error
ESR_EXECUTION = 16
ESR_COMMAND = 32


class CommandError(Exception):
    """A request the instrument rejects: ``code`` and ``message`` go to the error queue."""

    def __init__(self, code: int, message: str, detail: str = "") -> None:
        detail = clip(detail, MAX_DETAIL)
        super().__init__(f"{code},{message}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.message = message
        self.detail = detail

    @classmethod
    def of(cls, kind: tuple[int, str], detail: str = "") -> CommandError:
        """Build from one of the (code, message) constants above."""
        return cls(kind[0], kind[1], detail)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes in UTF-8 (ending in ``...`` when cut)."""
    if len(text) <= limit and text.isascii():
        return text
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    return data[: max(0, limit - 3)].decode("utf-8", errors="ignore") + "..."


class Session:
    """Per-connection state (authorization, echo, a pending wait)."""

    def __init__(self) -> None:
        self.authorized = False
        self.echo = True
        self.delay = 0.0
        self.close = False


class VirtualInstrument:
    """Base of the virtual instruments.

    Parameters
    ----------
    state : RigState
        The rig's shared physics.
    name : str
        The rig's name for the instrument.
    options : mapping
        Model-specific settings from the rig file (``serial``, ``password``, ...).

    Class attributes
    ----------------
    driver : str
        ``maker.model`` name used in rig files.
    model : str
        The model as the instrument names itself (``SR830``, ``33522B``); models with
        variants set it per instance from ``options.model``.
    read_termination : str
        What the instrument expects at the end of a request (CR and LF are both accepted).
    write_termination : str
        What it appends to each reply.
    real_port : int or None
        The TCP port the real instrument listens on (documentation; the virtual
        rig binds a free port unless the rig file fixes one).
    """

    driver = ""
    model = ""
    read_termination = "\n"
    write_termination = "\n"
    real_port: int | None = None

    def __init__(self, state: RigState, *, name: str, options: Mapping[str, Any] | None = None):
        self.state = state
        self.name = name
        self.options = dict(options or {})
        self.serial = str(self.options.get("serial", f"{zlib.crc32(name.encode()) % 100000:05d}"))
        self.lock = threading.RLock()
        self.errors: deque[tuple[int, str]] = deque(maxlen=32)
        self.commands_handled = 0
        #: request line -> its reply function, for lines already parsed and validated
        #: (see :meth:`remember`): repeated queries skip the parsing, never the work
        self._plans: dict[str, Callable[[], str]] = {}

    # --------------------------------------------------------------- protocol
    def banner(self) -> bytes:
        """Bytes sent when a client connects (none for most models)."""
        return b""

    def new_session(self) -> Session:
        """State of a new connection."""
        return Session()

    def handle(self, line: str, session: Session) -> list[str | bytes]:
        """Execute one request line; return the replies (without terminations)."""
        with self.lock:
            self.commands_handled += 1
            try:
                plan = self._plans.get(line)
                if plan is not None:
                    return [plan()]
                return self.execute(line, session)
            except CommandError as exc:
                self.push_error(exc.code, exc.message)
                return self.short_error_reply(exc, session)
            except (ValueError, ArithmeticError, KeyError, IndexError) as exc:
                err = CommandError(DEVICE_ERROR[0], DEVICE_ERROR[1], type(exc).__name__)
                self.push_error(err.code, err.message)
                return self.short_error_reply(err, session)

    def execute(self, line: str, session: Session) -> list[str]:
        """Model-specific request handling (raise CommandError to reject)."""
        raise CommandError.of(UNDEFINED_HEADER, line)

    def error_reply(self, exc: CommandError, session: Session) -> list[str]:
        """Reply sent for a rejected request (most models stay silent)."""
        return []

    def short_error_reply(self, exc: CommandError, session: Session) -> list[str]:
        """:meth:`error_reply`, each line cut to :data:`MAX_ERROR_REPLY` bytes."""
        return [clip(line, MAX_ERROR_REPLY) for line in self.error_reply(exc, session)]

    def remember(self, line: str, plan: Callable[[], str]) -> Callable[[], str]:
        """Answer later requests ``line`` with ``plan()`` without parsing them again.

        Only for a line that is one valid query whose parsing and validation depend on
        nothing but its text (e.g. ``OUTP? 1``): ``plan`` still does the work (reads
        the physics) on every request. At most :data:`MAX_PLANS` lines are kept.
        """
        if len(self._plans) >= MAX_PLANS:
            self._plans.clear()
        self._plans[line] = plan
        return plan

    def run_commands(self, line: str, *, joined: bool) -> list[str | bytes]:
        """Execute the ``;``-separated commands of a line with :meth:`command`.

        A rejected command goes to the error queue and the others still run (as
        SCPI instruments do). The replies come back one per line, or as a single
        ``;``-joined line (``joined=True``: SR86x, 33500B, Lake Shore 336).
        """
        if ";" not in line:  # one command (the usual line): same as the loop below
            command = line.strip()
            if not command:
                return []
            try:
                reply = self.command(command)
            except CommandError as exc:
                self.record_error(exc)
                return []
            return [] if reply is None else [reply]
        replies: list[str | bytes] = []
        for command in line.split(";"):
            if not command.strip():
                continue
            try:
                reply = self.command(command.strip())
            except CommandError as exc:
                self.record_error(exc)
                continue
            if reply is not None:
                replies.append(reply)
        if joined and any(isinstance(r, bytes) for r in replies):
            # a binary block (no terminator) among them: one block of bytes, ending in
            # the terminator only when its last reply is text
            parts = [r if isinstance(r, bytes) else r.encode() for r in replies]
            end = b"" if isinstance(replies[-1], bytes) else self.write_termination.encode()
            return [b";".join(parts) + end]
        if joined:
            return [";".join(replies)] if replies else []
        return replies

    def record_error(self, exc: CommandError) -> None:
        """A command of :meth:`run_commands` was rejected: queue its error."""
        self.push_error(exc.code, exc.message)

    def command(self, command: str) -> str | bytes | None:
        """One command of a line (models that use :meth:`run_commands` define it); bytes:
        a binary block, sent without a terminator."""
        raise CommandError.of(UNDEFINED_HEADER, command)

    def overlong(self, session: Session) -> list[str]:
        """A request longer than :data:`MAX_LINE` was discarded."""
        with self.lock:
            err = CommandError.of(TOO_MUCH_DATA, f"request longer than {MAX_LINE} bytes")
            self.push_error(err.code, err.message)
            return self.short_error_reply(err, session)

    def identify_query(self) -> str:
        """The request that identifies this model (``*IDN?`` for most)."""
        return "*IDN?"

    def is_query(self, line: str) -> bool:
        """True if ``line`` asks for a reply (used by fault injection)."""
        return "?" in line

    # ------------------------------------------------------------ error queue
    def push_error(self, code: int, message: str) -> None:
        """Append an error to the queue (the oldest is dropped when full)."""
        self.errors.append((code, message))

    def pop_error(self) -> tuple[int, str]:
        """Oldest error, or (0, "No error")."""
        with self.lock:
            if self.errors:
                return self.errors.popleft()
            return 0, "No error"


# ----------------------------------------------------------------- parsing
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_float(text: str, what: str = "value") -> float:
    """A finite decimal number, else CommandError -104 (no eval, no inf/nan)."""
    t = text.strip()
    if not _FLOAT.match(t):
        if not t:
            raise CommandError.of(MISSING_PARAMETER, what)
        raise CommandError.of(DATA_TYPE_ERROR, f"{what}={t[:40]!r}")
    value = float(t)
    if not math.isfinite(value):
        raise CommandError.of(DATA_OUT_OF_RANGE, f"{what}={t[:40]!r}")
    return value


def parse_int(text: str, what: str = "value") -> int:
    """An integer (a float with no fraction is accepted), else CommandError -104."""
    if len(text) <= 15 and text.isdigit() and text.isascii():  # the usual case, exactly
        return int(text)
    value = parse_float(text, what)
    if value != int(value):
        raise CommandError.of(DATA_TYPE_ERROR, f"{what}={text.strip()[:40]!r} is not an integer")
    return int(value)


def in_range(value: float, lo: float, hi: float, what: str = "value") -> float:
    """Return ``value`` if lo <= value <= hi, else CommandError -222."""
    if not lo <= value <= hi:
        raise CommandError.of(DATA_OUT_OF_RANGE, f"{what}={value:g} not in [{lo:g}, {hi:g}]")
    return value


def split_args(text: str) -> list[str]:
    """Comma-separated arguments, stripped; an empty string gives []."""
    t = text.strip()
    return [a.strip() for a in t.split(",")] if t else []


def need(args: list[str], count: int | tuple[int, int], what: str = "") -> None:
    """Require ``count`` (or a (min, max) range of) arguments."""
    lo, hi = (count, count) if isinstance(count, int) else count
    if len(args) < lo:
        raise CommandError.of(MISSING_PARAMETER, what)
    if len(args) > hi:
        raise CommandError.of(PARAMETER_NOT_ALLOWED, what)


def scpi_bool(text: str) -> bool:
    """SCPI boolean: ON/OFF/1/0."""
    t = text.strip().upper()
    if t in ("ON", "1"):
        return True
    if t in ("OFF", "0"):
        return False
    raise CommandError.of(ILLEGAL_PARAMETER, f"expected ON|OFF|1|0, got {text.strip()[:20]!r}")


def fmt_g(value: float, digits: int = 6) -> str:
    """Compact float as the SRS instruments print it (``121.98``, ``-1.01026``, ``1.2e-07``)."""
    return f"{value:.{digits}g}"


# -------------------------------------------------------- SCPI header matching
def _nodes(pattern: str) -> list[tuple[bool, str, str, bool]]:
    """Parse ``[SOURce#:]FREQuency`` into (optional, short, long, numeric-suffix) nodes."""
    nodes = []
    i = 0
    text = pattern
    while i < len(text):
        if text[i] == ":":
            i += 1
            continue
        optional = text[i] == "["
        if optional:
            j = text.index("]", i)
            body = text[i + 1 : j].strip(":")
            i = j + 1
        else:
            ends = [k for k in (text.find(":", i), text.find("[", i)) if k >= 0]
            j = min(ends) if ends else len(text)
            body = text[i:j]
            i = j
        numeric = body.endswith("#")
        word = body.rstrip("#")
        short = "".join(c for c in word if c.isupper() or c.isdigit() or c in "*#")
        nodes.append((optional, short, word.upper(), numeric))
    return nodes


_SUFFIX = re.compile(r"^([A-Z*]+?)(\d*)$")


def scpi_match(header: str, pattern: str) -> list[int] | None:
    """Match a SCPI header (no ``?``) against a pattern with short/long forms.

    ``pattern`` nodes are separated by ``:``; lowercase letters are the optional
    long-form part, ``[...]`` marks an optional node, a trailing ``#`` allows a
    numeric suffix (default 1) and a node ``#`` alone is a numeric node.
    Returns the numeric suffixes in order, or None when it does not match.
    """
    parts = header.strip().upper().lstrip(":").split(":")
    nodes = _nodes(pattern)

    def walk(pi: int, ni: int, found: list[int]) -> list[int] | None:
        if ni == len(nodes):
            return found if pi == len(parts) else None
        optional, short, long, numeric = nodes[ni]
        if optional:
            skipped = walk(pi, ni + 1, found + ([1] if numeric else []))
            if skipped is not None:
                return skipped
        if pi == len(parts):
            return None
        token = parts[pi]
        if long == "" and numeric:  # a bare numeric node
            if token.isdigit():
                return walk(pi + 1, ni + 1, [*found, int(token)])
            return None
        m = _SUFFIX.match(token) if numeric else None
        word, suffix = (m.group(1), m.group(2)) if m else (token, "")
        if word not in (short, long):
            return None
        extra = [int(suffix) if suffix else 1] if numeric else []
        return walk(pi + 1, ni + 1, found + extra)

    return walk(0, 0, [])


class StandardEvents:
    """IEEE 488.2 error reporting: every queued error also sets the standard event status
    register's execution-error bit (codes -2xx) or command-error bit (-1xx).

    Mixed in before :class:`VirtualInstrument` by models with an ``esr`` register that
    answer nothing to a rejected line.
    """

    esr: int

    def flag(self, exc: CommandError) -> None:
        """Set the ESR bit of ``exc``'s class of error."""
        self.esr |= ESR_EXECUTION if exc.code <= -200 else ESR_COMMAND

    def record_error(self, exc: CommandError) -> None:
        self.flag(exc)
        self.push_error(exc.code, exc.message)  # type: ignore[attr-defined]

    def error_reply(self, exc: CommandError, session: Session) -> list[str]:
        """Such instruments answer nothing to a rejected line; the error is in the ESR."""
        self.flag(exc)
        return []
