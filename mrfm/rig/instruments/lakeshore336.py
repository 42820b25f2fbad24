"""Virtual Lake Shore Model 336 temperature controller.

Not SCPI: ``CMD <out>,<val>`` / ``CMD? <out>`` (the real unit: TCP 7777);
requests end in CR LF (LF alone is accepted), replies end in CR LF; ``;``
separates commands and the replies of several queries on one line are
joined with ``;``. Set commands are silent; errors set bits in ``*ESR?``
(32 command error, 16 execution error). Input A is the stage sensor of the
rig's cryostat, B the cold plate at the base temperature; C and D are not
connected (``RDGST?`` 1, invalid reading). Sensor and curve settings:
:mod:`~mrfm.rig.instruments.lakeshore336_inputs`. Heater output 1 controls the
stage: with a heater range on and closed-loop mode, the stage temperature
relaxes to the setpoint with the rig's thermal time constant.
"""

from __future__ import annotations

from mrfm.rig.instruments.base import (
    COMMAND_ERROR,
    CommandError,
    Session,
    StandardEvents,
    VirtualInstrument,
    in_range,
    need,
    parse_float,
    parse_int,
    split_args,
)
from mrfm.rig.instruments.lakeshore336_inputs import INPUT_COMMANDS, InputSettings
from mrfm.rig.instruments.srs_syntax import srs_split

INPUTS = ("A", "B", "C", "D")


def kelvin(value: float) -> str:
    """Lake Shore reading format, e.g. ``+077.350``."""
    return f"{value:+08.3f}"


class LakeShore336(StandardEvents, VirtualInstrument):
    """Model 336 (see module docstring)."""

    driver = "lakeshore.336"
    model = "MODEL336"
    read_termination = "\r\n"
    write_termination = "\r\n"
    real_port = 7777

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.esr = 0
        self.setpoints = {1: state.cryostat.setpoint, 2: 0.0, 3: 0.0, 4: 0.0}
        self.ranges = {1: 0, 2: 0, 3: 0, 4: 0}
        self.outmode = {1: [1, 1, 0], 2: [1, 2, 0], 3: [0, 0, 0], 4: [0, 0, 0]}
        self.pid = {n: [50.0, 20.0, 0.0] for n in range(1, 5)}
        self.ramp = {n: [0, 0.0] for n in range(1, 5)}
        self.inputs = InputSettings()

    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=True)

    def _input(self, text: str) -> str:
        t = text.strip().upper()
        if t not in INPUTS:
            raise CommandError(-222, "Data out of range", f"input {t[:4]!r}")
        return t

    def _output(self, text: str) -> int:
        return int(in_range(parse_int(text, "output"), 1, 4, "output"))

    def _temperature(self, inp: str) -> float:
        if inp == "A":
            return self.state.temperature()
        if inp == "B":
            return self.state.cryostat.base
        return 0.0

    def command(self, command: str) -> str | None:
        """One command; its reply or None."""
        head, query, arg = srs_split(command)
        args = split_args(arg)
        st = self.state
        cryo = st.cryostat
        with st.lock:
            now = st.clock.now()
            if head == "*IDN" and query:
                return f"LSCI,MODEL336,{self.serial}/#######,2.9"
            if head == "*ESR" and query:
                value, self.esr = self.esr, 0
                return str(value)
            if head == "*CLS":
                self.esr = 0
                self.errors.clear()
                return None
            if head == "*OPC" and query:
                return "1"
            if head == "*RST":
                return None
            if head in INPUT_COMMANDS:
                return self.inputs.command(head, query, args)
            if head == "KRDG" and query:
                need(args, 1)
                if args[0].strip() == "0":
                    return ",".join(kelvin(self._temperature(i)) for i in INPUTS)
                return kelvin(self._temperature(self._input(args[0])))
            if head == "SRDG" and query:
                need(args, 1)
                t = self._temperature(self._input(args[0]))
                ohms = 1000.0 * (4.2 / t) ** 0.8 if t > 0 else 0.0  # Cernox-like R(T)
                return f"{ohms:+010.3f}"
            if head == "RDGST" and query:
                need(args, 1)
                return "0" if self._input(args[0]) in ("A", "B") else "1"
            if head == "SETP":
                if query:
                    need(args, 1)
                    out = self._output(args[0])
                    if out == 1:
                        cryo.advance(now)
                        return kelvin(cryo.setpoint)
                    return kelvin(self.setpoints[out])
                need(args, 2)
                out = self._output(args[0])
                value = in_range(parse_float(args[1], "setpoint"), 0.0, 1500.0, "setpoint")
                self.setpoints[out] = value
                if out == 1:
                    cryo.set_setpoint(value, now)
                return None
            if head == "RANGE":
                if query:
                    need(args, 1)
                    return str(self.ranges[self._output(args[0])])
                need(args, 2)
                out = self._output(args[0])
                hi = 3 if out <= 2 else 1
                r = int(in_range(parse_int(args[1], "range"), 0, hi, "range"))
                self.ranges[out] = r
                if out == 1:
                    cryo.advance(now)
                    cryo.heater_range = r
                return None
            if head == "HTR" and query:
                need(args, 1)
                out = self._output(args[0])
                pct = cryo.heater_percent(now) if out == 1 else 0.0
                return f"{pct:+06.1f}"
            if head == "OUTMODE":
                if query:
                    need(args, 1)
                    return ",".join(str(v) for v in self.outmode[self._output(args[0])])
                need(args, 4)
                out = self._output(args[0])
                mode = int(in_range(parse_int(args[1], "mode"), 0, 5, "mode"))
                if mode in (4, 5) and out <= 2:
                    raise CommandError(-222, "Data out of range", "mode 4/5 only on outputs 3-4")
                inp = int(in_range(parse_int(args[2], "input"), 0, 4, "input"))
                pwr = int(in_range(parse_int(args[3], "powerup"), 0, 1, "powerup"))
                self.outmode[out] = [mode, inp, pwr]
                if out == 1:
                    cryo.advance(now)
                    cryo.mode = mode
                return None
            if head == "PID":
                if query:
                    need(args, 1)
                    return ",".join(f"{v:+.1f}" for v in self.pid[self._output(args[0])])
                need(args, 4)
                out = self._output(args[0])
                self.pid[out] = [
                    in_range(parse_float(args[1]), 0.1, 1000.0, "P"),
                    in_range(parse_float(args[2]), 0.1, 1000.0, "I"),
                    in_range(parse_float(args[3]), 0.0, 200.0, "D"),
                ]
                return None
            if head == "RAMP":
                if query:
                    need(args, 1)
                    on, rate = self.ramp[self._output(args[0])]
                    return f"{on},{rate:+.1f}"
                need(args, 3)
                out = self._output(args[0])
                on = int(in_range(parse_int(args[1], "on"), 0, 1, "on"))
                rate = in_range(parse_float(args[2], "rate"), 0.0, 100.0, "rate")
                self.ramp[out] = [on, rate]
                if out == 1:
                    cryo.advance(now)
                    cryo.ramp_on, cryo.ramp_rate = bool(on), rate / 60.0
                return None
            if head == "RAMPST" and query:
                need(args, 1)
                out = self._output(args[0])
                if out != 1:
                    return "0"
                cryo.advance(now)
                return "1" if cryo.ramp_on and cryo.setpoint != cryo.setpoint_target else "0"
        raise CommandError.of(COMMAND_ERROR, f"unknown command {head[:20]!r}")
