"""Virtual Stanford Research SR830 DSP lock-in amplifier.

Wire format (SR830 manual, ch. 5): commands end in LF; a mnemonic is followed
by optional spaces and comma-separated arguments (``SENS5`` and ``SENS 5``
both work); several commands may share a line separated by ``;`` and each
query's reply is sent with its own terminator (LF, as over GPIB). Set commands
are silent. Errors set bits in the standard event status register read with
``*ESR?``: bit 5 (32) command error, bit 4 (16) execution error (a parameter
out of range); they are also kept in the instrument's SCPI-numbered queue.

X and Y come from the rig's physics (:class:`~mrfm.rig.state.LockinChannel`):
the spin force at the tip through the cantilever and the detector, filtered
with the time constant and slope set here, plus thermal noise. Outputs beyond
109 % of the sensitivity are clipped and set the output-overload bit of ``LIAS?``.
"""

from __future__ import annotations

import cmath
import math
import re
from functools import partial

from mrfm.rig.instruments.base import (
    COMMAND_ERROR,
    MISSING_PARAMETER,
    CommandError,
    Session,
    StandardEvents,
    VirtualInstrument,
    fmt_g,
    in_range,
    need,
    parse_float,
    parse_int,
    split_args,
)

#: full-scale sensitivities, V, index 0..26 (2 nV ... 1 V, 1-2-5 steps)
SENSITIVITIES = [
    m * 10.0**e for e in range(-9, 0) for m in (1, 2, 5)
][1:] + [1.0]
#: time constants, s, index 0..19 (10 us ... 30 ks, 1-3 steps)
TIME_CONSTANTS = [m * 10.0**e for e in range(-5, 5) for m in (1, 3)]

MNEMONIC = re.compile(r"^\s*(\*?[A-Za-z]+)\s*(\?)?\s*(.*?)\s*$", re.S)

LIAS_OUTPUT_OVERLOAD = 4


#: parsed commands (a client repeats a few dozen commands, ``OUTP? 1`` thousands of
#: times): command text -> srs_split result; bounded, emptied when full
_SPLIT_CACHE: dict[str, tuple[str, bool, str]] = {}
_SPLIT_CACHE_SIZE = 1024


def srs_split(command: str) -> tuple[str, bool, str]:
    """(MNEMONIC upper-case, is_query, argument text) of one SRS command."""
    hit = _SPLIT_CACHE.get(command)
    if hit is not None:
        return hit
    m = MNEMONIC.match(command)
    if not m:
        raise CommandError.of(COMMAND_ERROR, command[:40])
    parsed = (m.group(1).upper(), bool(m.group(2)), m.group(3))
    if len(command) <= 64:
        if len(_SPLIT_CACHE) >= _SPLIT_CACHE_SIZE:
            _SPLIT_CACHE.clear()
        _SPLIT_CACHE[command] = parsed
    return parsed


class SR830(StandardEvents, VirtualInstrument):
    """SR830 lock-in over its GPIB-style LF protocol (see module docstring)."""

    driver = "srs.sr830"
    read_termination = "\n"
    write_termination = "\n"

    model = "SR830"
    max_frequency = 102_000.0

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.channel = state.new_lockin()
        self.reset()

    # -------------------------------------------------------------- settings
    def reset(self) -> None:
        """Power-on defaults (``*RST``), keeping the reference at the cantilever drive."""
        self.sens_index = len(SENSITIVITIES) - 1
        self.tau_index = 8  # 100 ms
        self.slope = 1  # 12 dB/oct
        self.amplitude = 1.0
        self.harmonic = 1
        self.ref_source = 1
        self.ints = {"ISRC": 0, "IGND": 0, "ICPL": 0, "ILIN": 0, "RMOD": 1, "SYNC": 0, "OUTX": 1,
                     "LOCL": 0, "SRAT": 4, "SEND": 1, "TSTR": 0, "*ESE": 0, "*SRE": 0, "FPOP": 0}
        self.aux_out = [0.0] * 4
        self.offsets = {1: (0.0, 0), 2: (0.0, 0), 3: (0.0, 0)}
        self.esr = 0
        self.lias = 0
        self.channel.configure(tau=TIME_CONSTANTS[self.tau_index], poles=self.slope + 1,
                               phase_deg=0.0)

    @property
    def sensitivity(self) -> float:
        """Full scale, V."""
        return SENSITIVITIES[self.sens_index]

    # ---------------------------------------------------------------- reading
    def xy(self) -> tuple[float, float]:
        """X and Y now, V, clipped at 109 % of full scale (which sets the overload bit)."""
        z = self.channel.read()
        fs = 1.09 * SENSITIVITIES[self.sens_index]
        x, y = z.real, z.imag
        if abs(x) > fs or abs(y) > fs:
            self.lias |= LIAS_OUTPUT_OVERLOAD
            x = max(-fs, min(fs, x))
            y = max(-fs, min(fs, y))
        return x, y

    def output(self, i: int) -> float:
        """Output ``i`` as the SR830 numbers them (1 X, 2 Y, 3 R, 4 theta)."""
        x, y = self.xy()
        if i == 1:
            return x
        if i == 2:
            return y
        r = abs(complex(x, y))
        if i == 3:
            return r
        return math.degrees(cmath.phase(complex(x, y))) if r > 0 else 0.0

    def _output_reply(self, i: int) -> str:
        return fmt_g(self.output(i))

    def _snap_reply(self, idx: tuple[int, ...]) -> str:
        out = self.outputs()
        return ",".join(fmt_g(out[i]) for i in idx)

    def outputs(self) -> dict[int, float]:
        """X, Y, R, theta as the SR830 numbers them (1..4), plus aux and reference."""
        x, y = self.xy()
        r = abs(complex(x, y))
        theta = math.degrees(cmath.phase(complex(x, y))) if r > 0 else 0.0
        return {
            1: x, 2: y, 3: r, 4: theta, 5: 0.0, 6: 0.0, 7: 0.0, 8: 0.0,
            9: self.channel.frequency, 10: x, 11: y,
        }

    # ---------------------------------------------------------------- protocol
    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=False)

    def command(self, command: str) -> str | None:
        """One command; returns its reply or None (silent)."""
        head, query, arg = srs_split(command)
        args = split_args(arg)
        ch = self.channel
        if head in ("OUTP", "OUTR"):  # first: the readings are what clients ask for most
            if not query:
                raise CommandError.of(COMMAND_ERROR, head)
            need(args, 1)
            hi = 4 if head == "OUTP" else 2
            i = int(in_range(parse_int(args[0], head), 1, hi))
            return self.remember(command, partial(self._output_reply, i))()
        if head == "*IDN" and query:
            return f"Stanford_Research_Systems,{self.model},s/n{self.serial},ver1.07"
        if head == "*RST":
            self.reset()
            return None
        if head == "*CLS":
            self.esr = 0
            self.lias = 0
            self.errors.clear()
            return None
        if head in ("*ESR", "LIAS", "ERRS", "*STB"):
            if not query:
                raise CommandError.of(COMMAND_ERROR, head)
            reg = {"*ESR": self.esr, "LIAS": self.lias, "ERRS": 0,
                   "*STB": (32 if self.esr else 0)}[head]
            if args:
                bit = int(in_range(parse_int(args[0]), 0, 7, "bit"))
                return str((reg >> bit) & 1)
            if head == "*ESR":
                self.esr = 0
            if head == "LIAS":
                self.lias = 0
            return str(reg)
        if head == "FREQ":
            if query:
                return fmt_g(ch.frequency)
            need(args, 1)
            f = in_range(parse_float(args[0], "FREQ"), 0.001, self.max_frequency / self.harmonic)
            ch.configure(frequency=f)
            return None
        if head == "PHAS":
            if query:
                return fmt_g(ch.phase_deg)
            need(args, 1)
            p = in_range(parse_float(args[0], "PHAS"), -360.0, 729.99)
            ch.configure(phase_deg=(p + 180.0) % 360.0 - 180.0)
            return None
        if head == "SLVL":
            if query:
                return f"{self.amplitude:.3f}"
            need(args, 1)
            self.amplitude = in_range(parse_float(args[0], "SLVL"), 0.004, 5.0)
            return None
        if head == "SENS":
            if query:
                return str(self.sens_index)
            need(args, 1)
            self.sens_index = int(in_range(parse_int(args[0], "SENS"), 0, len(SENSITIVITIES) - 1))
            return None
        if head == "OFLT":
            if query:
                return str(self.tau_index)
            need(args, 1)
            self.tau_index = int(in_range(parse_int(args[0], "OFLT"), 0, 19))
            ch.configure(tau=TIME_CONSTANTS[self.tau_index])
            return None
        if head == "OFSL":
            if query:
                return str(self.slope)
            need(args, 1)
            self.slope = int(in_range(parse_int(args[0], "OFSL"), 0, 3))
            ch.configure(poles=self.slope + 1)
            return None
        if head == "HARM":
            if query:
                return str(self.harmonic)
            need(args, 1)
            h = int(in_range(parse_int(args[0], "HARM"), 1, 19999))
            in_range(ch.frequency * h, 0.0, self.max_frequency, "HARM*FREQ")
            self.harmonic = h
            return None
        if head == "FMOD":
            if query:
                return str(self.ref_source)
            need(args, 1)
            self.ref_source = int(in_range(parse_int(args[0], "FMOD"), 0, 1))
            return None
        if head in self.ints:
            if query:
                return str(self.ints[head])
            need(args, 1)
            self.ints[head] = int(in_range(parse_int(args[0], head), 0, 255))
            return None
        if head == "SNAP":
            if not query:
                raise CommandError.of(COMMAND_ERROR, head)
            need(args, (2, 6))
            idx = tuple(int(in_range(parse_int(a, "SNAP"), 1, 11)) for a in args)
            return self.remember(command, partial(self._snap_reply, idx))()
        if head == "AUXV":
            if query:
                need(args, 1)
                i = int(in_range(parse_int(args[0], "AUXV"), 1, 4))
                return f"{self.aux_out[i - 1]:.3f}"
            need(args, 2)
            i = int(in_range(parse_int(args[0], "AUXV"), 1, 4))
            self.aux_out[i - 1] = in_range(parse_float(args[1], "AUXV"), -10.5, 10.5)
            return None
        if head == "OAUX" and query:
            need(args, 1)
            in_range(parse_int(args[0], "OAUX"), 1, 4)
            return "0.000"
        if head == "APHS" and not query:
            z = self.channel.read()
            ch.configure(phase_deg=(ch.phase_deg + math.degrees(cmath.phase(z)) + 180.0) % 360.0
                         - 180.0)
            return None
        if head == "AGAN" and not query:
            r = abs(self.channel.read())
            fits = [i for i, s in enumerate(SENSITIVITIES) if s >= 1.25 * r]
            self.sens_index = fits[0] if fits else len(SENSITIVITIES) - 1
            return None
        if head in ("ARSV", "AOFF", "REST", "STRT", "PAUS", "TRIG") and not query:
            if head == "AOFF":
                need(args, 1)
                in_range(parse_int(args[0], "AOFF"), 1, 3)
            return None
        if head == "OEXP":
            if query:
                need(args, 1)
                i = int(in_range(parse_int(args[0], "OEXP"), 1, 3))
                off, expand = self.offsets[i]
                return f"{off:.2f},{expand}"
            need(args, 3)
            i = int(in_range(parse_int(args[0], "OEXP"), 1, 3))
            self.offsets[i] = (
                in_range(parse_float(args[1], "offset"), -105.0, 105.0),
                int(in_range(parse_int(args[2], "expand"), 0, 2)),
            )
            return None
        if query and not args and head in ("OUTP", "SNAP", "AUXV", "OAUX"):
            raise CommandError.of(MISSING_PARAMETER, head)
        raise CommandError.of(COMMAND_ERROR, f"unknown command {head[:20]!r}")

