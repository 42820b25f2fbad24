"""Stanford Research Systems SG384 RF signal generator (DC - 4.05 GHz).

SRS syntax (SG380-series manual, "Remote programming"): LF terminations,
``FREQ <Hz>`` / ``FREQ?`` (the driver always sends bare SI numbers), set
commands silent. Errors are read with ``LERR?`` (the oldest error code, 0 when
none): 10 illegal value, 110 illegal command, 111 undefined command, 118
invalid floating-point number. The N-type output (``AMPR``, ``ENBR``) is the
one an MRFM microwave line uses; ``limits={"power": 5.0}`` caps its level (dBm).
"""

from __future__ import annotations

from collections.abc import Mapping

from mrfm.drivers.base import (
    Bool,
    CommandRejected,
    Instrument,
    Range,
    Setting,
    parse_bool,
    parse_int,
)
from mrfm.rigdef.registry import terminations

#: LERR? codes (SG380 manual, error codes)
ERROR_CODES = {
    10: "illegal value", 11: "illegal mode", 12: "not allowed", 13: "recall failed",
    14: "no clock option", 15: "no RF doubler option", 16: "no IQ option",
    17: "failed self test", 110: "illegal command", 111: "undefined command",
    112: "illegal query", 113: "illegal set", 114: "null parameter", 115: "extra parameters",
    116: "missing parameters", 117: "parameter overflow", 118: "invalid floating point number",
    120: "invalid integer", 121: "integer overflow", 122: "invalid hexadecimal",
    126: "syntax error", 127: "illegal units", 128: "missing units",
}
MODULATION_TYPES = ["am", "fm", "phase", "sweep", "pulse", "blank", "iq"]


class SG384(Instrument):
    """SG384 RF source. ``limits`` keys: ``power`` (dBm, upper bound), ``frequency`` (Hz)."""

    model = "SG384"
    read_termination, write_termination = terminations("srs.sg384")
    limit_keys: Mapping[str, str] = {
        "power": "largest N-type output level, dBm (or a (lo, hi) range)",
        "frequency": "allowed carrier frequency range, Hz",
        "fm_deviation": "largest FM deviation, Hz",
    }

    frequency = Setting("FREQ?", "FREQ {}", unit="Hz", validator=Range(950e3, 4.05e9),
                        doc="Carrier frequency (N-type output range).")
    power = Setting("AMPR?", "AMPR {}", unit="dBm", validator=Range(-110.0, 16.5),
                    limit_mode="upper", doc="N-type output level.")
    output = Setting("ENBR?", "ENBR {}", validator=Bool("1", "0"), parse=parse_bool,
                     limit=None, doc="N-type output enabled.")
    phase = Setting("PHAS?", "PHAS {}", unit="deg", validator=Range(-360.0, 360.0),
                    limit=None, doc="Output phase.")
    modulation = Setting("MODL?", "MODL {}", validator=Bool("1", "0"), parse=parse_bool,
                         limit=None, doc="Modulation on/off.")
    modulation_type = Setting("TYPE?", "TYPE {}", value_map=MODULATION_TYPES, limit=None,
                              doc="am, fm, phase, sweep, pulse, blank or iq.")
    fm_deviation = Setting("FDEV?", "FDEV {}", unit="Hz", validator=Range(0.1, 32e6),
                           limit_mode="upper", doc="FM deviation.")
    fm_rate = Setting("RATE?", "RATE {}", unit="Hz", validator=Range(1e-6, 50e3), limit=None,
                      doc="Modulation rate (internal modulation source).")

    logged = ("frequency", "power", "output", "phase", "modulation", "modulation_type",
              "fm_deviation", "fm_rate")

    @property
    def amplitude(self) -> float:
        """Alias of :attr:`power` (N-type level, dBm)."""
        return self.power

    @amplitude.setter
    def amplitude(self, value: float) -> None:
        self.power = value

    def check_errors(self, after: str = "") -> None:
        """Read ``LERR?`` until 0; any code raises :class:`InstrumentError`."""
        codes = []
        for _ in range(16):
            code = self.ask("LERR?", parse_int, retries=0)
            if code == 0:
                break
            codes.append(f"{code} ({ERROR_CODES.get(code, 'unknown error')})")
        if codes:
            raise CommandRejected(self._where(f"rejected {after!r}: LERR? " + ", ".join(codes)))
