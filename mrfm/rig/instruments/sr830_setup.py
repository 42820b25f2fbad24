"""The SR830's integer settings and the setups ``SSET`` saves (SR830 manual, ch. 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrfm.rig.instruments.sr830 import SR830

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


def save_setup(li: SR830) -> Setup:
    """The settings of ``li`` that ``SSET`` saves."""
    ch, buf = li.channel, li.buffer
    return Setup(
        li.sens_index, li.tau_index, li.slope, li.amplitude, li.harmonic, dict(li.ints),
        {k: (v[0], v[1]) for k, v in li.display.items()}, dict(li.front_output),
        dict(li.offsets), tuple(li.aux_out), ch.frequency, ch.phase_deg,
        (buf.rate_index, buf.loop, buf.trigger_starts),
    )


def recall_setup(li: SR830, s: Setup) -> None:
    """``RSET``: restore the saved setup ``s`` on ``li`` (the caller then applies the
    filter settings to the channel)."""
    li.sens_index, li.tau_index, li.slope = s.sens_index, s.tau_index, s.slope
    li.amplitude, li.harmonic, li.ints = s.amplitude, s.harmonic, dict(s.ints)
    li.display = {k: list(v) for k, v in s.display.items()}
    li.front_output, li.offsets = dict(s.front_output), dict(s.offsets)
    li.aux_out = list(s.aux_out)
    li.buffer.rate_index, li.buffer.loop, li.buffer.trigger_starts = s.buffer
    li.channel.configure(frequency=s.frequency, phase_deg=s.phase)
