"""Stanford Research Systems SR865 / SR865A (SR86x family) lock-in amplifier.

Differs from the SR830 on the wire (SR865A manual, ch. 4): sensitivity is
``SCAL`` with index 0 = 1 V down to 27 = 1 nV (the SR830's order reversed);
time constants start at 1 us (``OFLT`` 0..21); ``OUTP?`` and ``SNAP?`` number
X, Y, R, theta from 0 and ``SNAP?`` takes 2 or 3 parameters; a space is
required between mnemonic and argument. LF terminations; set commands are
silent and errors are read with ``*ESR?``. The maximum frequency follows the
model in ``*IDN?`` (SR860 500 kHz, SR865 2 MHz, SR865A 4 MHz).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrfm.drivers.base import (
    Measurement,
    Range,
    Setting,
    parse_int,
)
from mrfm.drivers.srs._lockin import SRSLockin
from mrfm.rigdef.registry import terminations

#: full-scale sensitivity, V, by SCAL index 0..27 (1 V ... 1 nV, 1-2-5 steps downwards)
SENSITIVITIES = [m * 10.0**e for e in range(-9, 1) for m in (1.0, 2.0, 5.0)][:28][::-1]
#: time constant, s, by OFLT index 0..21 (1 us ... 30 ks)
TIME_CONSTANTS = [m * 10.0**e for e in range(-6, 5) for m in (1.0, 3.0)]
FILTER_SLOPES = [6, 12, 18, 24]
#: SNAP? codes (0-based)
SNAP_CODES = {
    "x": 0, "y": 1, "r": 2, "theta": 3, "aux1": 4, "aux2": 5, "aux3": 6, "aux4": 7,
    "xnoise": 8, "ynoise": 9, "out1": 10, "out2": 11, "phase": 12, "amplitude": 13,
    "level": 14, "internal_frequency": 15, "external_frequency": 16,
}
MAX_FREQUENCY = {"SR860": 500e3, "SR865": 2e6, "SR865A": 4e6}


class SR865(SRSLockin):
    """SR86x lock-in amplifier (SR860, SR865, SR865A).

    Parameters
    ----------
    resource : str
        VISA resource string.
    model_name : str, optional
        ``"SR860"``, ``"SR865"`` or ``"SR865A"``; by default read from ``*IDN?`` when the
        frequency range is first needed.
    **kwargs
        See :class:`~mrfm.drivers.base.Instrument`. ``limits`` keys: ``frequency`` (Hz),
        ``amplitude`` (V), ``aux_out`` (V).
    """

    snap_codes = SNAP_CODES
    snap_count = (2, 3)
    aux_indices = (0, 3)
    aux_set_format = "AUXV {i}, {v:.10g}"

    model = "SR865"
    read_termination, write_termination = terminations("srs.sr865")
    limit_keys: Mapping[str, str] = {
        "frequency": "reference frequency range, Hz",
        "amplitude": "sine output amplitude, V",
        "aux_out": "aux output voltage, V",
    }

    def __init__(self, resource: str, *, model_name: str | None = None, **kwargs: Any) -> None:
        self._model_name = model_name
        super().__init__(resource, **kwargs)

    def _frequency_range(self) -> Range:
        if self._model_name is None:
            self._model_name = self.idn["model"].upper()
        hi = MAX_FREQUENCY.get(self._model_name.upper(), 2e6)
        return Range(1e-3, hi)

    frequency = Setting("FREQ?", "FREQ {}", unit="Hz",
                        validator=lambda inst: inst._frequency_range(),
                        doc="Reference frequency (maximum set by the model).")
    amplitude = Setting("SLVL?", "SLVL {}", unit="V", validator=Range(0.0, 2.0),
                        doc="Sine output amplitude.")
    phase = Setting("PHAS?", "PHAS {}", unit="deg", validator=Range(-360.0, 360.0),
                    doc="Reference phase shift.")
    sensitivity = Setting("SCAL?", "SCAL {}", unit="V", value_map=SENSITIVITIES,
                          doc="Full-scale sensitivity (index 0 = 1 V).")
    time_constant = Setting("OFLT?", "OFLT {}", unit="s", value_map=TIME_CONSTANTS,
                            doc="Output filter time constant.")
    filter_slope = Setting("OFSL?", "OFSL {}", unit="dB/oct", value_map=FILTER_SLOPES,
                           doc="Filter slope.")
    harmonic = Setting("HARM?", "HARM {}", validator=Range(1, 99, integer=True),
                       parse=parse_int, doc="Detection harmonic.")
    reference_source = Setting(
        "RSRC?", "RSRC {}",
        value_map={"internal": 0, "external": 1, "dual": 2, "chop": 3},
        doc="Reference source: internal, external, dual or chop.",
    )

    x = Measurement("OUTP? 0", unit="V", doc="In-phase output X.")
    y = Measurement("OUTP? 1", unit="V", doc="Quadrature output Y.")
    r = Measurement("OUTP? 2", unit="V", doc="Magnitude R.")
    theta = Measurement("OUTP? 3", unit="deg", doc="Phase theta.")
