"""The SR830's integer settings and the setups ``SSET`` saves (SR830 manual, ch. 5)."""

from __future__ import annotations

from dataclasses import dataclass

#: integer settings: mnemonic -> (lowest, highest) (SR830 manual, ch. 5)
INT_SETTINGS: dict[str, tuple[int, int]] = {
    "FMOD": (0, 1), "RSLP": (0, 2), "ISRC": (0, 3), "IGND": (0, 1), "ICPL": (0, 1),
    "ILIN": (0, 3), "RMOD": (0, 2), "SYNC": (0, 1), "OUTX": (0, 1), "LOCL": (0, 2),
    "OVRM": (0, 1), "KCLK": (0, 1), "ALRM": (0, 1), "*PSC": (0, 1), "FAST": (0, 2),
}
#: power-on values of :data:`INT_SETTINGS` (the reference is internal, the interface GPIB)
INT_DEFAULTS = {"FMOD": 1, "RSLP": 0, "ISRC": 0, "IGND": 0, "ICPL": 0, "ILIN": 0, "RMOD": 1,
                "SYNC": 0, "OUTX": 1, "LOCL": 0, "OVRM": 1, "KCLK": 1, "ALRM": 1, "*PSC": 1,
                "FAST": 0}

@dataclass(frozen=True)
class Setup:
    """One saved setup (``SSET``)."""

    sens_index: int
    tau_index: int
    slope: int
    amplitude: float
    harmonic: int
    ints: dict[str, int]
    display: dict[int, tuple[int, int]]
    front_output: dict[int, int]
    offsets: dict[int, tuple[float, int]]
    aux_out: tuple[float, ...]
    frequency: float
    phase: float
    buffer: tuple[int, bool, bool]
