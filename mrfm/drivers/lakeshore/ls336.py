"""Lake Shore Model 336 cryogenic temperature controller.

Not SCPI: ``CMD <out>,<value>`` / ``CMD? <out>`` (Model 336 manual, ch. 6), CR LF
replies; USB appears as a serial port at 57600 baud, 7 data bits, odd parity;
Ethernet uses TCP port 7777. Set commands are silent; the driver reads ``*ESR?``
after each (bit 4 execution error, bit 5 command error). The properties act on
heater output :attr:`LS336.output` (1 by default); temperatures are read per
input A-D with :meth:`LS336.temperature`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import (
    Instrument,
    InvalidResponse,
    LimitError,
    Measurement,
    Range,
    Setting,
    check_esr,
    parse_csv,
    parse_float,
    parse_int,
)
from mrfm.rigdef.registry import terminations

INPUTS = ("A", "B", "C", "D")
#: RANGE codes of outputs 1-2 (outputs 3-4 only have 0 off / 1 on)
HEATER_RANGES = ["off", "low", "medium", "high"]
OUTPUT_MODES = ["off", "closed_loop", "zone", "open_loop", "monitor_out", "warm_up"]


def _input(sensor: str) -> str:
    s = str(sensor).strip().upper()
    if s not in INPUTS:
        raise LimitError(f"LS336: input {sensor!r} is not one of A, B, C, D")
    return s


class LS336(Instrument):
    """Model 336 temperature controller.

    Parameters
    ----------
    resource : str
        VISA resource string.
    output : int
        Heater output (1-4) the properties act on.
    **kwargs
        See :class:`~mrfm.drivers.base.Instrument`. ``limits`` keys: ``setpoint``
        (K, upper bound or range), ``heater_range`` (largest allowed range name),
        ``ramp_rate`` (K/min, upper bound).
    """

    model = "LS336"
    read_termination, write_termination = terminations("lakeshore.336")
    limit_keys: Mapping[str, str] = {
        "setpoint": "setpoint, K (upper bound or (lo, hi))",
        "heater_range": "highest heater range allowed: off, low, medium or high",
        "ramp_rate": "largest setpoint ramp rate, K/min",
    }

    def __init__(self, resource: str, *, output: int = 1, **kwargs: Any) -> None:
        self.output = output
        super().__init__(resource, **kwargs)

    @property
    def output(self) -> int:
        """Heater output (1-4) the properties act on."""
        return self._output

    @output.setter
    def output(self, value: int) -> None:
        self._output = Range(1, 4, integer=True)(value, "LS336.output")

    def command_fields(self) -> dict[str, Any]:
        return {"out": self._output}

    def check_errors(self, after: str = "") -> None:
        """``*ESR?`` after a set."""
        check_esr(self, after)

    def _parse_limits(self, limits: Mapping[str, Any]) -> dict[str, Any]:
        lim = dict(limits)
        hr = lim.pop("heater_range", None)
        out = super()._parse_limits(lim)
        if hr is not None:
            if hr not in HEATER_RANGES:
                raise ValueError(f"LS336: limit heater_range must be one of {HEATER_RANGES}")
            out["heater_range"] = hr
        return out

    # ------------------------------------------------------------- readings
    def temperature(self, sensor: str = "A") -> float:
        """Temperature of input ``sensor`` (A-D), K."""
        return self.ask(f"KRDG? {_input(sensor)}", parse_float)

    def sensor_reading(self, sensor: str = "A") -> float:
        """Raw sensor reading of input ``sensor`` (ohm or V)."""
        return self.ask(f"SRDG? {_input(sensor)}", parse_float)

    def reading_status(self, sensor: str = "A") -> int:
        """``RDGST?`` bit flags of input ``sensor`` (0 = valid reading)."""
        return self.ask(f"RDGST? {_input(sensor)}", parse_int)

    temperature_a = Measurement("KRDG? A", unit="K", doc="Input A temperature.")
    temperature_b = Measurement("KRDG? B", unit="K", doc="Input B temperature.")
    temperature_c = Measurement("KRDG? C", unit="K", doc="Input C temperature.")
    temperature_d = Measurement("KRDG? D", unit="K", doc="Input D temperature.")

    # ------------------------------------------------------------- settings
    setpoint = Setting("SETP? {out}", "SETP {out},{}", unit="K", validator=Range(0.0, 1500.0),
                       limit_mode="upper", doc="Control setpoint of the output.")
    heater_output = Measurement("HTR? {out}", unit="%", doc="Heater output, % of range.")
    ramping = Measurement("RAMPST? {out}", parse=lambda t: bool(parse_int(t)),
                          doc="True while the setpoint ramps.")

    logged = ("output", "setpoint", "heater_range", "heater_output")

    @property
    def heater_range(self) -> str:
        """off, low, medium, high (outputs 1-2) or off, on (outputs 3-4)."""
        names = HEATER_RANGES if self._output <= 2 else ["off", "on"]

        def parse(text: str) -> str:
            code = parse_int(text)
            if not 0 <= code < len(names):
                raise ValueError(f"{code} is not a range of output {self._output}")
            return names[code]

        return self.ask(f"RANGE? {self._output}", parse)

    @heater_range.setter
    def heater_range(self, name: str) -> None:
        names = HEATER_RANGES if self._output <= 2 else ["off", "on"]
        key = str(name).strip().lower()
        if key not in names:
            raise LimitError(f"LS336.heater_range: {name!r} not one of {names} for output "
                             f"{self._output}")
        cap = self.limits.get("heater_range")
        if cap is not None and self._output <= 2 and names.index(key) > names.index(cap):
            raise LimitError(f"LS336.heater_range: {key!r} above this instrument's limit "
                             f"{cap!r}; nothing was sent")
        self.write(f"RANGE {self._output},{names.index(key)}")

    @property
    def pid(self) -> tuple[float, float, float]:
        """(P, I, D) of the output's control loop."""
        p, i, d = self.ask(f"PID? {self._output}", lambda t: parse_csv(t, 3))
        return p, i, d

    @pid.setter
    def pid(self, values: tuple[float, float, float]) -> None:
        if len(values) != 3:
            raise LimitError(f"LS336.pid: expected (P, I, D), got {values!r}")
        p = Range(0.1, 1000.0)(values[0], "LS336.pid P")
        i = Range(0.1, 1000.0)(values[1], "LS336.pid I")
        d = Range(0.0, 200.0)(values[2], "LS336.pid D")
        self.write(f"PID {self._output},{p:.10g},{i:.10g},{d:.10g}")

    @property
    def ramp(self) -> tuple[bool, float]:
        """(enabled, rate K/min) of the setpoint ramp."""
        on, rate = self.ask(f"RAMP? {self._output}", lambda t: parse_csv(t, 2))
        if on not in (0.0, 1.0):
            raise InvalidResponse(f"LS336: RAMP? answered on/off = {on:g}")
        return bool(on), rate

    def set_ramp(self, enabled: bool, rate: float) -> None:
        """Enable/disable the setpoint ramp at ``rate`` K/min (0.1-100; 0 = as fast as possible)."""
        r = Range(0.0, 100.0)(rate, "LS336.ramp rate")
        self.check_limit("ramp_rate", r, mode="upper", unit="K/min", what="LS336.ramp rate")
        self.write(f"RAMP {self._output},{int(bool(enabled))},{r:.10g}")

    @property
    def output_mode(self) -> tuple[str, str, bool]:
        """(mode, control input, power-up enable) of the output (``OUTMODE?``)."""
        mode, inp, pwrup = self.ask(f"OUTMODE? {self._output}", lambda t: parse_csv(t, 3))
        m = int(mode)
        if not 0 <= m < len(OUTPUT_MODES) or not 0 <= int(inp) <= 4:
            raise InvalidResponse(f"LS336: OUTMODE? answered {mode:g},{inp:g}")
        return OUTPUT_MODES[m], "none" if int(inp) == 0 else INPUTS[int(inp) - 1], bool(pwrup)

    def set_output_mode(self, mode: str, sensor: str = "A", powerup: bool = False) -> None:
        """Set the output's mode (``closed_loop`` ...) and its control input."""
        key = str(mode).strip().lower()
        if key not in OUTPUT_MODES:
            raise LimitError(f"LS336.output_mode: {mode!r} not one of {OUTPUT_MODES}")
        if key in ("monitor_out", "warm_up") and self._output <= 2:
            raise LimitError(f"LS336.output_mode: {key} exists on outputs 3-4 only")
        inp = INPUTS.index(_input(sensor)) + 1
        self.write(f"OUTMODE {self._output},{OUTPUT_MODES.index(key)},{inp},{int(bool(powerup))}")
