"""Virtual attocube ANC300 piezo stepper controller (open-loop coarse positioning).

Telnet-style protocol (the real unit: TCP 7230), CR LF both ways. On connect
the unit sends telnet option bytes (non-ASCII) and a banner ending in the
prompt ``Authorization code: ``; the client sends the password and gets an
echo of asterisks and ``Authorization success`` (or ``Authorization failed``
and the prompt again). Echo is on until ``echo off``: each command line is
echoed first. Every command ends with a line ``OK`` or ``ERROR``; values come
before it as ``name = value unit`` lines (``mode = stp``, ``voltage =
30.000000 V``, ``frequency = 100 Hz``, ``capacitance = 998.901733 nF``).
Axes 1-7; axes 1, 2, 3 of the virtual rig move x, y and the height.
``stepw`` and ``capw`` return when the steps or the measurement are done, in
simulated time.
"""

from __future__ import annotations

import math

from mrfm.rig.instruments.base import (
    MAX_ERROR_REPLY,
    CommandError,
    Session,
    VirtualInstrument,
    clip,
)

MODES = ("gnd", "inp", "cap", "stp", "off", "stp+", "stp-")
TELNET_OPTIONS = b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x1f"
#: longest echo of a request line (and of its asterisks before login), bytes
MAX_ECHO = MAX_ERROR_REPLY


class ANC300(VirtualInstrument):
    """ANC300 (see module docstring); ``options.password`` (default ``"123456"``)."""

    driver = "attocube.anc300"
    model = "ANC300"
    read_termination = "\r\n"
    write_termination = "\r\n"
    real_port = 7230

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.password = str(self.options.get("password", "123456"))

    def banner(self) -> bytes:
        text = "attocube ANC300 controller\r\nAuthorization code: "
        return TELNET_OPTIONS + text.encode("ascii")

    def identify_query(self) -> str:
        return "ver"

    def is_query(self, line: str) -> bool:
        return True  # every line gets an OK/ERROR reply

    def execute(self, line: str, session: Session) -> list[str]:
        text = line.strip()
        if not session.authorized:
            stars = "*" * min(len(text), MAX_ECHO)
            if text == self.password:
                session.authorized = True
                return [stars, "Authorization success"]
            return [stars, "Authorization failed", "Authorization code: "]
        out = [clip(text, MAX_ECHO)] if session.echo else []
        try:
            out += self.command(text, session)
            out.append("OK")
        except CommandError as exc:
            self.push_error(exc.code, exc.message)
            out += [exc.detail or exc.message, "ERROR"]
        return out

    def error_reply(self, exc: CommandError, session: Session) -> list[str]:
        return [exc.detail or exc.message, "ERROR"]

    def _axis(self, token: str):
        if token not in self.state.coarse.axes:
            raise CommandError(-222, "Data out of range", f"Wrong axis number {token[:8]}")
        return self.state.coarse.axes[token]

    def _number(self, token: str, lo: float, hi: float, what: str) -> float:
        try:
            value = float(token)
        except ValueError:
            raise CommandError(-104, "Data type error", f"Invalid {what} {token[:16]}") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise CommandError(-222, "Data out of range", f"{what} out of range")
        return value

    def command(self, text: str, session: Session) -> list[str]:
        """One command; the value lines before ``OK``."""
        words = text.split()
        if not words:
            return []
        cmd, args = words[0].lower(), words[1:]
        coarse = self.state.coarse
        if cmd == "echo":
            if len(args) != 1 or args[0] not in ("on", "off"):
                raise CommandError(-109, "Missing parameter", "Usage: echo on|off")
            session.echo = args[0] == "on"
            return []
        if cmd == "ver":
            return ["attocube ANC300 controller version 1.1.22-1455 2016-05-03 14:49"]
        if cmd == "getcser":
            return [f"ANC300B-C-{self.serial}"]
        if cmd == "help":
            return ["setm getm setv getv setf getf seta geta geto stepu stepd stepw stop "
                    "capw getc getser getcser ver echo"]
        if not args:
            raise CommandError(
                -113, "Undefined header", f"Unknown command or missing axis: {cmd[:16]}"
            )
        ax = self._axis(args[0])
        rest = args[1:]
        with self.state.lock:
            now = self.state.clock.now()
            if cmd == "getser":
                return [f"ANPx101-A-{self.serial}{args[0]}"]
            if cmd == "setm":
                if len(rest) != 1 or rest[0] not in MODES:
                    raise CommandError(-224, "Illegal parameter value", "Invalid mode")
                coarse.stop(ax, now)
                ax.mode = rest[0]
                return []
            if cmd == "getm":
                return [f"mode = {ax.mode}"]
            if cmd in ("setv", "setf", "seta"):
                if len(rest) != 1:
                    raise CommandError(-109, "Missing parameter", "Missing value")
                if cmd == "setv":
                    ax.voltage = self._number(rest[0], 0.0, 150.0, "voltage")
                elif cmd == "setf":
                    ax.frequency = self._number(rest[0], 1.0, 10000.0, "frequency")
                else:
                    ax.offset_voltage = self._number(rest[0], 0.0, 150.0, "voltage")
                return []
            if cmd == "getv":
                return [f"voltage = {ax.voltage:.6f} V"]
            if cmd == "getf":
                return [f"frequency = {ax.frequency:.0f} Hz"]
            if cmd == "geta":
                return [f"voltage = {ax.offset_voltage:.6f} V"]
            if cmd == "geto":
                v = ax.offset_voltage if ax.mode in ("off", "gnd") else ax.offset_voltage
                return [f"voltage = {0.0 if ax.mode == 'gnd' else v:.6f} V"]
            if cmd in ("stepu", "stepd"):
                if not ax.mode.startswith("stp"):
                    raise CommandError(-221, "Settings conflict", "Axis not in stepping mode")
                if len(rest) > 1:
                    raise CommandError(-108, "Parameter not allowed", "Too many arguments")
                count: float = 1.0
                if rest:
                    if rest[0] == "c":
                        count = math.inf
                    else:
                        count = self._number(rest[0], 1, 1e9, "step count")
                        if count != int(count):
                            raise CommandError(-104, "Data type error", "Invalid step count")
                coarse.start(ax, 1 if cmd == "stepu" else -1, count, now)
                return []
            if cmd == "stop":
                coarse.stop(ax, now)
                return []
            if cmd == "stepw":
                wait = coarse.remaining_time(ax, now)
                if math.isinf(wait):
                    raise CommandError(-221, "Settings conflict", "Axis in continuous motion")
                session.delay = wait
                return []
            if cmd == "capw":
                if ax.mode != "cap":
                    raise CommandError(-221, "Settings conflict", "Axis not in cap mode")
                session.delay = 0.5
                return []
            if cmd == "getc":
                return [f"capacitance = {coarse.capacitance() * 1e9:.6f} nF"]
        raise CommandError(-113, "Undefined header", f"Unknown command: {cmd[:16]}")
