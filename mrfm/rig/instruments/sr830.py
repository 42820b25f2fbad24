"""Virtual Stanford Research SR830 DSP lock-in amplifier.

Wire format (SR830 manual, ch. 5): a command ends in LF or CR; a mnemonic is
followed by optional spaces and comma-separated arguments (``SENS5``, ``SENS 5``
and ``SRAT ?`` all work); several commands may share a line separated by ``;``
and each query's reply is sent with its own terminator (LF, as over GPIB).
Set commands are silent. Errors set bits in the standard event status register
read with ``*ESR?``: bit 5 (32) command error, bit 4 (16) execution error (a
parameter out of range); they are also kept in the instrument's SCPI-numbered
queue. The status registers and the serial poll status byte are those of
:mod:`~mrfm.rig.instruments.srs_status`; the data buffer (``SRAT``, ``SEND``,
``STRT``, ``PAUS``, ``REST``, ``TRIG``, ``SPTS?``, ``TRCA?``, ``TRCB?``,
``TRCL?``) is :mod:`~mrfm.rig.instruments.srs_buffer`. ``TRCB?`` and ``TRCL?``
answer binary blocks (``bytes`` replies) that go out without a terminator (as over
RS-232; over GPIB the last byte carries EOI, which a socket does not have: a VISA
client ends such a read on the socket's silence, ``VI_ATTR_SUPPRESS_END_EN`` off).
``FAST`` is stored, but a socket has no talk addressing, so fast mode streams
nothing: the buffer is read with the ``TRC`` queries.
``SSET``/``RSET`` save and recall setups 1..9 (until the rig stops).

X and Y come from the rig's physics (:class:`~mrfm.rig.lockin.LockinChannel`):
the spin force at the tip through the cantilever and the detector, filtered
with the time constant and slope set here, plus thermal noise. Outputs beyond
109 % of the sensitivity are clipped and set the output-overload bit of ``LIAS?``.
The displays (``DDEF``) show X, R, theta or Y, or the noise of X or Y (the
channel's standard deviation); the virtual aux inputs read 0 V.
"""

from __future__ import annotations

import cmath
import math
from functools import partial

from mrfm.rig.instruments.base import (
    COMMAND_ERROR,
    ESR_COMMAND,
    ESR_EXECUTION,
    EXECUTION_ERROR,
    CommandError,
    Session,
    VirtualInstrument,
    fmt_g,
    in_range,
    need,
    parse_float,
    parse_int,
    split_args,
)
from mrfm.rig.instruments.sr830_setup import (
    INT_DEFAULTS,
    INT_SETTINGS,
    Setup,
    recall_setup,
    save_setup,
)
from mrfm.rig.instruments.srs_buffer import STORAGE_COMMANDS, DataBuffer, storage_command
from mrfm.rig.instruments.srs_status import (
    ENABLE_REGISTERS,
    EVENT_REGISTERS,
    StatusRegisters,
    not_a_query,
)
from mrfm.rig.instruments.srs_syntax import srs_split

#: full-scale sensitivities, V, index 0..26 (2 nV ... 1 V, 1-2-5 steps)
SENSITIVITIES = [
    m * 10.0**e for e in range(-9, 0) for m in (1, 2, 5)
][1:] + [1.0]
#: time constants, s, index 0..19 (10 us ... 30 ks, 1-3 steps)
TIME_CONSTANTS = [m * 10.0**e for e in range(-5, 5) for m in (1, 3)]

#: LIAS bits: output overload, data storage triggered
LIAS_OUTPUT_OVERLOAD = 4
LIAS_TRIGGERED = 64
#: query-only mnemonics (sent without ``?`` they are command errors)
QUERIES = ("OUTP", "OUTR", "SNAP", "OAUX", "SPTS", "TRCA", "TRCB", "TRCL", "*IDN", "*ESR",
           "LIAS", "ERRS", "*STB")


class SR830(VirtualInstrument):
    """SR830 lock-in over its GPIB-style LF protocol (see module docstring)."""

    driver = "srs.sr830"
    read_termination = "\n"
    write_termination = "\n"

    model = "SR830"
    max_frequency = 102_000.0

    def __init__(self, state, *, name, options=None):
        super().__init__(state, name=name, options=options)
        self.channel = state.new_lockin()
        self.status = StatusRegisters()
        self.buffer = DataBuffer(self._displays_at)
        self.setups: dict[int, Setup] = {}
        self.reset()

    # -------------------------------------------------------------- settings
    def reset(self) -> None:
        """Power-on defaults (``*RST``); the status enables and stored setups stay."""
        self.sens_index = len(SENSITIVITIES) - 1
        self.tau_index = 8  # 100 ms
        self.slope = 1  # 12 dB/oct
        self.amplitude = 1.0
        self.harmonic = 1
        self.ints = dict(INT_DEFAULTS)
        self.display = {1: [0, 0], 2: [0, 0]}  # DDEF: channel -> [display, ratio]
        self.front_output = {1: 0, 2: 0}  # FPOP: 0 the display, 1 X or Y
        self.aux_out = [0.0] * 4
        self.offsets = {1: (0.0, 0), 2: (0.0, 0), 3: (0.0, 0)}
        self.buffer.reset()
        self.buffer.rate_index, self.buffer.loop, self.buffer.trigger_starts = 4, True, False
        self.channel.configure(tau=TIME_CONSTANTS[self.tau_index], poles=self.slope + 1,
                               phase_deg=0.0)

    @property
    def esr(self) -> int:
        """The standard event status register."""
        return self.status.events["*ESR"]

    @esr.setter
    def esr(self, value: int) -> None:
        self.status.events["*ESR"] = value

    @property
    def lias(self) -> int:
        """The lock-in status register."""
        return self.status.events["LIAS"]

    @lias.setter
    def lias(self, value: int) -> None:
        self.status.events["LIAS"] = value

    @property
    def ref_source(self) -> int:
        """``FMOD``: 0 external, 1 internal reference."""
        return self.ints["FMOD"]

    @property
    def sensitivity(self) -> float:
        """Full scale, V."""
        return SENSITIVITIES[self.sens_index]

    # ---------------------------------------------------------------- reading
    def _clip(self, z: complex) -> tuple[float, float]:
        fs = 1.09 * SENSITIVITIES[self.sens_index]
        x, y = z.real, z.imag
        if abs(x) > fs or abs(y) > fs:
            self.lias |= LIAS_OUTPUT_OVERLOAD
            x = max(-fs, min(fs, x))
            y = max(-fs, min(fs, y))
        return x, y

    def xy(self) -> tuple[float, float]:
        """X and Y now, V, clipped at 109 % of full scale (which sets the overload bit)."""
        return self._clip(self.channel.read())

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

    def _shown(self, channel: int, x: float, y: float) -> float:
        """What display ``channel`` shows for outputs ``x``, ``y`` (``DDEF``). The virtual
        aux inputs read 0 V, so an aux input and any ratio to one read 0."""
        kind, ratio = self.display[channel]
        if ratio or kind >= 3:
            return 0.0
        if kind == 2:
            return self.channel.noise_std()
        if channel == 1:
            return x if kind == 0 else abs(complex(x, y))
        if kind == 0:
            return y
        return math.degrees(cmath.phase(complex(x, y))) if x or y else 0.0

    def _displays_at(self, t: float) -> tuple[float, float]:
        """(CH1, CH2) display values at simulated time ``t`` (a data-buffer sample)."""
        x, y = self._clip(self.channel.read_at(t))
        return self._shown(1, x, y), self._shown(2, x, y)

    def outputs(self) -> dict[int, float]:
        """X, Y, R, theta as the SR830 numbers them (1..4), aux inputs, f, CH1, CH2."""
        x, y = self.xy()
        r = abs(complex(x, y))
        theta = math.degrees(cmath.phase(complex(x, y))) if r > 0 else 0.0
        return {
            1: x, 2: y, 3: r, 4: theta, 5: 0.0, 6: 0.0, 7: 0.0, 8: 0.0,
            9: self.channel.frequency, 10: self._shown(1, x, y), 11: self._shown(2, x, y),
        }

    # ---------------------------------------------------------------- protocol
    def execute(self, line: str, session: Session) -> list[str]:
        return self.run_commands(line, joined=False)

    def record_error(self, exc: CommandError) -> None:
        self.flag(exc)
        self.push_error(exc.code, exc.message)

    def error_reply(self, exc: CommandError, session: Session) -> list[str]:
        """A rejected line answers nothing; the error is in the ESR."""
        self.flag(exc)
        return []

    def flag(self, exc: CommandError) -> None:
        """Set the ESR bit of ``exc``'s class of error (16 execution, 32 command)."""
        self.esr |= ESR_EXECUTION if exc.code <= -200 else ESR_COMMAND

    def command(self, command: str) -> str | bytes | None:
        """One command; returns its reply or None (silent)."""
        head, query, arg = srs_split(command)
        args = split_args(arg)
        if self.buffer.running:  # samples due so far, before anything reads the channel
            self.buffer.catch_up(self.state.clock.now())
        if head in ("OUTP", "OUTR") and query:  # first: the readings clients ask for most
            need(args, 1)
            if head == "OUTR":
                i = int(in_range(parse_int(args[0], head), 1, 2))
                return fmt_g(self.outputs()[9 + i])
            i = int(in_range(parse_int(args[0], head), 1, 4))
            return self.remember(command, partial(self._output_reply, i))()
        if head in QUERIES and not query:
            raise not_a_query(head)
        if head == "*IDN":
            return f"Stanford_Research_Systems,{self.model},s/n{self.serial},ver1.07"
        if head in INT_SETTINGS:
            if query:
                return str(self.ints[head])
            need(args, 1, head)
            lo, hi = INT_SETTINGS[head]
            self.ints[head] = int(in_range(parse_int(args[0], head), lo, hi, head))
            return None
        reply = self._reference(head, query, args)
        if reply is not _NOT_MINE:
            return reply
        reply = self._status(head, query, args)
        if reply is not _NOT_MINE:
            return reply
        reply = self._storage(head, query, args)
        if reply is not _NOT_MINE:
            return reply
        return self._misc(command, head, query, args)

    def _reference(self, head: str, query: bool, args: list[str]) -> str | None | object:
        """Reference, gain and filter commands."""
        ch = self.channel
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
            ch.configure(phase_deg=(round(p, 2) + 180.0) % 360.0 - 180.0)
            return None
        if head == "SLVL":
            if query:
                return f"{self.amplitude:.3f}"
            need(args, 1)
            self.amplitude = round(in_range(parse_float(args[0], "SLVL"), 0.004, 5.0), 3)
            return None
        if head == "HARM":
            if query:
                return str(self.harmonic)
            need(args, 1)
            h = int(in_range(parse_int(args[0], "HARM"), 1, 19999))
            in_range(ch.frequency * h, 0.0, self.max_frequency, "HARM*FREQ")
            self.harmonic = h
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
        return _NOT_MINE

    def _status(self, head: str, query: bool, args: list[str]) -> str | None | object:
        """``*CLS``, ``*RST``, the event, enable and status-byte registers."""
        st = self.status
        if head == "*CLS":
            st.clear_events()
            self.errors.clear()
            return None
        if head == "*RST":
            self.reset()
            return None
        if head in EVENT_REGISTERS:
            return st.read_event(head, args)
        if head in ENABLE_REGISTERS:
            return st.enable(head, query, args)
        if head == "*STB":
            return st.read_status_byte(args, self.buffer.running)
        return _NOT_MINE

    def _storage(self, head: str, query: bool, args: list[str]) -> str | bytes | None | object:
        """Data storage commands and trace transfers (:func:`storage_command`)."""
        if head not in STORAGE_COMMANDS:
            return _NOT_MINE
        reply, started = storage_command(self.buffer, head, query, args, self.state.clock.now())
        if started:
            self.lias |= LIAS_TRIGGERED
        return reply

    def _misc(self, command: str, head: str, query: bool, args: list[str]) -> str | None:
        """Displays, snapshots, aux voltages, offsets, auto functions and setups."""
        ch = self.channel
        if head == "DDEF":
            if query:
                need(args, 1)
                i = int(in_range(parse_int(args[0], "DDEF"), 1, 2))
                return "{},{}".format(*self.display[i])
            need(args, 3)
            i = int(in_range(parse_int(args[0], "DDEF"), 1, 2))
            self.display[i] = [int(in_range(parse_int(args[1], "display"), 0, 4)),
                               int(in_range(parse_int(args[2], "ratio"), 0, 2))]
            return None
        if head == "FPOP":
            need(args, 1 if query else 2)
            i = int(in_range(parse_int(args[0], "FPOP"), 1, 2))
            if query:
                return str(self.front_output[i])
            self.front_output[i] = int(in_range(parse_int(args[1], "FPOP"), 0, 1))
            return None
        if head == "SNAP":
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
            self.aux_out[i - 1] = round(in_range(parse_float(args[1], "AUXV"), -10.5, 10.5), 3)
            return None
        if head == "OAUX":
            need(args, 1)
            in_range(parse_int(args[0], "OAUX"), 1, 4)
            return "0.000"
        if head == "OEXP":
            need(args, 1 if query else 3)
            i = int(in_range(parse_int(args[0], "OEXP"), 1, 3))
            if query:
                off, expand = self.offsets[i]
                return f"{off:.2f},{expand}"
            self.offsets[i] = (
                round(in_range(parse_float(args[1], "offset"), -105.0, 105.0), 2),
                int(in_range(parse_int(args[2], "expand"), 0, 2)),
            )
            return None
        if head in ("SSET", "RSET") and not query:
            need(args, 1)
            n = int(in_range(parse_int(args[0], head), 1, 9, "setup"))
            if head == "SSET":
                self.setups[n] = save_setup(self)
            elif n in self.setups:
                recall_setup(self, self.setups[n])
                self.channel.configure(tau=TIME_CONSTANTS[self.tau_index], poles=self.slope + 1)
            else:
                raise CommandError.of(EXECUTION_ERROR, f"setup {n} never saved")
            return None
        if query:
            raise CommandError.of(COMMAND_ERROR, f"unknown query {head[:20]!r}")
        if head == "APHS":
            z = ch.read()
            ch.configure(phase_deg=(ch.phase_deg + math.degrees(cmath.phase(z)) + 180.0) % 360.0
                         - 180.0)
            return None
        if head == "AGAN":
            r = abs(ch.read())
            fits = [i for i, s in enumerate(SENSITIVITIES) if s >= 1.25 * r]
            self.sens_index = fits[0] if fits else len(SENSITIVITIES) - 1
            return None
        if head == "AOFF":
            need(args, 1)
            in_range(parse_int(args[0], "AOFF"), 1, 3)
            return None
        if head == "ARSV":
            return None
        raise CommandError.of(COMMAND_ERROR, f"unknown command {head[:20]!r}")


#: a command handler's "not one of mine" (None is a silent set command's reply)
_NOT_MINE = object()
