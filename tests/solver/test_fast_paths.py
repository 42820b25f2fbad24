"""Fast special cases of the direct path, each against the general (slow) evaluation.

- the tabulated Landau-Zener moments (``fundamental_moments_tabulated``)
  against the graded-mesh quadrature of :func:`~mrfm.solver.fundamental.fundamental_moments`;
- the block cubature of the direct path (:mod:`mrfm.solver.cubature`): the discrete Gauss
  rules against exact power sums, the inside-the-slice proof against sampled offsets, the
  error estimate against the voxel-by-voxel sum of each block (it bounds the error), and
  whole simulations against the voxel-by-voxel path (``CUBATURE_TOL = 0``) for CAI (hard,
  cos^2, fundamental; Curie with Landau-Zener and statistical), CERMIT, the force gradient
  and OSCAR (not served: identical).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrfm.physics.magnet_kernels import OUT_LEN
from mrfm.solver import SolverSettings, simulate
from mrfm.solver import cubature as C
from mrfm.solver import fundamental as FW
from mrfm.solver import kernels as K
from mrfm.solver import sheet as SH
from mrfm.solver import slice as S
from mrfm.solver.protocols import build_params, protocol_info

from . import sphere_kernels as SK
from .helpers import ELECTRON, make_exp, slab_sample


def test_tabulated_lz_moments_match_the_quadrature():
    rng = np.random.default_rng(7)
    ks = np.concatenate([[0.0, 1e-12, 1e-6, 1e-3, 0.27, 1.0, 39.999, 40.0],
                         rng.uniform(0.0, 40.0, 200), 10.0 ** rng.uniform(-6.0, 1.6, 200)])
    worst = 0.0
    for k in ks:
        m0, m2 = FW.fundamental_moments(False, k)
        t0, t2 = FW.fundamental_moments_tabulated(False, k)
        worst = max(worst, abs(t0 - m0), abs(t2 - m2))
    assert worst < 5e-11  # |m0| <= 2, |m2| <= 1/2
    # the limits: k = 0 (every passage fails, retention -1) and ideal (closed forms)
    assert FW.fundamental_moments_tabulated(False, 0.0)[0] == pytest.approx(-2.0, abs=1e-12)
    assert FW.fundamental_moments_tabulated(False, 0.0)[1] == pytest.approx(-0.5, abs=1e-12)
    assert FW.fundamental_moments_tabulated(False, 41.0) == (2.0, 0.5)
    assert FW.fundamental_moments_tabulated(True, 1.0) == pytest.approx(
        (64.0 / (3.0 * math.pi**2), 64.0 / (15.0 * math.pi**2)), rel=1e-15)


@pytest.mark.parametrize("p", [2, 3, 4])
def test_discrete_gauss_rules_sum_polynomials_exactly(p):
    for n in range(1, 40):
        t = np.arange(n) - (n - 1) / 2.0
        nodes = [C.discrete_gauss(n, p, i) for i in range(p)]
        for d in range(2 * p):
            want = np.sum(t**d)
            got = sum(w * x**d for x, w in nodes)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-9 * n ** (d + 1))
        assert all(w >= 0.0 for _, w in nodes)


def _case(name):
    """(experiment, settings) of the fast-path cases: a 32 x 32 x 16 slab of 1 nm voxels
    under a 50 nm sphere, a slice several voxels thick (fm_depth 0.1 T)."""
    sample = slab_sample(nx=32, ny=32, nz=16, voxel=1e-9)
    kw = dict(sample=sample, fm_depth=0.1, x=(6e-9, 13e-9), y=(0.0,), heights=(20e-9,))
    if name == "cai-hard":
        return make_exp(**kw), None
    if name == "cai-fundamental-lz":
        return make_exp(slice_profile="fundamental", adiabatic="landau-zener", B1=2e-5,
                        **kw), None
    if name == "cai-stat-fundamental":
        return make_exp(polarization="statistical", slice_profile="fundamental", **kw), None
    if name == "cai-stat-cos2-high":
        return make_exp(polarization="statistical", slice_profile="cos2", high_field=True,
                        **kw), None
    if name == "cermit-invert-lz":
        return make_exp(protocol="CERMIT", cermit_mode="invert", amplitude=0.2e-9,
                        adiabatic="landau-zener", species=ELECTRON, B1=2e-6,
                        sample=slab_sample(nx=32, ny=32, nz=16, voxel=1e-9, species=ELECTRON),
                        fm_depth=0.1, x=(6e-9, 13e-9), y=(0.0,), heights=(20e-9,)), None
    if name == "force-gradient":
        return make_exp(protocol="force-gradient", amplitude=0.1e-9, **kw), None
    if name == "oscar":
        return make_exp(protocol="OSCAR", amplitude=2e-9, species=ELECTRON,
                        sample=slab_sample(nx=16, ny=16, nz=16, voxel=1e-9, species=ELECTRON),
                        x=(6e-9,), y=(0.0,), heights=(20e-9,)), None
    raise KeyError(name)


@pytest.mark.parametrize("name", ["cai-hard", "cai-fundamental-lz", "cai-stat-fundamental",
                                  "cai-stat-cos2-high", "cermit-invert-lz", "force-gradient",
                                  "oscar"])
def test_block_cubature_matches_the_voxel_by_voxel_path(name, monkeypatch):
    exp, settings = _case(name)
    fast = simulate(exp, method="direct", settings=settings, progress=False).signal
    monkeypatch.setattr(C, "CUBATURE_TOL", 0.0)
    ref = simulate(exp, method="direct", settings=settings, progress=False).signal
    assert np.all(np.abs(ref) > 0.0)
    if name == "oscar":
        assert np.array_equal(fast, ref)  # not served by the cubature
        return
    assert not np.array_equal(fast, ref)  # the cubature was used
    # the stated tolerance: 1e-3 of the signal (the estimate bounds the error by 1e-5 of
    # the sum of |v|; measured <= 5e-6)
    np.testing.assert_allclose(fast, ref, rtol=1e-3, atol=0.0)


def _kernel_args(exp, settings=None):
    info = protocol_info(exp.protocol.name)
    name, rho = next(iter(exp.sample.densities.items()))
    from mrfm.physics import SpinSpecies

    pp = build_params(exp, SpinSpecies.from_name(name), info, settings or SolverSettings(),
                      20e-9)
    m = exp.magnet
    return (info.kernel_id, np.asarray(m.params, float), np.asarray(m.polarization, float), pp,
            float(m.half_height))


def _buffers(exp):
    """The voxel edges of exp's sample and fresh scratch buffers (out, crossings)."""
    return np.asarray(exp.sample.voxel, float), np.zeros(OUT_LEN), np.zeros(S.MAX_CROSSINGS)


def _random_blocks(rng, tries, max_edge, half_h, voxel):
    """``tries`` random blocks (la, lb, lc, middle, half extents of the centres) of 2 to
    max_edge - 1 voxels per side below the 50 nm sphere of :func:`_case`."""
    for _ in range(tries):
        la, lb, lc = rng.integers(2, max_edge, 3)
        c = np.array([rng.uniform(-20e-9, 20e-9), rng.uniform(-20e-9, 20e-9),
                      -rng.uniform(20e-9, 34e-9) - half_h])
        yield la, lb, lc, c, 0.5 * (np.array([la, lb, lc]) - 1) * voxel


def _voxel_centres(c, la, lb, lc, voxel):
    """The (la * lb * lc, 3) voxel centres of a block whose middle is c."""
    ii, jj, kk = np.meshgrid(*(np.arange(n) - (n - 1) / 2 for n in (la, lb, lc)),
                             indexing="ij")
    return c + np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1) * voxel


@pytest.mark.parametrize("name", ["cai-hard", "cai-stat-cos2-high", "cai-fundamental-lz",
                                  "cermit-invert-lz", "force-gradient"])
def test_block_error_estimate_bounds_the_error(name):
    """Random blocks where the cubature may be used: |q3 - voxel sum| <= |q3 - q2| and
    |q4 - voxel sum| <= |q4 - q3| (the estimates), and proven-inside blocks have every
    sampled offset inside the slice."""
    exp, settings = _case(name)
    kid, mp, pol, pp, half_h = _kernel_args(exp, settings)
    k = SK.protocol_kernels(kid)
    voxel, out, cr = _buffers(exp)
    rng = np.random.default_rng(3)
    tested = 0
    for la, lb, lc, c, h in _random_blocks(rng, 4000, 13, half_h, voxel):
        if not k.cubature_ok(mp, pol, *c, *h, voxel, pp, out):
            continue
        if kid != K.FORCE_GRADIENT:
            e = h + 0.5 * voxel
            pts = c + rng.uniform(-1, 1, (200, 3)) * e
            for q in pts:
                b = SK.field_magnitude(mp, pol, *q, 0, pp, out)[0]
                assert abs(b - pp[K.P_BRES]) < pp[K.P_HALF]
        q2, q3, q4, mass, mass4 = k.block_rules(mp, pol, *c, la, lb, lc, *voxel, pp, out, cr)
        exact = 0.0
        for p in _voxel_centres(c, la, lb, lc, voxel):
            exact += k.voxel_value(mp, pol, *p, *voxel, pp, out, cr, np.zeros((S.STACK_LEN, 4)))
        assert abs(q3 - exact) <= abs(q3 - q2) + 1e-6 * mass, (la, lb, lc, c)
        # the p = 4 sum, accepted on |q4 - q3|, is within that of the voxel sum
        assert abs(q4 - exact) <= abs(q4 - q3) + 1e-6 * mass4, (la, lb, lc, c)
        assert mass4 == pytest.approx(mass, rel=0.5)
        tested += 1
        if tested >= 25:
            break
    assert tested >= 25


def test_block_sum_takes_the_p4_rule_where_the_p3_estimate_fails():
    """Blocks of >= MIN_VOXELS_P4 voxels whose p = 2 / p = 3 difference exceeds the
    tolerance (within P4_HINT of it) are accepted with the p = 4 sum where |q4 - q3|
    passes, and that sum is within the tolerance of the voxel-by-voxel sum; smaller
    blocks are never."""
    exp, settings = _case("force-gradient")
    kid, mp, pol, pp, half_h = _kernel_args(exp, settings)
    k = SK.protocol_kernels(kid)
    voxel, out, cr = _buffers(exp)
    tol = C.CUBATURE_TOL
    rng = np.random.default_rng(11)
    taken = small = 0
    for la, lb, lc, c, _h in _random_blocks(rng, 3000, 13, half_h, voxel):
        q2, q3, q4, mass, mass4 = k.block_rules(mp, pol, *c, la, lb, lc, *voxel, pp, out, cr)
        if abs(q3 - q2) <= tol * mass or abs(q3 - q2) > C.P4_HINT * tol * mass:
            continue
        ok, total = k.block_sum(mp, pol, *c, la, lb, lc, *voxel, pp, out, cr, tol)
        if la * lb * lc < C.MIN_VOXELS_P4:
            assert not ok
            small += 1
            continue
        assert ok == (abs(q4 - q3) <= tol * mass4)
        if not ok:
            continue
        assert total == q4
        exact = 0.0
        for p in _voxel_centres(c, la, lb, lc, voxel):
            exact += k.voxel_value(mp, pol, *p, *voxel, pp, out, cr, np.zeros((S.STACK_LEN, 4)))
        assert abs(total - exact) <= tol * mass4, (la, lb, lc, c)
        taken += 1
        if taken >= 10 and small >= 3:
            break
    assert taken >= 10 and small >= 3


def test_sheet_correction_matches_the_voxel_sum():
    """CERMIT's Landau-Zener sheet (the factor differs from 1 only where a voxel's centre
    lies within the sweep depth of resonance): over random blocks inside the slice, the
    correction equals the sum over every voxel of v - v_ideal (leaf values, as the block
    rules use) to rounding, and it is not zero in most of them (the sheet was found)."""
    exp, settings = _case("cermit-invert-lz")
    kid, mp, pol, pp, half_h = _kernel_args(exp, settings)
    assert SH.sheet_applies(kid, 0, pp)
    ppi = pp.copy()
    ppi[K.P_LZ] = 0.0
    k = SK.protocol_kernels(kid)
    voxel, out, cr = _buffers(exp)
    rng = np.random.default_rng(11)
    tested = nonzero = 0
    for la, lb, lc, c, h in _random_blocks(rng, 20000, 9, half_h, voxel):
        if not k.cubature_ok(mp, pol, *c, *h, voxel, ppi, out):
            continue
        ok, corr = k.sheet_correction(mp, pol, *c, *h, la, lb, lc, *voxel, pp, ppi, out, cr)
        if not ok:
            continue
        exact = 0.0
        scale = 0.0
        for p in _voxel_centres(c, la, lb, lc, voxel):
            v = k.slice_leaf_value(mp, pol, *p, *voxel, pp, out, cr)[0]
            vi = k.slice_leaf_value(mp, pol, *p, *voxel, ppi, out, cr)[0]
            exact += v - vi
            scale += abs(vi)
        assert abs(corr - exact) <= 1e-12 * scale, (la, lb, lc, c, corr, exact)
        tested += 1
        nonzero += corr != 0.0
        if tested >= 40:
            break
    assert tested >= 40
    assert nonzero >= 20


@pytest.mark.parametrize("name", ["cai-hard", "cermit-invert-lz"])
def test_inside_value_equals_the_leaf_in_proven_blocks(name):
    """The block rules' shortcut for a hard slice (slice.inside_leaf_value: centre value
    times the Landau-Zener factor, no fraction) gives the leaf's value to the last bit at
    the voxel centres and at random virtual-voxel centres of blocks proven inside the slice;
    at voxels cut by an edge it does not (the proof is what makes it exact)."""
    exp, settings = _case(name)
    kid, mp, pol, pp, half_h = _kernel_args(exp, settings)
    k = SK.protocol_kernels(kid)
    voxel, out, cr = _buffers(exp)
    rng = np.random.default_rng(5)
    blocks = differ = 0
    for la, lb, lc, c, h in _random_blocks(rng, 4000, 9, half_h, voxel):
        proven = k.cubature_ok(mp, pol, *c, *h, voxel, pp, out)
        pts = np.concatenate([_voxel_centres(c, la, lb, lc, voxel),
                              c + rng.uniform(-1, 1, (20, 3)) * h])
        for p in pts:
            a = k.inside_leaf_value(mp, pol, *p, *voxel, pp, out, cr)
            b = k.slice_leaf_value(mp, pol, *p, *voxel, pp, out, cr)[0]
            if proven:
                assert a == b, (p, a, b)
            else:
                differ += a != b
        blocks += proven
        if blocks >= 25 and differ >= 20:
            break
    assert blocks >= 25
    assert differ >= 20


@pytest.mark.parametrize("name", ["cai-hard", "cai-stat-cos2-high", "cermit-invert-lz"])
def test_leaf_screen_skips_only_silent_voxels(name):
    """Every voxel the leaf screen calls silent has value exactly 0 (voxel_value, the
    general path), and the screen finds at least 40 % of the zero voxels of leaf-sized
    boxes near the slice (measured 52-56 % in this tight geometry, 1 nm voxels 20-34 nm
    from a 50 nm sphere: the rest sit within the bound's margin of the first test)."""
    exp, settings = _case(name)
    kid, mp, pol, pp, half_h = _kernel_args(exp, settings)
    k = SK.protocol_kernels(kid)
    voxel, out, cr = _buffers(exp)
    stack = np.zeros((S.STACK_LEN, 4))
    rng = np.random.default_rng(17)
    skipped = zeros = nonzero = 0
    for la, lb, lc, c, h in _random_blocks(rng, 400, 5, half_h, voxel):
        ok, s, gx, gy, gz, cb = k.leaf_screen(mp, pol, *c, *h, pp, out)
        assert ok
        for p in _voxel_centres(c, la, lb, lc, voxel):
            v = k.voxel_value(mp, pol, *p, *voxel, pp, out, cr, stack)
            if SK.voxel_is_silent(s, gx, gy, gz, cb, *(p - c), *voxel, pp):
                assert v == 0.0, (p, v)
                skipped += 1
            zeros += v == 0.0
            nonzero += v != 0.0
    assert nonzero >= 200 and zeros >= 200
    assert skipped >= 0.4 * zeros
