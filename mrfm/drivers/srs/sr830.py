"""Stanford Research Systems SR830 DSP lock-in amplifier (1 mHz - 102 kHz).

Wire format (SR830 manual, ch. 5): commands end in LF; replies end in LF over
GPIB (CR over RS-232: pass ``read_termination="\\r"``). Set commands are silent;
errors set bits of the standard event status register, read (and cleared) with
``*ESR?`` after every set. Sensitivity and time constant are index-coded
(``SENS``, ``OFLT``); ``OUTP?``/``SNAP?`` number X, Y, R, theta from 1.

Examples
--------
>>> li = SR830("GPIB::8::INSTR", backend="instruments/sim/sr830.yaml@sim")  # doctest: +SKIP
>>> li.time_constant = 0.1          # s, must be one of TIME_CONSTANTS
>>> x, y = li.xy()                  # V
"""

from __future__ import annotations

from collections.abc import Mapping

from mrfm.drivers.base import (
    Measurement,
    Range,
    Setting,
    parse_int,
)
from mrfm.drivers.srs._lockin import SRSLockin
from mrfm.rigdef.registry import terminations

#: full-scale sensitivity, V, by SENS index 0..26 (2 nV ... 1 V in 1-2-5 steps)
SENSITIVITIES = [m * 10.0**e for e in range(-9, 0) for m in (1.0, 2.0, 5.0)][1:] + [1.0]
#: time constant, s, by OFLT index 0..19 (10 us ... 30 ks in 1-3 steps)
TIME_CONSTANTS = [m * 10.0**e for e in range(-5, 5) for m in (1.0, 3.0)]
#: filter slope, dB/octave, by OFSL index
FILTER_SLOPES = [6, 12, 18, 24]
#: SNAP? parameter codes
SNAP_CODES = {
    "x": 1, "y": 2, "r": 3, "theta": 4, "aux1": 5, "aux2": 6, "aux3": 7, "aux4": 8,
    "frequency": 9, "ch1": 10, "ch2": 11,
}


class SR830(SRSLockin):
    """SR830 lock-in amplifier.

    Per-instance ``limits`` keys: ``frequency`` (Hz), ``amplitude`` (V rms),
    ``aux_out`` (V, magnitude bound or (lo, hi)).
    """

    snap_codes = SNAP_CODES
    snap_count = (2, 6)
    aux_indices = (1, 4)
    aux_set_format = "AUXV {i},{v:.10g}"

    model = "SR830"
    read_termination, write_termination = terminations("srs.sr830")
    limit_keys: Mapping[str, str] = {
        "frequency": "reference frequency range, Hz",
        "amplitude": "sine output amplitude, V rms",
        "aux_out": "aux output voltage, V",
    }

    frequency = Setting("FREQ?", "FREQ {}", unit="Hz", validator=Range(1e-3, 102e3),
                        doc="Reference frequency.")
    amplitude = Setting("SLVL?", "SLVL {}", unit="V", validator=Range(0.004, 5.0),
                        doc="Sine output amplitude (rms).")
    phase = Setting("PHAS?", "PHAS {}", unit="deg", validator=Range(-360.0, 729.99),
                    doc="Reference phase shift.")
    sensitivity = Setting("SENS?", "SENS {}", unit="V", value_map=SENSITIVITIES,
                          doc="Full-scale sensitivity (one of SENSITIVITIES).")
    time_constant = Setting("OFLT?", "OFLT {}", unit="s", value_map=TIME_CONSTANTS,
                            doc="Output filter time constant (one of TIME_CONSTANTS).")
    filter_slope = Setting("OFSL?", "OFSL {}", unit="dB/oct", value_map=FILTER_SLOPES,
                           doc="Low-pass filter slope (6, 12, 18 or 24).")
    harmonic = Setting("HARM?", "HARM {}", validator=Range(1, 19999, integer=True),
                       parse=parse_int, doc="Detection harmonic.")
    reference_source = Setting("FMOD?", "FMOD {}", value_map={"external": 0, "internal": 1},
                               doc="Reference source, 'internal' or 'external'.")

    x = Measurement("OUTP? 1", unit="V", doc="In-phase output X.")
    y = Measurement("OUTP? 2", unit="V", doc="Quadrature output Y.")
    r = Measurement("OUTP? 3", unit="V", doc="Magnitude R.")
    theta = Measurement("OUTP? 4", unit="deg", doc="Phase theta.")

    def auto_phase(self) -> None:
        """Auto-phase (``APHS``)."""
        self.write("APHS")
