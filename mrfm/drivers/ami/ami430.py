"""American Magnetics Model 430 magnet power supply programmer.

Ethernet (TCP port 7180) or RS-232, CR LF both ways. On connect over Ethernet
the unit sends ``American Magnetics Model 430 IP Interface`` and ``Hello.``,
which the driver reads and drops. SCPI-style commands; set commands are silent
and the driver reads ``SYST:ERR?`` after each. Field units follow
``FIELD:UNITS?`` (0 kG, 1 T) and ramp-rate time units ``RAMP:RATE:UNITS?``
(0 per second, 1 per minute); this driver converts both, so its Python values
are always T and T/s.

:meth:`AMI430.ramp_to` is the blocking sequence (after QCoDeS ``AMI430.set_field``,
re-implemented): check the rig's field and ramp-rate limits, refuse in a quench,
set the target, ``RAMP``, poll ``STATE?`` until it leaves 1 (ramping); anything
but 2 (holding) at the end is an error.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import (
    Instrument,
    InstrumentError,
    InstrumentTimeout,
    InvalidResponse,
    LimitError,
    Range,
    parse_csv,
    parse_float,
    parse_int,
)
from mrfm.drivers.values import format_number
from mrfm.rigdef.registry import terminations

STATES = {
    1: "ramping", 2: "holding", 3: "paused", 4: "manual up", 5: "manual down", 6: "zeroing",
    7: "quench", 8: "at zero", 9: "heating switch", 10: "cooling switch",
}
RAMPING, HOLDING, QUENCH = 1, 2, 7
KG = 0.1  # T per kG


class AMI430(Instrument):
    """Model 430 programmer.

    Parameters
    ----------
    resource : str
        VISA resource string (``TCPIP0::host::7180::SOCKET``).
    skip_banner : bool, optional
        Read and drop the connect banner (default: True for ``::SOCKET`` resources).
    **kwargs
        See :class:`~mrfm.drivers.base.Instrument`. ``limits`` keys: ``max_field``
        (T, bound on \\|B\\|), ``max_ramp_rate`` (T/s).
    """

    model = "AMI430"
    read_termination, write_termination = terminations("ami.430")
    limit_keys: Mapping[str, str] = {
        "max_field": "largest |field|, T",
        "max_ramp_rate": "largest ramp rate, T/s",
    }

    logged = ("field", "target", "ramp_rate", "state_name")
    logged_units: Mapping[str, str] = {"field": "T", "target": "T", "ramp_rate": "T/s"}

    def __init__(self, resource: str, *, skip_banner: bool | None = None, **kwargs: Any) -> None:
        self._skip_banner = ("::SOCKET" in resource.upper()) if skip_banner is None \
            else skip_banner
        self._field_scale: float | None = None
        self._time_scale: float | None = None
        super().__init__(resource, **kwargs)

    def connect(self) -> None:
        """Drop the Ethernet banner (``... IP Interface``, ``Hello.``) if there is one."""
        if not self._skip_banner:
            return
        with self.timeout_for(min(self.timeout, 1.0)):
            for _ in range(3):
                try:
                    line = self.read_line()
                except (InstrumentTimeout, InvalidResponse):
                    break
                if line.strip().startswith("Hello"):
                    break

    # --------------------------------------------------------------- units
    @property
    def field_units(self) -> str:
        """``"kG"`` or ``"T"`` (``FIELD:UNITS?``)."""
        code = self.ask("FIELD:UNITS?", parse_int)
        if code not in (0, 1):
            raise InvalidResponse(self._where(f"FIELD:UNITS? answered {code}"))
        self._field_scale = KG if code == 0 else 1.0
        return "kG" if code == 0 else "T"

    @field_units.setter
    def field_units(self, unit: str) -> None:
        code = {"kg": 0, "t": 1}.get(str(unit).strip().lower())
        if code is None:
            raise LimitError(f"AMI430.field_units: {unit!r} is not 'kG' or 'T'")
        self._field_scale = None
        self.write(f"CONF:FIELD:UNITS {code}")

    @property
    def ramp_rate_units(self) -> str:
        """``"s"`` or ``"min"`` (``RAMP:RATE:UNITS?``)."""
        code = self.ask("RAMP:RATE:UNITS?", parse_int)
        if code not in (0, 1):
            raise InvalidResponse(self._where(f"RAMP:RATE:UNITS? answered {code}"))
        self._time_scale = 1.0 if code == 0 else 60.0
        return "s" if code == 0 else "min"

    @ramp_rate_units.setter
    def ramp_rate_units(self, unit: str) -> None:
        code = {"s": 0, "min": 1}.get(str(unit).strip().lower())
        if code is None:
            raise LimitError(f"AMI430.ramp_rate_units: {unit!r} is not 's' or 'min'")
        self._time_scale = None
        self.write(f"CONF:RAMP:RATE:UNITS {code}")

    def _fs(self) -> float:
        """Tesla per device field unit."""
        if self._field_scale is None:
            _ = self.field_units
        assert self._field_scale is not None
        return self._field_scale

    def _ts(self) -> float:
        """Seconds per device ramp-rate time unit."""
        if self._time_scale is None:
            _ = self.ramp_rate_units
        assert self._time_scale is not None
        return self._time_scale

    # ------------------------------------------------------------ readings
    @property
    def field(self) -> float:
        """Magnet field, T (``FIELD:MAG?``)."""
        return self.ask("FIELD:MAG?", parse_float) * self._fs()

    @property
    def current(self) -> float:
        """Magnet current, A (``CURR:MAG?``)."""
        return self.ask("CURR:MAG?", parse_float)

    @property
    def current_limit(self) -> float:
        """Current limit, A (``CURR:LIMIT?``)."""
        return self.ask("CURR:LIMIT?", parse_float)

    @property
    def state(self) -> int:
        """``STATE?`` code (see STATES)."""
        code = self.ask("STATE?", parse_int)
        if code not in STATES:
            raise InvalidResponse(self._where(f"STATE? answered {code}"))
        return code

    @property
    def state_name(self) -> str:
        """Readable state (``"holding"`` ...)."""
        return STATES[self.state]

    @property
    def ramping(self) -> bool:
        """True while ramping (state 1)."""
        return self.state == RAMPING

    # ------------------------------------------------------------ settings
    def _check_field(self, value: float, what: str) -> float:
        """A field set-point within the magnet's own limit, |B| <= coil constant x current
        limit (read from the programmer: the driver on its own never asks for more than the
        magnet is configured for), then within the instance's ``max_field``."""
        v = float(Range(-math.inf, math.inf)(value, what))
        absolute = abs(self.coil_constant * self.current_limit)
        if abs(v) > absolute:
            raise LimitError(f"{what}: {v:g} T beyond the magnet's limit {absolute:g} T "
                             "(coil constant x current limit); nothing was sent")
        self.check_limit("max_field", v, mode="abs", unit="T", what=what)
        return v

    @property
    def target(self) -> float:
        """Target field, T (``FIELD:TARG?`` / ``CONF:FIELD:TARG``)."""
        return self.ask("FIELD:TARG?", parse_float) * self._fs()

    @target.setter
    def target(self, value: float) -> None:
        self._set_target(self._check_field(value, "AMI430.target"))

    def _set_target(self, tesla: float) -> None:
        """``CONF:FIELD:TARG`` of a field already checked by :meth:`_check_field`."""
        self.write(f"CONF:FIELD:TARG {format_number(tesla / self._fs())}")

    @property
    def coil_constant(self) -> float:
        """Coil constant, T/A (``COIL?``, in the field units per A)."""
        return self.ask("COIL?", parse_float) * self._fs()

    @coil_constant.setter
    def coil_constant(self, value: float) -> None:
        fs = self._fs()
        v = Range(0.001 * fs, 999.99999 * fs)(value, "AMI430.coil_constant")
        self.write(f"CONF:COIL {v / fs:.10g}")

    @property
    def ramp_rate(self) -> float:
        """Ramp rate of segment 1, T/s (``RAMP:RATE:FIELD:1?`` -> ``rate,upper``)."""
        rate, _upper = self.ask("RAMP:RATE:FIELD:1?", lambda t: parse_csv(t, 2))
        return rate * self._fs() / self._ts()

    @ramp_rate.setter
    def ramp_rate(self, value: float) -> None:
        self.set_ramp_rate(value)

    def set_ramp_rate(self, rate: float, upper: float | None = None) -> None:
        """One ramp segment: ``rate`` (T/s) up to ``upper`` (T; default: the field limit
        or the present segment's bound)."""
        r = Range(0.0, math.inf)(rate, "AMI430.ramp_rate")
        if r == 0:
            raise LimitError("AMI430.ramp_rate: must be > 0")
        self.check_limit("max_ramp_rate", r, mode="upper", unit="T/s", what="AMI430.ramp_rate")
        fs, ts = self._fs(), self._ts()
        if upper is None:
            if "max_field" in self.limits and not isinstance(self.limits["max_field"], tuple):
                upper = float(self.limits["max_field"])
            else:
                upper = self.ask("RAMP:RATE:FIELD:1?", lambda t: parse_csv(t, 2))[1] * fs
        up = Range(0.0, math.inf)(upper, "AMI430.ramp_rate upper field")
        self.write("CONF:RAMP:RATE:SEG 1")
        self.write(f"CONF:RAMP:RATE:FIELD 1,{r * ts / fs:.10g},{up / fs:.10g}")

    # -------------------------------------------------------------- actions
    def ramp(self) -> None:
        """Start ramping to the target (``RAMP``)."""
        self.write("RAMP")

    def pause(self) -> None:
        """Pause the ramp (``PAUSE``)."""
        self.write("PAUSE")

    def zero(self) -> None:
        """Ramp to zero field (``ZERO``)."""
        self.write("ZERO")

    def ramp_to(self, field: float, *, timeout: float, poll: float = 0.1) -> float:
        """Ramp to ``field`` (T) and block until holding; returns the field reached.

        Raises
        ------
        LimitError
            ``field`` beyond ``max_field`` or the present ramp rate beyond
            ``max_ramp_rate`` (nothing was sent).
        InstrumentError
            The magnet is quenched, or ends in a state other than holding.
        InstrumentTimeout
            Still ramping after ``timeout`` s (the ramp is paused first).
        """
        v = self._check_field(field, "AMI430.ramp_to")
        if "max_ramp_rate" in self.limits:
            self.check_limit("max_ramp_rate", self.ramp_rate, mode="upper", unit="T/s",
                             what="AMI430 present ramp rate")
        if self.state == QUENCH:
            raise InstrumentError(self._where("magnet quench detected; not ramping"))
        self._set_target(v)
        self.ramp()
        deadline = time.monotonic() + timeout
        state = self.state
        while state == RAMPING:
            if time.monotonic() > deadline:
                with contextlib.suppress(InstrumentError):
                    self.pause()
                raise InstrumentTimeout(self._where(f"still ramping to {v:g} T after "
                                                    f"{timeout:g} s; paused"))
            time.sleep(poll)
            state = self.state
        if state != HOLDING:
            raise InstrumentError(self._where(f"ramp to {v:g} T ended in state {state} "
                                              f"({STATES.get(state, '?')}), not holding"))
        return self.field
