"""Physik Instrumente E-727 digital piezo controller (GCS 2.0), closed-loop fine scanner.

Wire format (PI GCS 2.0 commands manual; PIPython ``gcsmessages``): requests end
in LF; a multi-line reply ends every line but the last with space + LF, so a
reply is complete at an LF with no space before it. Axis replies are
``<axis>=<value>`` lines. Set commands are silent; the driver reads ``ERR?``
(the last error code, then 0) after each. Positions are in the controller's
physical units (um for the linear axes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mrfm.drivers.base import (
    CommandRejected,
    Instrument,
    InstrumentError,
    LimitError,
    Logged,
    parse_float,
    parse_int,
)
from mrfm.drivers.values import as_number, format_number
from mrfm.rigdef.registry import terminations

#: GCS error codes (PI GCS 2.0 error table, subset)
ERROR_CODES = {
    1: "parameter syntax error", 2: "unknown command", 3: "command length out of limits",
    5: "unallowable move attempted on unreferenced axis, or move attempted with servo off",
    7: "position out of limits", 8: "velocity out of limits", 10: "controller was stopped",
    15: "invalid axis identifier", 17: "parameter out of range",
    79: "open-loop commands (SVA, SVR) are not allowed when servo is on",
}
STOPPED = 10


def parse_axis_reply(text: str) -> dict[str, str]:
    """``"1=10.0 \\n2=3.5"`` -> {"1": "10.0", "2": "3.5"} (one ``axis=value`` per line)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        ax, sep, value = line.partition("=")
        if not sep or not ax.strip():
            raise ValueError(f"not an axis=value line: {line[:40]!r}")
        out[ax.strip()] = value.strip()
    if not out:
        raise ValueError("empty reply")
    return out


class E727(Instrument):
    """E-727 piezo controller.

    Parameters
    ----------
    resource : str
        VISA resource string (TCP port 50000: ``TCPIP0::host::50000::SOCKET``).
    axes : sequence of str
        Axis identifiers (default ``("1", "2", "3")``).
    **kwargs
        See :class:`~mrfm.drivers.base.Instrument`. ``limits`` keys: ``position``
        ((lo, hi) um, all axes; narrows the controller's ``TMN?``/``TMX?``),
        ``max_step`` (um, largest change of any axis in one move command).
    """

    model = "E-727"
    read_termination, write_termination = terminations("pi.e727")
    limit_keys: Mapping[str, str] = {
        "position": "allowed position range of every axis, um (lo, hi)",
        "max_step": "largest move of one axis in one command, um",
    }

    def __init__(self, resource: str, *, axes: Sequence[str] = ("1", "2", "3"),
                 **kwargs: Any) -> None:
        self.axes = tuple(str(a) for a in axes)
        self._travel: dict[str, tuple[float, float]] = {}
        super().__init__(resource, **kwargs)

    # ------------------------------------------------------------ protocol
    def read_reply(self, command: str) -> str:
        """Read lines until one whose LF has no space before it (GCS multi-line rule)."""
        lines = [self.read_line()]
        while lines[-1].endswith(" ") and len(lines) < 256:
            lines.append(self.read_line())
        return "\n".join(line.rstrip() for line in lines)

    def clear_errors(self) -> None:
        """``ERR?`` on connect: reading the last error code clears it (GCS has no ``*CLS``)."""
        self.ask("ERR?", parse_int, retries=0)

    def check_errors(self, after: str = "") -> None:
        """``ERR?`` after a set; a non-zero code raises :class:`CommandRejected`."""
        code = self.ask("ERR?", parse_int, retries=0)
        if code:
            raise CommandRejected(self._where(
                f"rejected {after!r}: GCS error {code} ({ERROR_CODES.get(code, 'see manual')})"))

    def _axis_list(self, axes: Sequence[str]) -> tuple[str, ...]:
        chosen = tuple(str(a) for a in axes) or self.axes
        for a in chosen:
            if a not in self.axes:
                raise LimitError(f"E-727: unknown axis {a!r}; this controller has {self.axes}")
        return chosen

    def _query_axes(self, cmd: str, axes: Sequence[str], parse: Any) -> dict[str, Any]:
        chosen = self._axis_list(axes)

        def parse_reply(text: str) -> dict[str, Any]:
            raw = parse_axis_reply(text)
            missing = [a for a in chosen if a not in raw]
            if missing:
                raise ValueError(f"no value for axis {missing}")
            return {a: parse(raw[a]) for a in chosen}

        return self.ask(f"{cmd} {' '.join(chosen)}", parse_reply)

    # ------------------------------------------------------------- readings
    def position(self, *axes: str) -> dict[str, float]:
        """Sensor positions (``POS?``), um, for ``axes`` (default: all) in one query."""
        return self._query_axes("POS?", axes, parse_float)

    def target(self, *axes: str) -> dict[str, float]:
        """Commanded targets (``MOV?``), um."""
        return self._query_axes("MOV?", axes, parse_float)

    def on_target(self, *axes: str) -> bool:
        """True when every axis of ``axes`` (default: all) is on target (``ONT?``)."""
        flags = self._query_axes("ONT?", axes, lambda t: bool(parse_int(t)))
        return all(flags.values())

    def servo(self, axis: str) -> bool:
        """Servo state of ``axis`` (``SVO?``)."""
        return self._query_axes("SVO?", (axis,), lambda t: bool(parse_int(t)))[str(axis)]

    def travel_range(self, axis: str, *, refresh: bool = False) -> tuple[float, float]:
        """Soft travel limits (``TMN?``, ``TMX?``) of ``axis``, um (cached)."""
        ax = self._axis_list((axis,))[0]
        if refresh or ax not in self._travel:
            lo = self._query_axes("TMN?", (ax,), parse_float)[ax]
            hi = self._query_axes("TMX?", (ax,), parse_float)[ax]
            self._travel[ax] = (lo, hi)
        return self._travel[ax]

    def logbook(self) -> dict[str, Logged]:
        """Servo state (``servo_<axis>``) and sensor position (``position_<axis>``, m) of
        every axis."""
        positions = self.position()
        out: dict[str, Logged] = {}
        for ax in self.axes:
            out[f"servo_{ax}"] = Logged(self.servo(ax), "")
            out[f"position_{ax}"] = Logged(positions[ax] * 1e-6, "m")
        return out

    # -------------------------------------------------------------- settings
    def set_servo(self, axis: str, on: bool) -> None:
        """Closed loop on/off for ``axis`` (``SVO``)."""
        ax = self._axis_list((axis,))[0]
        self.write(f"SVO {ax} {1 if on else 0}")

    def _check_target(self, ax: str, value: float, step: float | None) -> float:
        value = as_number(value, f"E-727: axis {ax} target")
        if not math.isfinite(value):
            raise LimitError(f"E-727: axis {ax} target {value!r} is not a finite number")
        lo, hi = self.travel_range(ax)
        if not lo <= value <= hi:
            raise LimitError(f"E-727: axis {ax} target {value:g} um outside the travel range "
                             f"[{lo:g}, {hi:g}] um; nothing was sent")
        self.check_limit("position", value, unit="um", what=f"E-727 axis {ax}")
        if step is not None:
            self.check_limit("max_step", abs(step), mode="upper", unit="um",
                             what=f"E-727 axis {ax} step")
        return float(value)

    def move(self, targets: Mapping[str, float]) -> None:
        """Absolute closed-loop move of several axes in one ``MOV`` command, um.

        Every target is checked (travel range, ``limits``) before anything is sent.
        Returns at once; poll :meth:`on_target`.
        """
        if not targets:
            return
        axes = self._axis_list(tuple(targets))
        current = self.target(*axes) if "max_step" in self.limits else None
        parts = []
        for ax in axes:
            value = targets[ax] if ax in targets else targets[int(ax)]  # type: ignore[index]
            step = None if current is None else value - current[ax]
            parts.append(f"{ax} {format_number(self._check_target(ax, value, step))}")
        self.write("MOV " + " ".join(parts))

    def move_relative(self, steps: Mapping[str, float]) -> None:
        """Relative move (``MVR``), um; the resulting targets are checked first."""
        if not steps:
            return
        axes = self._axis_list(tuple(steps))
        current = self.target(*axes)
        parts = []
        for ax in axes:
            d = as_number(steps[ax], f"E-727: axis {ax} step")
            self._check_target(ax, current[ax] + d, d)
            parts.append(f"{ax} {format_number(d)}")
        self.write("MVR " + " ".join(parts))

    def stop(self) -> None:
        """Stop every axis at once (``STP``); the 'stopped' error 10 it raises is cleared."""
        self.write_line("STP")
        code = self.ask("ERR?", parse_int, retries=0)
        if code not in (0, STOPPED):
            raise InstrumentError(self._where(f"STP: GCS error {code} "
                                              f"({ERROR_CODES.get(code, 'see manual')})"))

    def halt(self, axis: str) -> None:
        """Halt one axis smoothly (``HLT``)."""
        ax = self._axis_list((axis,))[0]
        self.write_line(f"HLT {ax}")
        code = self.ask("ERR?", parse_int, retries=0)
        if code not in (0, STOPPED):
            raise InstrumentError(self._where(f"HLT {ax}: GCS error {code}"))
