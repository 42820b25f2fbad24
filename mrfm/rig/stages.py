"""The virtual rig's positioners: the fine scanner (PI E-727) and the coarse stepper (ANC300).

* **Fine piezo** (axes 1 x, 2 y, 3 z): gain (m/V) falling from 300 K to 4.2 K by
  ``low_temperature_fraction`` (linear in T, :func:`mrfm.physics.stage.piezo_fraction_at`,
  the law of :meth:`mrfm.physics.Stage.piezo_fraction`); the drive voltage is limited by the lab's
  ``piezo_voltage`` limit at the current temperature, which with the gain gives the
  travel range. Open loop, the displacement is a Prandtl-Ishlinskii model with one
  linear and one play (backlash) operator, ``d = g [(1 - h) V + h P_w(V)]`` (Kuhnen,
  Ann. Rev. Control 27, 2003; Krasnosel'skii & Pokrovskii 1989), plus logarithmic creep
  after each change Delta of the hysteretic displacement,
  ``Delta * gamma * log10(1 + t/tau_c)`` (Jung & Gweon, Rev. Sci. Instrum. 71, 3436
  (2000)). Closed loop, the capacitive sensor and the servo remove both; the position
  settles to the target with the servo time constant plus sensor noise.
* **Coarse stepper**: steps of ``coarse_step_per_volt * V`` times the same piezo law's
  fraction at the stage temperature (:meth:`mrfm.rig.state.RigState.temperature_factor`),
  issued at the step frequency in simulated time; axes 1-3 offset x, y, height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mrfm.physics.stage import PIEZO_ROOM_TEMPERATURE
from mrfm.rigdef.rigfile import VirtualSettings

if TYPE_CHECKING:
    from mrfm.rig.state import RigState


# ------------------------------------------------------------------------- piezo
@dataclass
class PiezoAxis:
    """One fine-scanner axis (positions in m, voltage in V); see the module docstring."""

    name: str
    range_300K: float
    origin_fraction: float
    settings: VirtualSettings
    voltage: float = 0.0
    play: float = 0.0
    servo: bool = True
    target: float = 0.0
    servo_start: float = 0.0
    servo_from: float = 0.0
    servo_t0: float = 0.0
    creep_steps: list = field(default_factory=list)
    creep_base: float = 0.0


class FineStage:
    """The closed-loop fine scanner (PI E-727): three :class:`PiezoAxis`."""

    def __init__(self, state: RigState) -> None:
        s = state.settings
        self.state = state
        self.axes = {
            "1": PiezoAxis("x", s.fine_range_300K[0], 0.5, s),
            "2": PiezoAxis("y", s.fine_range_300K[1], 0.5, s),
            "3": PiezoAxis("z", s.fine_range_300K[2], 0.0, s),
        }
        for ax in self.axes.values():
            # Start on target at the centre of x and y; z then goes to the initial height.
            v0 = state.voltage_limit() * ax.origin_fraction if ax.origin_fraction else 0.0
            ax.voltage = v0
            ax.play = v0
            pos = self.open_loop_position(ax, 0.0)
            ax.target = ax.servo_from = pos
        z = self.axes["3"]
        lo, hi = self.travel(z)
        start = min(max(s.initial_height, lo), hi)
        self.move(z, start, 0.0)
        z.servo_from = start  # already there at power-on

    # gain and range ---------------------------------------------------------
    def gain(self, ax: PiezoAxis) -> float:
        """m per V at the current temperature."""
        return ax.range_300K / self.state.limits.piezo_voltage_limit(PIEZO_ROOM_TEMPERATURE) * (
            self.state.temperature_factor()
        )

    def travel(self, ax: PiezoAxis) -> tuple[float, float]:
        """Reachable positions (m) at the current temperature and voltage limit."""
        g = self.gain(ax)
        vmax = self.state.voltage_limit()
        lo = -ax.origin_fraction * g * vmax
        return lo, lo + g * vmax

    def soft_limits(self, ax: PiezoAxis) -> tuple[float, float]:
        """Travel intersected with the lab's scan range (the controller's soft limits)."""
        lo, hi = self.travel(ax)
        lim = self.state.limits
        if ax.name == "x":
            a, b = lim.x_range
        elif ax.name == "y":
            a, b = lim.y_range
        else:
            gap = self.state.coarse.offset("3")
            a, b = lim.height_range[0] - gap, lim.height_range[1] - gap
        return max(lo, a), min(hi, b)

    # open loop --------------------------------------------------------------
    def open_loop_position(self, ax: PiezoAxis, now: float) -> float:
        """Displacement from the hysteresis model plus creep at simulated time ``now``."""
        s = ax.settings
        g = self.gain(ax)
        hyst = (1.0 - s.hysteresis) * ax.voltage + s.hysteresis * ax.play
        lo = -ax.origin_fraction * g * self.state.voltage_limit()
        creep = ax.creep_base
        for t_i, delta in ax.creep_steps:
            creep += delta * s.creep * math.log10(1.0 + max(0.0, now - t_i) / s.creep_time)
        return lo + g * hyst + creep

    def set_voltage(self, ax: PiezoAxis, volts: float, now: float) -> None:
        """Apply an open-loop voltage (caller checks the limits)."""
        self.state.before_change()  # the lock-ins see the move from now on
        s = ax.settings
        g = self.gain(ax)
        before = g * ((1.0 - s.hysteresis) * ax.voltage + s.hysteresis * ax.play)
        ax.voltage = volts
        w = s.play_width * self.state.voltage_limit()
        if volts > ax.play + w:
            ax.play = volts - w
        elif volts < ax.play - w:
            ax.play = volts + w
        after = g * ((1.0 - s.hysteresis) * ax.voltage + s.hysteresis * ax.play)
        if after != before:
            ax.creep_steps.append((now, after - before))
            if len(ax.creep_steps) > 64:  # freeze the oldest step's creep where it has got to
                t_i, delta = ax.creep_steps.pop(0)
                ax.creep_base += delta * s.creep * math.log10(1.0 + (now - t_i) / s.creep_time)

    # closed loop ------------------------------------------------------------
    def position(self, ax: PiezoAxis, now: float, *, noisy: bool = True) -> float:
        """Sensor position, m."""
        if not ax.servo:
            pos = self.open_loop_position(ax, now)
        else:
            tau = max(ax.settings.servo_time, 1e-12)
            decay = math.exp(-max(0.0, now - ax.servo_t0) / tau)
            pos = ax.target + (ax.servo_from - ax.target) * decay
        if noisy and ax.settings.sensor_noise > 0:
            pos += self.state.rng.normal(0.0, ax.settings.sensor_noise)
        return pos

    def move(self, ax: PiezoAxis, target: float, now: float) -> None:
        """Closed-loop move to ``target`` (caller checks servo and limits)."""
        self.state.before_change()  # the lock-ins see the move from now on
        ax.servo_from = self.position(ax, now, noisy=False)
        ax.servo_t0 = now
        ax.target = target
        g = self.gain(ax)
        lo = -ax.origin_fraction * g * self.state.voltage_limit()
        volts = (target - lo) / g if g > 0 else 0.0
        self.set_voltage(ax, volts, now)
        ax.creep_steps.clear()
        ax.creep_base = 0.0

    def set_servo(self, ax: PiezoAxis, on: bool, now: float) -> None:
        """Switch the servo; switching on holds the present position."""
        self.state.before_change()  # the lock-ins see the move from now on
        if on and not ax.servo:
            pos = self.open_loop_position(ax, now)
            ax.target = ax.servo_from = pos
            ax.servo_t0 = now
        elif not on and ax.servo:
            ax.creep_steps.clear()
            ax.creep_base = self.position(ax, now, noisy=False) - self.open_loop_position(ax, now)
        ax.servo = on

    def on_target(self, ax: PiezoAxis, now: float) -> bool:
        """True once the servo has settled to within 1 nm (or 1e-4 of the step)."""
        if not ax.servo:
            return True
        err = abs(self.position(ax, now, noisy=False) - ax.target)
        return err < max(1e-9, 1e-4 * abs(ax.servo_from - ax.target))


# -------------------------------------------------------------------- coarse
@dataclass
class CoarseAxis:
    """One ANC300 axis: mode, step voltage/frequency, offset voltage and its motion."""

    mode: str = "gnd"
    voltage: float = 30.0
    frequency: float = 100.0
    offset_voltage: float = 0.0
    base: float = 0.0
    move_t0: float = 0.0
    move_dir: int = 0
    move_count: float = 0.0
    move_step: float = 0.0


class CoarseStage:
    """ANC300 stick-slip positioners; axes "1".."7", the first three move x, y and height."""

    N_AXES = 7

    def __init__(self, state: RigState) -> None:
        self.state = state
        self.axes = {str(i): CoarseAxis() for i in range(1, self.N_AXES + 1)}

    def step_size(self, ax: CoarseAxis) -> float:
        """Step length at the present temperature, m."""
        per_volt = self.state.settings.coarse_step_per_volt
        return per_volt * ax.voltage * self.state.temperature_factor()

    def _steps_done(self, ax: CoarseAxis, now: float) -> float:
        done = math.floor(max(0.0, now - ax.move_t0) * ax.frequency)
        return min(done, ax.move_count)

    def position_of(self, ax: CoarseAxis, now: float) -> float:
        """Offset of the axis from its start, m, clamped at the end stops."""
        pos = ax.base
        if ax.move_dir:
            pos += ax.move_dir * self._steps_done(ax, now) * ax.move_step
        r = self.state.settings.coarse_range
        return min(max(pos, -r), r)

    def offset(self, name: str) -> float:
        """Offset of axis ``name`` now, m."""
        return self.position_of(self.axes[name], self.state.clock.now())

    def start(self, ax: CoarseAxis, direction: int, count: float, now: float) -> None:
        """Begin ``count`` steps (math.inf: continuous) in ``direction`` (+1 or -1)."""
        self.state.before_change()  # the lock-ins see the move from now on
        self.stop(ax, now)
        ax.move_t0, ax.move_dir, ax.move_count = now, direction, count
        ax.move_step = self.step_size(ax)

    def stop(self, ax: CoarseAxis, now: float) -> None:
        """Stop stepping; the position reached is kept."""
        self.state.before_change()  # the lock-ins see the move from now on
        ax.base = self.position_of(ax, now)
        ax.move_dir, ax.move_count = 0, 0.0

    def remaining_time(self, ax: CoarseAxis, now: float) -> float:
        """Simulated seconds until the current finite run of steps ends (inf if continuous)."""
        if not ax.move_dir:
            return 0.0
        if math.isinf(ax.move_count):
            return math.inf
        return max(0.0, ax.move_t0 + ax.move_count / ax.frequency - now)

    def capacitance(self) -> float:
        """Positioner capacitance, F (about 1 uF at 300 K, falling about fivefold at 4 K)."""
        return 1.0e-6 * self.state.temperature_factor()
