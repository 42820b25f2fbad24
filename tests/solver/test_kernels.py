"""Numba building blocks against independent truth.

- slab_fraction: the volume fraction of a box between two parallel planes, against
  adaptive 2-D quadrature (scipy.integrate.dblquad) of the exact 1-D chord length.
- brillouin: tanh for I = 1/2 and the Curie law (I+1)/(3I) x at small x.
- field_magnitude: d|B|/dx and d2|B|/dx2 against central finite differences of |B|.
- trajectory_curvature: tends to d2|B|/dx2 as the amplitude -> 0 (Lee, Moore & Marohn,
  PRB 85, 165447 (2012), Eq. 20 expanded to first order in x_pk).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrfm.solver import box_fraction as BF
from mrfm.solver import curvature as CV
from mrfm.solver import kernels as K

from . import sphere_kernels as SK
from .helpers import box_quad


def _fraction_quad(s0, g, a, lo, hi):
    """Fraction of the box where lo <= s0 + g.u <= hi by quadrature over (u0, u1)."""
    return box_quad(s0, g, a, lo, hi, lambda base, u_lo, u_hi: u_hi - u_lo)  # chord length


@pytest.mark.parametrize("seed", range(6))
def test_slab_fraction_matches_quadrature(seed):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=3) * np.array([1.0, 0.3, 2.0])
    a = rng.uniform(0.5, 2.0, size=3)
    span = np.sum(np.abs(g) * a)
    s0 = rng.uniform(-0.5, 0.5) * span
    lo, hi = sorted(rng.uniform(-0.6, 0.6, size=2) * span)
    got = BF.slab_fraction(s0, g[0], g[1], g[2], a[0], a[1], a[2], lo, hi)
    assert got == pytest.approx(_fraction_quad(s0, g, a, lo, hi), abs=1e-7)


def test_slab_fraction_degenerate_gradients():
    # gradient along x only: fraction is the overlap length / a
    assert BF.slab_fraction(0.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, -0.5, 0.25) == pytest.approx(0.375)
    # nearly degenerate third width: continuous with the 2-D formula
    f2 = BF.slab_fraction(0.1, 1.0, 0.7, 0.0, 1.0, 1.0, 1.0, -0.2, 0.3)
    f3 = BF.slab_fraction(0.1, 1.0, 0.7, 1e-7, 1.0, 1.0, 1.0, -0.2, 0.3)
    assert f3 == pytest.approx(f2, abs=1e-9)
    # whole box inside / outside
    assert BF.slab_fraction(0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -5.0, 5.0) == pytest.approx(1.0)
    assert BF.slab_fraction(10.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -5.0, 5.0) == 0.0


def test_brillouin_limits():
    for x in (1e-7, 1e-3, 0.3, 2.0, 40.0):
        assert K.brillouin(0.5, x) == pytest.approx(math.tanh(x), rel=1e-12)
        assert K.brillouin(0.5, -x) == pytest.approx(-math.tanh(x), rel=1e-12)
    # Curie law for I = 1 at small x; saturation at large x
    assert K.brillouin(1.0, 1e-6) == pytest.approx(2.0 / 3.0 * 1e-6, rel=1e-9)
    assert K.brillouin(1.5, 200.0) == pytest.approx(1.0, abs=1e-3)
    # the compiled function is mrfm.physics.spins.brillouin_scalar
    from mrfm.physics.spins import brillouin_scalar

    for spin, x in ((0.5, 0.3), (1.0, 5e-3), (2.5, 7.0), (1.5, -0.02)):
        assert K.brillouin(spin, x) == pytest.approx(brillouin_scalar(spin, x), rel=1e-15)
    # continuity across the series/closed-form switch
    for spin in (1.0, 2.5):
        lo = K.brillouin(spin, 0.999999e-2)
        hi = K.brillouin(spin, 1.000001e-2)
        assert hi - lo == pytest.approx(2e-8 * K.brillouin(spin, 1e-2) / 1e-2, rel=1e-4)


def _pp(b0=0.3, high=False, amplitude=0.0, n_theta=64):
    pp = np.zeros(K.PP_LEN)
    pp[K.P_B0] = b0
    pp[K.P_HIGH] = 1.0 if high else 0.0
    pp[K.P_XPK] = amplitude
    pp[K.P_NTHETA] = n_theta
    return pp


MAG = (0, np.array([50e-9, 0.0, 0.0]), SK.frozen([0.2, 0.1, 1.8]))


def _bmag(r, pp):
    out = K.scratch()
    return SK.field_magnitude(*MAG[1:], r[0], r[1], r[2], 0, pp, out)[0]


@pytest.mark.parametrize("high", [False, True])
def test_field_magnitude_derivatives_match_finite_differences(high):
    pp = _pp(high=high)
    r = np.array([17e-9, -9e-9, -85e-9])
    out = K.scratch()
    b, gx, gy, gz, d2 = SK.field_magnitude(*MAG[1:], *r, 2, pp, out)
    h = 1e-11
    grad_fd = [(_bmag(r + h * e, pp) - _bmag(r - h * e, pp)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose([gx, gy, gz], grad_fd, rtol=1e-6)
    h2 = 2e-10
    ex = np.array([h2, 0, 0])
    d2_fd = (_bmag(r + ex, pp) - 2 * _bmag(r, pp) + _bmag(r - ex, pp)) / h2**2
    assert d2 == pytest.approx(d2_fd, rel=1e-4)


def test_trajectory_curvature_small_amplitude_limit():
    r = np.array([12e-9, 4e-9, -80e-9])
    out = K.scratch()
    d2 = SK.field_magnitude(*MAG[1:], *r, 2, _pp(), out)[4]
    k2 = SK.trajectory_curvature(*MAG[1:], *r, _pp(amplitude=0.05e-9, n_theta=32), out)
    assert k2 == pytest.approx(d2, rel=1e-5)
    # spectral accuracy of the trapezoid rule at a large amplitude
    k64 = SK.trajectory_curvature(*MAG[1:], *r, _pp(amplitude=20e-9, n_theta=64), out)
    k256 = SK.trajectory_curvature(*MAG[1:], *r, _pp(amplitude=20e-9, n_theta=256), out)
    assert k64 == pytest.approx(k256, rel=1e-9)


def _swing_points(seed, n):
    """Random points 60-300 nm from MAG's 50 nm sphere and amplitudes 1e-6 to 0.3 of that."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        d = rng.uniform(60e-9, 300e-9)
        v = rng.normal(size=3)
        yield v / np.linalg.norm(v) * d, d * 10 ** rng.uniform(-6.0, -0.5)


@pytest.mark.parametrize("high", [False, True])
def test_small_amplitude_curvature_against_the_full_trajectory_average(high):
    # the fast path (three evaluations of d2|B|/dx2) against the slow exact path (the
    # trapezoid average of Eq. 20 on 256 intervals) wherever it accepts itself: the stated
    # bound is 2 TOL |g2| (K2 is a sin^2-weighted mean of g2 over the swing); in practice
    # the error is O(TOL^2)
    out = K.scratch()
    accepted = rejected_large = 0
    tiny = []
    for r, a in _swing_points(3, 400):
        pp = _pp(high=high, amplitude=a, n_theta=256)
        g2 = SK.field_magnitude(*MAG[1:], *r, 2, pp, out)[4]
        fast, ok = SK.small_amplitude_curvature(*MAG[1:], *r, g2, pp, out)
        full = SK.trajectory_average(*MAG[1:], *r, pp, out)
        if ok:
            accepted += 1
            assert abs(fast - full) <= 2 * CV.SMALL_AMPLITUDE_TOL * abs(g2)
            assert abs(fast - full) <= 1e-7 * abs(g2)
            assert SK.trajectory_curvature(*MAG[1:], *r, pp, out) == fast
        else:
            assert SK.trajectory_curvature(*MAG[1:], *r, pp, out) == full
            rejected_large += a > 0.05 * np.linalg.norm(r)
        if a < 1e-5 * np.linalg.norm(r):
            tiny.append(ok)
    assert accepted > 50 and rejected_large > 50
    # a tiny swing is accepted except near the zeros of g2 (where |g2| < its swing / TOL)
    assert len(tiny) > 30 and np.mean(tiny) > 0.8


def test_trajectory_curvature_is_a_weighted_mean_of_the_curvature_over_the_swing():
    # integration by parts of Eq. 20: K2 = (1/pi) int g2(x - a cos th) sin^2 th dth, so K2
    # lies between the extremes of g2 over [x - a, x + a] (the basis of the fast path's bound)
    out = K.scratch()
    for r, a in _swing_points(4, 40):
        pp = _pp(amplitude=a, n_theta=256)
        full = SK.trajectory_average(*MAG[1:], *r, pp, out)
        g2 = [SK.field_magnitude(*MAG[1:], r[0] + u, r[1], r[2], 2, pp, out)[4]
              for u in np.linspace(-a, a, 401)]
        span = max(g2) - min(g2)
        assert min(g2) - 1e-9 * span <= full <= max(g2) + 1e-9 * span


@pytest.mark.parametrize("high", [False, True])
def test_sphere_magnitude_second_derivative_is_the_general_formula(high):
    # the sphere's register-only d2|B|/dx2 (kernels.field_magnitude, shape 0) against the
    # formula of the module docstring applied to the general magnet kernel's output
    from mrfm.physics.magnet_kernels import magnet_points

    rng = np.random.default_rng(5)
    pts = rng.uniform(-1.5, 1.5, size=(300, 3)) * 80e-9  # inside and outside the sphere
    pp = _pp(high=high)
    q = magnet_points(MAG[0], MAG[1], MAG[2], pts, 2)
    out = K.scratch()
    got = np.array([SK.field_magnitude(*MAG[1:], *p, 2, pp, out) for p in pts])
    bt = q[:, :3] + np.array([0.0, 0.0, pp[K.P_B0]])
    if high:
        want_b, want_g, want_d2 = bt[:, 2], q[:, [9, 10, 11]], q[:, 23]
    else:
        want_b = np.linalg.norm(bt, axis=1)
        grad = q[:, 3:12].reshape(-1, 3, 3)
        want_g = np.einsum("ni,nij->nj", bt, grad) / want_b[:, None]
        dbdx = grad[:, :, 0]
        want_d2 = ((np.sum(dbdx**2, axis=1) + np.sum(bt * q[:, 21:24], axis=1)) / want_b
                   - want_g[:, 0] ** 2 / want_b)
    np.testing.assert_allclose(got[:, 0], want_b, rtol=1e-14)
    np.testing.assert_allclose(got[:, 1:4], want_g, rtol=1e-12, atol=1e-13 * np.abs(want_g).max())
    np.testing.assert_allclose(got[:, 4], want_d2, rtol=1e-10, atol=1e-12 * np.abs(want_d2).max())
    assert np.any(np.linalg.norm(pts, axis=1) < MAG[1][0])
