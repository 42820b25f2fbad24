"""Keysight 33500B-series waveform generator (33511B/33512B 20 MHz, 33521B/33522B 30 MHz).

SCPI over USB, LAN (VXI-11) or a raw socket (port 5025); LF both ways. The
driver uses the short forms (``SOUR1:FREQ``) of the 33500B manual; every set is
followed by ``SYST:ERR?`` until ``+0,"No error"``. The channel of the
properties is :attr:`KS33500B.channel` (1 or 2); the model in ``*IDN?`` sets the
maximum frequency and the number of channels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import (
    Bool,
    Instrument,
    LimitError,
    OneOf,
    Range,
    Setting,
    Validator,
    parse_bool,
    parse_float,
    parse_int,
)
from mrfm.rigdef.registry import terminations

MAX_FREQUENCY = {"33511B": 20e6, "33512B": 20e6, "33521B": 30e6, "33522B": 30e6}
TWO_CHANNELS = ("33512B", "33522B")
FUNCTIONS = ("SIN", "SQU", "TRI", "RAMP", "PULS", "PRBS", "NOIS", "ARB", "DC")
TRIGGER_SOURCES = ("IMM", "EXT", "TIM", "BUS")
#: what the instrument returns for an infinite (high-Z) load
INF_LOAD = 9.9e37


class _Load(Validator):
    """1 ohm - 10 kohm, or ``math.inf``/``"INF"`` (high impedance)."""

    def __call__(self, value: Any, name: str) -> str:
        if isinstance(value, str) and value.strip().upper() in ("INF", "INFINITY"):
            return "INF"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isinf(value):
            if value > 0:
                return "INF"
        return f"{Range(1.0, 10e3)(value, name):.10g}"


def _parse_load(text: str) -> float:
    if text.strip().upper() == "INF":
        return math.inf
    value = parse_float(text)
    return math.inf if value >= INF_LOAD else value


def _parse_function(text: str) -> str:
    t = text.strip().upper()
    if t not in FUNCTIONS:
        raise ValueError(f"unknown function {t[:20]!r}")
    return t


def _parse_trigger(text: str) -> str:
    t = text.strip().upper()
    if t not in TRIGGER_SOURCES:
        raise ValueError(f"unknown trigger source {t[:20]!r}")
    return t


class KS33500B(Instrument):
    """33500B waveform generator.

    Parameters
    ----------
    resource : str
        VISA resource string.
    channel : int
        Channel of the properties (1 or 2).
    model_name : str, optional
        ``"33522B"`` etc.; by default read from ``*IDN?`` when first needed.
    **kwargs
        See :class:`~mrfm.drivers.base.Instrument`. ``limits`` keys: ``frequency`` (Hz),
        ``amplitude`` (Vpp, upper bound), ``offset`` (V, magnitude).
    """

    model = "33500B"
    read_termination, write_termination = terminations("keysight.33500b")
    limit_keys: Mapping[str, str] = {
        "frequency": "frequency range, Hz",
        "amplitude": "largest amplitude, Vpp",
        "offset": "largest |offset|, V",
    }

    def __init__(self, resource: str, *, channel: int = 1, model_name: str | None = None,
                 **kwargs: Any) -> None:
        self._model_name = model_name.upper() if model_name else None
        self.channel = channel
        super().__init__(resource, **kwargs)

    @property
    def channel(self) -> int:
        """Channel the properties act on (1 or 2)."""
        return self._channel

    @channel.setter
    def channel(self, value: int) -> None:
        self._channel = Range(1, 2, integer=True)(value, "33500B.channel")

    @property
    def model_name(self) -> str:
        """Model number from ``*IDN?`` (``33522B``)."""
        if self._model_name is None:
            self._model_name = self.idn["model"].upper()
        return self._model_name

    @property
    def channels(self) -> tuple[int, ...]:
        """Channel numbers of this model."""
        return (1, 2) if self.model_name in TWO_CHANNELS else (1,)

    def command_fields(self) -> dict[str, Any]:
        return {"ch": self._channel}

    def _frequency_range(self) -> Range:
        return Range(1e-6, MAX_FREQUENCY.get(self.model_name, 20e6))

    function = Setting("SOUR{ch}:FUNC?", "SOUR{ch}:FUNC {}", validator=OneOf(FUNCTIONS),
                       parse=_parse_function, limit=None, doc="Waveform (SIN, SQU, ...).")
    frequency = Setting("SOUR{ch}:FREQ?", "SOUR{ch}:FREQ {}", unit="Hz",
                        validator=lambda inst: inst._frequency_range(), doc="Frequency.")
    amplitude = Setting("SOUR{ch}:VOLT?", "SOUR{ch}:VOLT {}", unit="Vpp",
                        validator=Range(0.01, 10.0), limit_mode="upper",
                        doc="Amplitude into 50 ohm, peak to peak.")
    offset = Setting("SOUR{ch}:VOLT:OFFS?", "SOUR{ch}:VOLT:OFFS {}", unit="V",
                     validator=Range(-4.995, 4.995), limit_mode="abs", doc="DC offset.")
    phase = Setting("SOUR{ch}:PHAS?", "SOUR{ch}:PHAS {}", unit="deg",
                    validator=Range(-360.0, 360.0), limit=None, doc="Phase.")
    output = Setting("OUTP{ch}?", "OUTP{ch} {}", validator=Bool("ON", "OFF"), parse=parse_bool,
                     limit=None, doc="Output on/off.")
    load = Setting("OUTP{ch}:LOAD?", "OUTP{ch}:LOAD {}", unit="ohm", validator=_Load(),
                   parse=_parse_load, fmt="{}", limit=None,
                   doc="Expected load, 1 ohm - 10 kohm or inf (high Z).")
    burst = Setting("SOUR{ch}:BURS:STAT?", "SOUR{ch}:BURS:STAT {}", validator=Bool("ON", "OFF"),
                    parse=parse_bool, limit=None, doc="Burst mode on/off.")
    burst_cycles = Setting("SOUR{ch}:BURS:NCYC?", "SOUR{ch}:BURS:NCYC {}",
                           validator=Range(1, 100_000_000, integer=True), parse=parse_int,
                           limit=None, doc="Cycles per burst.")
    trigger_source = Setting("TRIG{ch}:SOUR?", "TRIG{ch}:SOUR {}",
                             validator=OneOf(TRIGGER_SOURCES), parse=_parse_trigger,
                             limit=None, doc="Burst trigger: IMM, EXT, TIM or BUS.")

    logged = ("function", "frequency", "amplitude", "offset", "output", "load")

    def outputs_off(self) -> None:
        """Switch every output of this model off."""
        for ch in self.channels:
            self.write(f"OUTP{ch} OFF")

    def configure_burst(self, *, cycles: int, trigger: str = "EXT") -> None:
        """Gate the output in bursts of ``cycles`` periods started by ``trigger``."""
        if cycles < 1:
            raise LimitError(f"33500B.burst_cycles: {cycles} < 1")
        self.burst_cycles = cycles
        self.trigger_source = trigger
        self.burst = True

