"""iOSCAR: lock-in detection of the interrupted OSCAR frequency modulation.

Physics (Rugar, Budakian, Mamin & Chui, Nature 430, 329 (2004), Methods;
Mamin et al., PRL 91, 207604 (2003)): periodic interruptions of the RF invert
the locked spin relative to the cantilever phase every half period of the
interruption cycle, so the OSCAR frequency shift delta_f becomes a square-wave
frequency modulation of amplitude delta_f. A lock-in referenced to the
interruption cycle measures its fundamental Fourier component, whose peak
amplitude is (4/pi) delta_f.

Convention used here: the iOSCAR signal is the **rms** lock-in amplitude,
``(4/pi)/sqrt(2) * delta_f = 0.9003 delta_f`` (Hz); with statistical
polarization the variance is scaled by the square of that factor (Hz^2).
The per-spin kernel is the OSCAR kernel (:mod:`mrfm.solver.protocols.oscar`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mrfm.solver.protocols import oscar

if TYPE_CHECKING:
    from mrfm.config import Experiment

NAME = "iOSCAR"
UNITS = {"curie": "Hz", "statistical": "Hz^2"}
REFERENCES = (
    "Rugar, Budakian, Mamin & Chui, Nature 430, 329 (2004)",
    "Mamin, Budakian, Chui & Rugar, Phys. Rev. Lett. 91, 207604 (2003)",
)

#: rms amplitude of the fundamental of a +-1 square wave: (4/pi)/sqrt(2)
LOCKIN_FACTOR = 4.0 / math.pi / math.sqrt(2.0)


def prefactor(exp: Experiment) -> float:
    """OSCAR prefactor times the lock-in conversion factor (the kernel is OSCAR's)."""
    return LOCKIN_FACTOR * oscar.prefactor(exp)


quantity = oscar.quantity
