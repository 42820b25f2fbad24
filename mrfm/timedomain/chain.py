"""The full signal chain, sample by sample: spins -> cantilever -> optics -> ADC -> lock-in, PLL.

:class:`ChainParameters` (:mod:`.parameters`) holds plain numbers (SI); :class:`ChainSimulator`
generates any stretch ``[n0, n0 + n)`` of the record in order, carrying the
state between calls. Every random number is a function of (seed, stream,
absolute sample index) only — Philox-4x32-10 with a ziggurat for normals, drawn
inside the kernel (:mod:`.noise`) — so the record is identical whatever the
chunk size. The spin signal is made in the same kernel: the CAI envelope, the
Ornstein–Uhlenbeck statistical force or the OSCAR telegraph (:mod:`.spins` gives
the same processes as stand-alone functions). The per-sample laws are the scalar forms
of the modules that own them, compiled into the loop (:func:`.interferometer.fringe_power`,
:func:`.lockin.rc_section` and :func:`.lockin.rms_outputs`, :func:`.spins.cai_envelope_at`;
each tested against its module's general function). Per sample n (time t_n = n dt):

1. the photodiode sees P(x_n) + shot noise, low-passed by the detector; the
   voltage ``gain (P - P0)`` is clipped and quantized by the ADC;
2. the lock-in (reference phasor at the absolute sample index) and, in the
   self-oscillating mode, the PLL take the ADC sample;
3. the cantilever steps exactly to x_{n+1} (see :mod:`.oscillator`) under the
   CAI spin force A_n W(2 pi f_mod t + phase) (exact response to the fundamental
   cos(2 pi f_mod t + phase) over the step with the slowly varying amplitude A_n held — no
   half-sample delay — and, when ``cai_waveform`` gives the slice's inversion waveform W,
   its other harmonics below the Nyquist frequency from a phase table of their exact
   responses, :mod:`.waveform`), the spin
   frequency shift (OSCAR and gradient protocols, as
   dk = 2 k df / f0), the sinusoidal drive (exact response, no hold error) and,
   when self-oscillating, the velocity feedback G c v with the amplitude loop
   G = 1 + g_agc (1 - A/x_pk), A = sqrt(x^2 + (v/omega0)^2) low-passed with the
   ring-down time / g_agc. The feedback uses the cantilever's own state (an ideal
   phase shifter), not the noisy photodiode signal.
"""

from __future__ import annotations

import math

import numpy as np

from mrfm.jit import shared_kernel
from mrfm.timedomain import chain_setup, waveform
from mrfm.timedomain import interferometer as optics
from mrfm.timedomain import pll as pll_mod
from mrfm.timedomain.adc import quantize_sample
from mrfm.timedomain.chain_layout import (
    ADC_STEP,
    ADC_VMAX,
    AGC_A,
    AGC_GAIN,
    C00,
    C01,
    C10,
    C11,
    C_DAMP,
    DET_A,
    DGI0,
    DGI1,
    DGR0,
    DGR1,
    DRV_AMP,
    DRV_CPS,
    DRV_PHASE,
    DT,
    ENV_INV_T1,
    ENV_LOG_KEEP,
    ENV_ON,
    ENV_RATE,
    GMAX,
    K00,
    K01,
    K10,
    K11,
    L00,
    L10,
    L11,
    LK_A,
    LK_CPS,
    LK_ORDER,
    LK_PHASE,
    LK_SENS,
    MODEL_CAI,
    MODEL_CAI_STAT,
    MODEL_SHIFT,
    MODEL_TELEGRAPH,
    OMEGA0,
    OPT_K4,
    OPT_P0,
    OPT_PHASE,
    OPT_VIS,
    P00,
    P01,
    P10,
    P11,
    PD_GAIN,
    PLL_A,
    PLL_DT,
    PLL_FC,
    PLL_KI,
    PLL_KP,
    PLL_ON,
    S_AGC,
    S_DET,
    S_LK,
    S_PLL,
    S_SPIN,
    S_V,
    S_X,
    SELF,
    SGI0,
    SGI1,
    SGR0,
    SGR1,
    SHOT_ON,
    SHOT_SIGMA,
    SP_CPS,
    SP_DK_PER_HZ,
    SP_MODEL,
    SP_OU_A,
    SP_OU_B,
    SP_PFLIP,
    SP_PHASE,
    SP_VALUE,
    STREAM_SHOT,
    STREAM_SPIN,
    STREAM_THERMAL,
    TH_ON,
    WAVE_ON,
    XPK,
)
from mrfm.timedomain.lockin import RESYNC, phasor_at, rc_section, reference_phasor, rms_outputs
from mrfm.timedomain.noise import FILL_BLOCK, fill_pairs, fill_singles, fill_uniforms
from mrfm.timedomain.parameters import ChainParameters, check_parameters
from mrfm.timedomain.spins import cai_envelope_at


@shared_kernel
def chain_kernel(n0, p, st, k0, k1, wave, out_x, out_f, out_pd, out_lx, out_ly, out_df,
                 out_spin, counts):  # pragma: no cover - numba
    """Advance the chain over samples n0 .. n0 + n - 1 (n = out_x.size); see module docs.

    Random draws come from :mod:`.noise` keyed by (k0, k1), the stream and the absolute
    sample index, made a block of :data:`~mrfm.timedomain.noise.FILL_BLOCK` samples at a
    time; the per-sample loop then has no calls, allocations or transcendental functions
    besides the interferometer's cosine (and the PLL's in the self-oscillating mode).
    ``wave`` is the CAI waveform's phase table (:func:`.waveform.response_table`; used when
    ``p[WAVE_ON]``, else any (2, 3) array).
    """
    n = out_x.shape[0]
    has_th = p[TH_ON] > 0.0
    has_shot = p[SHOT_ON] > 0.0
    model = int(p[SP_MODEL])
    order = int(p[LK_ORDER])
    selfosc = p[SELF] > 0.0
    pll_on = p[PLL_ON] > 0.0
    env_on = p[ENV_ON] > 0.0
    wave_on = p[WAVE_ON] > 0.0
    pll_state = st[S_PLL:S_PLL + 6]
    cr, sr = phasor_at(n0, p[LK_CPS], p[LK_PHASE], RESYNC)
    wl = 2.0 * math.pi * p[LK_CPS]
    cwl, swl = math.cos(wl), math.sin(wl)
    cd, sd = phasor_at(n0, p[DRV_CPS], p[DRV_PHASE], RESYNC)
    wdv = 2.0 * math.pi * p[DRV_CPS]
    cwd, swd = math.cos(wdv), math.sin(wdv)
    cm, sm = phasor_at(n0, p[SP_CPS], p[SP_PHASE], RESYNC)
    wm = 2.0 * math.pi * p[SP_CPS]
    cwm, swm = math.cos(wm), math.sin(wm)
    u_wave = waveform.turns_of(cm, sm)  # the modulation phase in turns (harmonic table)
    x = st[S_X]
    v = st[S_V]
    det = st[S_DET]
    agc = st[S_AGC]
    spin_state = st[S_SPIN]
    # the four in-phase and four quadrature filter sections (only `order` are used)
    x1, x2, x3, x4 = st[S_LK], st[S_LK + 1], st[S_LK + 2], st[S_LK + 3]
    y1, y2, y3, y4 = st[S_LK + 4], st[S_LK + 5], st[S_LK + 6], st[S_LK + 7]
    clipped = 0
    overload = 0
    # parameters as locals (the loop stores to arrays; keep loads out of it)
    q_adc_step = p[ADC_STEP]
    q_adc_vmax = p[ADC_VMAX]
    q_agc_a = p[AGC_A]
    q_agc_gain = p[AGC_GAIN]
    q_c00, q_c01, q_c10, q_c11 = p[C00], p[C01], p[C10], p[C11]
    q_c_damp = p[C_DAMP]
    q_det_a = p[DET_A]
    q_dgr0, q_dgi0, q_dgr1, q_dgi1 = p[DGR0], p[DGI0], p[DGR1], p[DGI1]
    q_drv_amp = p[DRV_AMP]
    q_drv_cps = p[DRV_CPS]
    q_drv_phase = p[DRV_PHASE]
    q_gmax = p[GMAX]
    q_k00, q_k01, q_k10, q_k11 = p[K00], p[K01], p[K10], p[K11]
    q_l00, q_l10, q_l11 = p[L00], p[L10], p[L11]
    q_lk_a = p[LK_A]
    q_lk_cps = p[LK_CPS]
    q_lk_phase = p[LK_PHASE]
    q_lk_sens = p[LK_SENS]
    q_omega0 = p[OMEGA0]
    q_opt_k4 = p[OPT_K4]
    q_opt_p0 = p[OPT_P0]
    q_opt_phase = p[OPT_PHASE]
    q_opt_vis = p[OPT_VIS]
    q_p00, q_p01, q_p10, q_p11 = p[P00], p[P01], p[P10], p[P11]
    q_pd_gain = p[PD_GAIN]
    q_pll_a = p[PLL_A]
    q_pll_dt = p[PLL_DT]
    q_pll_fc = p[PLL_FC]
    q_pll_ki = p[PLL_KI]
    q_pll_kp = p[PLL_KP]
    q_sgr0, q_sgi0, q_sgr1, q_sgi1 = p[SGR0], p[SGI0], p[SGR1], p[SGI1]
    q_shot_sigma = p[SHOT_SIGMA]
    q_sp_cps = p[SP_CPS]
    q_sp_phase = p[SP_PHASE]
    q_xpk = p[XPK]
    q_value = p[SP_VALUE]
    q_ou_a = p[SP_OU_A]
    q_ou_b = p[SP_OU_B]
    q_pflip = p[SP_PFLIP]
    q_dk_per_hz = p[SP_DK_PER_HZ]
    q_env_rate = p[ENV_RATE]
    q_env_log_keep = p[ENV_LOG_KEEP]
    q_env_inv_t1 = p[ENV_INV_T1]
    q_dt = p[DT]
    wbuf = np.empty(2 * FILL_BLOCK, dtype=np.uint64)
    z_th = np.zeros(2 * FILL_BLOCK)
    z_shot = np.zeros(FILL_BLOCK)
    r_spin = np.zeros(FILL_BLOCK)
    for b0 in range(0, n, FILL_BLOCK):
        m = min(FILL_BLOCK, n - b0)
        nb = n0 + b0
        if has_th:
            fill_pairs(k0, k1, STREAM_THERMAL, nb, m, wbuf, z_th)
        if has_shot:
            fill_singles(k0, k1, STREAM_SHOT, nb, m, wbuf, z_shot)
        if model == MODEL_CAI_STAT:
            fill_singles(k0, k1, STREAM_SPIN, nb, m, wbuf, r_spin)
        elif model == MODEL_TELEGRAPH:
            fill_uniforms(k0, k1, STREAM_SPIN, nb, m, wbuf, r_spin)
        for j in range(m):
            i = b0 + j
            nabs = nb + j
            if nabs % RESYNC == 0:
                cr, sr = reference_phasor(nabs, q_lk_cps, q_lk_phase)
                cd, sd = reference_phasor(nabs, q_drv_cps, q_drv_phase)
                cm, sm = reference_phasor(nabs, q_sp_cps, q_sp_phase)
                if wave_on:
                    u_wave = waveform.turns_of(cm, sm)
            out_x[i] = x
            # optics, detector, ADC
            power = optics.fringe_power(x, q_opt_p0, q_opt_vis, q_opt_k4, q_opt_phase)
            power += q_shot_sigma * z_shot[j]
            det = q_det_a * det + (1.0 - q_det_a) * power
            u, c = quantize_sample(q_pd_gain * (det - q_opt_p0), q_adc_step, q_adc_vmax)
            if c:
                clipped += 1
            out_pd[i] = u
            # lock-in: four RC sections per arm, output after `order` of them
            xin = u * cr
            yin = u * sr
            x1 = rc_section(q_lk_a, x1, xin)
            y1 = rc_section(q_lk_a, y1, yin)
            x2 = rc_section(q_lk_a, x2, x1)
            y2 = rc_section(q_lk_a, y2, y1)
            x3 = rc_section(q_lk_a, x3, x2)
            y3 = rc_section(q_lk_a, y3, y2)
            x4 = rc_section(q_lk_a, x4, x3)
            y4 = rc_section(q_lk_a, y4, y3)
            if order == 4:
                lx, ly = x4, y4
            elif order == 3:
                lx, ly = x3, y3
            elif order == 2:
                lx, ly = x2, y2
            else:
                lx, ly = x1, y1
            lx, ly = rms_outputs(lx, ly)
            out_lx[i] = lx
            out_ly[i] = ly
            if abs(lx) > q_lk_sens or abs(ly) > q_lk_sens:
                overload += 1
            if pll_on:
                out_df[i] = pll_mod.pll_sample(u, q_pll_dt, q_pll_fc, q_pll_kp, q_pll_ki,
                                               q_pll_a, pll_state)
            else:
                out_df[i] = 0.0
            # spin signal: CAI force amplitude (N) or frequency shift (Hz)
            fc = 0.0
            dkk = 0.0
            if model == MODEL_CAI:
                spin = q_value
                if env_on:
                    t = float(nabs) * q_dt
                    spin = q_value * cai_envelope_at(t, q_env_rate, q_env_log_keep,
                                                     q_env_inv_t1)
                fc = spin
            elif model == MODEL_CAI_STAT:
                spin = spin_state
                spin_state = q_ou_a * spin_state + q_ou_b * r_spin[j]
                fc = spin
            elif model == MODEL_SHIFT:
                spin = q_value
                dkk = q_dk_per_hz * spin
            elif model == MODEL_TELEGRAPH:
                spin = q_value * spin_state
                if r_spin[j] < q_pflip:
                    spin_state = -spin_state
                dkk = q_dk_per_hz * spin
            else:
                spin = 0.0
            out_spin[i] = spin
            # forces on the cantilever
            dc = 0.0
            ffb = 0.0
            if selfosc:
                amp = math.sqrt(x * x + (v / q_omega0) ** 2)
                agc = q_agc_a * agc + (1.0 - q_agc_a) * amp
                g = 1.0 + q_agc_gain * (1.0 - agc / q_xpk)
                g = min(max(g, 0.0), q_gmax)
                dc = q_c_damp * (1.0 - g)
                ffb = g * q_c_damp * v
            out_f[i] = fc * cm + q_drv_amp * cd + ffb
            a00 = q_p00 + dkk * q_k00 + dc * q_c00
            a01 = q_p01 + dkk * q_k01 + dc * q_c01
            a10 = q_p10 + dkk * q_k10 + dc * q_c10
            a11 = q_p11 + dkk * q_k11 + dc * q_c11
            z0 = z_th[2 * j]
            xn = (a00 * x + a01 * v + q_drv_amp * (q_dgr0 * cd - q_dgi0 * sd)
                  + fc * (q_sgr0 * cm - q_sgi0 * sm) + q_l00 * z0)
            vn = (a10 * x + a11 * v + q_drv_amp * (q_dgr1 * cd - q_dgi1 * sd)
                  + fc * (q_sgr1 * cm - q_sgi1 * sm) + q_l10 * z0 + q_l11 * z_th[2 * j + 1])
            if wave_on:  # the waveform's other harmonics: fc times the phase table
                fw, gxw, gvw = waveform.lookup(wave, u_wave)
                out_f[i] += fc * fw
                xn += fc * gxw
                vn += fc * gvw
                u_wave += q_sp_cps
                if u_wave >= 1.0:
                    u_wave -= 1.0
            x = xn
            v = vn
            cr, sr = cr * cwl - sr * swl, sr * cwl + cr * swl
            cd, sd = cd * cwd - sd * swd, sd * cwd + cd * swd
            cm, sm = cm * cwm - sm * swm, sm * cwm + cm * swm
    st[S_X] = x
    st[S_V] = v
    st[S_DET] = det
    st[S_AGC] = agc
    st[S_SPIN] = spin_state
    st[S_LK], st[S_LK + 1], st[S_LK + 2], st[S_LK + 3] = x1, x2, x3, x4
    st[S_LK + 4], st[S_LK + 5], st[S_LK + 6], st[S_LK + 7] = y1, y2, y3, y4
    counts[0] += clipped
    counts[1] += overload


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
        self.params = params
        self.n_done = 0
        self.counts = np.zeros(2, dtype=np.int64)
        setup = chain_setup.build(params)
        self.omega0, self.mass, self.disc = setup.omega0, setup.mass, setup.disc
        self.p, self.state, self.wave, self.key = setup.p, setup.state, setup.wave, setup.key

    def run(self, n: int) -> dict[str, np.ndarray]:
        """Generate the next ``n`` samples; returns the channel arrays (SI), shape (n,).

        Channels: displacement (m), force (N), photodiode (V), lockin_x, lockin_y (V RMS),
        frequency_shift (Hz; zero unless self-oscillating), spin (N, N or Hz: the CAI
        force amplitude, the statistical force or the frequency shift).
        """
        n0 = self.n_done
        out = {name: np.empty(n) for name in ("displacement", "force", "photodiode",
                                               "lockin_x", "lockin_y", "frequency_shift",
                                               "spin")}
        chain_kernel(n0, self.p, self.state, self.key[0], self.key[1], self.wave,
                     out["displacement"], out["force"], out["photodiode"], out["lockin_x"],
                     out["lockin_y"], out["frequency_shift"], out["spin"], self.counts)
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
