"""Safety limits and interlocks of a rig, checked before anything moves.

The limits come from the rig file's ``[limits]`` table (see
``instruments/virtual.toml``); every target of a scan plan is checked against
the scan range before the first move, and the interlocks (temperature, field
ramping, RF power) are checked before the scan starts and, for temperature,
before every line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mrfm.drivers.errors import InstrumentError
from mrfm.errors import UserError
from mrfm.rigdef.rigfile import RigLimits


class InterlockError(InstrumentError):
    """An interlock refused to start or stopped the scan (the rig is left safe)."""


@dataclass(frozen=True)
class SafetyLimits(RigLimits):
    """Limits a scan must respect: the rig file's limits with the scan's checks.

    The fields (SI: m, K, s, dBm, T, T/s, V) and their defaults are those of
    :class:`mrfm.rigdef.rigfile.RigLimits`; ``SafetyLimits(**rig.limits.safety_kwargs())``
    turns a parsed rig file's limits into these.
    """

    def check_positions(self, positions: np.ndarray) -> None:
        """Raise UserError naming the first target outside the scan range."""
        pts = np.asarray(positions, dtype=float).reshape(-1, 3)
        for axis, name, (lo, hi) in (
            (0, "x", self.x_range), (1, "y", self.y_range), (2, "height", self.height_range),
        ):
            bad = (pts[:, axis] < lo) | (pts[:, axis] > hi)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise UserError(
                    f"scan.{name}: target {pts[i, axis]:.4g} m is outside the rig's range "
                    f"[{lo:.4g}, {hi:.4g}] m at this temperature; nothing was moved"
                )

    def check_rf_power(self, power_dbm: float) -> None:
        """Raise InterlockError if the RF output set-point exceeds the limit."""
        if not math.isinf(power_dbm) and power_dbm > self.max_rf_power_dbm:
            raise InterlockError(
                f"RF power {power_dbm:g} dBm above the rig limit {self.max_rf_power_dbm:g} dBm"
            )

    def check_field(self, field: float) -> None:
        """Raise InterlockError if the magnet field exceeds the rig's limit (NaN: no magnet)."""
        if math.isfinite(field) and abs(field) > self.max_field:
            raise InterlockError(
                f"magnet field {field:.4g} T above the rig limit {self.max_field:.4g} T; "
                "scan not started"
            )

    def check_temperature(self, temperature: float) -> None:
        """Raise InterlockError if the stage is above the temperature interlock."""
        if temperature > self.max_temperature:
            raise InterlockError(
                f"stage temperature {temperature:.3f} K above the interlock "
                f"{self.max_temperature:.3f} K; scan not started"
            )
