"""Virtual American Magnetics Model 430 magnet power supply programmer.

Ethernet protocol (the real unit: TCP 7180), CR LF both ways. On connect the
unit sends ``American Magnetics Model 430 IP Interface`` and ``Hello.``, not at
once but after its network interface has set up the session
(:data:`GREETING_DELAY`): a client that clears the device right after
connecting (QCoDeS does; pyvisa-py's clear on a socket discards what arrives
until 0.1 s of silence) still reads the greeting, as with the real unit.
Requests sent before the greeting are answered after it.
SCPI-style headers with short and long forms (``CONF:FIELD:TARG``,
``CONFigure:FIELD:TARGet``); set commands are silent, errors go to the queue
read with ``SYST:ERR?``. Persistent switch: ``PS?``, ``PS 0|1``, ``PS:INST?``
(``CONF:PS 0|1``), heater current ``PS:CURR?`` (mA), heating and cooling times
``PS:HTIME?``, ``PS:CTIME?`` (s), each set with ``CONF:PS:...``. ``STATE?``: 1 ramping,
2 holding, 3 paused, 6 zeroing, 8 at zero. The supply starts paused at the rig's initial field.

Field units follow ``CONF:FIELD:UNITS`` (0 kG, 1 T; the virtual rig starts in
tesla, as the lab configured it, ``options.field_units``) and ramp-rate time
units ``CONF:RAMP:RATE:UNITS`` (0 per second, 1 per minute). Ramp segments
``CONF:RAMP:RATE:FIELD <seg>,<rate>,<upper>`` set the rate below each upper
field; a ramp uses the slowest segment rate within the fields it crosses.
Targets above the lab's ``max_field`` (or coil constant x current limit) and
rates above ``max_field_rate`` are refused with -222.
"""

from __future__ import annotations

import time

from mrfm.rig.instruments.base import (
    DATA_OUT_OF_RANGE,
    MISSING_PARAMETER,
    UNDEFINED_HEADER,
    CommandError,
    Session,
    VirtualInstrument,
    in_range,
    parse_float,
    parse_int,
    scpi_match,
    split_args,
)

KG_PER_T = 10.0
#: seconds from accepting a connection to sending the greeting (the 430's Ethernet
#: interface answers after it has opened the session; longer than pyvisa-py's 0.1 s
#: clear, so a client that clears on connect still reads it)
GREETING_DELAY = 0.3


class AMI430(VirtualInstrument):
    """AMI 430 (see module docstring)."""

    driver = "ami.430"
    model = "MODEL 430"
    read_termination = "\r\n"
    write_termination = "\r\n"
    real_port = 7180

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.field_units = int(self.options.get("field_units", 1))
        self.rate_units = 0
        limit = state.limits
        self.segments = [[min(0.01, limit.max_field_rate), limit.max_field]]
        self.current_limit = limit.max_field / state.magnet.coil_constant
        self.persistent_heater = True
        self.switch_installed = True
        self.heater_current = 20.0  # mA
        self.heat_time = 20  # s
        self.cool_time = 20  # s
        self.voltage_limit = 2.0  # V
        self.quench = False
        self._apply_rate()

    def banner(self) -> bytes:
        """The greeting, after :data:`GREETING_DELAY` (called in the connection's thread)."""
        time.sleep(GREETING_DELAY)
        return b"American Magnetics Model 430 IP Interface\r\nHello.\r\n"

    # units -----------------------------------------------------------------
    def _field_out(self, tesla: float) -> float:
        return tesla * KG_PER_T if self.field_units == 0 else tesla

    def _field_in(self, value: float) -> float:
        return value / KG_PER_T if self.field_units == 0 else value

    def _rate_out(self, t_per_s: float) -> float:
        return self._field_out(t_per_s) * (60.0 if self.rate_units == 1 else 1.0)

    def _rate_in(self, value: float) -> float:
        return self._field_in(value) / (60.0 if self.rate_units == 1 else 1.0)

    def _apply_rate(self) -> None:
        mag = self.state.magnet
        now = self.state.clock.now()
        lo = min(abs(mag.field(now)), abs(mag.target))
        hi = max(abs(mag.field(now)), abs(mag.target))
        rates, lower = [], 0.0
        for rate, upper in self.segments:
            if upper >= lo and lower <= hi:
                rates.append(rate)
            lower = upper
        mag.set_rate(min(rates) if rates else self.segments[-1][0], now)

    # protocol --------------------------------------------------------------
    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=False)

    def command(self, command: str) -> str | None:
        """One command; its reply or None."""
        header, _, arg = command.partition(" ")
        query = header.endswith("?")
        header = header.rstrip("?")
        args = split_args(arg)
        st = self.state
        mag = st.magnet
        f6 = "{:.10f}".format
        with st.lock:
            now = st.clock.now()
            if header.upper() == "*IDN" and query:
                return f"AMERICAN MAGNETICS INC.,MODEL 430,{self.serial},2.01"
            if header.upper() == "*CLS":
                self.errors.clear()
                return None
            if header.upper() == "*RST":
                mag.pause(now)
                return None
            if header.upper() == "*OPC" and query:
                return "1"
            if header.upper() == "*STB" and query:  # bit 2: the error queue holds errors
                return "4" if self.errors else "0"
            if scpi_match(header, "SYSTem:ERRor") is not None and query:
                code, msg = self.pop_error()
                return f"{code},\"{msg}\""
            if query:
                if scpi_match(header, "FIELD:MAGnet") is not None or scpi_match(
                    header, "FIELD:MAGnitude"
                ) is not None:
                    return f6(self._field_out(mag.field(now)))
                if scpi_match(header, "FIELD:TARGet") is not None:
                    return f6(self._field_out(mag.target))
                if scpi_match(header, "STATE") is not None:
                    return str(mag.state_code(now))
                if scpi_match(header, "CURRent:MAGnet") is not None or scpi_match(
                    header, "CURRent:SUPPly"
                ) is not None:
                    return f6(mag.field(now) / mag.coil_constant)
                if scpi_match(header, "CURRent:TARGet") is not None:
                    return f6(mag.target / mag.coil_constant)
                if scpi_match(header, "CURRent:LIMit") is not None:
                    return f6(self.current_limit)
                if scpi_match(header, "COILconst") is not None:
                    return f6(mag.coil_constant)
                if scpi_match(header, "FIELD:UNITS") is not None:
                    return str(self.field_units)
                if scpi_match(header, "RAMP:RATE:UNITS") is not None:
                    return str(self.rate_units)
                if scpi_match(header, "RAMP:RATE:SEGments") is not None:
                    return str(len(self.segments))
                if (m := scpi_match(header, "RAMP:RATE:FIELD:#")) is not None:
                    seg = int(in_range(m[0], 1, len(self.segments), "segment"))
                    rate, upper = self.segments[seg - 1]
                    return f"{f6(self._rate_out(rate))},{f6(self._field_out(upper))}"
                if (m := scpi_match(header, "RAMP:RATE:CURRent:#")) is not None:
                    seg = int(in_range(m[0], 1, len(self.segments), "segment"))
                    rate, upper = self.segments[seg - 1]
                    k = mag.coil_constant
                    scale = 60.0 if self.rate_units == 1 else 1.0
                    return f"{f6(rate / k * scale)},{f6(upper / k)}"
                if scpi_match(header, "PSwitch") is not None:
                    return "1" if self.persistent_heater else "0"
                if scpi_match(header, "PSwitch:INSTalled") is not None:
                    return "1" if self.switch_installed else "0"
                if scpi_match(header, "PSwitch:CURRent") is not None:
                    return f"{self.heater_current:.1f}"
                if scpi_match(header, "PSwitch:HTIME") is not None:
                    return str(self.heat_time)
                if scpi_match(header, "PSwitch:CTIME") is not None:
                    return str(self.cool_time)
                if scpi_match(header, "VOLTage:LIMit") is not None:
                    return f6(self.voltage_limit)
                if scpi_match(header, "PERSistent") is not None:
                    return "0" if self.persistent_heater else "1"
                if scpi_match(header, "QUench") is not None:
                    return "1" if self.quench else "0"
                if scpi_match(header, "VOLTage:SUPPly") is not None:
                    return f6(0.0)
                raise CommandError.of(UNDEFINED_HEADER, header[:40])
            # set commands ---------------------------------------------------
            if scpi_match(header, "RAMP") is not None:
                if self.quench:
                    raise CommandError(-221, "Settings conflict", "quench")
                self._apply_rate()
                mag.ramp(now)
                return None
            if scpi_match(header, "PAUSE") is not None:
                mag.pause(now)
                return None
            if scpi_match(header, "ZERO") is not None:
                mag.zero(now)
                return None
            if scpi_match(header, "CONFigure:FIELD:TARGet") is not None:
                self._need(args, 1)
                tesla = self._field_in(parse_float(args[0], "target"))
                limit = min(st.limits.max_field, mag.coil_constant * self.current_limit)
                in_range(tesla, -limit, limit, "field target (T)")
                mag.set_target(tesla, now)
                self._apply_rate()
                return None
            if scpi_match(header, "CONFigure:CURRent:TARGet") is not None:
                self._need(args, 1)
                amps = parse_float(args[0], "current target")
                in_range(abs(amps), 0.0, self.current_limit, "current target (A)")
                tesla = amps * mag.coil_constant
                in_range(tesla, -st.limits.max_field, st.limits.max_field, "field target (T)")
                mag.set_target(tesla, now)
                self._apply_rate()
                return None
            if scpi_match(header, "CONFigure:VOLTage:LIMit") is not None:
                self._need(args, 1)
                self.voltage_limit = in_range(parse_float(args[0]), 0.001, 20.0, "voltage")
                return None
            if scpi_match(header, "CONFigure:PSwitch") is not None:
                self._need(args, 1)
                self.switch_installed = bool(in_range(parse_int(args[0]), 0, 1, "PS"))
                return None
            if scpi_match(header, "CONFigure:PSwitch:CURRent") is not None:
                self._need(args, 1)
                self.heater_current = in_range(parse_float(args[0]), 0.0, 125.0, "mA")
                return None
            if (m := self._ps_time(header)) is not None:
                self._need(args, 1)
                seconds = int(in_range(parse_int(args[0]), 5, 120, "seconds"))
                if m == "HTIME":
                    self.heat_time = seconds
                else:
                    self.cool_time = seconds
                return None
            if scpi_match(header, "CONFigure:FIELD:UNITS") is not None:
                self._need(args, 1)
                self.field_units = int(in_range(parse_int(args[0]), 0, 1, "units"))
                return None
            if scpi_match(header, "CONFigure:RAMP:RATE:UNITS") is not None:
                self._need(args, 1)
                self.rate_units = int(in_range(parse_int(args[0]), 0, 1, "units"))
                return None
            if scpi_match(header, "CONFigure:RAMP:RATE:SEGments") is not None:
                self._need(args, 1)
                n = int(in_range(parse_int(args[0]), 1, 10, "segments"))
                last = self.segments[-1]
                self.segments = (self.segments + [list(last)] * n)[:n]
                self._apply_rate()
                return None
            current = scpi_match(header, "CONFigure:RAMP:RATE:CURRent") is not None
            if current or scpi_match(header, "CONFigure:RAMP:RATE:FIELD") is not None:
                self._need(args, 3)
                seg = int(in_range(parse_int(args[0]), 1, len(self.segments), "segment"))
                rate = parse_float(args[1], "rate")
                upper = parse_float(args[2], "upper bound")
                if current:  # A/s (or A/min) and A: the coil constant makes them fields
                    k = mag.coil_constant
                    rate = rate * k / (60.0 if self.rate_units == 1 else 1.0)
                    upper = upper * k
                else:
                    rate, upper = self._rate_in(rate), self._field_in(upper)
                in_range(rate, 1e-7, st.limits.max_field_rate, "ramp rate (T/s)")
                in_range(upper, 0.0, st.limits.max_field * 10.0, "upper bound (T)")
                self.segments[seg - 1] = [rate, upper]
                self._apply_rate()
                return None
            if scpi_match(header, "CONFigure:COILconst") is not None:
                self._need(args, 1)
                mag.coil_constant = in_range(parse_float(args[0]), 0.001, 999.99999, "coil")
                return None
            if scpi_match(header, "CONFigure:CURRent:LIMit") is not None:
                self._need(args, 1)
                self.current_limit = in_range(parse_float(args[0]), 0.0, 1000.0, "current")
                return None
            if scpi_match(header, "PSwitch") is not None:
                self._need(args, 1)
                if not self.switch_installed:
                    raise CommandError(-221, "Settings conflict", "no persistent switch")
                self.persistent_heater = bool(in_range(parse_int(args[0]), 0, 1, "PS"))
                return None
            if scpi_match(header, "QUench") is not None:
                self._need(args, 1)
                self.quench = bool(in_range(parse_int(args[0]), 0, 1, "QU"))
                if self.quench:
                    mag.pause(now)
                return None
        raise CommandError.of(UNDEFINED_HEADER, header[:40])

    @staticmethod
    def _ps_time(header: str) -> str | None:
        """``HTIME`` or ``CTIME`` for ``CONF:PS:HTIME`` / ``CONF:PS:CTIME``, else None."""
        for word in ("HTIME", "CTIME"):
            if scpi_match(header, f"CONFigure:PSwitch:{word}") is not None:
                return word
        return None

    @staticmethod
    def _need(args: list[str], n: int) -> None:
        if len(args) < n:
            raise CommandError.of(MISSING_PARAMETER)
        if len(args) > n:
            raise CommandError.of(DATA_OUT_OF_RANGE, "too many parameters")
