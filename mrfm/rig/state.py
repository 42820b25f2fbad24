"""One physics state behind every virtual instrument of the rig: :class:`RigState`.

Everything is evaluated lazily at the simulated time of each query, with
closed-form updates where they exist, so the state costs nothing while no one
asks. The simulated clock (:class:`~mrfm.rig.clock.SimClock`) runs at wall time
times ``time_scale`` (tests use a large scale, or a manual clock that only moves
when told). The parts live in their own modules: the positioners in
:mod:`mrfm.rig.stages`, magnet, cryostat and RF source in
:mod:`mrfm.rig.environment`, the lock-in's demodulator in :mod:`mrfm.rig.lockin`.

The lock-in's input: the spin signal from :class:`~mrfm.rig.signal.SignalModel`
(the solver), modulated at the FM rate, drives the cantilever, the experiment's
:class:`mrfm.physics.Cantilever` at the cryostat's temperature, through its
equation of motion (:mod:`mrfm.timedomain.envelope`, see :mod:`mrfm.rig.lockin`):
the reading rings up and down with 2Q/omega0 and passes the lock-in's filter. In the
steady state at resonance the cantilever lags the force by 90 degrees, so a lock-in
phase of -90 degrees puts the in-phase CAI force in X with its sign,
``X = volts_per_meter (Q/k) F / sqrt(2)`` (Q the total damping's
:attr:`~mrfm.physics.Cantilever.Q_total`, or the closed-loop value under velocity
feedback, ``[virtual] feedback_Q``, which shortens the ring time and leaves the thermal
force noise that of the cantilever's own damping). A frequency-shift signal (PLL output,
``volts_per_hertz``) enters the lock-in directly with the same -90 degree lag (a
convention of the virtual PLL chain, whose delay a real rig calibrates), so one phase
setting reads every protocol in X. Statistical polarization (a variance, ``N^2`` or
``Hz^2``) is a zero-mean random signal of that variance with the correlation time
:attr:`RigState.spin_correlation_time`. The noise is the cantilever's thermal force
noise (:meth:`~mrfm.physics.Cantilever.force_noise_psd`, ``S_F = 4 k kB T/(omega0 Q_total)``)
through its Lorentzian and the filter, plus the detector noise through the filter.
Changes of the force take effect at the simulated time of the command
(:meth:`RigState.before_change`).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from typing import TYPE_CHECKING

import numpy as np

from mrfm.physics import Cantilever
from mrfm.physics.spins import larmor_frequency, resonance_field
from mrfm.physics.stage import piezo_fraction_at
from mrfm.rig.clock import SimClock
from mrfm.rig.environment import Cryostat, Drift, Magnet, RFSource
from mrfm.rig.lockin import LockinChannel, NormalStream
from mrfm.rig.signal import SignalModel, curie_spin_noise_model
from mrfm.rig.stages import CoarseStage, FineStage
from mrfm.rigdef.rigfile import RigLimits, VirtualSettings
from mrfm.timedomain.spins import spin_correlation_time

if TYPE_CHECKING:
    from mrfm.config import Experiment

__all__ = ["LockinInputs", "RigState", "SimClock"]


@dataclasses.dataclass(frozen=True)
class LockinInputs:
    """What drives the lock-in at one moment (see :mod:`mrfm.timedomain.envelope`).

    Attributes
    ----------
    where : tuple
        Tip (m), field (T), carrier and FM deviation (Hz), RF on: the setting the signal
        depends on (equal values: nothing moved).
    f_drive : float
        Modulation frequency of the signal, Hz.
    force : complex
        CAI force amplitude (Curie polarization), N.
    direct : complex
        Frequency-shift signal at the lock-in input, V r.m.s.
    force_std : float
        r.m.s. of the statistical spin force, N.
    direct_std : complex
        r.m.s. of a statistical frequency-shift signal at the lock-in input, V.
    spin_time : float or None
        Correlation time of a statistical signal at this moment's settings, s
        (:meth:`RigState.correlation_time_at`); None without a statistical signal (the
        value then drives nothing).
    """

    where: tuple
    f_drive: float
    force: complex = 0j
    direct: complex = 0j
    force_std: float = 0.0
    direct_std: complex = 0j
    spin_time: float | None = None


class RigState:
    """The physics of the whole virtual rig, shared (thread-safe) by its instruments.

    Parameters
    ----------
    limits : RigLimits
        The lab's safety limits (voltage limit, ranges, field, RF power, interlock).
    settings : VirtualSettings
        Virtual-rig physics parameters.
    experiment : mrfm.config.Experiment
        Backs the signal, the cantilever and the start values (temperature, B0, RF).
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
        experiment: Experiment,
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
        #: the lock-in channels, brought up to date before every change (before_change)
        self.channels: list[LockinChannel] = []
        #: the lock-ins' noise deviates (a stream of their own, drawn from rng in blocks)
        self.normals = NormalStream(self.rng.spawn(1)[0])
        self.experiment = experiment
        self.signal_model = signal_model or SignalModel(experiment)
        #: the statistical spin noise under a Curie CAI signal (``[virtual] spin_noise``):
        #: the same experiment under statistical polarization, its force variance at each
        #: reading (the solver's, as datasets' ``curie_spin_variance``); None otherwise
        self.spin_noise_model = curie_spin_noise_model(experiment, self.settings.spin_noise)
        #: the experiment's cantilever; :attr:`cantilever` gives it at the cryostat's temperature
        self._cantilever: Cantilever = experiment.cantilever
        base = float(experiment.cantilever.T)
        field0 = float(experiment.B0)
        if self.settings.base_temperature is not None:
            base = self.settings.base_temperature
        if self.settings.initial_field is not None:
            field0 = self.settings.initial_field
        self.cryostat = Cryostat(self, base)
        direction = self.rng.spawn(1)[0].standard_normal(3)
        direction /= float(np.linalg.norm(direction))
        self.drift = Drift(experiment.stage, base, tuple(float(d) for d in direction),
                           self.settings.drift)
        self.coarse = CoarseStage(self)
        self.fine = FineStage(self)
        self.magnet = Magnet(self, field0)
        proto = experiment.protocol
        #: the experiment's own correlation time of statistical polarization, s
        #: (:attr:`spin_correlation_time` at the experiment's settings; T1rho where nothing
        #: fluctuates, or where no lock survives a passage: a placeholder that drives nothing)
        self._fluctuating = (proto.polarization == "statistical"
                             or self.spin_noise_model is not None)
        tau0 = spin_correlation_time(experiment) if self._fluctuating else 0.0
        self.experiment_correlation_time = tau0 if tau0 > 0.0 else float(proto.T1rho)
        self._tau_key: tuple | None = None
        self._tau = self.experiment_correlation_time
        self.rf = RFSource(mod_rate=self._cantilever.f0)
        # the source tuned for the experiment's carrier
        self.rf.frequency = float(experiment.rf.frequency) / self.rf_multiplier
        self.rf.fm_deviation = (
            larmor_frequency(float(experiment.rf.fm_depth), self.signal_model.gamma)
            / self.rf_multiplier
        )
        self.rf.modulation = True
        self.rf.listener = self.before_change
        self.events: list[str] = []

    # ---------------------------------------------------------------- helpers
    @property
    def cantilever(self) -> Cantilever:
        """The experiment's cantilever at the cryostat's present temperature (K)."""
        t = self.cryostat.temperature
        c = self._cantilever
        if c.T != t:
            c = self._cantilever = dataclasses.replace(c, T=t)
        return c

    @property
    def spin_correlation_time(self) -> float:
        """Correlation time of statistical polarization at the present field, carrier, FM
        depth and modulation rate, s (:meth:`correlation_time_at`); the experiment's own
        while the FM is off. Curie without spin noise: T1rho (unused)."""
        with self.lock:
            f_rf, f_dev = self.carrier()
            return self.correlation_time_at(
                float(self.magnet.field(self.clock.now())), f_rf,
                resonance_field(f_dev, self.signal_model.gamma), float(self.rf.mod_rate))

    def correlation_time_at(self, b0: float, f_rf: float, fm_depth: float,
                            f_mod: float) -> float:
        """Correlation time of statistical polarization at field ``b0`` (T), carrier
        ``f_rf`` (Hz, at the spins), FM depth ``fm_depth`` (T) and modulation rate
        ``f_mod`` (Hz), s: ``[protocol] tau_m``, else the lock's lifetime with the passage
        losses of the slice these settings make (the time-domain chain's law,
        :func:`mrfm.timedomain.spins.spin_correlation_time`, evaluated again when a
        setting changes), 0 where no lock survives a passage; the experiment's own where
        the FM is off. Curie without spin noise: T1rho (unused)."""
        with self.lock:
            if not self._fluctuating:
                return self.experiment_correlation_time
            if not (fm_depth > 0 and f_mod > 0 and f_rf > 0):
                return self.experiment_correlation_time
            key = (round(b0 * 1e7), round(f_rf * 1e-1), round(fm_depth * 1e7),
                   round(f_mod * 1e3))
            if key != self._tau_key:
                exp = self.experiment
                here = dataclasses.replace(exp, B0=float(b0), rf=dataclasses.replace(
                    exp.rf, frequency=float(f_rf), fm_depth=float(fm_depth)))
                self._tau = spin_correlation_time(here, float(f_mod))
                self._tau_key = key
            return self._tau

    @property
    def ringdown_time(self) -> float:
        """Ring-up and ring-down time 2Q/omega0 the lock-in sees, s: the cantilever's, or
        the closed loop's under velocity feedback (``[virtual] feedback_Q``)."""
        return self.cantilever.feedback_loop(self.settings.feedback_Q).ringdown_time

    def transfer(self, f: float) -> complex:
        """The rig's cantilever's x/F at frequency ``f`` (Hz), m/N: its total damping sets
        the response (:meth:`mrfm.physics.Cantilever.transfer_function`)."""
        return complex(self._cantilever.transfer_function(f))

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
        """Piezo gain at the stage temperature relative to 300 K, from
        ``low_temperature_fraction`` at 4.2 K (:func:`mrfm.physics.stage.piezo_fraction_at`)."""
        self.cryostat.advance(self.clock.now())
        return piezo_fraction_at(self.cryostat.temperature,
                                 self.settings.low_temperature_fraction)

    def voltage_limit(self) -> float:
        """Lab's piezo voltage limit at the present stage temperature, V."""
        self.cryostat.advance(self.clock.now())
        return self.limits.piezo_voltage_limit(self.cryostat.temperature)

    def before_change(self) -> None:
        """Bring every lock-in up to now with the present inputs: called by the setters
        (RF source, stages, magnet) just before they change anything, so the change acts
        from the simulated time of the command."""
        with self.lock:
            now = self.clock.now()
            for ch in self.channels:
                ch.sync(now)

    def tip_position(self, at: float | None = None) -> tuple[float, float, float]:
        """True tip position (x, y, height), m, now or at simulated time ``at`` (s):
        coarse offsets plus fine positions plus the tip-sample drift
        (:class:`mrfm.rig.environment.Drift`, which the piezo sensors do not see).

        The height is clamped at 0 (tip touching the surface; recorded in ``events``).
        """
        with self.lock:
            now = self.clock.now() if at is None else at
            f = self.fine
            fine, coarse = f.axes, self.coarse.axes
            offset = self.coarse.position_of
            dx, dy, dz = self.drift.offset(now, self.cryostat.temperature)
            x = offset(coarse["1"], now) + f.position(fine["1"], now, noisy=False) + dx
            y = offset(coarse["2"], now) + f.position(fine["2"], now, noisy=False) + dy
            h = offset(coarse["3"], now) + f.position(fine["3"], now, noisy=False) + dz
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
            fm_depth = resonance_field(f_dev, self.signal_model.gamma)
            t = self.cryostat.temperature
        return self.signal_model.signal_at(x, y, h, b0, f_rf, fm_depth, t)

    def carrier(self) -> tuple[float, float]:
        """(frequency, FM deviation) at the spins, Hz: the source's times ``rf_multiplier``."""
        with self.lock:
            n = self.rf_multiplier
            return self.rf.frequency * n, self.rf.fm_deviation * n

    def lockin_inputs(self, t: float) -> LockinInputs:
        """The lock-in's inputs at simulated time ``t`` (s) (tip, field and RF as at t)."""
        with self.lock:
            rf = self.rf
            f_mod = rf.mod_rate
            active = rf.active_fm()
            x, y, h = self.tip_position(t)
            b0 = self.magnet.field(t)
            f_rf, f_dev = self.carrier()
            where = (x, y, h, b0, f_rf, f_dev, active)
            if not active:
                return LockinInputs(where, f_mod)
            fm_depth = resonance_field(f_dev, self.signal_model.gamma)
            # the stage temperature as last advanced (readings advance it)
            temperature = self.cryostat.temperature
        value = self.signal_model.signal_at(x, y, h, b0, f_rf, fm_depth, temperature)
        noise = self.spin_noise_model
        if noise is not None:
            # a Curie force and the spins' statistical fluctuation about it (nonzero also
            # where the odd Curie force cancels, on a mirror plane of the sample)
            variance = noise.signal_at(x, y, h, b0, f_rf, fm_depth, temperature)
            tau_m = self.correlation_time_at(b0, f_rf, fm_depth, f_mod)
            if variance > 0.0 and tau_m > 0.0:
                return LockinInputs(where, f_mod, force=complex(value),
                                    force_std=math.sqrt(variance), spin_time=tau_m)
        if value == 0.0:
            return LockinInputs(where, f_mod)
        unit = self.signal_model.unit
        to_volts = -1j * self.settings.volts_per_hertz / math.sqrt(2.0)
        if unit in ("N^2", "Hz^2"):
            # the statistical signal's correlation at the same moment's settings
            tau_m = self.correlation_time_at(b0, f_rf, fm_depth, f_mod)
            if not tau_m > 0.0:
                # no lock survives a passage (Landau-Zener losses): nothing is locked
                return LockinInputs(where, f_mod)
            if unit == "N^2":
                return LockinInputs(where, f_mod, force_std=math.sqrt(max(value, 0.0)),
                                    spin_time=tau_m)
            return LockinInputs(where, f_mod, direct_std=to_volts * math.sqrt(max(value, 0.0)),
                                spin_time=tau_m)
        if unit.startswith("Hz"):  # the PLL chain's -90 degrees (see the module docstring)
            return LockinInputs(where, f_mod, direct=to_volts * value)
        return LockinInputs(where, f_mod, force=complex(value))

    def input_noise_psd(self, f: float) -> float:
        """One-sided voltage noise PSD at the lock-in input at frequency f, V^2/Hz: the
        thermal displacement PSD ``S_F |H(f)|^2`` (:meth:`mrfm.physics.Cantilever.displacement_psd`)
        and the detector noise, times the gain. Under velocity feedback
        (``[virtual] feedback_Q``) the thermal force S_F is the cantilever's own and H the
        closed loop's (Q = feedback_Q), as the lock-in's engine has it."""
        c = self.cantilever
        loop = c.feedback_loop(self.settings.feedback_Q)
        s_x = c.force_noise_psd() * abs(loop.transfer_function(f)) ** 2
        return self.settings.volts_per_meter**2 * (s_x + self.settings.detector_noise**2)

    def new_lockin(self) -> LockinChannel:
        """A demodulator for one lock-in instrument."""
        with self.lock:
            ch = LockinChannel(self)
            ch.frequency = self.rf.mod_rate
            self.channels.append(ch)
            return ch

    def snapshot(self) -> dict[str, float | bool | list]:
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
