"""Virtual Keysight 33500B-series waveform generator (33511B/33512B/33521B/33522B).

SCPI over a raw socket (the real unit listens on TCP 5025), LF both ways;
short and long forms (``SOUR1:FREQ``, ``SOURce1:FREQuency``), optional
``SOURce`` node, ``;`` between commands. Set commands are silent; errors go
to the SCPI queue read with ``SYSTem:ERRor?`` (``+0,"No error"``,
``-113,"Undefined header"``, ``-222,"Data out of range"``, ...). Numbers are
returned as ``+1.000000000000000E+03``, choices in their short form (``SWE``,
``NEG``, ``INV``, ``GAT``). Besides the waveform (function, frequency, amplitude,
offset, phase, unit, load, output): ramp symmetry, pulse width, frequency mode,
trigger source/slope/count/delay/timer, output polarity, burst state/mode/cycles/
phase/gate polarity/internal period, and the sync output (``OUTP:SYNC``,
``OUTP:SYNC:SOUR CH1|CH2``), high and low levels (``VOLT:HIGH``, ``VOLT:LOW``: the
offset +- half the amplitude), square and pulse duty cycles, pulse period, edges and
hold, arbitrary-waveform rate, filter and advance (the loaded waveform is the built-in
``EXP_RISE``), the trigger output ``OUTP:TRIG``, ``*STB?`` (bit 2: errors queued) and
``*OPT?`` (``0``: none of the memory, security, IQ-player or OCXO options installed).
"""

from __future__ import annotations

from mrfm.rig.instruments.base import (
    ILLEGAL_PARAMETER,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    UNDEFINED_HEADER,
    CommandError,
    Session,
    VirtualInstrument,
    in_range,
    parse_float,
    parse_int,
    scpi_bool,
    scpi_match,
)

FUNCTIONS = {"SIN": "SIN", "SINUSOID": "SIN", "SQU": "SQU", "SQUARE": "SQU", "TRI": "TRI",
             "TRIANGLE": "TRI", "RAMP": "RAMP", "PULS": "PULS", "PULSE": "PULS", "PRBS": "PRBS",
             "NOIS": "NOIS", "NOISE": "NOIS", "ARB": "ARB", "DC": "DC"}
INF_LOAD = 9.9e37

#: numeric settings beyond the basic waveform: pattern -> (key, lowest, highest, default)
NUMERIC = (
    ("[SOURce#:]FUNCtion:RAMP:SYMMetry", "SYMM", 0.0, 100.0, 100.0),
    ("[SOURce#:]FUNCtion:PULSe:WIDTh", "PWID", 16e-9, 1e6, 1e-4),
    ("[SOURce#:]BURSt:PHASe", "BPH", -360.0, 360.0, 0.0),
    ("[SOURce#:]BURSt:INTernal:PERiod", "BPER", 1e-6, 8000.0, 1e-2),
    ("TRIGger#:COUNt", "TCOU", 1.0, 1e6, 1.0),
    ("TRIGger#:DELay", "TDEL", 0.0, 1000.0, 0.0),
    ("TRIGger#:TIMer", "TTIM", 1e-6, 8000.0, 1e-3),
    ("[SOURce#:]FUNCtion:SQUare:DCYCle", "SDC", 0.01, 99.99, 50.0),
    ("[SOURce#:]FUNCtion:PULSe:DCYCle", "PDC", 0.0, 100.0, 10.0),
    ("[SOURce#:]FUNCtion:PULSe:PERiod", "PPER", 33e-9, 1e6, 1e-3),
    ("[SOURce#:]FUNCtion:PULSe:TRANsition[:BOTH]", "PTR", 8.4e-9, 1e-6, 10e-9),
    ("[SOURce#:]FUNCtion:ARBitrary:SRATe", "ASR", 1e-6, 250e6, 40e3),
)
#: choice settings: pattern -> (key, {accepted word: reply}, default)
CHOICES = (
    ("[SOURce#:]FREQuency:MODE", "FMOD", {"CW": "CW", "FIX": "FIX", "FIXED": "FIX",
                                          "LIST": "LIST", "SWE": "SWE", "SWEEP": "SWE"}, "CW"),
    ("TRIGger#:SLOPe", "TSLO", {"POS": "POS", "POSITIVE": "POS", "NEG": "NEG",
                                "NEGATIVE": "NEG"}, "POS"),
    ("OUTPut#:POLarity", "POL", {"NORM": "NORM", "NORMAL": "NORM", "INV": "INV",
                                 "INVERTED": "INV"}, "NORM"),
    ("[SOURce#:]BURSt:MODE", "BMOD", {"TRIG": "TRIG", "TRIGGERED": "TRIG", "GAT": "GAT",
                                      "GATED": "GAT"}, "TRIG"),
    ("[SOURce#:]BURSt:GATE:POLarity", "BGP", {"NORM": "NORM", "NORMAL": "NORM", "INV": "INV",
                                              "INVERTED": "INV"}, "NORM"),
    ("[SOURce#:]FUNCtion:PULSe:HOLD", "PHOLD", {"WIDT": "WIDT", "WIDTH": "WIDT", "DCYC": "DCYC",
                                                "DCYCLE": "DCYC"}, "WIDT"),
    ("[SOURce#:]FUNCtion:ARBitrary:FILTer", "AFIL", {"NORM": "NORM", "NORMAL": "NORM",
                                                     "STEP": "STEP", "OFF": "OFF"}, "STEP"),
    ("[SOURce#:]FUNCtion:ARBitrary:ADVance", "AADV", {"TRIG": "TRIG", "TRIGGER": "TRIG",
                                                      "SRAT": "SRAT", "SRATE": "SRAT"}, "SRAT"),
)
#: the arbitrary waveform every channel starts with (the unit's built-in one)
DEFAULT_ARB = '"INT:\\BUILTIN\\EXP_RISE.ARB"'



def sci(value: float) -> str:
    """Keysight number format: ``+1.000000000000000E+03``."""
    return f"{value:+.15E}"


class Keysight33500B(VirtualInstrument):
    """33500B waveform generator (see module docstring); ``options.model`` e.g. 33522B."""

    driver = "keysight.33500b"
    read_termination = "\n"
    write_termination = "\n"
    real_port = 5025

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.model = str(self.options.get("model", "33522B"))
        self.channels = 1 if self.model in ("33511B", "33521B") else 2
        self.max_freq = 30e6 if self.model.startswith("3352") else 20e6
        self.reset()

    def reset(self) -> None:
        """``*RST`` defaults."""
        self.ch = {
            n: {"FUNC": "SIN", "FREQ": 1000.0, "VOLT": 0.1, "OFFS": 0.0, "UNIT": "VPP",
                "PHAS": 0.0, "OUTP": False, "LOAD": 50.0, "BURS": False, "NCYC": 1.0,
                "TRIG": "IMM"}
            for n in range(1, self.channels + 1)
        }
        for c in self.ch.values():
            c.update({key: default for _, key, _, _, default in NUMERIC})
            c.update({key: default for _, key, _, default in CHOICES})
        for c in self.ch.values():
            c["ARB"] = DEFAULT_ARB
        self.sync_on = True
        self.sync_source = 1
        self.trigger_out = False

    def _channel(self, n: int) -> dict:
        if n not in self.ch:
            raise CommandError.of(UNDEFINED_HEADER, f"channel {n}")
        return self.ch[n]

    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=True)

    def command(self, command: str) -> str | None:
        """One SCPI command; its reply or None."""
        header, _, arg = command.partition(" ")
        query = header.endswith("?")
        header = header.rstrip("?")
        arg = arg.strip()
        up = arg.upper()

        def want_arg() -> None:
            if not arg:
                raise CommandError.of(MISSING_PARAMETER, header)

        if header.upper() == "*IDN" and query:
            return f"Keysight Technologies,{self.model},MY{self.serial},4.00-1.19-2.00-58-00"
        if header.upper() == "*RST":
            self.reset()
            return None
        if header.upper() == "*CLS":
            self.errors.clear()
            return None
        if header.upper() == "*OPC" and query:
            return "1"
        if header.upper() == "*OPT" and query:  # IEEE 488.2: 0, no reportable option
            return "0"
        if scpi_match(header, "SYSTem:ERRor[:NEXT]") is not None and query:
            code, msg = self.pop_error()
            return f"{code:+d},\"{msg}\""
        if (m := scpi_match(header, "[SOURce#:]FUNCtion[:SHAPe]")) is not None:
            c = self._channel(m[0])
            if query:
                return c["FUNC"]
            want_arg()
            if up not in FUNCTIONS:
                raise CommandError.of(ILLEGAL_PARAMETER, arg[:20])
            c["FUNC"] = FUNCTIONS[up]
            return None
        simple = (
            ("[SOURce#:]FREQuency[:CW]", "FREQ", (1e-6, self.max_freq)),
            ("[SOURce#:]VOLTage[:LEVel][:IMMediate][:AMPLitude]", "VOLT", (0.001, 10.0)),
            ("[SOURce#:]VOLTage[:LEVel][:IMMediate]:OFFSet", "OFFS", (-4.995, 4.995)),
            ("[SOURce#:]PHASe[:ADJust]", "PHAS", (-360.0, 360.0)),
            ("[SOURce#:]BURSt:NCYCles", "NCYC", (1.0, 1e8)),
        )
        for pattern, key, (lo, hi) in simple:
            if (m := scpi_match(header, pattern)) is not None:
                c = self._channel(m[0])
                if query:
                    return sci(c[key])
                want_arg()
                if key == "NCYC" and up in ("INF", "INFINITY"):
                    c[key] = 9.9e37
                    return None
                c[key] = in_range(parse_float(arg, key), lo, hi, key)
                return None
        if (m := scpi_match(header, "[SOURce#:]VOLTage:UNIT")) is not None:
            c = self._channel(m[0])
            if query:
                return c["UNIT"]
            if up not in ("VPP", "VRMS", "DBM"):
                raise CommandError.of(ILLEGAL_PARAMETER, arg[:20])
            c["UNIT"] = up
            return None
        if (m := scpi_match(header, "[SOURce#:]BURSt:STATe")) is not None:
            c = self._channel(m[0])
            if query:
                return "1" if c["BURS"] else "0"
            want_arg()
            c["BURS"] = scpi_bool(arg)
            return None
        if (m := scpi_match(header, "TRIGger#:SOURce")) is not None:
            c = self._channel(m[0])
            if query:
                return c["TRIG"]
            sources = {"IMM": "IMM", "IMMEDIATE": "IMM", "EXT": "EXT", "EXTERNAL": "EXT",
                       "TIM": "TIM", "TIMER": "TIM", "BUS": "BUS"}
            if up not in sources:
                raise CommandError.of(ILLEGAL_PARAMETER, arg[:20])
            c["TRIG"] = sources[up]
            return None
        if (m := scpi_match(header, "OUTPut#[:STATe]")) is not None:
            c = self._channel(m[0])
            if query:
                return "1" if c["OUTP"] else "0"
            want_arg()
            c["OUTP"] = scpi_bool(arg)
            return None
        if (m := scpi_match(header, "OUTPut#:LOAD")) is not None:
            c = self._channel(m[0])
            if query:
                return sci(c["LOAD"])
            want_arg()
            if up in ("INF", "INFINITY"):
                c["LOAD"] = INF_LOAD
            else:
                c["LOAD"] = in_range(parse_float(arg, "LOAD"), 1.0, 10000.0, "LOAD")
            return None
        for pattern, key, lo, hi, _ in NUMERIC:
            if (m := scpi_match(header, pattern)) is not None:
                c = self._channel(m[0])
                if query:
                    return sci(c[key])
                want_arg()
                c[key] = in_range(parse_float(arg, key), lo, hi, key)
                return None
        for pattern, key, words, _ in CHOICES:
            if (m := scpi_match(header, pattern)) is not None:
                c = self._channel(m[0])
                if query:
                    return c[key]
                want_arg()
                if up not in words:
                    raise CommandError.of(ILLEGAL_PARAMETER, arg[:20])
                c[key] = words[up]
                return None
        if (m := scpi_match(header, "[SOURce#:]VOLTage[:LEVel][:IMMediate]:HIGH")) is not None:
            return self._level(self._channel(m[0]), +1, query, arg)
        if (m := scpi_match(header, "[SOURce#:]VOLTage[:LEVel][:IMMediate]:LOW")) is not None:
            return self._level(self._channel(m[0]), -1, query, arg)
        if (m := scpi_match(header, "[SOURce#:]FUNCtion:ARBitrary")) is not None:
            c = self._channel(m[0])
            if query:
                return c["ARB"]
            if len(arg) < 3 or arg[0] not in "\"'" or arg[-1] != arg[0]:
                raise CommandError.of(ILLEGAL_PARAMETER, "a quoted waveform name")
            c["ARB"] = '"' + arg[1:-1] + '"'
            return None
        if scpi_match(header, "OUTPut:TRIGger[:STATe]") is not None:
            if query:
                return "1" if self.trigger_out else "0"
            want_arg()
            self.trigger_out = scpi_bool(arg)
            return None
        if header.upper() == "*STB" and query:  # bit 2: the error queue holds errors
            return "4" if self.errors else "0"
        if scpi_match(header, "OUTPut:SYNC[:STATe]") is not None:
            if query:
                return "1" if self.sync_on else "0"
            want_arg()
            self.sync_on = scpi_bool(arg)
            return None
        if scpi_match(header, "OUTPut:SYNC:SOURce") is not None:
            if query:
                return f"CH{self.sync_source}"
            if up not in ("CH1", "CH2") or int(up[2]) > self.channels:
                raise CommandError.of(ILLEGAL_PARAMETER, arg[:20])
            self.sync_source = int(up[2])
            return None
        if scpi_match(header, "SYSTem:BEEPer[:IMMediate]") is not None and not query:
            return None
        if header.upper() == "*ESE" and not query:
            parse_int(arg, "*ESE")
            return None
        raise CommandError.of(UNDEFINED_HEADER, header[:40])

    def _level(self, c: dict, sign: int, query: bool, arg: str) -> str | None:
        """``VOLT:HIGH`` (sign +1) or ``VOLT:LOW`` (-1): offset +- amplitude/2 (Vpp); setting
        one keeps the other."""
        high, low = c["OFFS"] + c["VOLT"] / 2, c["OFFS"] - c["VOLT"] / 2
        if query:
            return sci(high if sign > 0 else low)
        if not arg:
            raise CommandError.of(MISSING_PARAMETER, "level")
        value = in_range(parse_float(arg, "level"), -5.0, 5.0, "level")
        high, low = (value, low) if sign > 0 else (high, value)
        if high - low < 0.001:
            raise CommandError.of(SETTINGS_CONFLICT, "high level not above low level")
        c["VOLT"], c["OFFS"] = high - low, (high + low) / 2
        return None
