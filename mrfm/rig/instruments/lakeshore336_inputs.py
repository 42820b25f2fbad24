"""Sensor-input and curve settings of the virtual Lake Shore 336 (manual, ch. 6).

* ``INNAME <in>,"<name>"``: up to 15 characters; the query pads it to 15;
* ``INTYPE <in>,<type>,<autorange>,<range>,<compensation>,<units>``: type 0 disabled,
  1 diode, 2 platinum RTD, 3 NTC RTD; units 1 K, 2 C, 3 sensor;
* ``INCRV <in>,<curve>``: 0 none, 1..20 standard, 21..59 user curves;
* ``CRVHDR? <curve>``: ``<name>,<serial>,<format>,<limit>,<coefficient>``, format
  1 mV/K, 2 V/K, 3 ohm/K, 4 log ohm/K; coefficient 1 negative, 2 positive;
* ``TLIMIT <in>,<K>``: the input's temperature limit;
* ``HTRSET <out>,<resistance>,<max current>,<max user current>,<current/power>``:
  outputs 1 and 2 (3 and 4 are voltage outputs without a heater setup); resistance
  1 = 25 ohm, 2 = 50 ohm; max current 0 user, 1 0.707 A, 2 1 A, 3 1.141 A, 4 2 A; max
  user current 0 to 2 A; the query answers the four fields after ``<out>``
  (``n,n,+0.000,n``). There is no output-type field (that is the Model 335's form).

The virtual inputs A and B are Cernox (NTC RTD) sensors on user curve 21; C and D
are disabled (curve DT-670).
"""

from __future__ import annotations

from mrfm.rig.instruments.base import (
    DATA_OUT_OF_RANGE,
    CommandError,
    in_range,
    need,
    parse_float,
    parse_int,
)

INPUTS = ("A", "B", "C", "D")
#: curve headers: number -> (name, serial, format, limit K, coefficient)
CURVES: dict[int, tuple[str, str, int, float, int]] = {
    1: ("DT-470", "Standard C", 2, 475.0, 1),
    2: ("DT-670", "Standard", 2, 500.0, 1),
    3: ("DT-500-D", "Standard C", 2, 365.0, 1),
    4: ("DT-500-E1", "Standard C", 2, 330.0, 1),
    6: ("PT-100", "Standard", 3, 800.0, 2),
    7: ("PT-1000", "Standard", 3, 800.0, 2),
    8: ("RX-102A-AA", "Standard", 4, 40.0, 1),
    9: ("RX-202A-AA", "Standard", 4, 40.0, 1),
    21: ("CX-1050-SD", "X123456", 4, 325.0, 1),
}
#: the header of an empty curve slot
EMPTY_CURVE = ("User Curve", "", 2, 0.0, 1)
#: commands of this module
INPUT_COMMANDS = frozenset(("INNAME", "INTYPE", "INCRV", "CRVHDR", "TLIMIT", "HTRSET"))


def _input(text: str) -> str:
    t = text.strip().upper()
    if t not in INPUTS:
        raise CommandError.of(DATA_OUT_OF_RANGE, f"input {t[:4]!r}")
    return t


class InputSettings:
    """Names, types, curves and temperature limits of inputs A..D; heater setups."""

    def __init__(self) -> None:
        self.names = {"A": "Stage", "B": "Cold plate", "C": "Input C", "D": "Input D"}
        cernox = [3, 1, 0, 1, 1]
        self.types = {"A": list(cernox), "B": list(cernox), "C": [0, 0, 0, 0, 1],
                      "D": [0, 0, 0, 0, 1]}
        self.curves = {"A": 21, "B": 21, "C": 2, "D": 2}
        self.limits = dict.fromkeys(INPUTS, 0.0)
        self.heaters = {1: [2, 2, 0.0, 1], 2: [2, 2, 0.0, 1]}

    def command(self, head: str, query: bool, args: list[str]) -> str | None:
        """One command of :data:`INPUT_COMMANDS`."""
        if head == "CRVHDR":
            if not query:
                raise CommandError.of(DATA_OUT_OF_RANGE, "CRVHDR is set from the front panel")
            need(args, 1)
            n = int(in_range(parse_int(args[0], "curve"), 1, 59, "curve"))
            name, serial, fmt, limit, coeff = CURVES.get(n, EMPTY_CURVE)
            return f"{name:<15},{serial:<10},{fmt},{limit:.3f},{coeff}"
        if head == "HTRSET":
            return self._heater(query, args)
        need(args, 1 if query else (2, 6), head)
        inp = _input(args[0])
        if head == "INNAME":
            if query:  # always 15 characters, padded with spaces
                return f"{self.names[inp]:<15}"
            need(args, 2)
            self.names[inp] = ",".join(args[1:]).strip().strip('"').rstrip()[:15]
            return None
        if head == "INTYPE":
            if query:
                return ",".join(str(v) for v in self.types[inp])
            need(args, 6)
            kind = int(in_range(parse_int(args[1], "type"), 0, 3, "sensor type"))
            auto = int(in_range(parse_int(args[2], "autorange"), 0, 1, "autorange"))
            rng = int(in_range(parse_int(args[3], "range"), 0, 8, "range"))
            comp = int(in_range(parse_int(args[4], "compensation"), 0, 1, "compensation"))
            units = int(in_range(parse_int(args[5], "units"), 1, 3, "units"))
            self.types[inp] = [kind, auto, rng, comp, units]
            return None
        if head == "INCRV":
            if query:
                return str(self.curves[inp])
            need(args, 2)
            self.curves[inp] = int(in_range(parse_int(args[1], "curve"), 0, 59, "curve"))
            return None
        # TLIMIT
        if query:
            return f"{self.limits[inp]:+09.3f}"
        need(args, 2)
        self.limits[inp] = in_range(parse_float(args[1], "limit"), 0.0, 2000.0, "limit")
        return None

    def _heater(self, query: bool, args: list[str]) -> str | None:
        need(args, 1 if query else 5)
        out = int(in_range(parse_int(args[0], "output"), 1, 2, "output"))
        if query:
            r, m, user, show = self.heaters[out]
            return f"{r},{m},{user:+.3f},{show}"
        self.heaters[out] = [
            int(in_range(parse_int(args[1], "resistance"), 1, 2, "resistance")),
            int(in_range(parse_int(args[2], "max current"), 0, 4, "max current")),
            in_range(parse_float(args[3], "max user current"), 0.0, 2.0, "user current"),
            int(in_range(parse_int(args[4], "display"), 1, 2, "display")),
        ]
        return None
