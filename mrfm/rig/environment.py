"""The virtual rig's sample environment: magnet supply, cryostat and RF source.

* **Magnet** (AMI 430): linear ramp at the configured rate to the target;
  STATE 1 ramping -> 2 holding; pause, zero.
* **Cryostat** (Lake Shore 336): ``dT/dt = (T_target - T)/tau`` with T_target the
  (possibly ramping) setpoint while heater output 1 is on, capped by the heater
  range, and the base temperature when it is off. A temperature above the
  lab's interlock switches the RF output off (:meth:`mrfm.rig.state.RigState.temperature`).
* **RF** (SG384): frequency, power, output, FM deviation and rate. An external
  frequency multiplier after the source (``rf_multiplier`` N, the rig file's
  ``frequency_multiplier`` option of the SG384, e.g. 4 for X band from a source
  that stops at 4.05 GHz) multiplies both the carrier and the FM deviation, so
  the spins see ``f_rf = N f_source`` and the resonant slice's half-width is
  ``2 pi N f_dev/|gamma|`` in field units.
* **Drift** (the experiment's stage, :class:`mrfm.physics.Stage`): the tip-sample
  mechanical loop's thermal expansion since the rig started, ``L int alpha dT`` from the
  base temperature to the stage's present one (:meth:`mrfm.physics.Stage.thermal_strain`),
  raises the tip (an assumed geometry: the loop lengthens along z), and the residual creep
  moves it at ``residual_drift`` along a direction drawn once from the rig's seed. The
  piezo sensors do not see either (they measure the piezos' extension).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrfm.physics import Stage
    from mrfm.rig.state import RigState


# -------------------------------------------------------------------- magnet
class Magnet:
    """AMI 430 supply and magnet: field, target, ramp rate and state code."""

    RAMPING, HOLDING, PAUSED, ZEROING, AT_ZERO = 1, 2, 3, 6, 8

    def __init__(self, state: RigState, initial_field: float) -> None:
        self.state = state
        self.field0 = initial_field
        self.t0 = 0.0
        self.target = initial_field
        self.rate = min(0.01, state.limits.max_field_rate)  # T/s
        self.mode = self.PAUSED
        self.coil_constant = state.settings.coil_constant

    def _heading(self) -> float | None:
        if self.mode == self.RAMPING:
            return self.target
        if self.mode == self.ZEROING:
            return 0.0
        return None

    def field(self, now: float) -> float:
        """Field now, T."""
        goal = self._heading()
        if goal is None:
            return self.field0
        span = goal - self.field0
        moved = self.rate * max(0.0, now - self.t0)
        if moved >= abs(span):
            return goal
        return self.field0 + math.copysign(moved, span)

    def state_code(self, now: float) -> int:
        """AMI STATE? code at ``now``."""
        goal = self._heading()
        if goal is not None and self.field(now) == goal:
            return self.AT_ZERO if self.mode == self.ZEROING else self.HOLDING
        return self.mode

    def _settle(self, now: float) -> None:
        self.state.before_change()  # the lock-ins see the change from now on
        self.field0 = self.field(now)
        self.mode = self.state_code(now)
        self.t0 = now

    def ramp(self, now: float) -> None:
        """Start ramping to the target."""
        self._settle(now)
        self.mode = self.RAMPING

    def pause(self, now: float) -> None:
        """Hold the present field."""
        self._settle(now)
        self.mode = self.PAUSED

    def zero(self, now: float) -> None:
        """Ramp to zero field."""
        self._settle(now)
        self.mode = self.ZEROING

    def set_rate(self, rate: float, now: float) -> None:
        """Change the ramp rate (T/s); a running ramp continues from where it is."""
        self._settle(now)
        self.rate = rate

    def set_target(self, target: float, now: float) -> None:
        """Change the target (T); a running ramp turns towards it."""
        self._settle(now)
        self.target = target


# ------------------------------------------------------------------ cryostat
class Cryostat:
    """Stage temperature with heater output 1 of a Lake Shore 336."""

    def __init__(self, state: RigState, base: float) -> None:
        self.state = state
        self.base = base
        self.temperature = base
        self.t_last = 0.0
        self.setpoint = base
        self.setpoint_target = base
        self.ramp_on = False
        self.ramp_rate = 0.0  # K/s
        self.heater_range = 0
        self.mode = 1  # closed loop

    def _target(self, setpoint: float) -> float:
        if self.heater_range <= 0 or self.mode == 0:
            return self.base
        cap = self.state.settings.heater_max_temperature[min(self.heater_range, 3) - 1]
        return min(max(setpoint, self.base), cap)

    def advance(self, now: float) -> None:
        """Integrate to ``now`` (exact exponential per sub-step, setpoint ramp linear)."""
        dt_total = now - self.t_last
        if dt_total <= 0:
            return
        ramping = self.ramp_on and self.setpoint != self.setpoint_target
        if not ramping and self.temperature == self._target(self.setpoint):
            self.t_last = now  # at equilibrium: the relaxation below leaves it unchanged
            return
        tau = max(self.state.settings.thermal_time_constant, 1e-9)
        steps = 1
        if ramping:
            steps = int(min(2000, max(1, math.ceil(dt_total / (tau / 20.0)))))
        dt = dt_total / steps
        for _ in range(steps):
            if self.ramp_on and self.setpoint != self.setpoint_target:
                step = self.ramp_rate * dt
                diff = self.setpoint_target - self.setpoint
                self.setpoint = self.setpoint_target if abs(diff) <= step else (
                    self.setpoint + math.copysign(step, diff)
                )
            target = self._target(self.setpoint)
            self.temperature = target + (self.temperature - target) * math.exp(-dt / tau)
        self.t_last = now

    def set_setpoint(self, value: float, now: float) -> None:
        """New setpoint, K (ramped at the ramp rate when the ramp is on)."""
        self.advance(now)
        self.setpoint_target = value
        if not self.ramp_on or self.ramp_rate <= 0:
            self.setpoint = value

    def heater_percent(self, now: float) -> float:
        """Heater output, % of range: the power needed to hold T above base."""
        self.advance(now)
        if self.heater_range <= 0:
            return 0.0
        cap = self.state.settings.heater_max_temperature[min(self.heater_range, 3) - 1]
        target = self._target(self.setpoint)
        return 100.0 * min(1.0, max(0.0, (target - self.base) / max(cap - self.base, 1e-9)))


# ------------------------------------------------------------------------ RF
#: the RF source's fields that change the spin signal
_SIGNAL_FIELDS = frozenset(
    ("frequency", "output", "modulation", "mod_type", "fm_deviation", "mod_rate", "interlocked"))


@dataclass
class RFSource:
    """SG384 state (Hz, dBm, booleans)."""

    frequency: float = 100e6
    power_dbm: float = -10.0
    output: bool = False
    modulation: bool = False
    mod_type: int = 1
    fm_deviation: float = 0.0
    mod_rate: float = 1e3
    interlocked: bool = False
    #: called before a change of any field the spins see (RigState.before_change)
    listener: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SIGNAL_FIELDS:
            listener = self.__dict__.get("listener")
            if listener is not None and self.__dict__.get(name) != value:
                listener()
        object.__setattr__(self, name, value)

    def active_fm(self) -> bool:
        """True when the N-type output sweeps the frequency (FM on, output on, no interlock)."""
        return self.output and self.modulation and self.mod_type == 1 and not self.interlocked


# -------------------------------------------------------------------- drift
class Drift:
    """Tip-sample drift: thermal expansion of the loop and residual creep (module notes).

    Parameters
    ----------
    stage : mrfm.physics.Stage
        The experiment's stage (loop length, expansion law, residual drift).
    base : float
        Temperature at which the drift is zero, K (the cryostat's at start).
    direction : (3,) sequence of float
        Unit vector of the residual creep.
    enabled : bool
        False: no drift (``[virtual] drift``).
    """

    def __init__(self, stage: Stage, base: float, direction: tuple[float, float, float],
                 enabled: bool) -> None:
        self.stage = stage
        self.base = float(base)
        self.direction = direction
        self.enabled = bool(enabled)

    def offset(self, now: float, temperature: float) -> tuple[float, float, float]:
        """Displacement of the tip relative to the sample at simulated time ``now`` (s)
        with the stage at ``temperature`` (K), m (x, y, height)."""
        if not self.enabled:
            return 0.0, 0.0, 0.0
        creep = self.stage.residual_drift * max(now, 0.0)
        lift = 0.0
        if temperature != self.base:
            lift = self.stage.loop_length * self.stage.thermal_strain(self.base, temperature)
        ux, uy, uz = self.direction
        return creep * ux, creep * uy, creep * uz + lift
