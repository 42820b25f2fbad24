"""The virtual lock-in's demodulator: :class:`LockinChannel` (and its noise deviates).

The mixer output (:meth:`mrfm.rig.state.RigState.demodulated_input`) goes through the
n-pole low-pass filter, integrated exactly stage by stage; thermal force noise and
detector noise give X and Y noise of variance ``S_V * ENBW`` (the ENBW of
:func:`mrfm.physics.lockin.enbw`), as an Ornstein-Uhlenbeck process with correlation
time ``n tau``.
"""

from __future__ import annotations

import cmath
import math
from typing import TYPE_CHECKING

import numpy as np

from mrfm.physics.lockin import enbw

if TYPE_CHECKING:
    from mrfm.rig.state import RigState


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

    def configure(self, **changes: float) -> None:
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
            self._sigma = math.sqrt(s_v * enbw(self.tau, self.poles))
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
            return self.read_at(self.state.clock.now())

    def read_at(self, t: float) -> complex:
        """X + iY, V r.m.s., at simulated time ``t`` (s): a data buffer's samples, taken in
        time order up to the present; a ``t`` before the last update reads that update."""
        with self.state.lock:
            self._advance(t)
            return self._stages[self.poles - 1] + self._noise
