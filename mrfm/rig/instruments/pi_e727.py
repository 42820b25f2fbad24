"""Virtual Physik Instrumente E-727 digital piezo controller (GCS 2.0).

Requests end in LF. A multi-line reply ends every line but the last with
space + LF (PIPython reads until an LF with no space before it). Set commands
return nothing; errors are read with ``ERR?`` (the last error code, then 0):
1 parameter syntax, 2 unknown command, 3 command too long, 5 move with the
servo off, 7 position out of limits, 10 stopped, 15 invalid axis, 17 parameter
out of range, 79 open-loop command with the servo on (PI GCS error table).
Axes ``1 2 3`` are x, y, z of the rig's fine scanner, positions in um,
voltages in V; the travel limits ``TMN?``/``TMX?`` are the scanner's range at
the present temperature and piezo-voltage limit, intersected with the lab's
scan range (the controller's soft limits).
"""

from __future__ import annotations

import math

from mrfm.rig.instruments.base import MAX_LINE, CommandError, Session, VirtualInstrument

UM = 1e-6
ERR_SYNTAX = 1
ERR_UNKNOWN = 2
ERR_TOO_LONG = 3
ERR_NO_SERVO = 5
ERR_LIMITS = 7
ERR_STOPPED = 10
ERR_AXIS = 15
ERR_RANGE = 17
ERR_SERVO_ON = 79


class PIE727(VirtualInstrument):
    """E-727 (see module docstring)."""

    driver = "pi.e727"
    model = "E-727"
    read_termination = "\n"
    write_termination = "\n"
    real_port = 50000

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.error = 0

    def push_error(self, code: int, message: str) -> None:
        super().push_error(code, message)
        self.error = code  # only the last error is buffered (GCS ERR?)

    def overlong(self, session: Session) -> list[str]:
        with self.lock:
            self.push_error(ERR_TOO_LONG, f"command longer than {MAX_LINE} bytes")
        return []

    def execute(self, line: str, session: Session) -> list[str]:
        words = line.split()
        if not words:
            return []
        cmd, args = words[0].upper(), words[1:]
        try:
            lines = self.command(cmd, args)
        except CommandError as exc:
            self.push_error(exc.code, exc.message)
            return []
        return [" \n".join(lines)] if lines else []

    def _axes(self, names: list[str]) -> list[str]:
        fine = self.state.fine.axes
        if not names:
            return list(fine)
        for n in names:
            if n not in fine:
                raise CommandError(ERR_AXIS, "Invalid axis identifier")
        return names

    def _pairs(self, args: list[str]) -> list[tuple[str, float]]:
        if not args or len(args) % 2:
            raise CommandError(ERR_SYNTAX, "Parameter syntax error")
        out = []
        for ax, val in zip(args[::2], args[1::2], strict=True):
            self._axes([ax])
            try:
                v = float(val)
            except ValueError:
                raise CommandError(ERR_SYNTAX, "Parameter syntax error") from None
            if not math.isfinite(v):
                raise CommandError(ERR_RANGE, "Parameter out of range")
            out.append((ax, v))
        return out

    def command(self, cmd: str, args: list[str]) -> list[str]:
        """One GCS command; the reply lines (none for set commands)."""
        st = self.state
        fine = st.fine
        with st.lock:
            now = st.clock.now()
            if cmd == "*IDN?":
                return ["(c)2015-2023 Physik Instrumente (PI) GmbH & Co. KG, E-727, "
                        f"{self.serial}, 13.21.00.09"]
            if cmd == "ERR?":
                code, self.error = self.error, 0
                self.errors.clear()
                return [str(code)]
            if cmd == "CSV?":
                return ["2.0"]
            if cmd == "SAI?":
                return list(fine.axes)
            if cmd in ("POS?", "MOV?", "ONT?", "SVO?", "TMN?", "TMX?", "VOL?", "SVA?"):
                out = []
                for name in self._axes(args):
                    ax = fine.axes[name]
                    if cmd == "POS?":
                        value = f"{fine.position(ax, now) / UM:.7f}"
                    elif cmd == "MOV?":
                        value = f"{ax.target / UM:.7f}"
                    elif cmd == "ONT?":
                        value = "1" if fine.on_target(ax, now) else "0"
                    elif cmd == "SVO?":
                        value = "1" if ax.servo else "0"
                    elif cmd in ("TMN?", "TMX?"):
                        lo, hi = fine.soft_limits(ax)
                        value = f"{(lo if cmd == 'TMN?' else hi) / UM:.7f}"
                    else:
                        value = f"{ax.voltage:.7f}"
                    out.append(f"{name}={value}")
                return out
            if cmd == "SVO":
                pairs = self._pairs(args)
                for _, v in pairs:
                    if v not in (0.0, 1.0):
                        raise CommandError(ERR_RANGE, "Parameter out of range")
                for ax, v in pairs:
                    fine.set_servo(fine.axes[ax], bool(v), now)
                return []
            if cmd in ("MOV", "MVR"):
                pairs = self._pairs(args)
                moves = []
                for name, v in pairs:
                    ax = fine.axes[name]
                    if not ax.servo:
                        raise CommandError(ERR_NO_SERVO, "Move without servo")
                    target = (ax.target + v * UM) if cmd == "MVR" else v * UM
                    lo, hi = fine.soft_limits(ax)
                    if not lo - 1e-12 <= target <= hi + 1e-12:
                        raise CommandError(ERR_LIMITS, "Position out of limits")
                    moves.append((ax, target))
                for ax, target in moves:
                    fine.move(ax, target, now)
                return []
            if cmd in ("SVA", "SVR"):
                pairs = self._pairs(args)
                vmax = st.voltage_limit()
                updates = []
                for name, v in pairs:
                    ax = fine.axes[name]
                    if ax.servo:
                        raise CommandError(ERR_SERVO_ON, "Open-loop command with servo on")
                    volts = ax.voltage + v if cmd == "SVR" else v
                    if not 0.0 <= volts <= vmax:
                        raise CommandError(ERR_RANGE, "Parameter out of range")
                    updates.append((ax, volts))
                for ax, volts in updates:
                    fine.set_voltage(ax, volts, now)
                return []
            if cmd in ("STP", "HLT"):
                names = self._axes(args) if cmd == "HLT" else list(fine.axes)
                for name in names:
                    ax = fine.axes[name]
                    if ax.servo:
                        fine.move(ax, fine.position(ax, now, noisy=False), now)
                self.push_error(ERR_STOPPED, "Controller was stopped by command")
                return []
        raise CommandError(ERR_UNKNOWN, "Unknown command")
