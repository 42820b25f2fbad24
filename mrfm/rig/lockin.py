"""The virtual lock-in's demodulator: :class:`LockinChannel` (and its noise deviates).

The lock-in sees the cantilever through its equation of motion: the rotating-frame
model of :mod:`mrfm.timedomain.envelope` (the same cantilever, detector and filter as
the time-domain chain), advanced exactly from one update to the next. Every change of
the force rings up and down with the cantilever's 2Q/omega0 and then passes the
n-pole filter; the thermal force noise goes through the cantilever's Lorentzian and
the filter, the detector noise through the filter. A change takes effect at the
simulated time of the command that made it: the state's setters (RF source, stages,
magnet) call :meth:`mrfm.rig.state.RigState.before_change`, which brings every
channel up to that moment with the old inputs first. Between changes, inputs that
move by themselves (a servo settling, a magnet ramp, coarse steps, creep) are held
piecewise constant on up to :data:`MAX_SUBSTEPS` sub-intervals, crowded towards the
start of the interval where the last change happened (the first is a quarter of the
shorter of the ring time and the filter's time constant), and one step for the rest
once they have arrived.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from mrfm.physics import Cantilever
from mrfm.timedomain.envelope import EnvelopeLockin, EnvelopeParameters

if TYPE_CHECKING:
    from mrfm.rig.state import LockinInputs, RigState
    from mrfm.rigdef.spec import VirtualSettings

#: most sub-intervals of one update while the tip, field or RF move by themselves
MAX_SUBSTEPS = 32


def force_per_volt(cantilever: Cantilever, settings: VirtualSettings) -> float:
    """Force amplitude per volt of X (N/V) at resonance with the -90 degree phase, in the
    steady state: ``sqrt 2/(volts_per_meter |H(f0)|)`` with H the cantilever's transfer
    function (its total damping, :attr:`~mrfm.physics.Cantilever.Q_total`: intrinsic, gas
    at the stage pressure, non-contact, tip; ``k/Q_total`` at f0), or its velocity-feedback
    loop's (``feedback_Q``)."""
    loop = cantilever.feedback_loop(settings.feedback_Q)
    return math.sqrt(2.0) / (settings.volts_per_meter * abs(loop.transfer_function(loop.f0)))


class NormalStream:
    """Standard normal deviates of ``rng`` in blocks (one numpy call per ``block`` draws
    instead of one per draw, which costs about a microsecond each). Not thread-safe: the
    caller holds the rig's lock."""

    def __init__(self, rng: np.random.Generator, block: int = 512) -> None:
        self._rng = rng
        self._block = block
        self._buf = np.empty(0)
        self._i = 0

    def take(self, n: int) -> np.ndarray:
        """``n`` independent N(0, 1) deviates (a view; use before the next call)."""
        i = self._i
        if i + n > self._buf.size:
            self._buf = self._rng.standard_normal(max(self._block, n))
            i = 0
        self._i = i + n
        return self._buf[i:i + n]

    def pair(self) -> tuple[float, float]:
        """Two independent N(0, 1) deviates."""
        a, b = self.take(2)
        return float(a), float(b)


class LockinChannel:
    """Demodulator state of one lock-in: reference, phase, filter, and filtered outputs."""

    def __init__(self, state: RigState) -> None:
        self.state = state
        self.frequency = 1000.0
        self.phase_deg = 0.0
        self.tau = 0.1
        self.poles = 2
        self._t = state.clock.now()
        self._engine: EnvelopeLockin | None = None
        self._key: tuple = ()
        self._where: tuple = ()
        self._busy = False

    def configure(self, **changes: float) -> None:
        """Change frequency/phase_deg/tau/poles after bringing the filter up to date."""
        with self.state.lock:
            self.sync(self.state.clock.now())
            for key, value in changes.items():
                setattr(self, key, value)

    def noise_std(self) -> float:
        """Standard deviation of X (and of Y), V: the stationary spread of the thermal,
        detector and statistical-spin noise at the present settings."""
        with self.state.lock:
            engine = self._engine_for(self.state.lockin_inputs(self.state.clock.now()))
            return math.sqrt(engine.system.output_variance())

    def warm_up(self) -> None:
        """Build the demodulator's engine and compile its matrix exponential and exact step
        without advancing the outputs, so that a driver's first reading is answered within its
        timeout even on a cold numba cache (:meth:`mrfm.rig.server.VirtualRig.start`)."""
        with self.state.lock:
            engine = self._engine_for(self.state.lockin_inputs(self.state.clock.now()))
            engine.warm_up(float(self.tau))

    def _params(self, inputs: LockinInputs) -> EnvelopeParameters:
        st = self.state
        return EnvelopeParameters(
            cantilever=st.cantilever, f_ref=float(self.frequency), f_drive=inputs.f_drive,
            time_constant=float(self.tau), order=int(self.poles),
            phase=math.radians(self.phase_deg), volts_per_meter=st.settings.volts_per_meter,
            detector_noise=st.settings.detector_noise, spin_force_std=inputs.force_std,
            spin_direct_std=inputs.direct_std, spin_time=self._spin_time(inputs),
            feedback_Q=st.settings.feedback_Q)

    def _spin_time(self, inputs: LockinInputs) -> float:
        """The statistical signal's correlation time for ``inputs``, s: theirs (the settings
        of their moment); without a statistical signal the experiment's (a constant: the
        engine is not retuned for it, and no setting is read on this per-reading path)."""
        if inputs.spin_time is not None:
            return inputs.spin_time
        return self.state.experiment_correlation_time

    def _engine_for(self, inputs: LockinInputs) -> EnvelopeLockin:
        """The engine with parameters for ``inputs`` and the present settings."""
        st = self.state
        cant = st.cantilever  # at the cryostat's temperature; its total damping sets the pole
        key = (self.frequency, self.tau, self.poles, self.phase_deg, inputs.f_drive,
               inputs.force_std, inputs.direct_std, cant.T, cant.Q_total, cant.k, cant.f0,
               self._spin_time(inputs))
        engine = self._engine
        if engine is None:
            params = self._params(inputs)
            engine = self._engine = EnvelopeLockin(params, self._t, st.normals.take(params.size))
        elif key != self._key:
            engine.retune(self._params(inputs))
        self._key = key
        engine.set_inputs(inputs.force, inputs.direct)
        return engine

    def sync(self, now: float) -> None:
        """Bring the outputs up to simulated time ``now`` with the inputs as they are."""
        if self._busy:
            return
        self._busy = True
        try:
            self._advance(now)
        finally:
            self._busy = False

    def _advance(self, now: float) -> None:
        t0 = self._t
        dt = now - t0
        if dt <= 0 and self._engine is not None:
            return
        st = self.state
        st.temperature()  # the interlock may switch the RF off first
        end = st.lockin_inputs(now)
        steps = 1
        if end.where != self._where and self._engine is not None:
            shortest = min(self.tau, st.ringdown_time)
            steps = max(1, min(MAX_SUBSTEPS, math.ceil(math.sqrt(4.0 * dt / shortest))))
        for i in range(1, steps + 1):
            t = t0 + dt * (i / steps) ** 2  # crowded at the start, where the motion is
            inputs = end
            if i < steps:
                inputs = st.lockin_inputs(t0 + dt * ((i - 0.5) / steps) ** 2)
                if inputs.where == end.where:  # arrived (a servo, a ramp's end): one step
                    inputs, t = end, now
            engine = self._engine_for(inputs)
            engine.advance(t, st.normals.take(engine.params.size))
            if t == now:
                break
        self._where = end.where
        self._t = max(self._t, now)

    def read(self) -> complex:
        """X + iY, V r.m.s., at the present simulated time."""
        with self.state.lock:
            return self.read_at(self.state.clock.now())

    def read_at(self, t: float) -> complex:
        """X + iY, V r.m.s., at simulated time ``t`` (s): a data buffer's samples, taken in
        time order up to the present; a ``t`` before the last update reads that update."""
        with self.state.lock:
            self.sync(t)
            engine = self._engine or self._engine_for(self.state.lockin_inputs(t))
            return engine.output()
