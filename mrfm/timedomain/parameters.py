"""Parameters of the time-domain chain (:class:`ChainParameters`, plain SI numbers) and the
checks that a chain can run with them (:func:`check_parameters`); the simulator that uses
them is :mod:`mrfm.timedomain.chain`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mrfm.errors import UserError
from mrfm.physics.cantilever import Cantilever
from mrfm.timedomain import interferometer as optics
from mrfm.timedomain import pll as pll_mod
from mrfm.timedomain import waveform

#: spin models of the chain (the kernel's codes index this tuple)
SPIN_MODELS = ("none", "cai", "cai-statistical", "shift", "shift-telegraph")


@dataclass(frozen=True)
class ChainParameters:
    """Everything the chain needs, in SI.

    Attributes
    ----------
    k, f0, Q, temperature : float
        Cantilever (N/m, Hz, -, K); the bath temperature before laser heating.
    dt : float
        Sample interval, s.
    seed : int
    mode : str
        "driven" or "self-oscillating".
    amplitude : float
        Peak amplitude x_pk held by the amplitude loop (self-oscillating), m.
    agc_gain : float
        Amplitude-loop gain (dimensionless).
    drive_amplitude, drive_frequency, drive_phase : float
        Sinusoidal drive force (N, Hz, rad).
    spin_model : str
        "none"; "cai" (force value * envelope * cos(2 pi f_mod t)); "cai-statistical"
        (force OU(variance value) * cos(2 pi f_mod t)); "shift" (constant df = value Hz);
        "shift-telegraph" (df = value * random sign, flip rate 1/(2 spin_time)).
    spin_value : float
        N, N^2 or Hz (see spin_model).
    spin_time : float
        T1rho (CAI decay, telegraph) or the correlation time tau_m (OU), s.
    cai_loss : float
        Fraction lost per adiabatic inversion.
    cai_waveform : tuple of float
        The CAI slice's inversion waveform W(phase) = sum_n w_n cos(n phase) as its cosine
        coefficients relative to the fundamental, (w_0, 1, w_2, ...): the force is
        A W(2 pi f_mod t + phase) with A the fundamental (spin_value or the OU force);
        () is the pure fundamental (a slice whose spins fill the offsets uniformly).
        See :mod:`mrfm.timedomain.waveform` and :mod:`mrfm.timedomain.slice_waveform`.
    modulation_frequency, modulation_phase : float
        CAI frequency-modulation rate (Hz) and phase (rad).
    power, visibility, wavelength, phase_error, efficiency : float
        Interferometer (W, -, m, rad, -).
    detector_bandwidth : float
        Photodiode bandwidth, Hz (inf: unlimited).
    gain : float
        Photodiode gain, V/W.
    heating : float
        Laser heating, K/W.
    shot_noise : bool
    adc_bits : int
        0: no quantization.
    adc_range : float
        V.
    lockin_frequency, lockin_time_constant, lockin_phase, lockin_sensitivity : float
        Hz, s, rad, V.
    lockin_slope : int
        dB/octave.
    pll_bandwidth, pll_detector_cutoff : float
        Hz (PLL runs in the self-oscillating mode).
    """

    k: float
    f0: float
    Q: float
    temperature: float
    dt: float
    seed: int = 0
    mode: str = "driven"
    amplitude: float = 0.0
    agc_gain: float = 10.0
    drive_amplitude: float = 0.0
    drive_frequency: float | None = None
    drive_phase: float = 0.0
    spin_model: str = "none"
    spin_value: float = 0.0
    spin_time: float = math.inf
    cai_loss: float = 0.0
    cai_waveform: tuple[float, ...] = ()
    modulation_frequency: float | None = None
    modulation_phase: float = 0.0
    power: float = 1e-6
    visibility: float = 0.5
    wavelength: float = 1550e-9
    phase_error: float = 0.0
    efficiency: float = 0.8
    detector_bandwidth: float = math.inf
    gain: float = 1e6
    heating: float = 0.0
    shot_noise: bool = True
    adc_bits: int = 16
    adc_range: float = 10.0
    lockin_frequency: float | None = None
    lockin_time_constant: float = 0.03
    lockin_slope: int = 24
    lockin_phase: float = 0.0
    lockin_sensitivity: float = 1.0
    pll_bandwidth: float = 10.0
    pll_detector_cutoff: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def effective_temperature(self) -> float:
        """Cantilever temperature including laser heating, K."""
        return optics.heated_temperature(self.temperature, power=self.power, heating=self.heating)

    @property
    def thermal_rms(self) -> float:
        """Equilibrium thermal rms displacement at :attr:`effective_temperature`, m
        (:meth:`mrfm.physics.Cantilever.thermal_rms`; 0 for a chain without a bath)."""
        t = self.effective_temperature
        if t <= 0:
            return 0.0
        return Cantilever(k=self.k, f0=self.f0, Q=self.Q, T=t).thermal_rms()

    @property
    def volts_per_metre(self) -> float:
        """Small-signal photodiode calibration at quadrature, V/m."""
        return self.gain * optics.quadrature_slope(
            power=self.power, visibility=self.visibility, wavelength=self.wavelength)

    @property
    def reference_frequency(self) -> float:
        """Lock-in reference, Hz: as set, else the drive, else the CAI modulation, else f0."""
        if self.lockin_frequency is not None:
            return self.lockin_frequency
        if self.drive_amplitude > 0 and self.drive_frequency is not None:
            return self.drive_frequency
        if self.spin_model.startswith("cai") and self.modulation_frequency is not None:
            return self.modulation_frequency
        return self.f0


def check_parameters(c: ChainParameters) -> None:
    """Raise UserError for settings the chain cannot run (modes, models, Nyquist, filters)."""
    from mrfm.timedomain import lockin

    if c.mode not in ("driven", "self-oscillating"):
        raise UserError(f"mode {c.mode!r} is not available; use driven or self-oscillating")
    if c.spin_model not in SPIN_MODELS:
        raise UserError(f"spin model {c.spin_model!r} is not available; use {SPIN_MODELS}")
    if c.mode == "self-oscillating" and not c.amplitude > 0:
        raise UserError("the self-oscillating mode needs cantilever.amplitude > 0 m (x_pk)")
    if c.cai_waveform:
        if not c.spin_model.startswith("cai"):
            raise UserError(f"cai_waveform is for the CAI spin models, not {c.spin_model!r}")
        waveform.check_waveform(tuple(c.cai_waveform))
    if c.spin_model == "cai-statistical" and c.spin_value < 0:
        raise UserError(f"a force variance must be >= 0 N^2, got {c.spin_value!r}")
    lockin.check_settings(dt=c.dt, frequency=c.reference_frequency,
                          time_constant=c.lockin_time_constant, slope_db=c.lockin_slope)
    if c.mode == "self-oscillating":
        pll_mod.check_settings(dt=c.dt, bandwidth=c.pll_bandwidth,
                               detector_cutoff=c.pll_detector_cutoff or 10 * c.pll_bandwidth)


__all__ = ["SPIN_MODELS", "ChainParameters", "check_parameters"]
