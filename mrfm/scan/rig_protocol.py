"""What the scan loop needs from a rig: the :class:`RigHandle` protocol, and the rig's own
time per step (:class:`RigTiming`) that the duration estimate adds to the plan's waits.

:class:`mrfm.scan.rig_handle.DriverRig` implements it over the pyvisa drivers; the
controller's tests and ``benchmarks/bench_scan.py`` have in-memory rigs of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mrfm.scan.plan import Position
from mrfm.scan.safety import SafetyLimits


@dataclass(frozen=True)
class RigTiming:
    """A rig's own wall time per step of the scan (measured by :meth:`RigHandle.timing`), s.

    Attributes
    ----------
    point : float
        One point beyond its settling wait: move, on-target wait, readings.
    move : float
        One move without readings (approach, retract, park).
    line : float
        Per line: the checks of the instruments no point reads, the temperature, the flush.
    fixed : float
        Once per scan: start interlocks, RF on, the safe state's switching off.
    park : tuple of float
        Where the safe state parks the tip (x, y), m.
    park_step : float
        Largest step of the retract and park, m (0: one move).
    """

    point: float = 0.0
    move: float = 0.0
    line: float = 0.0
    fixed: float = 0.0
    park: tuple[float, float] = (0.0, 0.0)
    park_step: float = 0.0


class RigHandle(Protocol):
    """What the scan loop needs from a rig (SI units throughout)."""

    #: simulated seconds per wall second (a virtual rig; 1 for hardware): waits divide by it
    time_scale: float

    def channels(self) -> list:
        """The :class:`~mrfm.scan.store.Channel` list this rig records per point."""

    def time_constant(self) -> float:
        """Lock-in time constant, s."""

    def filter_order(self) -> int:
        """Poles of the lock-in's output filter (6 dB/oct each)."""

    def move_to(self, position: Position) -> None:
        """Move the tip to (x, y, height), m; returns when the stage is on target."""

    def read(self) -> dict[str, float]:
        """Read every channel at the current point."""

    def temperature(self) -> float:
        """Stage temperature, K."""

    def field_ramping(self) -> bool:
        """True while the magnet supply is ramping."""

    def rf_power(self) -> float:
        """RF output power set-point, dBm (-inf when off)."""

    def safe_state(self, *, safe_height: float) -> list[str]:
        """RF and outputs off, tip retracted to ``safe_height`` and parked; returns problems."""

    def identities(self) -> dict[str, str]:
        """``*IDN?`` (or equivalent) of every instrument."""

    def field(self) -> float:
        """Magnet field, T (NaN without a magnet supply: no field interlock)."""

    def position(self) -> Position:
        """Where the tip is, (x, y, height) m (from the scanner's sensors)."""

    def prepare(self, *, limits: SafetyLimits) -> None:
        """Switch on what the measurement needs (RF at its level) after the interlocks."""

    def pause(self) -> None:
        """Switch off what must not run while the scan waits (RF, temperature interlock)."""

    def check_instruments(self) -> None:
        """Once per line: the instruments no point reads still answer and hold what the
        scan set (RF on, field holding); raises :class:`InstrumentError` otherwise."""

    def timing(self, settle: float = 0.0) -> RigTiming:
        """The rig's own time per point (beyond a settling wait of ``settle`` rig seconds),
        move, line and scan (for the duration estimate)."""


__all__ = ["RigHandle", "RigTiming"]
