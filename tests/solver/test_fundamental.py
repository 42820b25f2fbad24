"""CAI's lock-in (fundamental) slice weight and the Landau-Zener inversion efficiency.

Independent truths:

- the weight (4/pi) sqrt(1 - s^2) against the numerical Fourier transform of the
  adiabatic-following waveform m_z(t) = Delta(t) / sqrt(Delta(t)^2 + B1^2) of a spin at offset
  s under the FM sweep Delta(t) = depth (s + cos w t) (no square-wave assumption);
- the analytic box averages (:func:`mrfm.solver.fundamental.fundamental_fraction`) against
  adaptive quadrature over the box (closed-form arcsine line integrals along one edge);
- the uniform-gradient slice average of the Landau-Zener-weighted fundamental against quad;
- point spins against the vectorized laws of :mod:`mrfm.physics.spin_dynamics`;
- direct and FFT paths against each other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants, integrate

from mrfm.physics import spin_dynamics as sd
from mrfm.solver import SolverSettings, simulate
from mrfm.solver import box_fraction as BF
from mrfm.solver import fundamental as FW

from .helpers import PROTON, box_quad, curie_moment, dipole_field, make_exp, slab_sample
from .test_protocols import _derivs, _point_exp


@pytest.mark.parametrize("s", [0.0, 0.3, -0.55, 0.8, 0.95])
def test_weight_is_the_fundamental_of_the_inversion_waveform(s):
    depth, b1 = 1.0, 1e-4  # B1 << depth: the effective field flips almost as a step
    n = 1 << 18
    wt = 2 * np.pi * (np.arange(n) + 0.5) / n
    delta = depth * (s + np.cos(wt))
    mz = delta / np.sqrt(delta**2 + b1**2)
    a1 = 2.0 / n * np.sum(mz * np.cos(wt))  # cosine coefficient at the modulation frequency
    b1c = 2.0 / n * np.sum(mz * np.sin(wt))
    # the smooth flip over |Delta| ~ B1 and the sampling change a1 by O(B1/depth, 1/n)
    assert a1 == pytest.approx(sd.cai_fundamental_weight(s), abs=2e-4)
    assert abs(b1c) < 1e-9
    assert BF.profile_weight(s * 2e-3, 2e-3, BF.PROFILE_FUNDAMENTAL) == pytest.approx(
        sd.cai_fundamental_weight(s), rel=1e-14)


def test_weight_averages_over_a_uniform_slice():
    """Mean 1 (a thick sample keeps the unit-weight force), mean square 32/(3 pi^2) = 1.0808."""
    m1, _ = integrate.quad(lambda s: sd.cai_fundamental_weight(s) / 2, -1, 1)
    m2, _ = integrate.quad(lambda s: sd.cai_fundamental_weight(s) ** 2 / 2, -1, 1)
    assert m1 == pytest.approx(1.0, rel=1e-10)
    assert m2 == pytest.approx(32 / (3 * math.pi**2), rel=1e-10)


def _line_w(half, g2):
    """Closed-form integral over u of w(s), s = base + g2 u: arcsine antiderivative."""
    def prim(x):
        x = min(1.0, max(-1.0, x))
        return 0.5 * (x * math.sqrt(1 - x * x) + math.asin(x))

    def along(base, u_lo, u_hi):
        x_lo, x_hi = (base + g2 * u_lo) / half, (base + g2 * u_hi) / half
        return 4 / math.pi * half / g2 * (prim(x_hi) - prim(x_lo))
    return along


def _line_w2(half, g2):
    def along(base, u_lo, u_hi):
        def prim(u):
            s = base + g2 * u
            return u - (s**3) / (3 * g2 * half * half)
        return 16 / math.pi**2 * (prim(u_hi) - prim(u_lo))
    return along


#: Gauss-Legendre nodes and weights on [-1, 1] for the theta integrals of :func:`_line_lz`
_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)


def _lz_theta_integral(k, t0, t1):
    """int_t0^t1 cos(theta)^2 (1 - 2 exp(-k / cos(theta))) dtheta, |t| <= pi/2, by 96-point
    Gauss-Legendre: the integrand is smooth (exp(-k/c) and all its derivatives vanish as
    c -> 0), so the rule converges fast; within 1e-13 of adaptive quad (checked by
    :func:`test_gauss_legendre_line_integral_matches_adaptive_quad`)."""
    th = 0.5 * (t1 - t0) * _GL_X + 0.5 * (t1 + t0)
    c = np.cos(th)
    e = np.exp(-k / np.maximum(c, 1e-300))  # 0 where c <= 0 (underflow, no warning)
    return 0.5 * (t1 - t0) * float(np.dot(_GL_W, c * c * (1.0 - 2.0 * e)))


def _line_lz(half, g2, k):
    """Integral over u of w r, s = base + g2 u, in theta (s = half sin(theta), which removes
    the square-root edges): (4/pi) half / |g2| int cos(theta)^2 (1 - 2 exp(-k/cos)) dtheta."""
    def along(base, u_lo, u_hi):
        ends = [math.asin(min(1.0, max(-1.0, (base + g2 * u) / half))) for u in (u_lo, u_hi)]
        return 4 / math.pi * half / abs(g2) * _lz_theta_integral(k, min(ends), max(ends))
    return along


def test_gauss_legendre_line_integral_matches_adaptive_quad():
    """The fixed rule of :func:`_line_lz` against scipy's adaptive quad on random intervals
    (many reaching an edge of the slice, theta = +-pi/2), for every k of the tests."""
    rng = np.random.default_rng(5)
    worst = 0.0
    for k in (0.3, 2.0, 20.0, 60.0):
        for _ in range(40):
            t0, t1 = np.sort(rng.uniform(-math.pi / 2, math.pi / 2, 2))
            t0 = -math.pi / 2 if rng.random() < 0.3 else t0
            t1 = math.pi / 2 if rng.random() < 0.3 else t1

            def f(th, k=k):
                c = math.cos(th)
                return c * c * (1 - 2 * (math.exp(-k / c) if c > 0 else 0.0))
            want = integrate.quad(f, t0, t1, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
            worst = max(worst, abs(_lz_theta_integral(k, t0, t1) - want))
    assert worst < 1e-12  # the box averages are asserted to 1e-7


CASES = [  # (s0, g, a): box edges a, offset gradient g, half-width 1
    (0.2, (0.3, -0.2, 0.9), (1.0, 1.0, 1.0)),  # inside, spread 1.4 of the width 2
    (0.9, (0.5, 0.4, -0.3), (1.0, 0.8, 1.2)),  # across the upper edge
    (-1.1, (0.05, 0.02, 0.6), (1.0, 1.0, 1.0)),  # mostly outside, one dominant edge
    (0.0, (1.5, 1.2, 2.0), (1.0, 1.0, 1.0)),  # wider than the slice
    (0.5, (1e-3, 2e-3, 0.01), (1.0, 1.0, 1.0)),  # much narrower than the slice
    (0.2, (0.5, 6.0, 0.4), (1.0, 1.0, 1.0)),  # thin slice: no break point of F inside it
    (5.0, (6.0, 4.0, 3.0), (1.0, 1.0, 1.0)),  # thin slice in F's cubic tail
]


@pytest.mark.parametrize("s0,g,a", CASES)
def test_box_average_of_the_weight_and_its_square_against_quadrature(s0, g, a):
    half = 1.0
    want = box_quad(s0, g, a, -half, half, _line_w(half, g[2]))
    got = FW.fundamental_fraction(s0, *g, *a, half, False, math.inf)
    assert got == pytest.approx(want, rel=1e-8, abs=1e-10)
    want2 = box_quad(s0, g, a, -half, half, _line_w2(half, g[2]))
    got2 = FW.fundamental_fraction(s0, *g, *a, half, True, math.inf)
    assert got2 == pytest.approx(want2, rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("k", [0.3, 2.0, 20.0, 60.0])
@pytest.mark.parametrize("s0,g,a", CASES[:3] + CASES[5:])
def test_box_average_with_landau_zener_against_quadrature(s0, g, a, k):
    want = box_quad(s0, g, a, -1.0, 1.0, _line_lz(1.0, g[2], k))
    got = FW.fundamental_fraction(s0, *g, *a, 1.0, False, k)
    assert got == pytest.approx(want, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("a_centre", [0.3, 1.3, 5.0])
def test_uniform_gradient_slice_with_known_adiabaticity(a_centre):
    """A box spanning the whole slice along a uniform gradient: the mean of w(s) r(A(s))
    over s, A(s) = A_c / sqrt(1 - s^2) (:func:`sd.adiabaticity_at`), r = 2 P_flip - 1."""
    span = 3.0  # the box spans s in [-1.5, 1.5]

    def g(s):
        a = sd.adiabaticity(1.0, 1.0, sd.sweep_rate(1.0, 1.0 / (2 * math.pi), s)) * a_centre
        return sd.cai_fundamental_weight(s) * sd.lock_retention(a)
    want = integrate.quad(g, -1, 1, epsabs=1e-13)[0] / span
    got = FW.fundamental_fraction(0.0, span, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, False,
                                  0.5 * math.pi * a_centre)
    assert got == pytest.approx(want, rel=1e-9)


def _offset_exp(s, depth=2e-3, polarization="curie", adiabatic="ideal", B1=5e-4,
                protocol="CAI", **kw):
    """A point spin with the RF set so that its offset is s fm_depth."""
    exp, rel = _point_exp(protocol, fm_depth=depth)
    b, g, _ = _derivs(exp, rel)
    f = abs(PROTON.gamma) * (b - s * depth) / (2 * math.pi)
    exp = make_exp(protocol=protocol, sample=exp.sample, heights=(30e-9,), species=PROTON,
                   rf_frequency=f, B1=B1, fm_depth=depth, polarization=polarization,
                   slice_profile="fundamental" if protocol == "CAI" else "hard",
                   adiabatic=adiabatic, **kw)
    return exp, rel, b, g


def _lz_retention(exp, rel, s, depth):
    field = dipole_field(exp.magnet, rel)
    field[2] += exp.B0
    b1e = sd.b1_effective(exp.rf.B1, field)
    a = sd.adiabaticity(PROTON.gamma, b1e, sd.sweep_rate(depth, exp.cantilever.f0, s))
    return sd.lock_retention(a), sd.flip_probability(a)


@pytest.mark.parametrize("s", [0.0, 0.6, -0.9])
def test_point_spin_fundamental_and_landau_zener(s):
    exp, rel, b, g = _offset_exp(s)
    w = sd.cai_fundamental_weight(s)
    curie = simulate(exp, method="direct").signal[0, 0, 0]
    assert curie == pytest.approx(w * curie_moment(PROTON, b, exp.cantilever.T) * g, rel=1e-6)
    stat_exp = _offset_exp(s, polarization="statistical")[0]
    var1 = (constants.hbar * PROTON.gamma / 2) ** 2
    stat = simulate(stat_exp, method="direct").signal[0, 0, 0]
    assert stat == pytest.approx(w * w * var1 * g * g, rel=1e-6)
    lz_exp = _offset_exp(s, adiabatic="landau-zener")[0]
    r, _ = _lz_retention(exp, rel, s, 2e-3)
    assert 0.3 < r < 0.999  # B1 = 0.5 mT: A ~ 1, a real effect
    lz = simulate(lz_exp, method="direct").signal[0, 0, 0]
    assert lz == pytest.approx(r * curie, rel=1e-9)
    # the statistical variance keeps its value (failed passages flip signs, see slice.py)
    lz_stat = simulate(_offset_exp(s, polarization="statistical", adiabatic="landau-zener")[0],
                       method="direct").signal[0, 0, 0]
    assert lz_stat == pytest.approx(stat, rel=1e-12)


def test_cermit_invert_point_spin_flip_probability():
    ideal_exp, rel, b, g = _offset_exp(0.4, protocol="CERMIT", cermit_mode="invert",
                                       amplitude=0.0)
    lz_exp = _offset_exp(0.4, protocol="CERMIT", cermit_mode="invert", amplitude=0.0,
                         adiabatic="landau-zener")[0]
    _, p = _lz_retention(ideal_exp, rel, 0.4, 2e-3)
    ideal = simulate(ideal_exp, method="direct").signal[0, 0, 0]
    assert simulate(lz_exp, method="direct").signal[0, 0, 0] == pytest.approx(p * ideal,
                                                                              rel=1e-9)


@pytest.mark.parametrize("polarization", ["curie", "statistical"])
def test_fundamental_direct_and_fft_agree(polarization):
    exp = make_exp(sample=slab_sample(), x=np.arange(-3, 4) * 5e-9 + 1.3e-9,
                   y=np.array([-10e-9, 0.0, 10e-9]), heights=(20e-9, 26e-9), fm_depth=3e-3,
                   B1=5e-4, polarization=polarization, slice_profile="fundamental",
                   adiabatic="landau-zener")
    d = simulate(exp, method="direct")
    f = simulate(exp, method="fft")
    peak = np.abs(d.signal).max()
    assert peak > 0
    np.testing.assert_allclose(f.signal, d.signal, rtol=0, atol=1e-6 * peak)
    hard = simulate(exp, method="direct", settings=SolverSettings(slice_profile="hard",
                                                                  adiabatic="ideal"))
    assert not np.allclose(hard.signal, d.signal, rtol=1e-3, atol=0.0)


def test_fundamental_converges_under_voxel_halving():
    """The analytic slice average: halving the voxels (8x the voxels, same volume) changes
    the signal by < 0.5 % (the midpoint |B| gradient's error only)."""
    kw = dict(x=(2e-9,), heights=(20e-9,), fm_depth=3e-3, slice_profile="fundamental")
    coarse = simulate(make_exp(sample=slab_sample(nx=8, ny=8, nz=4, voxel=5e-9), **kw))
    fine = simulate(make_exp(sample=slab_sample(nx=16, ny=16, nz=8, voxel=2.5e-9), **kw))
    assert fine.signal[0, 0, 0] == pytest.approx(coarse.signal[0, 0, 0], rel=5e-3)


def test_fundamental_only_for_cai():
    from mrfm.errors import UserError
    exp = make_exp(protocol="CERMIT", slice_profile="fundamental")
    with pytest.raises(UserError, match="slice_profile"):
        simulate(exp)
