"""One physics state behind every virtual instrument of the rig: :class:`RigState`.

Everything is evaluated lazily at the simulated time of each query, with
closed-form updates where they exist, so the state costs nothing while no one
asks. The simulated clock runs at wall time times ``time_scale`` (tests use a
large scale, or a manual clock that only moves when told).

Models (SI inside; the instruments convert to their own units):

* **Fine piezo** (PI E-727, axes 1 x, 2 y, 3 z): gain (m/V) falling from 300 K to
  4 K by ``low_temperature_fraction`` (linear in T); the drive voltage is limited
  by the lab's ``piezo_voltage`` limit at the current temperature, which with the
  gain gives the travel range. Open loop, the displacement is a Prandtl-Ishlinskii
  model with one linear and one play (backlash) operator,
  ``d = g [(1 - h) V + h P_w(V)]`` (Kuhnen, Ann. Rev. Control 27, 2003;
  Krasnosel'skii & Pokrovskii 1989), plus logarithmic creep after each change
  Delta of the hysteretic displacement, ``Delta * gamma * log10(1 + t/tau_c)``
  (Jung & Gweon, Rev. Sci. Instrum. 71, 3436 (2000)). Closed loop, the capacitive
  sensor and the servo remove both; the position settles to the target with the
  servo time constant plus sensor noise.
* **Coarse stepper** (ANC300): steps of ``coarse_step_per_volt * V * g(T)/g(300 K)``
  issued at the step frequency in simulated time; axes 1-3 offset x, y, height.
* **Magnet** (AMI 430): linear ramp at the configured rate to the target;
  STATE 1 ramping -> 2 holding; pause, zero.
* **Cryostat** (Lake Shore 336): ``dT/dt = (T_target - T)/tau`` with T_target the
  (possibly ramping) setpoint while heater output 1 is on, capped by the heater
  range, and the base temperature when it is off. A temperature above the
  lab's interlock switches the RF output off.
* **RF** (SG384): frequency, power, output, FM deviation and rate. An external
  frequency multiplier after the source (``rf_multiplier`` N, the rig file's
  ``frequency_multiplier`` option of the SG384, e.g. 4 for X band from a source
  that stops at 4.05 GHz) multiplies both the carrier and the FM deviation, so
  the spins see ``f_rf = N f_source`` and the resonant slice's half-width is
  ``2 pi N f_dev/|gamma|`` in field units.
* **Lock-in**: the spin force from :class:`~mrfm.rig.signal.SignalModel`,
  modulated at the FM rate, drives the cantilever (x/F transfer function), the
  detector converts displacement to volts. At resonance the cantilever lags the
  force by 90 degrees, so a lock-in phase of -90 degrees puts the in-phase CAI
  force in X with its sign, ``X = volts_per_meter (Q/k) F / sqrt(2)``. A
  frequency-shift signal (PLL output, ``volts_per_hertz``) is delivered with the
  same -90 degree lag (a convention of the virtual PLL chain, whose delay a real
  rig calibrates), so one phase setting reads every protocol in X. Variances
  (``N^2``, ``Hz^2``: statistical polarization) give their r.m.s. value. The
  lock-in's n-pole low-pass filter is integrated exactly stage by stage, and thermal force noise
  ``S_F = 4 k kB T/(omega0 Q)`` plus detector noise give X and Y noise of
  variance ``S_V * ENBW`` (ENBW of an n-pole RC filter: 1/(4 tau), 1/(8 tau),
  3/(32 tau), 5/(64 tau)), as an Ornstein-Uhlenbeck process with correlation
  time ``n tau``.
"""

from __future__ import annotations

import cmath
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import constants as sc

from mrfm.rig.signal import SignalModel
from mrfm.rigdef.rigfile import RigLimits, VirtualSettings

ROOM_TEMPERATURE = 300.0
LOW_TEMPERATURE = 4.0


class SimClock:
    """Simulated time in seconds since creation.

    Parameters
    ----------
    time_scale : float
        Simulated seconds per wall-clock second.
    manual : bool
        If True, time only moves through :meth:`advance` (and :meth:`sleep`).
    """

    def __init__(self, time_scale: float = 1.0, *, manual: bool = False) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = float(time_scale)
        self.manual = manual
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Simulated time, s."""
        if self.manual:
            return self._offset
        return (time.monotonic() - self._t0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` (any clock)."""
        with self._lock:
            self._offset += max(0.0, float(seconds))

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time (advances a manual clock instead)."""
        if self.manual:
            self.advance(seconds)
        elif seconds > 0:
            time.sleep(seconds / self.time_scale)


@dataclass
class CantileverParams:
    """What the rig needs of the cantilever (SI): spring constant, resonance, Q."""

    k: float = 1e-4
    f0: float = 5000.0
    Q: float = 2.0e4

    def transfer(self, f: float) -> complex:
        """Displacement per force at frequency f, m/N (driven damped harmonic oscillator)."""
        r = f / self.f0
        return 1.0 / (self.k * complex(1.0 - r * r, r / self.Q))


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
        return ax.range_300K / self.state.limits.piezo_voltage_limit(ROOM_TEMPERATURE) * (
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
        self.stop(ax, now)
        ax.move_t0, ax.move_dir, ax.move_count = now, direction, count
        ax.move_step = self.step_size(ax)

    def stop(self, ax: CoarseAxis, now: float) -> None:
        """Stop stepping; the position reached is kept."""
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

    def active_fm(self) -> bool:
        """True when the N-type output sweeps the frequency (FM on, output on, no interlock)."""
        return self.output and self.modulation and self.mod_type == 1 and not self.interlocked


# ------------------------------------------------------------------- lock-in
class NormalStream:
    """Standard normal deviates of ``rng`` in blocks (one numpy call per ``block`` draws
    instead of one per draw, which costs about a microsecond each). Not thread-safe: the
    caller holds the rig's lock."""

    def __init__(self, rng: np.random.Generator, block: int = 512) -> None:
        self._rng = rng
        self._block = block
        self._buf: list[float] = []
        self._i = 0

    def pair(self) -> tuple[float, float]:
        """Two independent N(0, 1) deviates."""
        i = self._i
        buf = self._buf
        if i + 2 > len(buf):
            buf = self._buf = self._rng.standard_normal(self._block).tolist()
            i = 0
        self._i = i + 2
        return buf[i], buf[i + 1]


ENBW_FACTOR = {1: 1.0 / 4.0, 2: 1.0 / 8.0, 3: 3.0 / 32.0, 4: 5.0 / 64.0}


class LockinChannel:
    """Demodulator state of one lock-in: reference, phase, filter, and filtered outputs."""

    def __init__(self, state: RigState) -> None:
        self.state = state
        self.frequency = 1000.0
        self.phase_deg = 0.0
        self.tau = 0.1
        self.poles = 2
        self._stages = [0j] * 4
        self._noise = 0j
        self._t = state.clock.now()
        self._sigma_key: tuple = ()
        self._sigma = 0.0

    def configure(self, **changes: Any) -> None:
        """Change frequency/phase_deg/tau/poles after bringing the filter up to date."""
        with self.state.lock:
            self._advance(self.state.clock.now())
            for key, value in changes.items():
                setattr(self, key, value)

    def noise_std(self) -> float:
        """Standard deviation of X (and of Y), V."""
        st = self.state
        c = st.cantilever
        key = (self.frequency, self.tau, self.poles, st.cryostat.temperature, c.k, c.f0, c.Q)
        if key != self._sigma_key:  # recomputed whenever anything it depends on changed
            s_v = st.input_noise_psd(self.frequency)
            self._sigma = math.sqrt(s_v * ENBW_FACTOR[self.poles] / self.tau)
            self._sigma_key = key
        return self._sigma

    def _advance(self, now: float) -> None:
        dt = now - self._t
        if dt <= 0:
            return
        self._t = now
        tau, n = self.tau, self.poles
        target, beat = self.state.demodulated_input(self.frequency, self.phase_deg)
        stages = self._stages
        if beat == 0.0 and dt > 40.0 * n * tau:
            self._stages = [target] * 4
        else:
            steps = dt / (tau / 8.0)
            sub = 1 if steps <= 1.0 else min(4000, math.ceil(steps))
            h = dt / sub
            a = math.exp(-h / tau)
            if beat == 0.0:  # the input is constant over the step
                for _ in range(sub):
                    prev = target
                    for k in range(n):
                        prev = stages[k] = prev + (stages[k] - prev) * a
            else:
                t_start = now - dt
                for i in range(sub):
                    prev = target * cmath.exp(2j * math.pi * beat * (t_start + (i + 1) * h))
                    for k in range(n):
                        prev = stages[k] = prev + (stages[k] - prev) * a
        # Ornstein-Uhlenbeck noise, correlation time n tau (rho <= 1, so 1 - rho^2 >= 0)
        rho = math.exp(-dt / (n * tau))
        kick = self.noise_std() * math.sqrt(1.0 - rho * rho)
        gx, gy = self.state.normals.pair()
        self._noise = self._noise * rho + complex(kick * gx, kick * gy)

    def read(self) -> complex:
        """X + iY, V r.m.s., at the present simulated time."""
        with self.state.lock:
            self._advance(self.state.clock.now())
            return self._stages[self.poles - 1] + self._noise


# --------------------------------------------------------------------- state
class RigState:
    """The physics of the whole virtual rig, shared (thread-safe) by its instruments.

    Parameters
    ----------
    limits : RigLimits
        The lab's safety limits (voltage limit, ranges, field, RF power, interlock).
    settings : VirtualSettings
        Virtual-rig physics parameters.
    experiment : mrfm.config.Experiment, optional
        Backs the signal, the cantilever and the start values (B0, RF).
    signal_model : SignalModel, optional
        Replaces the default ``SignalModel(experiment)``.
    clock : SimClock, optional
        Default: ``SimClock(time_scale)``.
    time_scale : float
        Simulated seconds per wall second when no clock is given.
    rf_multiplier : float
        External frequency multiplier after the RF source (1: none); the spins see
        the source's frequency and FM deviation times this factor.
    """

    def __init__(
        self,
        *,
        limits: RigLimits | None = None,
        settings: VirtualSettings | None = None,
        experiment: Any = None,
        signal_model: SignalModel | None = None,
        clock: SimClock | None = None,
        time_scale: float = 1.0,
        rf_multiplier: float = 1.0,
    ) -> None:
        if not (math.isfinite(rf_multiplier) and rf_multiplier > 0):
            raise ValueError(f"rf_multiplier must be a finite number > 0, got {rf_multiplier}")
        self.rf_multiplier = float(rf_multiplier)
        self.lock = threading.RLock()
        self.limits = limits or RigLimits()
        self.settings = settings or VirtualSettings()
        self.clock = clock or SimClock(time_scale)
        self.rng = np.random.default_rng(self.settings.seed)
        #: the lock-ins' noise deviates (a stream of their own, drawn from rng in blocks)
        self.normals = NormalStream(self.rng.spawn(1)[0])
        self.experiment = experiment
        self.signal_model = signal_model or SignalModel(experiment)
        if experiment is not None:
            c = experiment.cantilever
            self.cantilever = CantileverParams(k=float(c.k), f0=float(c.f0), Q=float(c.Q))
            base = float(c.T)
            field0 = float(experiment.B0)
        else:
            self.cantilever = CantileverParams()
            base = 4.2
            field0 = 0.0
        if self.settings.base_temperature is not None:
            base = self.settings.base_temperature
        if self.settings.initial_field is not None:
            field0 = self.settings.initial_field
        self.cryostat = Cryostat(self, base)
        self.coarse = CoarseStage(self)
        self.fine = FineStage(self)
        self.magnet = Magnet(self, field0)
        self.rf = RFSource(mod_rate=self.cantilever.f0)
        if experiment is not None:  # the source tuned for the experiment's carrier
            self.rf.frequency = float(experiment.rf.frequency) / self.rf_multiplier
            self.rf.fm_deviation = (
                float(experiment.rf.fm_depth) * self.signal_model.gamma
                / (2.0 * math.pi * self.rf_multiplier)
            )
            self.rf.modulation = True
        self.events: list[str] = []

    # ---------------------------------------------------------------- helpers
    def now(self) -> float:
        """Simulated time, s."""
        return self.clock.now()

    def temperature(self) -> float:
        """Stage temperature now, K."""
        with self.lock:
            self.cryostat.advance(self.clock.now())
            t = self.cryostat.temperature
            if t > self.limits.max_temperature and self.rf.output:
                self.rf.output = False
                self.rf.interlocked = True
                self.events.append(f"temperature interlock: {t:.3f} K, RF output switched off")
            elif t <= self.limits.max_temperature:
                self.rf.interlocked = False
            return t

    def temperature_factor(self) -> float:
        """Piezo gain relative to 300 K, linear from ``low_temperature_fraction`` at 4 K."""
        f4 = self.settings.low_temperature_fraction
        self.cryostat.advance(self.clock.now())
        t = min(max(self.cryostat.temperature, LOW_TEMPERATURE), ROOM_TEMPERATURE)
        return f4 + (1.0 - f4) * (t - LOW_TEMPERATURE) / (ROOM_TEMPERATURE - LOW_TEMPERATURE)

    def voltage_limit(self) -> float:
        """Lab's piezo voltage limit at the present stage temperature, V."""
        self.cryostat.advance(self.clock.now())
        return self.limits.piezo_voltage_limit(self.cryostat.temperature)

    def tip_position(self) -> tuple[float, float, float]:
        """True tip position (x, y, height), m: coarse offsets plus fine positions.

        The height is clamped at 0 (tip touching the surface; recorded in ``events``).
        """
        with self.lock:
            now = self.clock.now()
            f = self.fine
            fine, coarse = f.axes, self.coarse.axes
            offset = self.coarse.position_of
            x = offset(coarse["1"], now) + f.position(fine["1"], now, noisy=False)
            y = offset(coarse["2"], now) + f.position(fine["2"], now, noisy=False)
            h = offset(coarse["3"], now) + f.position(fine["3"], now, noisy=False)
            if h < 0:
                if not self.events or not self.events[-1].startswith("tip touches"):
                    self.events.append(f"tip touches the surface (height {h:.3g} m)")
                h = 0.0
            return x, y, h

    def field(self) -> float:
        """Magnet field now, T."""
        with self.lock:
            return self.magnet.field(self.clock.now())

    # ----------------------------------------------------------------- signal
    def spin_signal(self) -> float:
        """Signal amplitude (in ``signal_model.unit``) at the present tip and settings."""
        with self.lock:
            self.temperature()
            if not self.rf.active_fm():
                return 0.0
            x, y, h = self.tip_position()
            b0 = self.field()
            f_rf, f_dev = self.carrier()
            fm_depth = 2.0 * math.pi * f_dev / self.signal_model.gamma
        return self.signal_model.signal_at(x, y, h, b0, f_rf, fm_depth)

    def carrier(self) -> tuple[float, float]:
        """(frequency, FM deviation) at the spins, Hz: the source's times ``rf_multiplier``."""
        with self.lock:
            n = self.rf_multiplier
            return self.rf.frequency * n, self.rf.fm_deviation * n

    def input_phasor(self) -> tuple[complex, float]:
        """Lock-in input: complex amplitude (V r.m.s.) and its frequency (Hz)."""
        value = self.spin_signal()
        f_mod = self.rf.mod_rate
        if value == 0.0:
            return 0j, f_mod
        unit = self.signal_model.unit
        if unit.endswith("^2"):  # a variance: its r.m.s. value
            value = math.sqrt(max(value, 0.0))
        if unit.startswith("Hz"):  # the PLL chain's -90 degrees (see the module docstring)
            return -1j * self.settings.volts_per_hertz * value / math.sqrt(2.0), f_mod
        x = self.cantilever.transfer(f_mod) * value
        return self.settings.volts_per_meter * x / math.sqrt(2.0), f_mod

    def demodulated_input(self, f_ref: float, phase_deg: float) -> tuple[complex, float]:
        """Lock-in mixer output before filtering: (X + iY at t = 0, beat frequency Hz)."""
        v, f_sig = self.input_phasor()
        if v == 0:
            return 0j, f_sig - f_ref
        return v * cmath.exp(-1j * math.radians(phase_deg)), f_sig - f_ref

    def input_noise_psd(self, f: float) -> float:
        """One-sided voltage noise PSD at the lock-in input at frequency f, V^2/Hz."""
        c = self.cantilever
        t = self.cryostat.temperature
        s_f = 4.0 * c.k * sc.k * t / (2.0 * math.pi * c.f0 * c.Q)
        s_x = s_f * abs(c.transfer(f)) ** 2 + self.settings.detector_noise**2
        return self.settings.volts_per_meter**2 * s_x

    def new_lockin(self) -> LockinChannel:
        """A demodulator for one lock-in instrument."""
        ch = LockinChannel(self)
        ch.frequency = self.rf.mod_rate
        return ch

    def snapshot(self) -> dict[str, Any]:
        """Readable summary of the state (SI), for logs and tests."""
        with self.lock:
            x, y, h = self.tip_position()
            return {
                "time_s": self.clock.now(),
                "tip_m": [x, y, h],
                "field_T": self.field(),
                "temperature_K": self.temperature(),
                "rf_on": self.rf.output,
                "events": list(self.events),
            }
