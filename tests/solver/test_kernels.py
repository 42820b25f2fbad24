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
from mrfm.solver import kernels as K

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


MAG = (0, np.array([50e-9, 0.0, 0.0]), np.array([0.2, 0.1, 1.8]))


def _bmag(r, pp):
    out = K.scratch()
    return K.field_magnitude(*MAG, r[0], r[1], r[2], 0, pp, out)[0]


@pytest.mark.parametrize("high", [False, True])
def test_field_magnitude_derivatives_match_finite_differences(high):
    pp = _pp(high=high)
    r = np.array([17e-9, -9e-9, -85e-9])
    out = K.scratch()
    b, gx, gy, gz, d2 = K.field_magnitude(*MAG, *r, 2, pp, out)
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
    d2 = K.field_magnitude(*MAG, *r, 2, _pp(), out)[4]
    k2 = K.trajectory_curvature(*MAG, *r, _pp(amplitude=0.05e-9, n_theta=32), out)
    assert k2 == pytest.approx(d2, rel=1e-5)
    # spectral accuracy of the trapezoid rule at a large amplitude
    k64 = K.trajectory_curvature(*MAG, *r, _pp(amplitude=20e-9, n_theta=64), out)
    k256 = K.trajectory_curvature(*MAG, *r, _pp(amplitude=20e-9, n_theta=256), out)
    assert k64 == pytest.approx(k256, rel=1e-9)
