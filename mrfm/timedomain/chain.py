"""The full signal chain, sample by sample: spins -> cantilever -> optics -> ADC -> lock-in, PLL.

:class:`ChainParameters` holds plain numbers (SI); :class:`ChainSimulator`
generates any stretch ``[n0, n0 + n)`` of the record in order, carrying the
state between calls. Every random number is drawn from a stream keyed by
(seed, stream, block of :data:`BLOCK` samples) — a counter-based layout with
numpy's ``SeedSequence`` spawn keys — so the record is identical whatever the
chunk size. Per sample n (time t_n = n dt):

1. the photodiode sees P(x_n) + shot noise, low-passed by the detector; the
   voltage ``gain (P - P0)`` is clipped and quantized by the ADC;
2. the lock-in (reference phasor at the absolute sample index) and, in the
   self-oscillating mode, the PLL take the ADC sample;
3. the cantilever steps exactly to x_{n+1} (see :mod:`.oscillator`) under the
   CAI spin force A_n cos(2 pi f_mod t + phase) (exact response to the sinusoid over
   the step with the slowly varying amplitude A_n held — no half-sample delay), the spin
   frequency shift (OSCAR and gradient protocols, as
   dk = 2 k df / f0), the sinusoidal drive (exact response, no hold error) and,
   when self-oscillating, the velocity feedback G c v with the amplitude loop
   G = 1 + g_agc (1 - A/x_pk), A = sqrt(x^2 + (v/omega0)^2) low-passed with the
   ring-down time / g_agc. The feedback uses the cantilever's own state (an ideal
   phase shifter), not the noisy photodiode signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.constants as sc
from numba import njit

from mrfm.errors import UserError
from mrfm.timedomain import interferometer as optics
from mrfm.timedomain import pll as pll_mod
from mrfm.timedomain.adc import lsb, quantize_sample
from mrfm.timedomain.lockin import RESYNC, filter_order, lockin_sample, phasor_at, reference_phasor
from mrfm.timedomain.oscillator import discretize, sinusoid_response
from mrfm.timedomain.spins import (
    cai_envelope,
    ou_coefficients,
    ou_process,
    telegraph,
    telegraph_flip_probability,
)

#: samples per random-number block (the unit of the counter-based seeding)
BLOCK = 2**16
#: random stream ids
STREAM_INITIAL, STREAM_THERMAL, STREAM_SHOT, STREAM_SPIN = 0, 1, 2, 3
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


class BlockNoise:
    """Random draws addressed by absolute sample index (independent of chunking).

    Block b of stream s comes from ``Generator(PCG64(SeedSequence(seed, spawn_key=(s, b))))``.
    """

    def __init__(self, seed: int, stream: int, *, width: int = 1, kind: str = "normal") -> None:
        self.seed, self.stream, self.width, self.kind = seed, stream, width, kind
        self._cached: tuple[int, np.ndarray] | None = None

    def _block(self, b: int) -> np.ndarray:
        if self._cached is not None and self._cached[0] == b:
            return self._cached[1]
        ss = np.random.SeedSequence(self.seed, spawn_key=(self.stream, b))
        gen = np.random.Generator(np.random.PCG64(ss))
        shape = (BLOCK, self.width) if self.width > 1 else (BLOCK,)
        data = gen.standard_normal(shape) if self.kind == "normal" else gen.random(shape)
        self._cached = (b, data)
        return data

    def take(self, n0: int, n: int) -> np.ndarray:
        """Draws for samples n0 .. n0 + n - 1, shape (n,) or (n, width)."""
        shape = (n, self.width) if self.width > 1 else (n,)
        out = np.empty(shape)
        pos, end = n0, n0 + n
        while pos < end:
            b = pos // BLOCK
            off = pos - b * BLOCK
            m = min(BLOCK - off, end - pos)
            out[pos - n0: pos - n0 + m] = self._block(b)[off: off + m]
            pos += m
        return out


# parameter vector layout of the numba kernel
(P00, P01, P10, P11, K00, K01, K10, K11, C00, C01, C10, C11, G0, G1, L00, L10, L11,
 DGR0, DGI0, DGR1, DGI1, DRV_CPS, DRV_PHASE, DRV_AMP,
 SELF, C_DAMP, XPK, AGC_GAIN, AGC_A, OMEGA0, GMAX,
 OPT_P0, OPT_VIS, OPT_K4, OPT_PHASE, SHOT_SIGMA, DET_A, PD_GAIN,
 ADC_STEP, ADC_VMAX,
 LK_CPS, LK_PHASE, LK_A, LK_ORDER, LK_SENS,
 PLL_ON, PLL_DT, PLL_FC, PLL_KP, PLL_KI, PLL_A,
 SP_CARRIER, SGR0, SGI0, SGR1, SGI1, SP_CPS, SP_PHASE, NPAR) = range(59)
# state vector layout
S_X, S_V, S_DET, S_AGC, S_LK, S_PLL = 0, 1, 2, 3, 4, 12
NSTATE = S_PLL + pll_mod.STATE_SIZE


@njit(cache=True, fastmath=False)
def chain_kernel(n0, p, st, z_th, z_shot, f_spin, dk, out_x, out_f, out_pd, out_lx, out_ly,
                 out_df, counts):  # pragma: no cover - numba
    """Advance the chain over samples n0 .. n0 + n - 1 (n = out_x.size); see module docs."""
    n = out_x.shape[0]
    has_z = z_th.shape[0] > 0
    has_shot = z_shot.shape[0] > 0
    has_f = f_spin.shape[0] > 0
    has_dk = dk.shape[0] > 0
    order = int(p[LK_ORDER])
    selfosc = p[SELF] > 0.0
    pll_on = p[PLL_ON] > 0.0
    lk_stages = st[S_LK:S_LK + 2 * order]
    pll_state = st[S_PLL:S_PLL + 6]
    cr, sr = phasor_at(n0, p[LK_CPS], p[LK_PHASE], RESYNC)
    wl = 2.0 * math.pi * p[LK_CPS]
    cwl, swl = math.cos(wl), math.sin(wl)
    cd, sd = phasor_at(n0, p[DRV_CPS], p[DRV_PHASE], RESYNC)
    wdv = 2.0 * math.pi * p[DRV_CPS]
    cwd, swd = math.cos(wdv), math.sin(wdv)
    carrier = p[SP_CARRIER] > 0.0
    cm, sm = phasor_at(n0, p[SP_CPS], p[SP_PHASE], RESYNC)
    wm = 2.0 * math.pi * p[SP_CPS]
    cwm, swm = math.cos(wm), math.sin(wm)
    x = st[S_X]
    v = st[S_V]
    det = st[S_DET]
    agc = st[S_AGC]
    clipped = 0
    overload = 0
    # parameters as locals (the loop stores to arrays; keep loads out of it)
    q_adc_step = p[ADC_STEP]
    q_adc_vmax = p[ADC_VMAX]
    q_agc_a = p[AGC_A]
    q_agc_gain = p[AGC_GAIN]
    q_c00 = p[C00]
    q_c01 = p[C01]
    q_c10 = p[C10]
    q_c11 = p[C11]
    q_c_damp = p[C_DAMP]
    q_det_a = p[DET_A]
    q_dgi0 = p[DGI0]
    q_dgi1 = p[DGI1]
    q_dgr0 = p[DGR0]
    q_dgr1 = p[DGR1]
    q_drv_amp = p[DRV_AMP]
    q_drv_cps = p[DRV_CPS]
    q_drv_phase = p[DRV_PHASE]
    q_g0 = p[G0]
    q_g1 = p[G1]
    q_gmax = p[GMAX]
    q_k00 = p[K00]
    q_k01 = p[K01]
    q_k10 = p[K10]
    q_k11 = p[K11]
    q_l00 = p[L00]
    q_l10 = p[L10]
    q_l11 = p[L11]
    q_lk_a = p[LK_A]
    q_lk_cps = p[LK_CPS]
    q_lk_phase = p[LK_PHASE]
    q_lk_sens = p[LK_SENS]
    q_omega0 = p[OMEGA0]
    q_opt_k4 = p[OPT_K4]
    q_opt_p0 = p[OPT_P0]
    q_opt_phase = p[OPT_PHASE]
    q_opt_vis = p[OPT_VIS]
    q_p00 = p[P00]
    q_p01 = p[P01]
    q_p10 = p[P10]
    q_p11 = p[P11]
    q_pd_gain = p[PD_GAIN]
    q_pll_a = p[PLL_A]
    q_pll_dt = p[PLL_DT]
    q_pll_fc = p[PLL_FC]
    q_pll_ki = p[PLL_KI]
    q_pll_kp = p[PLL_KP]
    q_sgi0 = p[SGI0]
    q_sgi1 = p[SGI1]
    q_sgr0 = p[SGR0]
    q_sgr1 = p[SGR1]
    q_shot_sigma = p[SHOT_SIGMA]
    q_sp_cps = p[SP_CPS]
    q_sp_phase = p[SP_PHASE]
    q_xpk = p[XPK]
    for i in range(n):
        nabs = n0 + i
        if nabs % RESYNC == 0:
            cr, sr = reference_phasor(nabs, q_lk_cps, q_lk_phase)
            cd, sd = reference_phasor(nabs, q_drv_cps, q_drv_phase)
            cm, sm = reference_phasor(nabs, q_sp_cps, q_sp_phase)
        out_x[i] = x
        # optics, detector, ADC
        power = q_opt_p0 * (1.0 + q_opt_vis * math.cos(q_opt_k4 * x + q_opt_phase))
        if has_shot:
            power += q_shot_sigma * z_shot[i]
        det = q_det_a * det + (1.0 - q_det_a) * power
        u, c = quantize_sample(q_pd_gain * (det - q_opt_p0), q_adc_step, q_adc_vmax)
        if c:
            clipped += 1
        out_pd[i] = u
        lx, ly = lockin_sample(u, cr, sr, q_lk_a, order, lk_stages)
        out_lx[i] = lx
        out_ly[i] = ly
        if abs(lx) > q_lk_sens or abs(ly) > q_lk_sens:
            overload += 1
        if pll_on:
            out_df[i] = pll_mod.pll_sample(u, q_pll_dt, q_pll_fc, q_pll_kp, q_pll_ki,
                                           q_pll_a, pll_state)
        else:
            out_df[i] = 0.0
        # forces on the cantilever
        f = f_spin[i] if has_f else 0.0
        fc = 0.0
        if carrier:  # spin force f cos(theta_m): exact sinusoid response, amplitude held
            fc = f
            f = 0.0
        dkk = dk[i] if has_dk else 0.0
        dc = 0.0
        ffb = 0.0
        if selfosc:
            amp = math.sqrt(x * x + (v / q_omega0) ** 2)
            agc = q_agc_a * agc + (1.0 - q_agc_a) * amp
            g = 1.0 + q_agc_gain * (1.0 - agc / q_xpk)
            g = min(max(g, 0.0), q_gmax)
            dc = q_c_damp * (1.0 - g)
            ffb = g * q_c_damp * v
        out_f[i] = f + fc * cm + q_drv_amp * cd + ffb
        a00 = q_p00 + dkk * q_k00 + dc * q_c00
        a01 = q_p01 + dkk * q_k01 + dc * q_c01
        a10 = q_p10 + dkk * q_k10 + dc * q_c10
        a11 = q_p11 + dkk * q_k11 + dc * q_c11
        xn = a00 * x + a01 * v + q_g0 * f + q_drv_amp * (q_dgr0 * cd - q_dgi0 * sd)
        vn = a10 * x + a11 * v + q_g1 * f + q_drv_amp * (q_dgr1 * cd - q_dgi1 * sd)
        if carrier:
            xn += fc * (q_sgr0 * cm - q_sgi0 * sm)
            vn += fc * (q_sgr1 * cm - q_sgi1 * sm)
        if has_z:
            z0 = z_th[i, 0]
            xn += q_l00 * z0
            vn += q_l10 * z0 + q_l11 * z_th[i, 1]
        x = xn
        v = vn
        cr, sr = cr * cwl - sr * swl, sr * cwl + cr * swl
        cd, sd = cd * cwd - sd * swd, sd * cwd + cd * swd
        cm, sm = cm * cwm - sm * swm, sm * cwm + cm * swm
    st[S_X] = x
    st[S_V] = v
    st[S_DET] = det
    st[S_AGC] = agc
    counts[0] += clipped
    counts[1] += overload


def check_parameters(c: ChainParameters) -> None:
    """Raise UserError for settings the chain cannot run (modes, models, Nyquist, filters)."""
    from mrfm.timedomain import lockin

    if c.mode not in ("driven", "self-oscillating"):
        raise UserError(f"mode {c.mode!r} is not available; use driven or self-oscillating")
    if c.spin_model not in SPIN_MODELS:
        raise UserError(f"spin model {c.spin_model!r} is not available; use {SPIN_MODELS}")
    if c.mode == "self-oscillating" and not c.amplitude > 0:
        raise UserError("the self-oscillating mode needs cantilever.amplitude > 0 m (x_pk)")
    if c.spin_model == "cai-statistical" and c.spin_value < 0:
        raise UserError(f"a force variance must be >= 0 N^2, got {c.spin_value!r}")
    lockin.check_settings(dt=c.dt, frequency=c.reference_frequency,
                          time_constant=c.lockin_time_constant, slope_db=c.lockin_slope)
    if c.mode == "self-oscillating":
        pll_mod.check_settings(dt=c.dt, bandwidth=c.pll_bandwidth,
                               detector_cutoff=c.pll_detector_cutoff or 10 * c.pll_bandwidth)


class ChainSimulator:
    """Generate the record of a :class:`ChainParameters` in consecutive pieces.

    Examples
    --------
    >>> sim = ChainSimulator(ChainParameters(k=1e-4, f0=5e3, Q=1e3, temperature=4.2, dt=1e-5))
    >>> out = sim.run(1000)
    >>> sorted(out)[:3]
    ['displacement', 'force', 'frequency_shift']
    """

    def __init__(self, params: ChainParameters) -> None:
        check_parameters(params)
        self.params = c = params
        self.n_done = 0
        self.counts = np.zeros(2, dtype=np.int64)
        omega0 = 2.0 * math.pi * c.f0
        self.omega0 = omega0
        self.mass = c.k / omega0**2
        t_eff = c.effective_temperature
        base_q = math.inf if c.mode == "self-oscillating" else c.Q
        d = discretize(k=c.k, omega0=omega0, Q=c.Q, temperature=t_eff, dt=c.dt, base_Q=base_q)
        self.disc = d
        p = np.zeros(NPAR)
        p[[P00, P01, P10, P11]] = d.phi.ravel()
        p[[K00, K01, K10, K11]] = d.dphi_dk.ravel()
        p[[C00, C01, C10, C11]] = d.dphi_dc.ravel()
        p[[G0, G1]] = d.gamma_in
        p[[L00, L10, L11]] = d.chol[0, 0], d.chol[1, 0], d.chol[1, 1]
        if c.drive_amplitude > 0:
            f_drive = c.drive_frequency if c.drive_frequency is not None else c.f0
            gamma = 0.0 if math.isinf(base_q) else omega0 / (2.0 * base_q)
            g = sinusoid_response(d.phi, omega0=omega0, gamma=gamma, mass=self.mass,
                                  omega=2.0 * math.pi * f_drive, dt=c.dt)
            p[[DGR0, DGI0, DGR1, DGI1]] = g[0].real, g[0].imag, g[1].real, g[1].imag
            p[DRV_CPS] = f_drive * c.dt
            p[DRV_PHASE] = c.drive_phase
            p[DRV_AMP] = c.drive_amplitude
        if c.spin_model in ("cai", "cai-statistical"):
            f_mod = c.modulation_frequency if c.modulation_frequency is not None else c.f0
            gamma = 0.0 if math.isinf(base_q) else omega0 / (2.0 * base_q)
            g = sinusoid_response(d.phi, omega0=omega0, gamma=gamma, mass=self.mass,
                                  omega=2.0 * math.pi * f_mod, dt=c.dt)
            p[[SGR0, SGI0, SGR1, SGI1]] = g[0].real, g[0].imag, g[1].real, g[1].imag
            p[SP_CARRIER] = 1.0
            p[SP_CPS] = f_mod * c.dt
            p[SP_PHASE] = c.modulation_phase
        if c.mode == "self-oscillating":
            p[SELF] = 1.0
            p[C_DAMP] = self.mass * omega0 / c.Q
            p[XPK] = c.amplitude
            p[AGC_GAIN] = c.agc_gain
            ringdown = 2.0 * c.Q / omega0
            p[AGC_A] = math.exp(-c.dt * c.agc_gain / ringdown)
            p[GMAX] = 1.0 + 10.0 * c.agc_gain
            p[PLL_ON] = 1.0
            kp, ki = pll_mod.loop_gains(c.pll_bandwidth)
            f_pd = c.pll_detector_cutoff or 10.0 * c.pll_bandwidth
            p[[PLL_DT, PLL_FC, PLL_KP, PLL_KI, PLL_A]] = (
                c.dt, c.f0, kp, ki, math.exp(-2.0 * math.pi * f_pd * c.dt))
        p[OMEGA0] = omega0
        p[OPT_P0] = c.power
        p[OPT_VIS] = c.visibility
        p[OPT_K4] = 4.0 * math.pi / c.wavelength
        p[OPT_PHASE] = -0.5 * math.pi + c.phase_error
        s_p = optics.shot_noise_psd(power=c.power, wavelength=c.wavelength,
                                    efficiency=c.efficiency)
        p[SHOT_SIGMA] = math.sqrt(s_p / (2.0 * c.dt))
        p[DET_A] = optics.lowpass_coefficient(cutoff=c.detector_bandwidth, dt=c.dt)
        p[PD_GAIN] = c.gain
        if c.adc_bits > 0:
            p[ADC_STEP] = lsb(bits=c.adc_bits, input_range=c.adc_range)
        p[ADC_VMAX] = c.adc_range
        p[LK_CPS] = c.reference_frequency * c.dt
        p[LK_PHASE] = c.lockin_phase
        p[LK_A] = math.exp(-c.dt / c.lockin_time_constant)
        p[LK_ORDER] = filter_order(c.lockin_slope)
        p[LK_SENS] = c.lockin_sensitivity
        self.p = p
        # state: thermal equilibrium draw (driven) or the peak amplitude (self-oscillating)
        st = np.zeros(NSTATE)
        z0 = BlockNoise(c.seed, STREAM_INITIAL, width=2).take(0, 1)[0]
        sx = math.sqrt(sc.k * t_eff / c.k)
        st[S_X] = sx * z0[0] + (c.amplitude if c.mode == "self-oscillating" else 0.0)
        st[S_V] = sx * omega0 * z0[1]
        st[S_DET] = optics.photodiode_power(st[S_X], power=c.power, visibility=c.visibility,
                                            wavelength=c.wavelength,
                                            phase=-0.5 * math.pi + c.phase_error)
        st[S_AGC] = c.amplitude
        self.state = st
        self._thermal = BlockNoise(c.seed, STREAM_THERMAL, width=2) if t_eff > 0 else None
        self._shot = BlockNoise(c.seed, STREAM_SHOT) if c.shot_noise else None
        kind = "uniform" if c.spin_model == "shift-telegraph" else "normal"
        self._spin_noise = BlockNoise(c.seed, STREAM_SPIN, kind=kind)
        self._spin_state = 1.0
        if c.spin_model == "cai-statistical":
            z = BlockNoise(c.seed, STREAM_INITIAL, width=3).take(1, 1)[0, 2]
            self._spin_state = math.sqrt(c.spin_value) * z

    # spin signal -------------------------------------------------------------------
    def _spin_arrays(self, n0: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(force amplitude N, spring-constant change N/m, spin channel) for a piece.

        CAI models return the amplitude of the carrier cos(2 pi f_mod t + phase); the
        kernel applies the exact per-step response to the sinusoid (no hold delay).
        """
        c = self.params
        empty = np.empty(0)
        idx = np.arange(n0, n0 + n, dtype=np.float64)
        if c.spin_model == "none":
            return empty, empty, np.zeros(n)
        if c.spin_model in ("cai", "cai-statistical"):
            if c.spin_model == "cai":
                f_mod = c.modulation_frequency if c.modulation_frequency is not None else c.f0
                spin = c.spin_value * cai_envelope(idx * c.dt, inversion_rate=2.0 * f_mod,
                                                   loss_per_inversion=c.cai_loss,
                                                   t1rho=c.spin_time)
            else:
                a, b = ou_coefficients(dt=c.dt, tau=c.spin_time, sigma=math.sqrt(c.spin_value))
                spin = np.empty(n)
                self._spin_state = ou_process(self._spin_state, a, b,
                                              self._spin_noise.take(n0, n), spin)
            return spin, empty, spin
        if c.spin_model == "shift":
            shift = np.full(n, c.spin_value)
        else:
            p_flip = telegraph_flip_probability(dt=c.dt, flip_rate=0.5 / c.spin_time)
            sign = np.empty(n)
            self._spin_state = telegraph(self._spin_state, p_flip, self._spin_noise.take(n0, n),
                                         sign)
            shift = c.spin_value * sign
        return empty, 2.0 * c.k * shift / c.f0, shift

    def run(self, n: int) -> dict[str, np.ndarray]:
        """Generate the next ``n`` samples; returns the channel arrays (SI), shape (n,)."""
        n0 = self.n_done
        f_spin, dk, spin = self._spin_arrays(n0, n)
        z_th = self._thermal.take(n0, n) if self._thermal is not None else np.empty((0, 2))
        z_shot = self._shot.take(n0, n) if self._shot is not None else np.empty(0)
        out = {name: np.empty(n) for name in ("displacement", "force", "photodiode",
                                               "lockin_x", "lockin_y", "frequency_shift")}
        chain_kernel(n0, self.p, self.state, z_th, z_shot, f_spin, dk, out["displacement"],
                     out["force"], out["photodiode"], out["lockin_x"], out["lockin_y"],
                     out["frequency_shift"], self.counts)
        out["spin"] = spin
        self.n_done += n
        return out

    @property
    def adc_clipped(self) -> int:
        """Samples clipped by the ADC so far."""
        return int(self.counts[0])

    @property
    def lockin_overloads(self) -> int:
        """Samples where |X| or |Y| exceeded the lock-in sensitivity so far."""
        return int(self.counts[1])
