"""The numbers of the time-domain chain's kernel (:mod:`.chain`) for a
:class:`~mrfm.timedomain.parameters.ChainParameters`: the parameter vector (the exact
one-step matrices of the cantilever, the responses to the drive and to the CAI force's
fundamental and harmonics, the optics, ADC, lock-in and PLL coefficients, the spin model's)
and the initial state (:func:`build`); the layout is :mod:`.chain_layout`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mrfm.errors import UserError
from mrfm.physics import cantilever as CL
from mrfm.physics.lockin import section_pole
from mrfm.timedomain import chain_layout as L
from mrfm.timedomain import interferometer as optics
from mrfm.timedomain import noise, waveform
from mrfm.timedomain import pll as pll_mod
from mrfm.timedomain.adc import lsb
from mrfm.timedomain.lockin import filter_order
from mrfm.timedomain.oscillator import Discretization, discretize, sinusoid_response
from mrfm.timedomain.parameters import SPIN_MODELS, ChainParameters
from mrfm.timedomain.spins import ou_coefficients, telegraph_flip_probability


@dataclass(frozen=True)
class ChainSetup:
    """What :class:`~mrfm.timedomain.chain.ChainSimulator` hands its kernel.

    Attributes
    ----------
    p : (NPAR,) float
        Parameter vector (:mod:`.chain_layout`).
    state : (NSTATE,) float
        Initial state: a thermal-equilibrium draw (driven) or the peak amplitude.
    wave : (TABLE_SIZE + 1, 3) or (2, 3) float
        The CAI waveform's phase table (:mod:`.waveform`; (2, 3) zeros without one).
    disc : Discretization
        The cantilever's exact one-step matrices.
    omega0, mass : float
        rad/s, kg.
    key : (int, int)
        Philox key of the seed.
    """

    p: np.ndarray
    state: np.ndarray
    wave: np.ndarray
    disc: Discretization
    omega0: float
    mass: float
    key: tuple[int, int]


def build(params: ChainParameters) -> ChainSetup:
    """The kernel's parameter vector and initial state for ``params`` (checked by the caller)."""
    c = params
    omega0 = 2.0 * math.pi * c.f0
    mass = CL.modal_mass(c.k, c.f0)
    t_eff = c.effective_temperature
    base_q = math.inf if c.mode == "self-oscillating" else c.Q
    d = discretize(k=c.k, omega0=omega0, Q=c.Q, temperature=t_eff, dt=c.dt, base_Q=base_q)
    wave = np.zeros((2, 3))  # the CAI waveform's harmonic table (none: fundamental)
    p = np.zeros(L.NPAR)
    p[[L.P00, L.P01, L.P10, L.P11]] = d.phi.ravel()
    p[[L.K00, L.K01, L.K10, L.K11]] = d.dphi_dk.ravel()
    p[[L.C00, L.C01, L.C10, L.C11]] = d.dphi_dc.ravel()
    p[[L.G0, L.G1]] = d.gamma_in
    p[[L.L00, L.L10, L.L11]] = d.chol[0, 0], d.chol[1, 0], d.chol[1, 1]
    if c.drive_amplitude > 0:
        f_drive = c.drive_frequency if c.drive_frequency is not None else c.f0
        gamma = CL.amplitude_decay_rate(c.f0, base_q)
        g = sinusoid_response(d.phi, omega0=omega0, gamma=gamma, mass=mass,
                              omega=2.0 * math.pi * f_drive, dt=c.dt)
        p[[L.DGR0, L.DGI0, L.DGR1, L.DGI1]] = g[0].real, g[0].imag, g[1].real, g[1].imag
        p[L.DRV_CPS] = f_drive * c.dt
        p[L.DRV_PHASE] = c.drive_phase
        p[L.DRV_AMP] = c.drive_amplitude
    if c.spin_model in ("cai", "cai-statistical"):
        f_mod = c.modulation_frequency if c.modulation_frequency is not None else c.f0
        gamma = CL.amplitude_decay_rate(c.f0, base_q)
        g = sinusoid_response(d.phi, omega0=omega0, gamma=gamma, mass=mass,
                              omega=2.0 * math.pi * f_mod, dt=c.dt)
        p[[L.SGR0, L.SGI0, L.SGR1, L.SGI1]] = g[0].real, g[0].imag, g[1].real, g[1].imag
        p[L.SP_CARRIER] = 1.0
        p[L.SP_CPS] = f_mod * c.dt
        p[L.SP_PHASE] = c.modulation_phase
        if c.cai_waveform:
            wave = waveform.response_table(
                tuple(c.cai_waveform), phi=d.phi, omega0=omega0, gamma=gamma,
                mass=mass, f_mod=f_mod, dt=c.dt)
            p[L.WAVE_ON] = 1.0
    if c.mode == "self-oscillating":
        p[L.SELF] = 1.0
        # the damping coefficient m omega0 / Q = 2 m gamma
        p[L.C_DAMP] = 2.0 * mass * CL.amplitude_decay_rate(c.f0, c.Q)
        p[L.XPK] = c.amplitude
        p[L.AGC_GAIN] = c.agc_gain
        p[L.AGC_A] = math.exp(-c.dt * c.agc_gain * CL.amplitude_decay_rate(c.f0, c.Q))
        p[L.GMAX] = 1.0 + 10.0 * c.agc_gain
        p[L.PLL_ON] = 1.0
        f_pd = c.pll_detector_cutoff or 10.0 * c.pll_bandwidth
        kp, ki = pll_mod.loop_gains(c.pll_bandwidth, f_pd)
        p[[L.PLL_DT, L.PLL_FC, L.PLL_KP, L.PLL_KI, L.PLL_A]] = (
            c.dt, c.f0, kp, ki, optics.lowpass_coefficient(cutoff=f_pd, dt=c.dt))
    p[L.OMEGA0] = omega0
    p[L.OPT_P0] = c.power
    p[L.OPT_VIS] = c.visibility
    p[L.OPT_K4] = 4.0 * math.pi / c.wavelength
    p[L.OPT_PHASE] = -0.5 * math.pi + c.phase_error
    s_p = optics.shot_noise_psd(power=c.power, wavelength=c.wavelength,
                                efficiency=c.efficiency)
    p[L.SHOT_SIGMA] = math.sqrt(s_p / (2.0 * c.dt))
    p[L.DET_A] = optics.lowpass_coefficient(cutoff=c.detector_bandwidth, dt=c.dt)
    p[L.PD_GAIN] = c.gain
    if c.adc_bits > 0:
        p[L.ADC_STEP] = lsb(bits=c.adc_bits, input_range=c.adc_range)
    p[L.ADC_VMAX] = c.adc_range
    p[L.LK_CPS] = c.reference_frequency * c.dt
    p[L.LK_PHASE] = c.lockin_phase
    p[L.LK_A] = section_pole(c.lockin_time_constant, c.dt)
    p[L.LK_ORDER] = filter_order(c.lockin_slope)
    p[L.LK_SENS] = c.lockin_sensitivity
    # random streams and the spin model
    p[L.TH_ON] = 1.0 if t_eff > 0 else 0.0
    p[L.SHOT_ON] = 1.0 if c.shot_noise else 0.0
    p[L.SP_MODEL] = SPIN_MODELS.index(c.spin_model)
    p[L.SP_VALUE] = c.spin_value
    p[L.DT] = c.dt
    # a shift df is the spring-constant change dk = 2 k df / f0 (the inverse of
    # Cantilever.frequency_shift)
    p[L.SP_DK_PER_HZ] = CL.spring_shift_per_hz(c.k, c.f0)
    if c.spin_model == "cai":
        f_mod = c.modulation_frequency if c.modulation_frequency is not None else c.f0
        if not 0.0 <= c.cai_loss < 1.0:
            raise UserError(f"loss per inversion {c.cai_loss!r} must be in [0, 1)")
        p[L.ENV_ON] = 1.0 if (c.cai_loss > 0 or math.isfinite(c.spin_time)) else 0.0
        p[L.ENV_RATE] = 2.0 * f_mod  # two inversions per modulation cycle
        p[L.ENV_LOG_KEEP] = math.log1p(-c.cai_loss)
        p[L.ENV_INV_T1] = 1.0 / c.spin_time if math.isfinite(c.spin_time) else 0.0
    elif c.spin_model == "cai-statistical":
        p[L.SP_OU_A], p[L.SP_OU_B] = ou_coefficients(dt=c.dt, tau=c.spin_time,
                                                     sigma=math.sqrt(c.spin_value))
    elif c.spin_model == "shift-telegraph":
        p[L.SP_PFLIP] = telegraph_flip_probability(dt=c.dt, flip_rate=0.5 / c.spin_time)
    # state: thermal equilibrium draw (driven) or the peak amplitude (self-oscillating)
    st = np.zeros(L.NSTATE)
    z0 = L.initial_normals(c.seed, 3)
    sx = c.thermal_rms
    st[L.S_X] = sx * z0[0] + (c.amplitude if c.mode == "self-oscillating" else 0.0)
    st[L.S_V] = sx * omega0 * z0[1]
    st[L.S_DET] = optics.photodiode_power(st[L.S_X], power=c.power, visibility=c.visibility,
                                          wavelength=c.wavelength,
                                          phase=-0.5 * math.pi + c.phase_error)
    st[L.S_AGC] = c.amplitude
    st[L.S_SPIN] = 1.0  # telegraph sign
    if c.spin_model == "cai-statistical":
        st[L.S_SPIN] = math.sqrt(c.spin_value) * z0[2]  # stationary OU start
    return ChainSetup(p=p, state=st, wave=wave, disc=d, omega0=omega0, mass=mass,
                      key=noise.seed_key(c.seed))
