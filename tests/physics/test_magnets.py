"""Tests of the analytic tip magnets (mrfm.physics.magnets, mrfm.physics.magnet_kernels).

Independent truths used here:

* B against magpylib (>= 5, SI) at >= 1000 random points per shape inside and outside the body,
  relative error <= 1e-9 away (> 1e-6 of the size) from the surfaces. magpylib implements the
  same literature formulas in vectorized numpy; the agreement checks our derivation and code.
* Gradient, Hessian of B_z and d2B/dx^2 against central finite differences of our own field
  (step h = 1e-6 of the magnet size; truncation ~ (h/d)^2 and round-off ~ eps size/h keep the
  error below the tolerance 1e-6 of the largest component at distances d > 2 % of the size
  from the surface).
* Far field: every shape tends to the point dipole m = J V / mu0; the relative error scales as
  (size/r)^2 (the octupole term) for the cuboid and cylinder and vanishes for the sphere.
* Maxwell: div B = trace G = 0 and curl B = 0 (G symmetric) outside and inside the body
  (uniform J), and the Hessian of B_z is symmetric and traceless (B_z is harmonic).
* The cylinder's near-axis series and its closed forms are two algorithms for the same
  functions; they agree where both converge.
"""

from __future__ import annotations

import math

import magpylib as magpy
import numpy as np
import pytest
from numba import njit
from scipy.constants import mu_0

from mrfm.physics import _cylinder as cylinder_kernel
from mrfm.physics._sphere import sphere_magnitude
from mrfm.physics.magnet_kernels import OUT_LEN, magnet_point, magnet_points
from mrfm.physics.magnets import CuboidMagnet, CylinderMagnet, SphereMagnet

SIZE = 100e-9
J_TILT = np.array([0.3, -0.4, 1.1])


def _sphere():
    return SphereMagnet(radius=0.5 * SIZE, polarization=J_TILT, center=(1e-8, -2e-8, 3e-8))


def _cuboid():
    return CuboidMagnet(dimension=(0.7 * SIZE, 1.0 * SIZE, 1.4 * SIZE), polarization=J_TILT,
                        center=(1e-8, -2e-8, 3e-8))


def _cuboid_z():
    return CuboidMagnet(dimension=(0.7 * SIZE, 1.0 * SIZE, 1.4 * SIZE), polarization=1.2)


def _cylinder():
    return CylinderMagnet(diameter=0.8 * SIZE, height=1.3 * SIZE, polarization=1.2,
                          center=(1e-8, -2e-8, 3e-8))


MAGNETS = {"sphere": _sphere, "cuboid": _cuboid, "cuboid_z": _cuboid_z, "cylinder": _cylinder}
# further aspect ratios: a long needle (its near-axis series also covers rho > radius), a flat
# disk, and a cube magnetized along a body diagonal
SHAPES = {
    **MAGNETS,
    "cylinder_long": lambda: CylinderMagnet(diameter=0.3 * SIZE, height=2.0 * SIZE,
                                            polarization=-0.9),
    "cylinder_flat": lambda: CylinderMagnet(diameter=2.0 * SIZE, height=0.2 * SIZE,
                                            polarization=1.0, center=(0.0, 0.0, -1e-8)),
    "cube_diagonal": lambda: CuboidMagnet(dimension=(SIZE, SIZE, SIZE),
                                          polarization=(1.0, 1.0, 1.0)),
}


def _magpylib_source(m):
    pos = tuple(m.center)
    if isinstance(m, SphereMagnet):
        return magpy.magnet.Sphere(diameter=2 * m.radius, polarization=tuple(m.polarization),
                                   position=pos)
    if isinstance(m, CuboidMagnet):
        return magpy.magnet.Cuboid(dimension=tuple(m.dimension),
                                   polarization=tuple(m.polarization), position=pos)
    return magpy.magnet.Cylinder(dimension=(m.diameter, m.height),
                                 polarization=tuple(m.polarization), position=pos)


def _surface_distance(m, pts):
    """Unsigned distance (m) from each point to the magnet's surface."""
    r = pts - m.center
    if isinstance(m, SphereMagnet):
        return np.abs(np.linalg.norm(r, axis=-1) - m.radius)
    if isinstance(m, CuboidMagnet):
        d = np.abs(r) - 0.5 * m.dimension
        outside = np.linalg.norm(np.maximum(d, 0.0), axis=-1)
        inside = -np.max(d, axis=-1)
        return np.where(np.all(d < 0, axis=-1), inside, outside)
    rho = np.hypot(r[:, 0], r[:, 1])
    dr = rho - 0.5 * m.diameter
    dz = np.abs(r[:, 2]) - 0.5 * m.height
    inside = (dr < 0) & (dz < 0)
    return np.where(inside, np.minimum(-dr, -dz),
                    np.hypot(np.maximum(dr, 0.0), np.maximum(dz, 0.0)))


def _random_points(m, n, seed, span=1.6):
    rng = np.random.default_rng(seed)
    pts = m.center + rng.uniform(-span * SIZE, span * SIZE, size=(n, 3))
    pts[n // 2:] = m.center + rng.uniform(-0.6 * SIZE, 0.6 * SIZE, size=(n - n // 2, 3))
    if isinstance(m, CylinderMagnet):  # include the near-axis (series) region
        pts[: n // 5, :2] = m.center[:2] + rng.normal(scale=0.05 * SIZE, size=(n // 5, 2))
    return pts


@pytest.mark.parametrize("name", list(SHAPES))
def test_field_matches_magpylib(name):
    m = SHAPES[name]()
    pts = _random_points(m, 3000, seed=1)
    pts = pts[_surface_distance(m, pts) > 1e-6 * SIZE]
    r = pts - m.center
    b = m.field(pts)
    ref = _magpylib_source(m).getB(pts)
    rel = np.linalg.norm(b - ref, axis=-1) / np.linalg.norm(ref, axis=-1)
    assert len(pts) >= 1000
    assert np.max(rel) <= 1e-9
    # the one-pass form gives the same B (checked above against magpylib) and G
    b1, g1 = m.field_and_gradient(pts)
    np.testing.assert_array_equal(b1, b)
    np.testing.assert_array_equal(g1, m.gradient(pts))
    # both inside and outside were sampled
    if isinstance(m, SphereMagnet):
        inside = np.linalg.norm(r, axis=-1) < m.radius
    elif isinstance(m, CuboidMagnet):
        inside = np.all(np.abs(r) < 0.5 * m.dimension, axis=-1)
    else:
        inside = (np.hypot(r[:, 0], r[:, 1]) < 0.5 * m.diameter) & (
            np.abs(r[:, 2]) < 0.5 * m.height)
    assert 50 <= np.sum(inside) <= len(pts) - 500


def _fd_derivatives(m, pts, h):
    """Central differences: G from B, Hessian of B_z from G_z., d2B/dx2 from G[:, :, 0]."""
    g_fd = np.empty(pts.shape + (3,))
    h_fd = np.empty(pts.shape + (3,))
    d_fd = None
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        gp = m.gradient(pts + e)
        gm = m.gradient(pts - e)
        g_fd[:, :, j] = (m.field(pts + e) - m.field(pts - e)) / (2 * h)
        h_fd[:, :, j] = (gp[:, 2, :] - gm[:, 2, :]) / (2 * h)
        if j == 0:
            d_fd = (gp[:, :, 0] - gm[:, :, 0]) / (2 * h)
    return g_fd, h_fd, d_fd


@pytest.mark.parametrize("name", list(SHAPES))
def test_derivatives_match_finite_differences(name):
    m = SHAPES[name]()
    pts = _random_points(m, 600, seed=2)
    pts = pts[_surface_distance(m, pts) > 0.02 * SIZE]
    h = 1e-6 * SIZE
    g = m.gradient(pts)
    hz = m.bz_hessian(pts)
    d2 = m.d2b_dx2(pts)
    g_fd, h_fd, d_fd = _fd_derivatives(m, pts, h)
    g_scale = np.max(np.abs(g), axis=(1, 2))[:, None, None]
    h_scale = np.max(np.abs(hz), axis=(1, 2))[:, None, None]
    if isinstance(m, SphereMagnet):  # zero inside: compare absolutely there
        g_scale = np.maximum(g_scale, 1.0)
        h_scale = np.maximum(h_scale, 1.0)
    assert np.max(np.abs(g - g_fd) / g_scale) < 1e-6
    assert np.max(np.abs(hz - h_fd) / h_scale) < 1e-6
    d_scale = np.maximum(np.max(np.abs(d2), axis=1), 1e-3 * h_scale[:, 0, 0])[:, None]
    assert np.max(np.abs(d2 - d_fd) / d_scale) < 1e-6
    # consistency inside the kernel output: d2Bz/dx2 is the Hessian's xx entry
    np.testing.assert_array_equal(d2[:, 2], hz[:, 0, 0])


@pytest.mark.parametrize("name", list(MAGNETS))
def test_divergence_and_curl_vanish(name):
    m = MAGNETS[name]()
    pts = _random_points(m, 2000, seed=3, span=3.0)
    pts = pts[_surface_distance(m, pts) > 1e-6 * SIZE]
    g = m.gradient(pts)
    scale = np.max(np.abs(g), axis=(1, 2))
    scale = np.where(scale > 0, scale, 1.0)
    trace = np.abs(np.trace(g, axis1=1, axis2=2)) / scale
    asym = np.max(np.abs(g - np.swapaxes(g, 1, 2)), axis=(1, 2)) / scale
    assert np.max(trace) < 1e-12
    assert np.max(asym) < 1e-12
    hz = m.bz_hessian(pts)
    hscale = np.max(np.abs(hz), axis=(1, 2))
    hscale = np.where(hscale > 0, hscale, 1.0)
    assert np.max(np.abs(np.trace(hz, axis1=1, axis2=2)) / hscale) < 1e-11
    assert np.max(np.abs(hz - np.swapaxes(hz, 1, 2)), axis=(1, 2)).max() <= 1e-11 * hscale.max()


def _dipole(moment, r):
    rn = np.linalg.norm(r, axis=-1, keepdims=True)
    mr = np.sum(moment * r, axis=-1, keepdims=True)
    return mu_0 / (4 * math.pi) * (3 * mr * r / rn**5 - moment / rn**3)


@pytest.mark.parametrize("name", list(MAGNETS))
def test_far_field_is_the_dipole(name):
    m = MAGNETS[name]()
    rng = np.random.default_rng(4)
    dirs = rng.normal(size=(50, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    errors = []
    for dist in (5.0, 10.0, 20.0, 40.0):
        r = dist * SIZE * dirs
        b = m.field(m.center + r)
        ref = _dipole(m.moment, r)
        errors.append(np.max(np.linalg.norm(b - ref, axis=1) / np.linalg.norm(ref, axis=1)))
    errors = np.array(errors)
    if isinstance(m, SphereMagnet):
        assert np.all(errors < 1e-12)  # exactly a dipole outside
    else:
        # octupole correction ~ (size/r)^2: each doubling of r divides the error by ~4
        ratios = errors[:-1] / errors[1:]
        assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios
        assert errors[0] < 0.2


def test_sphere_inside_is_two_thirds_j():
    m = _sphere()
    pts = m.center + np.array([[0.0, 0.0, 0.0], [0.2, -0.1, 0.3]]) * SIZE
    np.testing.assert_allclose(m.field(pts), np.tile(2 / 3 * m.polarization, (2, 1)), rtol=1e-15)
    np.testing.assert_array_equal(m.gradient(pts), 0.0)
    np.testing.assert_array_equal(m.bz_hessian(pts), 0.0)


def test_cylinder_axis_closed_form():
    """On the axis B_z = J/2 [(z+b)/sqrt((z+b)^2+a^2) - (z-b)/sqrt((z-b)^2+a^2)]."""
    m = CylinderMagnet(diameter=0.8 * SIZE, height=1.3 * SIZE, polarization=1.2)
    a, b = 0.4 * SIZE, 0.65 * SIZE
    z = np.linspace(-3, 3, 61) * SIZE
    pts = np.stack([np.zeros_like(z), np.zeros_like(z), z], axis=1)
    expect = 0.6 * ((z + b) / np.hypot(z + b, a) - (z - b) / np.hypot(z - b, a))
    bz = m.field(pts)
    np.testing.assert_allclose(bz[:, 2], expect, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(bz[:, :2], 0.0)
    # dBz/dz = J a^2 / 2 [((z+b)^2+a^2)^-3/2 - ((z-b)^2+a^2)^-3/2]
    dz = 0.6 * a**2 * (np.hypot(z + b, a) ** -3 - np.hypot(z - b, a) ** -3)
    np.testing.assert_allclose(m.gradient(pts)[:, 2, 2], dz, rtol=1e-12,
                               atol=1e-12 * np.max(np.abs(dz)))


@pytest.mark.parametrize("ratio", [0.12, 0.19, 0.25])
@pytest.mark.parametrize("zeta_over_a", [0.05, 0.7, 3.0, 12.0, -2.0])
def test_cylinder_series_agrees_with_closed_form(ratio, zeta_over_a):
    a = 1.0
    zeta = zeta_over_a * a
    rho = ratio * math.hypot(a, zeta)
    sgn = 1.0 if zeta > 0 else -1.0
    s = np.array(cylinder_kernel._disk_series(a, rho, zeta, 2, sgn))
    c = np.array(cylinder_kernel._disk_closed(a, rho, zeta, 2, sgn))
    scale = np.abs(c) + 1e-3 * np.max(np.abs(c))
    assert np.max(np.abs(s - c) / scale) < 1e-11


def test_cel_against_legendre_integrals():
    """cel(kc,1,1,1) = K(m) and cel(kc,1,1,kc^2) = E(m), m = 1 - kc^2 (scipy's Cephes)."""
    from scipy.special import ellipe, ellipkm1

    for kc in (1e-12, 1e-6, 0.01, 0.3, 0.7, 0.999, 1.0):
        m = 1 - kc**2
        k_ref = ellipkm1(kc**2)  # K as a function of 1 - m: accurate near the rim
        assert cylinder_kernel.cel(kc, 1.0, 1.0, 1.0) == pytest.approx(k_ref, rel=1e-14)
        assert cylinder_kernel.cel(kc, 1.0, 1.0, kc**2) == pytest.approx(ellipe(m), rel=1e-14)
        k3, e3, c3 = cylinder_kernel._cel_p1(kc)  # the joint p = 1 iteration used off-axis
        assert k3 == pytest.approx(k_ref, rel=1e-14)
        assert e3 == pytest.approx(ellipe(m), rel=1e-14)
        assert c3 == pytest.approx(cylinder_kernel.cel(kc, 1.0, 1.0, -1.0), rel=1e-13, abs=1e-16)


def _special_points(m):
    if isinstance(m, CuboidMagnet):
        a, b, c = 0.5 * m.dimension
        pts = [
            (0, 0, 0), (a, 0, 0), (0, b, 0), (0, 0, c), (0, 0, -c),  # centre, face centres
            (a, b, 2 * c), (a, 2 * b, 0.5 * c), (2 * a, b, -0.5 * c),  # edge extensions
            (a, 2 * b, 3 * c), (0, 2 * b, c), (2 * a, 0, -c), (a, 0.5 * b, 2 * c),  # planes
            (3 * a, 0, 0), (0, 0, 5 * c),
        ]
        if m.polarization[0] == 0 and m.polarization[1] == 0:
            pts += [(a, b, 0), (-a, b, 0.3 * c)]  # edges parallel to J carry no charge
    elif isinstance(m, CylinderMagnet):
        a, b = 0.5 * m.diameter, 0.5 * m.height
        pts = [
            (0, 0, 0), (0, 0, b), (0, 0, -b), (0, 0, 3 * b), (0, 0, -3 * b),  # axis, faces
            (a, 0, 0), (0, -a, 0.5 * b), (0.5 * a, 0.5 * a, b),  # side wall, end face
            (2 * a, 0, b), (a, 0, 2 * b), (1e-30, 0, 0.2 * b), (3 * a, 0, 0),  # planes, near axis
            (0.2 * a * math.hypot(1, 0.1), 0, b + 0.1 * a),  # the series/closed-form switch
        ]
    else:
        r = m.radius
        pts = [(0, 0, 0), (r, 0, 0), (0, 0, -r), (0, 0, 2 * r), (0.3 * r, 0.1 * r, 0)]
    return m.center + np.array(pts, dtype=float)


@pytest.mark.parametrize("name", list(SHAPES))
def test_special_points_are_finite(name):
    m = SHAPES[name]()
    pts = _special_points(m)
    for q in (m.field(pts), m.gradient(pts), m.bz_hessian(pts), m.d2b_dx2(pts)):
        assert np.all(np.isfinite(q))


def test_cuboid_vertical_edge_is_finite_and_continuous_for_axial_j():
    """With J along z the edges parallel to z carry no charge: B there is the limit."""
    m = _cuboid_z()
    a, b, _ = 0.5 * m.dimension
    edge = np.array([[a, b, 0.2 * SIZE]])
    near = edge + np.array([[1e-9 * SIZE, 1e-9 * SIZE, 0.0]])
    np.testing.assert_allclose(m.field(edge), m.field(near), rtol=1e-7)
    np.testing.assert_allclose(m.gradient(edge), m.gradient(near), rtol=1e-6,
                               atol=1e-6 * np.abs(m.gradient(near)).max())


def test_batch_shapes():
    for make in MAGNETS.values():
        m = make()
        pts = np.random.default_rng(5).normal(size=(4, 7, 3)) * SIZE
        assert m.field(pts).shape == (4, 7, 3)
        assert m.gradient(pts).shape == (4, 7, 3, 3)
        assert m.bz_hessian(pts).shape == (4, 7, 3, 3)
        assert m.d2b_dx2(pts).shape == (4, 7, 3)
        assert m.field(pts[0, :5]).shape == (5, 3)
        assert m.gradient(pts[0, :5]).shape == (5, 3, 3)
        assert m.field(pts[1, 2]).shape == (3,)
        np.testing.assert_array_equal(m.field(pts)[1, 2], m.field(pts[1, 2]))
        with pytest.raises(ValueError, match="shape"):
            m.field(np.zeros((4, 2)))


def test_constructor_contract():
    s = SphereMagnet(radius=50e-9, polarization=1.5)
    np.testing.assert_array_equal(s.polarization, [0.0, 0.0, 1.5])
    assert s.polarization.dtype == np.float64
    assert s.shape_id == 0 and s.half_height == 50e-9
    np.testing.assert_array_equal(s.params, [50e-9, 0, 0])
    np.testing.assert_allclose(s.moment, [0, 0, 1.5 * 4 / 3 * math.pi * 50e-9**3 / mu_0])
    c = CuboidMagnet(dimension=(1e-7, 2e-7, 3e-7), polarization=(0.1, 0.2, 0.3))
    assert c.shape_id == 1 and c.half_height == pytest.approx(1.5e-7)
    assert c.volume == pytest.approx(6e-21)
    y = CylinderMagnet(diameter=2e-7, height=1e-7, polarization=(0, 0, 1.0))
    assert y.shape_id == 2 and y.half_height == pytest.approx(0.5e-7)
    np.testing.assert_array_equal(y.params, [2e-7, 1e-7, 0])
    assert y.volume == pytest.approx(math.pi * 1e-14 * 1e-7)
    assert y == CylinderMagnet(2e-7, 1e-7, 1.0)
    with pytest.raises(ValueError, match="axial"):
        CylinderMagnet(diameter=2e-7, height=1e-7, polarization=(0.1, 0.0, 1.0))
    with pytest.raises(ValueError, match="positive"):
        SphereMagnet(radius=-1e-7, polarization=1.0)
    with pytest.raises(ValueError, match="3-vector"):
        CuboidMagnet(dimension=(1e-7, 1e-7, 1e-7), polarization=(1.0, 2.0))
    with pytest.raises(ValueError):
        CuboidMagnet(dimension=(1e-7, 1e-7), polarization=1.0)


@njit(cache=True)
def _caller(shape_id, params, pol, pts, out):
    """A numba function calling magnet_point, as the solver does."""
    for i in range(pts.shape[0]):
        magnet_point(shape_id, params, pol, pts[i, 0], pts[i, 1], pts[i, 2], 0, out[i])


def test_kernel_contract_callable_from_numba_and_untouched_entries():
    pts = np.array([[0.3, 0.2, 1.5], [1.0, -0.4, 0.8]]) * SIZE
    for m in (_sphere(), _cuboid(), _cylinder()):
        out = np.full((2, OUT_LEN), 7.0)
        _caller(m.shape_id, m.params, m.polarization, pts, out)
        np.testing.assert_array_equal(out[:, 3:], 7.0)
        ref = magnet_points(m.shape_id, m.params, m.polarization, pts, 2)
        np.testing.assert_array_equal(out[:, :3], ref[:, :3])
        # the wrappers take absolute positions (rounding of + center - center only)
        np.testing.assert_allclose(ref[:, :3], m.field(pts + m.center), rtol=1e-12)
        np.testing.assert_allclose(ref[:, 3:12].reshape(2, 3, 3), m.gradient(pts + m.center),
                                   rtol=1e-11)
        np.testing.assert_allclose(ref[:, 12:21].reshape(2, 3, 3),
                                   m.bz_hessian(pts + m.center), rtol=1e-10)
        one = np.full(OUT_LEN, 7.0)
        magnet_point(m.shape_id, m.params, m.polarization, pts[0, 0], pts[0, 1], pts[0, 2], 1,
                     one)
        np.testing.assert_array_equal(one[12:], 7.0)
        np.testing.assert_array_equal(one[:12], ref[0, :12])


@njit(cache=True)
def _sphere_magnitudes(params, pol, pts, order, b0, high, res):
    for i in range(pts.shape[0]):
        b, gx, gy, gz, d2 = sphere_magnitude(params, pol, pts[i, 0], pts[i, 1], pts[i, 2], order,
                                             b0, high)
        res[i, 0] = b
        res[i, 1] = gx
        res[i, 2] = gy
        res[i, 3] = gz
        res[i, 4] = d2


@pytest.mark.parametrize("high", [False, True])
@pytest.mark.parametrize("order", [0, 1])
def test_sphere_magnitude_is_sphere_point_with_the_applied_field(order, high):
    # the solver's fast special case against the general kernel: |B0 z + B| and its gradient
    m = _sphere()
    rng = np.random.default_rng(7)
    pts = rng.uniform(-1.5, 1.5, size=(400, 3)) * SIZE  # inside and outside the sphere
    b0 = 0.2
    res = np.empty((pts.shape[0], 5))
    _sphere_magnitudes(m.params, m.polarization, pts, order, b0, high, res)
    q = magnet_points(m.shape_id, m.params, m.polarization, pts, 1)
    bt = q[:, :3] + np.array([0.0, 0.0, b0])
    grad = q[:, 3:12].reshape(-1, 3, 3)
    if high:
        b = bt[:, 2]
        g = grad[:, 2, :]
    else:
        b = np.linalg.norm(bt, axis=1)
        g = np.einsum("ni,nij->nj", bt, grad) / b[:, None]
    np.testing.assert_allclose(res[:, 0], b, rtol=1e-14)
    if order == 0:
        np.testing.assert_array_equal(res[:, 1:], 0.0)
    else:
        np.testing.assert_allclose(res[:, 1:4], g, rtol=1e-12, atol=1e-13 * np.abs(g).max())
        np.testing.assert_array_equal(res[:, 4], 0.0)
    assert np.any(np.linalg.norm(pts, axis=1) < m.radius)
