"""attocube ANC300 piezo stepper controller (open-loop coarse positioning).

Telnet-style protocol (TCP port 7230, also USB/serial), CR LF both ways. On
connect the unit sends telnet option bytes and a banner ending in the prompt
``Authorization code: ``; the driver sends the password, waits for
``Authorization success`` and turns the echo off (``echo off``). Every command
is answered by zero or more lines and then a line ``OK`` or ``ERROR``; values
come as ``name = value unit`` lines before the ``OK`` (``voltage = 30.000000 V``).
A line equal to the command just sent is an echo and skipped. Axes are 1-7.
Without a ``password`` (pyvisa-sim, or a serial link without login) the login
step is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import (
    Instrument,
    InstrumentDisconnected,
    InstrumentError,
    InvalidResponse,
    LimitError,
    Logged,
    Range,
    map_visa_error,
)
from mrfm.rigdef.registry import terminations

MODES = ("gnd", "inp", "cap", "stp", "off", "stp+", "stp-")
_VALUE = re.compile(r"^\s*(\w+)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\w*)\s*$")
#: most lines accepted before OK/ERROR
MAX_LINES = 64


def parse_value(text: str, unit: str | None = None) -> float:
    """The number of a ``name = value unit`` reply line (``unit`` checked if given)."""
    for line in text.splitlines():
        m = _VALUE.match(line)
        if m:
            if unit is not None and m.group(3) != unit:
                raise ValueError(f"expected a value in {unit}, got {line[:40]!r}")
            return float(m.group(2))
    raise ValueError(f"no 'name = value' line in {text[:60]!r}")


def parse_mode(text: str) -> str:
    """The mode of a ``mode = stp`` reply."""
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == "mode" and value.strip() in MODES:
            return value.strip()
    raise ValueError(f"no 'mode = ...' line in {text[:60]!r}")


class ANC300(Instrument):
    """ANC300 controller.

    Parameters
    ----------
    resource : str
        VISA resource string (``TCPIP0::host::7230::SOCKET``).
    password : str, optional
        Login code of the Ethernet interface; None skips the login.
    **kwargs
        See :class:`~mrfm.drivers.base.Instrument`. ``limits`` keys: ``voltage``
        (largest step amplitude, V), ``offset`` (largest DC offset, V), ``frequency``
        (largest step frequency, Hz), ``max_steps`` (largest step count per command).
    """

    model = "ANC300"
    read_termination, write_termination = terminations("attocube.anc300")
    default_timeout = 3.0
    #: no error state to clear: every command answers its own OK or ERROR
    clear_command = None
    limit_keys: Mapping[str, str] = {
        "voltage": "largest step amplitude, V (e.g. lower at room temperature)",
        "offset": "largest DC offset voltage, V",
        "frequency": "largest step frequency, Hz",
        "max_steps": "largest number of steps in one stepu/stepd command",
    }

    def __init__(self, resource: str, *, password: str | None = None, **kwargs: Any) -> None:
        self.password = password
        super().__init__(resource, **kwargs)

    # ------------------------------------------------------------ protocol
    def connect(self) -> None:
        """Log in (banner, password, ``Authorization success``) and turn the echo off."""
        if self.password is None:
            return
        buf = b""
        try:
            while b"Authorization code" not in buf or not buf.rstrip().endswith(b":"):
                buf += self._session.read_bytes(1, break_on_termchar=False)
                if len(buf) > 4096:
                    raise InvalidResponse(self._where("no 'Authorization code' prompt"))
        except InstrumentError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to typed errors
            raise map_visa_error(exc, self._where("reading the login banner")) from None
        self.write_line(self.password)
        for _ in range(8):
            line = self.read_line()
            if "Authorization success" in line:
                break
            if "Authorization failed" in line:
                raise InstrumentDisconnected(self._where("authorization failed: wrong password"))
        else:
            raise InvalidResponse(self._where("no 'Authorization success' after the password"))
        self.command("echo off")

    def read_line(self) -> str:
        """One reply line; telnet bytes and other non-ASCII are dropped."""
        raw = self.guarded("read", self._session.read_raw)
        text = raw.decode("ascii", errors="ignore")
        for term in ("\r\n", "\n", "\r"):
            if text.endswith(term):
                text = text[: -len(term)]
                break
        return text

    def read_reply(self, command: str) -> str:
        """Lines up to ``OK`` (returned without it); ``ERROR`` raises InstrumentError."""
        lines: list[str] = []
        for _ in range(MAX_LINES):
            line = self.read_line().strip()
            if line == "OK":
                return "\n".join(lines)
            if line == "ERROR":
                detail = "; ".join(lines) or "no detail"
                raise InstrumentError(self._where(f"{command!r} answered ERROR: {detail}"))
            if line == command.strip() and not lines:
                continue  # echo
            lines.append(line)
        raise InvalidResponse(self._where(f"no OK/ERROR after {MAX_LINES} lines to {command!r}"))

    def command(self, command: str) -> str:
        """Send a command that changes state; read to ``OK`` (never retried)."""
        with self._lock:
            self.write_line(command)
            return self.read_reply(command)

    def write(self, command: str, *, check: bool = True) -> None:
        """Send a set command; the ``OK``/``ERROR`` reply is its error report."""
        self.command(command)

    def check_errors(self, after: str = "") -> None:
        """Nothing to do: every command carries its own ``OK``/``ERROR``."""

    def identify(self) -> str:
        """Controller version (``ver``), first line."""
        return self.ask("ver", lambda t: t.splitlines()[0].strip() or _raise("empty")).strip()

    @property
    def idn(self) -> dict[str, str]:
        """vendor, model, serial (``getcser``) and firmware (``ver``)."""
        ver = self.identify()
        serial = self.ask("getcser", lambda t: t.splitlines()[0].strip())
        return {"vendor": "attocube", "model": "ANC300", "serial": serial, "firmware": ver}

    def logbook(self, axes: tuple[int, ...] = (1, 2, 3)) -> dict[str, Logged]:
        """Mode, step amplitude (V) and step frequency (Hz) of each of ``axes``."""
        out: dict[str, Logged] = {}
        for a in axes:
            out[f"mode_{a}"] = Logged(self.mode(a), "")
            out[f"voltage_{a}"] = Logged(self.voltage(a), "V")
            out[f"frequency_{a}"] = Logged(self.frequency(a), "Hz")
        return out

    # ------------------------------------------------------------- helpers
    def _axis(self, axis: int) -> int:
        return Range(1, 7, integer=True)(axis, "ANC300 axis")

    # --------------------------------------------------------------- modes
    def mode(self, axis: int) -> str:
        """Mode of ``axis`` (gnd, inp, cap, stp, off, stp+, stp-)."""
        return self.ask(f"getm {self._axis(axis)}", parse_mode)

    def set_mode(self, axis: int, mode: str) -> None:
        """Set the mode of ``axis``."""
        ax = self._axis(axis)
        m = str(mode).strip().lower()
        if m not in MODES:
            raise LimitError(f"ANC300.mode: {mode!r} not one of {MODES}")
        self.command(f"setm {ax} {m}")

    def ground(self, axis: int) -> None:
        """Ground ``axis`` (its safe state)."""
        self.set_mode(axis, "gnd")

    # ------------------------------------------------------------- settings
    def voltage(self, axis: int) -> float:
        """Step amplitude of ``axis``, V (``getv``)."""
        return self.ask(f"getv {self._axis(axis)}", lambda t: parse_value(t, "V"))

    def set_voltage(self, axis: int, volts: float) -> None:
        """Step amplitude, 0-150 V (and ``limits['voltage']``)."""
        ax = self._axis(axis)
        v = Range(0.0, 150.0)(volts, "ANC300.voltage")
        self.check_limit("voltage", v, mode="upper", unit="V", what="ANC300.voltage")
        self.command(f"setv {ax} {v:.10g}")

    def frequency(self, axis: int) -> float:
        """Step frequency of ``axis``, Hz (``getf``)."""
        return self.ask(f"getf {self._axis(axis)}", lambda t: parse_value(t, "Hz"))

    def set_frequency(self, axis: int, hertz: float) -> None:
        """Step frequency, 1-10000 Hz (and ``limits['frequency']``)."""
        ax = self._axis(axis)
        f = Range(1, 10000, integer=True)(hertz, "ANC300.frequency")
        self.check_limit("frequency", f, mode="upper", unit="Hz", what="ANC300.frequency")
        self.command(f"setf {ax} {f:d}")

    def offset(self, axis: int) -> float:
        """DC offset voltage of ``axis``, V (``geta``)."""
        return self.ask(f"geta {self._axis(axis)}", lambda t: parse_value(t, "V"))

    def set_offset(self, axis: int, volts: float) -> None:
        """DC offset, 0-150 V (and ``limits['offset']``)."""
        ax = self._axis(axis)
        v = Range(0.0, 150.0)(volts, "ANC300.offset")
        self.check_limit("offset", v, mode="upper", unit="V", what="ANC300.offset")
        self.command(f"seta {ax} {v:.10g}")

    def output_voltage(self, axis: int) -> float:
        """Present output voltage of ``axis``, V (``geto``)."""
        return self.ask(f"geto {self._axis(axis)}", lambda t: parse_value(t, "V"))

    def capacitance(self, axis: int, *, measure: bool = True, timeout: float = 10.0) -> float:
        """Piezo capacitance, F: ``setm cap``, ``capw``, ``getc`` (the mode is left at cap)."""
        ax = self._axis(axis)
        if measure:
            self.command(f"setm {ax} cap")
            with self.timeout_for(timeout):
                self.command(f"capw {ax}")
        return self.ask(f"getc {ax}", lambda t: parse_value(t, "nF")) * 1e-9

    # --------------------------------------------------------------- steps
    def _steps(self, steps: int | str) -> str:
        if isinstance(steps, str) and steps.strip().lower() == "c":
            return "c"
        n = Range(1, 2**31 - 1, integer=True)(steps, "ANC300 steps")
        self.check_limit("max_steps", n, mode="upper", unit="steps", what="ANC300 steps")
        return f"{n:d}"

    def step_up(self, axis: int, steps: int | str = 1) -> None:
        """``steps`` steps up (``"c"`` = continuous); the axis must be in mode stp."""
        self.command(f"stepu {self._axis(axis)} {self._steps(steps)}")

    def step_down(self, axis: int, steps: int | str = 1) -> None:
        """``steps`` steps down (``"c"`` = continuous)."""
        self.command(f"stepd {self._axis(axis)} {self._steps(steps)}")

    def wait(self, axis: int, *, timeout: float = 60.0) -> None:
        """Block until the steps of ``axis`` are done (``stepw``)."""
        with self.timeout_for(timeout):
            self.command(f"stepw {self._axis(axis)}")

    def stop(self, axis: int) -> None:
        """Stop stepping ``axis`` at once."""
        self.command(f"stop {self._axis(axis)}")


def _raise(message: str) -> str:
    raise ValueError(message)
