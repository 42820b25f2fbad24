"""Virtual Stanford Research SG384 RF signal generator (DC-4.05 GHz).

SRS syntax (SG380 manual, "Remote programming"): ``FREQ 2.96 GHz``,
``FREQ?``; units optional (Hz, kHz, MHz, GHz; dBm); LF terminations; ``;``
separates commands; set commands are silent. Errors are read with ``LERR?``
(last error code, 0 when none; 10 illegal value, 110 illegal command,
111 undefined command, 118 invalid floating point number ...). ``AMPR`` above the lab's
``max_rf_power`` is refused with error 10 (the lab's limit is programmed
into the virtual source). The source's state drives the rig's resonant slice:
frequency and FM deviation (``FDEV``, with ``MODL 1``, ``TYPE 1``) with the
N-type output on (``ENBR 1``); ``RATE`` is the modulation rate. IEEE 488.2:
``*OPC?``, ``*ESR?`` (a rejected command sets bit 4, execution error; the SG384's
own error codes are in ``LERR?``), ``*ESE``, ``*SRE``, ``*STB?`` (bit 5 the enabled
events, bit 6 the enabled status bits). ``OPTN? i``: the virtual source has the rear
RF doubler (option 2, ``AMPH``/``ENBH``) and neither the OCXO timebase (1) nor IQ
modulation (3) nor option 4.
"""

from __future__ import annotations

import re

from mrfm.rig.instruments.base import CommandError, Session, VirtualInstrument, in_range
from mrfm.rig.instruments.srs_syntax import srs_split

ILLEGAL_VALUE = (10, "Illegal value")
ILLEGAL_COMMAND = (110, "Illegal command")
UNDEFINED_COMMAND = (111, "Undefined command")
ILLEGAL_QUERY = (112, "Illegal query")
MISSING_PARAMETERS = (116, "Missing parameters")
INVALID_FLOAT = (118, "Invalid floating point number")

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")
_FREQ_UNITS = {"": 1.0, "HZ": 1.0, "KHZ": 1e3, "MHZ": 1e6, "GHZ": 1e9}


def _value(text: str, units: dict[str, float] | None = None) -> float:
    m = _NUMBER.match(text)
    if not m:
        raise CommandError.of(INVALID_FLOAT if text.strip() else MISSING_PARAMETERS, text[:40])
    unit = m.group(2).upper()
    table = units or {"": 1.0}
    if unit not in table:
        raise CommandError.of(ILLEGAL_VALUE, f"unit {unit!r}")
    return float(m.group(1)) * table[unit]


def _bounded(head: str, text: str, lo: float, hi: float,
             units: dict[str, float] | None = None) -> float:
    """The value of ``text`` (in ``units``) if ``lo <= value <= hi``, else error 12 (-224)."""
    v = _value(text, units)
    if not lo <= v <= hi:
        raise CommandError.of(ILLEGAL_VALUE, f"{head} {v:g}")
    return v


def _index(head: str, text: str, count: int) -> int:
    """An integer choice 0 .. count - 1."""
    v = _value(text)
    if v not in range(count):
        raise CommandError.of(ILLEGAL_VALUE, f"{head} {v:g}")
    return int(v)


#: outputs that do not reach the spins: mnemonic -> (lowest, highest, reply format):
#: rear doubler amplitude (dBm) and enable, rear clock amplitude, offset (V) and enable,
#: rear DC and front BNC offsets (V), PLL noise mode, modulation input coupling (AC, DC)
_SETTINGS: dict[str, tuple[float, float, str]] = {
    "AMPH": (-10.0, 16.5, ".2f"), "AMPC": (0.4, 1.0, ".2f"), "OFSC": (-2.0, 2.0, ".3f"),
    "OFSD": (-10.0, 10.0, ".3f"), "OFSL": (-1.5, 1.5, ".3f"), "ENBH": (0, 1, "d"),
    "ENBC": (0, 1, "d"), "NOIS": (0, 1, "d"), "COUP": (0, 1, "d"),
}
_DEFAULTS = {"AMPH": 0.0, "AMPC": 1.0, "OFSC": 0.0, "OFSD": 0.0, "OFSL": 0.0, "ENBH": 0,
             "ENBC": 0, "NOIS": 0, "COUP": 0}


class SG384(VirtualInstrument):
    """SG384 (see module docstring)."""

    driver = "srs.sg384"
    model = "SG384"
    read_termination = "\n"
    write_termination = "\n"
    real_port = 5025

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.bnc_amplitude = -10.0
        self.bnc_on = False
        self.phase = 0.0
        self.mod_function = 0
        self.last_error = 0
        self.settings: dict[str, float] = dict(_DEFAULTS)
        self.esr = 0
        self.enables = {"*ESE": 0, "*SRE": 0}

    def push_error(self, code: int, message: str) -> None:
        super().push_error(code, message)
        self.last_error = code
        self.esr |= 16

    def _ieee(self, head: str, query: bool, arg: str) -> str | None:
        """``*OPC?``, ``*ESR?``, ``*ESE``, ``*SRE``, ``*STB?``, ``OPTN?``."""
        if head == "*OPC":
            return "1" if query else None
        if head == "*ESR" and query:
            value, self.esr = self.esr, 0
            return str(value)
        if head in ("*ESE", "*SRE"):
            if query:
                return str(self.enables[head])
            self.enables[head] = _index(head, arg, 256)
            return None
        if head == "*STB" and query:
            stb = 32 if self.esr & self.enables["*ESE"] else 0
            return str(stb | (64 if stb & self.enables["*SRE"] else 0))
        if head == "OPTN" and query:
            return "1" if _index(head, arg, 5) == 2 else "0"
        raise CommandError.of(ILLEGAL_QUERY if query else UNDEFINED_COMMAND, head[:20])

    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=False)

    def command(self, command: str) -> str | None:
        """One command; its reply or None."""
        head, query, arg = srs_split(command)
        rf = self.state.rf
        max_dbm = min(16.5, self.state.limits.max_rf_power_dbm)
        with self.state.lock:
            self.state.temperature()  # applies the temperature interlock
            if head == "*IDN" and query:
                return f"Stanford Research Systems,SG384,s/n{self.serial},ver1.02.0E"
            if head == "LERR" and query:
                code, self.last_error = self.last_error, 0
                if self.errors:
                    self.errors.popleft()
                return str(code)
            if head == "*CLS":
                self.errors.clear()
                self.last_error = 0
                self.esr = 0
                return None
            if head == "*RST":
                rf.frequency, rf.power_dbm, rf.output, rf.modulation = 1e8, -10.0, False, False
                self.settings = dict(_DEFAULTS)
                return None
            if head == "FREQ":
                if query:
                    return f"{rf.frequency:.6f}"
                rf.frequency = in_range(_value(arg, _FREQ_UNITS), 0.0, 4.05e9, "FREQ")
                return None
            if head in ("AMPR", "AMPL"):
                if query:
                    return f"{rf.power_dbm if head == 'AMPR' else self.bnc_amplitude:.2f}"
                v = _value(arg, {"": 1.0, "DBM": 1.0})
                if head == "AMPR":
                    if not -110.0 <= v <= max_dbm:
                        raise CommandError.of(ILLEGAL_VALUE, f"AMPR {v:g} dBm > {max_dbm:g}")
                    rf.power_dbm = v
                else:
                    if not -47.0 <= v <= 13.0:
                        raise CommandError.of(ILLEGAL_VALUE, f"AMPL {v:g}")
                    self.bnc_amplitude = v
                return None
            if head in ("ENBR", "ENBL", "MODL"):
                if query:
                    value = {"ENBR": rf.output, "ENBL": self.bnc_on, "MODL": rf.modulation}[head]
                    return "1" if value else "0"
                v = _value(arg)
                if v not in (0.0, 1.0):
                    raise CommandError.of(ILLEGAL_VALUE, f"{head} {v:g}")
                if head == "ENBR":
                    if v and rf.interlocked:
                        raise CommandError(12, "Not allowed", "temperature interlock")
                    rf.output = bool(v)
                elif head == "ENBL":
                    self.bnc_on = bool(v)
                else:
                    rf.modulation = bool(v)
                return None
            if head == "TYPE":
                if query:
                    return str(rf.mod_type)
                rf.mod_type = _index(head, arg, 7)
                return None
            if head == "MFNC":
                if query:
                    return str(self.mod_function)
                self.mod_function = _index(head, arg, 6)
                return None
            if head == "FDEV":
                if query:
                    return f"{rf.fm_deviation:.6f}"
                rf.fm_deviation = _bounded(head, arg, 0.0, 32e6, _FREQ_UNITS)
                return None
            if head == "RATE":
                if query:
                    return f"{rf.mod_rate:.6f}"
                rf.mod_rate = _bounded(head, arg, 1e-6, 50e3, _FREQ_UNITS)
                return None
            if head == "PHAS":
                if query:
                    return f"{self.phase:.2f}"
                self.phase = _bounded(head, arg, -360.0, 360.0, {"": 1.0, "DEG": 1.0})
                return None
            if head in _SETTINGS:
                lo, hi, fmt = _SETTINGS[head]
                if query:
                    return format(self.settings[head], fmt)
                unit = {"": 1.0, "DBM": 1.0} if head == "AMPH" else {"": 1.0, "V": 1.0}
                value = _bounded(head, arg, lo, hi, unit) if fmt != "d" else _index(head, arg, 2)
                self.settings[head] = value
                return None
        return self._ieee(head, query, arg)

