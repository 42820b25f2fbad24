"""Virtual Stanford Research SR865A (SR86x family) lock-in amplifier.

Differences from the SR830 that drivers trip over (SR865A manual, ch. 4):
sensitivity is ``SCAL`` with index 0 = 1 V down to 27 = 1 nV (the SR830's
order reversed); ``OUTP?`` numbers X, Y, R, theta from 0 (or names them ``X``,
``Y``, ``R``, ``THeta``); ``SNAP?`` takes two or three parameters; a space is
required between the mnemonic and its first argument; several queries on
one line come back as a single ``;``-separated reply. Commands and replies end
in LF. Set commands are silent; errors set ``*ESR?`` bits (32 command, 16 execution).

Besides reference, gain and filter: input mode, range, configuration, shield,
current gain, coupling and advanced filter (``IVMD``, ``IRNG``, ``ISRC``, ``IGND``,
``ICUR``, ``ICPL``, ``ADVFILT``), reference trigger and impedance (``RTRG``, ``REFZ``),
sine DC offset ``SOFF``, ``SYNC``, ``OVRM``, channel offsets and expands (``COFP``,
``CEXP``), the four data channels ``CDSP`` (read with ``SNAPD?``), the noise
bandwidth ``ENBW?`` (:func:`mrfm.physics.lockin.enbw` of the filter) and the input
level ``ILVL?`` (0..4); front panel and presets: ``HARMDUAL``, ``REFM``, ``TBMODE``,
``TBSTAT?`` (internal timebase), ``DBLK``, ``DLAY``, ``GSPD``, ``CGRF``, frequency,
amplitude and DC-level presets ``PSTF``/``PSTA``/``PSTL``; ``FREQINT``, ``FREQDET?``
and ``FREQEXT?`` (0: no external reference reaches the virtual lock-in). The capture
buffer (X, Y, R, theta sampled at the capture rate, read with ``CAPTUREGET?``) is
:mod:`~mrfm.rig.instruments.sr86x_capture`.
"""

from __future__ import annotations

import cmath
import math
import re

from mrfm.physics.lockin import enbw
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
from mrfm.rig.instruments.sr86x_capture import CAPTURE_COMMANDS, Capture

#: full scale, V, index 0..27: 1 V, 500 mV, 200 mV, ... 1 nV
SCALES = [1.0] + [m * 10.0**e for e in range(-1, -10, -1) for m in (5, 2, 1)]
#: time constants, s, index 0..21: 1 us, 3 us, ... 30 ks
TIME_CONSTANTS = [m * 10.0**e for e in range(-6, 5) for m in (1, 3)]

_HEAD = re.compile(r"^\s*(\*?[A-Za-z]+)(\?)?(?:(\s+)(.*?))?\s*$", re.S)
_NAMES = {"X": 0, "Y": 1, "R": 2, "TH": 3, "THETA": 3, "IN1": 4, "IN2": 5, "IN3": 6, "IN4": 7,
          "XNO": 8, "XNOISE": 8, "YNO": 9, "YNOISE": 9, "OUT1": 10, "OUT2": 11, "PHA": 12,
          "PHASE": 12, "SAM": 13, "SAMP": 13, "LEV": 14, "LEVEL": 14, "FI": 15, "FINT": 15,
          "FE": 16, "FEXT": 16}


#: integer settings: mnemonic -> (lowest, highest, power-on value)
INT_SETTINGS: dict[str, tuple[int, int, int]] = {
    "IVMD": (0, 1, 0), "IRNG": (0, 4, 0), "ISRC": (0, 1, 0), "IGND": (0, 1, 0),
    "ICUR": (0, 1, 0), "ICPL": (0, 1, 0), "ADVFILT": (0, 1, 1), "RTRG": (0, 2, 0),
    "REFZ": (0, 1, 0), "SYNC": (0, 1, 0), "OVRM": (0, 1, 1), "HARMDUAL": (1, 99, 1),
    "REFM": (0, 1, 0), "TBMODE": (0, 1, 0), "DBLK": (0, 1, 0), "DLAY": (0, 5, 0),
    "GSPD": (0, 16, 0),
}
#: four-entry presets: mnemonic -> (lowest, highest, power-on values): reference
#: frequencies (Hz; up to the model's highest frequency), sine amplitudes (V), sine DC
#: levels (V); and chart traces (0/1)
PRESETS: dict[str, tuple[float, float, tuple[float, ...]]] = {
    "PSTF": (0.001, 500e3, (1e3, 1e4, 1e5, 1e6)), "PSTA": (1e-9, 2.0, (1e-6, 1e-3, 0.1, 1.0)),
    "PSTL": (-5.0, 5.0, (0.0, 0.0, 0.0, 0.0)), "CGRF": (0, 1, (1.0, 1.0, 1.0, 1.0)),
}
#: full scale of each IRNG input range, V
INPUT_RANGES = (1.0, 0.3, 0.1, 0.03, 0.01)


def _param(text: str, hi: int) -> int:
    key = text.strip().upper()
    if key in _NAMES:
        value = _NAMES[key]
    else:
        value = parse_int(text, "parameter")
    return int(in_range(value, 0, hi, "parameter"))


class SR865(StandardEvents, VirtualInstrument):
    """SR865A lock-in (see module docstring); ``options.model`` may be SR860/SR865/SR865A."""

    driver = "srs.sr865"
    read_termination = "\n"
    write_termination = "\n"

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.model = str(self.options.get("model", "SR865A"))
        self.max_frequency = {"SR860": 500e3, "SR865": 2e6}.get(self.model, 4e6)
        self.channel = state.new_lockin()
        self.capture = Capture(self._capture_sample)
        self.reset()

    def reset(self) -> None:
        """Power-on defaults."""
        self.scale_index = 0
        self.tau_index = 10  # 100 ms
        self.slope = 1
        self.amplitude = 0.0
        self.harmonic = 1
        self.reference_source = 0  # RSRC: 0 internal, 1 external, 2 dual, 3 chop
        self.aux_out = [0.0] * 4
        self.esr = 0
        self.ints = {k: v[2] for k, v in INT_SETTINGS.items()}
        self.sine_offset = 0.0
        self.channel_offsets = [0.0, 0.0, 0.0]  # COFP: X, Y, R, % of full scale
        self.channel_expands = [0, 0, 0]  # CEXP: off, x10, x100
        self.data_channels = [0, 1, 2, 3]  # CDSP: what DAT1..DAT4 show
        self.presets = {k: [min(p, self.max_frequency) if k == "PSTF" else p for p in v[2]]
                        for k, v in PRESETS.items()}
        self.channel.configure(tau=TIME_CONSTANTS[self.tau_index], poles=self.slope + 1,
                               phase_deg=0.0)

    def _clip(self, z: complex) -> complex:
        """X + iY clipped at 109 % of full scale, as the outputs show them."""
        fs = 1.09 * SCALES[self.scale_index]
        return complex(max(-fs, min(fs, z.real)), max(-fs, min(fs, z.imag)))

    def _capture_sample(self, t: float) -> complex:
        """X + iY at simulated time ``t`` (a capture-buffer sample)."""
        return self._clip(self.channel.read_at(t))

    def values(self) -> list[float]:
        """The 17 SNAP? quantities (X, Y, R, theta, inputs, noise, outputs, ...)."""
        z = self._clip(self.channel.read())
        x, y = z.real, z.imag
        r = abs(complex(x, y))
        theta = math.degrees(cmath.phase(complex(x, y))) if r else 0.0
        noise = self.channel.noise_std()
        f = self.channel.frequency
        return [x, y, r, theta, 0.0, 0.0, 0.0, 0.0, noise, noise, 0.0, 0.0,
                self.channel.phase_deg, self.amplitude, 0.0, f, f]

    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=True)

    def command(self, command: str) -> str | bytes | None:
        """One command; its reply (bytes: a ``CAPTUREGET?`` block) or None."""
        now = self.state.clock.now()
        if self.capture.running(now):  # samples due so far, before anything reads the channel
            self.capture.catch_up(now)
        m = _HEAD.match(command)
        if not m:
            raise CommandError.of(COMMAND_ERROR, "a space is required before the first argument")
        head, query, arg = m.group(1).upper(), bool(m.group(2)), m.group(4) or ""
        args = split_args(arg)
        ch = self.channel
        g = "{:.11g}".format
        if head == "*IDN" and query:
            return f"Stanford_Research_Systems,{self.model},{self.serial},V1.51"
        if head == "*RST":
            self.reset()
            return None
        if head == "*CLS":
            self.esr = 0
            self.errors.clear()
            return None
        if head == "*ESR" and query:
            value, self.esr = self.esr, 0
            return str(value)
        if head == "FREQ":
            if query:
                return g(ch.frequency)
            need(args, 1)
            ch.configure(frequency=in_range(parse_float(args[0]), 0.001, self.max_frequency))
            return None
        if head == "PHAS":
            if query:
                return g(ch.phase_deg)
            need(args, 1)
            ch.configure(phase_deg=in_range(parse_float(args[0]), -360.0, 360.0))
            return None
        if head == "SLVL":
            if query:
                return g(self.amplitude)
            need(args, 1)
            self.amplitude = in_range(parse_float(args[0]), 0.0, 2.0)
            return None
        if head == "SCAL":
            if query:
                return str(self.scale_index)
            need(args, 1)
            self.scale_index = int(in_range(parse_int(args[0]), 0, len(SCALES) - 1))
            return None
        if head == "OFLT":
            if query:
                return str(self.tau_index)
            need(args, 1)
            self.tau_index = int(in_range(parse_int(args[0]), 0, len(TIME_CONSTANTS) - 1))
            ch.configure(tau=TIME_CONSTANTS[self.tau_index])
            return None
        if head == "OFSL":
            if query:
                return str(self.slope)
            need(args, 1)
            self.slope = int(in_range(parse_int(args[0]), 0, 3))
            ch.configure(poles=self.slope + 1)
            return None
        if head == "HARM":
            if query:
                return str(self.harmonic)
            need(args, 1)
            self.harmonic = int(in_range(parse_int(args[0]), 1, 99))
            return None
        if head == "RSRC":
            if query:
                return str(self.reference_source)
            need(args, 1)
            self.reference_source = int(in_range(parse_int(args[0]), 0, 3))
            return None
        if head == "OUTP" and query:
            need(args, 1)
            return g(self.values()[_param(args[0], 3)])
        if head == "SNAP" and query:
            need(args, (2, 3))
            vals = self.values()
            return ",".join(g(vals[_param(a, 16)]) for a in args)
        if head == "SNAPD" and query:
            need(args, 0)
            vals = self.values()
            return ",".join(g(vals[i]) for i in self.data_channels)
        reply = self._settings(head, query, args)
        if reply is not _NOT_MINE:
            return reply
        if head in ("AUXV", "OAUX"):
            if query:
                need(args, 1)
                i = int(in_range(parse_int(args[0]), 0, 3))
                return g(self.aux_out[i]) if head == "AUXV" else g(0.0)
            if head == "OAUX":
                raise CommandError.of(COMMAND_ERROR, "OAUX is a query")
            need(args, 2)
            i = int(in_range(parse_int(args[0]), 0, 3))
            self.aux_out[i] = in_range(parse_float(args[1]), -10.5, 10.5)
            return None
        if head == "APHS" and not query:
            z = ch.read()
            ch.configure(phase_deg=(ch.phase_deg + math.degrees(cmath.phase(z)) + 180.0) % 360.0
                         - 180.0)
            return None
        raise CommandError.of(COMMAND_ERROR, f"unknown command {head[:20]!r}")


    def _settings(self, head: str, query: bool, args: list[str]) -> str | bytes | None | object:
        """Input, reference-trigger and display settings, ENBW, input level, capture."""
        if head in INT_SETTINGS:
            if query:
                return str(self.ints[head])
            need(args, 1)
            lo, hi, _ = INT_SETTINGS[head]
            self.ints[head] = int(in_range(parse_int(args[0], head), lo, hi, head))
            return None
        if head in CAPTURE_COMMANDS:
            return self.capture.command(head, query, args, self.state.clock.now())
        if head == "SOFF":
            if query:
                return f"{self.sine_offset:.11g}"
            need(args, 1)
            self.sine_offset = in_range(parse_float(args[0], "SOFF"), -5.0, 5.0, "SOFF")
            return None
        if head in ("COFP", "CEXP"):
            need(args, 1 if query else 2)
            i = int(in_range(_param(args[0], 2), 0, 2, "channel"))
            if head == "COFP":
                if query:
                    return f"{self.channel_offsets[i]:.2f}"
                self.channel_offsets[i] = round(
                    in_range(parse_float(args[1], "COFP"), -999.99, 999.99, "COFP"), 2)
                return None
            if query:
                return str(self.channel_expands[i])
            self.channel_expands[i] = int(in_range(parse_int(args[1], "CEXP"), 0, 2, "CEXP"))
            return None
        if head == "CDSP":
            need(args, 1 if query else 2)
            i = int(in_range(parse_int(args[0], "CDSP"), 0, 3, "data channel"))
            if query:
                return str(self.data_channels[i])
            self.data_channels[i] = _param(args[1], 16)
            return None
        if head in PRESETS:
            need(args, 1 if query else 2)
            i = int(in_range(parse_int(args[0], head), 0, 3, "preset"))
            lo, hi, _ = PRESETS[head]
            if head == "PSTF":  # any reference frequency of the model
                hi = self.max_frequency
            if query:
                return f"{self.presets[head][i]:.11g}"
            value = in_range(parse_float(args[1], head), lo, hi, head)
            self.presets[head][i] = float(round(value)) if head == "CGRF" else value
            return None
        if head in ("FREQINT", "FREQEXT", "FREQDET"):
            ch = self.channel
            if head == "FREQINT" and not query:
                need(args, 1)
                f = in_range(parse_float(args[0], head), 0.001, self.max_frequency, head)
                ch.configure(frequency=f)
                return None
            if not query:
                raise CommandError.of(COMMAND_ERROR, f"{head} is a query")
            if head == "FREQEXT":  # no external reference reaches the virtual lock-in
                return "0"
            return f"{ch.frequency * (self.harmonic if head == 'FREQDET' else 1):.11g}"
        if head == "TBSTAT" and query:  # the internal timebase is in use
            return "1"
        if head == "ENBW" and query:
            return f"{enbw(TIME_CONSTANTS[self.tau_index], self.slope + 1):.6g}"
        if head == "ILVL" and query:
            level = abs(self.channel.read()) * math.sqrt(2.0) / INPUT_RANGES[self.ints["IRNG"]]
            return str(sum(level > t for t in (0.01, 0.03, 0.1, 0.3)))
        return _NOT_MINE


#: a command handler's "not one of mine" (None is a silent set command's reply)
_NOT_MINE = object()
