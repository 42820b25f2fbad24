"""The fast paths of the force-gradient / CERMIT maps against their slow exact forms.

- sphere_bz_xxxx (d4B_z/dx4 of the dipole, closed form) against a five-point difference of
  the tested d2B_z/dx2, and the derivative bound |d^n B_z/dx^n| <= (n+2)! k|J| / r^(n+3)
  that the analytic small-amplitude curvature's error bound rests on, by random search.
- sphere_small_amplitude (one field evaluation) against the full trajectory average of
  Lee, Moore & Marohn, PRB 85, 165447 (2012), Eq. 20 (the slow exact path) wherever it
  accepts itself: error <= ANALYTIC_TOL |g2| plus the reference's own rounding.
- FFT path: the mirrored half-plane evaluation and the shared transform of equal layers
  against the plain evaluation of every offset and a transform per layer (same kernel, so
  agreement to rounding), and against the direct path.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrfm.physics import Sample, SphereMagnet
from mrfm.physics._sphere import sphere_bz_xxxx, sphere_magnitude
from mrfm.solver import curvature as CV
from mrfm.solver import fft as F
from mrfm.solver import kernels as K
from mrfm.solver import simulate

from . import sphere_kernels as SK
from .helpers import ELECTRON, dipole_field, make_exp, slab_sample

RADIUS = 50e-9


def _points(seed, n, lo=55e-9, hi=400e-9):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        v = rng.normal(size=3)
        yield v / np.linalg.norm(v) * rng.uniform(lo, hi), SK.frozen(rng.normal(size=3))


def test_sphere_bz_xxxx_is_the_fourth_derivative():
    params = np.array([RADIUS, 0.0, 0.0])
    for r, pol in _points(1, 40):
        def g2(u, r=r, pol=pol):
            return sphere_magnitude(params, pol, r[0] + u, r[1], r[2], 2, 0.0, True)[4]

        h = 1e-3 * np.linalg.norm(r)
        fd = (-g2(2 * h) + 16 * g2(h) - 30 * g2(0.0) + 16 * g2(-h) - g2(-2 * h)) / (12 * h * h)
        scale = 720 * RADIUS**3 / 3 * np.linalg.norm(pol) / np.linalg.norm(r) ** 7
        assert sphere_bz_xxxx(params, pol, *r) == pytest.approx(fd, rel=1e-7, abs=1e-8 * scale)
    # against the numpy dipole oracle directly: fourth differences of B_z at h and h/2,
    # Richardson-extrapolated (truncation O(h^4))
    magnet = SphereMagnet(radius=RADIUS, polarization=np.array([0.3, -0.2, 1.7]))
    r = np.array([40e-9, -25e-9, -110e-9])

    def fd4(h):
        bz = [dipole_field(magnet, magnet.center + r + np.array([u * h, 0.0, 0.0]))[2]
              for u in (-2, -1, 0, 1, 2)]
        return (bz[0] - 4 * bz[1] + 6 * bz[2] - 4 * bz[3] + bz[4]) / h**4

    got = sphere_bz_xxxx(params, magnet.polarization, *r)
    assert got == pytest.approx((4 * fd4(1e-9) - fd4(2e-9)) / 3, rel=1e-4)
    # inside the sphere the field is uniform
    assert sphere_bz_xxxx(params, magnet.polarization, 1e-9, 2e-9, -3e-9) == 0.0


def test_dipole_derivative_bound_holds_and_is_tight():
    # |d^n B_z/dx^n| <= (n+2)! k |J| / r^(n+3) for n = 2 and 4 (the bound of
    # sphere_small_amplitude's error uses n = 6 of the same family), and not loose
    params = np.array([RADIUS, 0.0, 0.0])
    worst = {2: 0.0, 4: 0.0}
    for r, pol in _points(2, 3000):
        kj = RADIUS**3 / 3 * np.linalg.norm(pol)
        rn = np.linalg.norm(r)
        g2 = sphere_magnitude(params, pol, *r, 2, 0.0, True)[4]
        g4 = sphere_bz_xxxx(params, pol, *r)
        worst[2] = max(worst[2], abs(g2) / (24 * kj / rn**5))
        worst[4] = max(worst[4], abs(g4) / (720 * kj / rn**7))
    assert worst[2] <= 1.0 and worst[4] <= 1.0
    assert worst[2] > 0.5 and worst[4] > 0.5  # within a factor 2 of the largest found


def _pp(amplitude, n_theta=256):
    pp = np.zeros(K.PP_LEN)
    pp[K.P_B0] = 0.5
    pp[K.P_HIGH] = 1.0
    pp[K.P_XPK] = amplitude
    pp[K.P_NTHETA] = n_theta
    return pp


def test_analytic_small_amplitude_curvature_against_the_full_trajectory_average():
    params = np.array([RADIUS, 0.0, 0.0])
    out = K.scratch()
    rng = np.random.default_rng(7)
    accepted = 0
    checked_large = 0
    for r, pol in _points(3, 600, lo=60e-9, hi=300e-9):
        rn = np.linalg.norm(r)
        a = rn * 10 ** rng.uniform(-6.0, -1.0)
        pp = _pp(a)
        b, gx, gy, gz, g2 = SK.field_magnitude(params, pol, *r, 2, pp, out)
        fast, ok = CV.sphere_small_amplitude(params, pol, *r, g2, a)
        if not ok:
            continue
        accepted += 1
        full = SK.trajectory_average(params, pol, *r, pp, out)
        # the trapezoid sum of the reference cancels d|B|/dx's mean: its rounding is
        # ~1e-14 |d|B|/dx| / a (it dominates at the smallest amplitudes)
        floor = 1e-14 * math.hypot(gx, g2 * a) / a
        assert abs(fast - full) <= CV.ANALYTIC_TOL * abs(g2) + floor
        if a > 1e-4 * rn:
            checked_large += 1
            assert abs(fast - full) <= 1e-9 * abs(g2) + 1e-15 * abs(gx) / a
        # small_amplitude_curvature tries the analytic form first for a sphere, high field
        assert SK.small_amplitude_curvature(params, pol, *r, g2, pp, out) == (fast, True)
    assert accepted > 300 and checked_large > 50


def test_analytic_small_amplitude_rejects_large_swings_and_the_sphere():
    params = np.array([RADIUS, 0.0, 0.0])
    pol = SK.frozen([0.0, 0.0, 1.8])
    r = np.array([10e-9, 5e-9, -90e-9])
    g2 = sphere_magnitude(params, pol, *r, 2, 0.0, True)[4]
    assert CV.sphere_small_amplitude(params, pol, *r, g2, 1e-12)[1]
    assert not CV.sphere_small_amplitude(params, pol, *r, g2, 5e-9)[1]
    assert not CV.sphere_small_amplitude(params, pol, *r, g2, 45e-9)[1]  # swing reaches it


@pytest.mark.parametrize("d0,step,n,mirrored", [
    (-10.0, 1.0, 21, True), (-10.0, 1.0, 31, True), (-20.0, 1.0, 31, True),
    (-3.5, 0.5, 12, True), (-3.3, 1.0, 9, False), (2.0, 1.0, 5, False),
    (-7.0, 2.0, 3, False),
])
def test_mirror_map(d0, step, n, mirrored):
    d = d0 + np.arange(n) * step
    block, index = F.mirror_map(d)
    if not mirrored:
        assert index is None and block == slice(None)
        return
    part = d[block]
    assert part.size < n
    np.testing.assert_allclose(np.abs(part[index]), np.abs(d), rtol=0, atol=1e-12)


def _layered_sample(nx=9, ny=8, nz=6, voxel=5e-9):
    """Layers 0-2 equal, layer 3 empty, layer 4 different, layer 5 equal to layer 0."""
    rng = np.random.default_rng(11)
    base = rng.uniform(0.5, 1.5, size=(nx, ny)) * 5e28
    rho = np.repeat(base[:, :, None], nz, axis=2)
    rho[:, :, 3] = 0.0
    rho[:, :, 4] = rng.uniform(0.5, 1.5, size=(nx, ny)) * 5e28
    origin = np.array([-(nx - 1) / 2 * voxel, -(ny - 1) / 2 * voxel,
                       -voxel / 2 - (nz - 1) * voxel])
    return Sample(origin=origin, voxel=np.full(3, voxel), densities={ELECTRON.name: rho})


def _plain_fft(exp, monkeypatch):
    """The FFT path with every offset evaluated and one transform per layer."""
    with monkeypatch.context() as m:
        m.setattr(F, "mirror_symmetric", lambda *a: False)
        m.setattr(F, "layer_runs", lambda rho: (np.any(rho != 0.0, axis=(0, 1)),
                                                np.arange(rho.shape[2])))
        return simulate(exp, method="fft").signal


@pytest.mark.parametrize("protocol,high,x", [
    ("force-gradient", True, np.arange(-2, 3) * 10e-9),
    ("force-gradient", False, np.arange(-1, 4) * 5e-9),
    ("CERMIT", True, np.arange(-2, 3) * 5e-9),
    ("CERMIT", False, np.arange(-3, 2) * 10e-9),
    ("CAI-statistical", False, np.arange(-2, 3) * 5e-9),
])
def test_mirrored_and_grouped_fft_equals_plain(protocol, high, x, monkeypatch):
    sample = _layered_sample()
    extra = {}
    if protocol == "CAI-statistical":
        protocol, extra = "CAI", dict(polarization="statistical")
    exp = make_exp(protocol=protocol, sample=sample, species=ELECTRON, x=x,
                   y=np.array([-5e-9, 0.0, 5e-9, 10e-9]), heights=(20e-9, 24e-9),
                   amplitude=0.2e-9, high_field=high, fm_depth=3e-3, B0=0.2, **extra)
    fast = simulate(exp, method="fft").signal
    plain = _plain_fft(exp, monkeypatch)
    peak = np.abs(plain).max()
    assert peak > 0
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-12 * peak)
    direct = simulate(exp, method="direct").signal
    np.testing.assert_allclose(fast, direct, rtol=0, atol=1e-6 * peak)  # as test_paths


def test_mirror_only_for_even_kernels():
    z = np.array([0.0, 0.0, 1.8])
    assert F.mirror_symmetric(K.FORCE_GRADIENT, 0, z) and F.mirror_symmetric(K.CERMIT, 0, z)
    assert not F.mirror_symmetric(K.CAI, 0, z)
    assert F.mirror_symmetric(K.CAI, 0, z, True)  # CAI's statistical variance is even
    assert not F.mirror_symmetric(K.OSCAR, 0, z)
    assert not F.mirror_symmetric(K.CERMIT, 0, np.array([0.1, 0.0, 1.8]))
    assert not F.mirror_symmetric(K.FORCE_GRADIENT, 1, z)
    # a tilted tip: the FFT path (no mirror) still agrees with the direct path
    magnet = SphereMagnet(radius=50e-9, polarization=np.array([0.4, 0.0, 1.7]))
    exp = make_exp(protocol="force-gradient", sample=slab_sample(nx=6, ny=6, nz=3),
                   magnet=magnet, x=np.arange(-1, 2) * 5e-9, amplitude=0.1e-9, high_field=True)
    f = simulate(exp, method="fft").signal
    d = simulate(exp, method="direct").signal
    np.testing.assert_allclose(f, d, rtol=1e-6)
