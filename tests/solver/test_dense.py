"""The vectorized leaves of the direct path (:mod:`mrfm.solver.dense`) against the per-voxel
path they replace, and their building blocks against the general functions.

- whole simulations (CERMIT, hard slice, sphere, high field: Curie and statistical,
  invert with Landau-Zener and saturate, uniform and random density with holes, tips off
  and on the voxel lattice) against the voxel-by-voxel reference (``CUBATURE_TOL = 0``,
  which never takes dense leaves), to 1e-12;
- random boxes: ``dense_box`` plus the per-voxel value of the voxels it flags equals the
  per-voxel sum of the box, and every class (rejected, inside, cut by an edge, flagged,
  split) occurs;
- the Chebyshev moment table against the Brillouin moment, and no table where none is
  accurate;
- the division-free Landau-Zener test covers every spin the exact one does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mrfm.physics import SphereMagnet
from mrfm.solver import SolverSettings, simulate
from mrfm.solver import cubature as C
from mrfm.solver import dense as D
from mrfm.solver import dense_passes as DP
from mrfm.solver import inversion as LZ
from mrfm.solver import kernels as K
from mrfm.solver import slice as S

from . import sphere_kernels as SK
from .helpers import ELECTRON, dipole_field, make_exp, slab_sample
from .test_fast_paths import _kernel_args

#: the dense leaves equal the voxel-by-voxel sum up to rounding and the moment table's error
#: (about 2e-15 of the moment for these electrons)
RTOL = 1e-12

CASES = {
    "curie-invert-lz": dict(cermit_mode="invert", adiabatic="landau-zener",
                            amplitude=0.2e-9),
    "curie-saturate-no-amplitude": dict(cermit_mode="saturate", amplitude=0.0),
    "statistical-invert-lz": dict(polarization="statistical", cermit_mode="invert",
                                  adiabatic="landau-zener", amplitude=0.2e-9),
    "curie-invert-lz-no-amplitude": dict(cermit_mode="invert", adiabatic="landau-zener",
                                         amplitude=0.0),
    "statistical-no-amplitude": dict(polarization="statistical", cermit_mode="invert",
                                     amplitude=0.0),
}


def _exp(name, *, x=(6.37e-9, -13.1e-9), y=(0.16e-9,), holes=False, high_field=True,
         wide=False):
    """CERMIT on a 32 x 32 x 16 slab of 1 nm electron voxels under the 50 nm sphere of
    :func:`make_exp`, high field unless told, a slice several voxels thick (fm_depth 0.1 T).

    ``wide``: a 24 x 24 x 16 slab of 2 nm voxels 50 nm under a 1 um sphere, the slice
    (fm_depth 20 mT, about 7 voxels thick on the axis) centred 16 nm deep on the axis: the
    field curves little across a voxel, so the box-wide bounds of
    :func:`mrfm.solver.box_bounds.box_refinement_bounds` settle most refinement decisions
    (classes _CUT and the edge-free _IN/_OUT), as on the benchmark's geometry."""
    if wide:
        sample = slab_sample(nx=24, ny=24, nz=16, voxel=2e-9, species=ELECTRON)
        magnet = SphereMagnet(radius=1e-6, polarization=np.array([0.0, 0.0, 1.8]))
        centre = np.array([0.0, 0.0, 50e-9 + 1e-6])
        bz = [dipole_field(magnet, np.array([0.0, 0.0, -d]) - centre)[2] for d in (0.0, 16e-9)]
        kw = dict(magnet=magnet, heights=(50e-9,), fm_depth=0.02,
                  resonance_offset=bz[1] - 0.6 * bz[0])
        x = (x[0] * 2, x[1] * 2)
        y = (y[0] * 2,)
    else:
        sample = slab_sample(nx=32, ny=32, nz=16, voxel=1e-9, species=ELECTRON)
        kw = dict(fm_depth=0.1, heights=(20e-9,))
    if holes:
        rng = np.random.default_rng(5)
        rho = next(iter(sample.densities.values()))
        rho = rho * rng.uniform(0.2, 1.8, rho.shape) * (rng.uniform(size=rho.shape) > 0.1)
        sample = dataclasses.replace(sample, densities={ELECTRON.name: rho})
    return make_exp(protocol="CERMIT", species=ELECTRON, B1=2e-6, high_field=high_field,
                    sample=sample, x=x, y=y, **kw, **CASES[name])


def _dense_used(exp) -> bool:
    kid, mp, pol, pp, half_h = _kernel_args(exp)
    return D.setup(kid, 0, pp, C.CUBATURE_TOL)[0]


@pytest.mark.parametrize("name,holes,on_lattice,high_field,depth,wide", [
    ("curie-invert-lz", False, False, True, 4, True),
    ("statistical-invert-lz", True, False, True, 4, True),
    ("curie-saturate-no-amplitude", True, False, False, 4, True),
    ("curie-invert-lz", False, False, True, 4, False),
    ("curie-invert-lz", True, False, True, 4, False),
    ("curie-invert-lz", False, True, True, 4, False),
    ("curie-invert-lz", False, False, True, 0, False),
    ("curie-saturate-no-amplitude", False, False, True, 4, False),
    # exact |B|: no amplitude needed
    ("curie-saturate-no-amplitude", False, False, False, 4, False),
    ("curie-invert-lz-no-amplitude", False, False, False, 4, False),  # LZ sheet = the slice
    ("statistical-invert-lz", True, False, True, 4, False),
    ("statistical-no-amplitude", True, False, False, 4, False)])
def test_dense_leaves_match_the_voxel_by_voxel_path(name, holes, on_lattice, high_field, depth,
                                                    monkeypatch, wide):
    kw = dict(x=(0.0, -13.0e-9), y=(0.0,)) if on_lattice else {}
    exp = _exp(name, holes=holes, high_field=high_field, wide=wide, **kw)
    assert _dense_used(exp)
    settings = SolverSettings(max_depth=depth)  # depth 0: the leaf never splits
    fast = simulate(exp, method="direct", settings=settings, progress=False).signal
    monkeypatch.setattr(C, "CUBATURE_TOL", 0.0)
    ref = simulate(exp, method="direct", settings=settings, progress=False).signal
    assert np.all(np.abs(ref) > 0.0)
    np.testing.assert_allclose(fast, ref, rtol=RTOL, atol=0.0)


def test_dense_leaves_serve_only_the_cases_they_model():
    assert _dense_used(_exp("curie-invert-lz"))
    # exact |B| with an amplitude: the curvature's closed form needs the high field
    exp = _exp("curie-invert-lz")
    exact = dataclasses.replace(exp, protocol=dataclasses.replace(exp.protocol,
                                                                  high_field=False))
    assert not _dense_used(exact)
    cos2 = dataclasses.replace(exp, protocol=dataclasses.replace(exp.protocol,
                                                                 slice_profile="cos2"))
    assert not _dense_used(cos2)
    cai = make_exp(protocol="CAI", high_field=True)
    assert not _dense_used(cai)
    kid, mp, pol, pp, half_h = _kernel_args(exp)
    assert not D.setup(kid, 0, pp, 0.0)[0]  # the reference path
    assert not D.setup(kid, 1, pp, C.CUBATURE_TOL)[0]  # not a sphere


@pytest.mark.parametrize(("name", "table", "wide"), [("curie-invert-lz", "full", False),
                                                     ("statistical-invert-lz", "full", False),
                                                     ("curie-invert-lz", "narrow", False),
                                                     ("curie-invert-lz", "full", True)])
def test_dense_box_plus_its_flagged_voxels_is_the_voxel_sum(name, table, wide):
    """60 random boxes: the vectorized sum plus the per-voxel values of the voxels it
    flags is the voxel sum, and every class occurs (``wide``: the classes the box-wide
    bounds give; else those the per-voxel decisions give, splits included). ``narrow``: the
    Curie moment table covers only the middle half of the slice (the solver's covers the
    slice widened by a half-width each side), so voxels of the slice fall outside it, and
    each of them must be flagged to the per-voxel path (checked against the same boxes with
    the full table)."""
    exp = _exp(name, holes=True, wide=wide)
    kid, mp, pol, pp, half_h = _kernel_args(exp)
    dense, coef, tlo, thi = D.setup(kid, 0, pp, C.CUBATURE_TOL)
    assert dense
    full = (coef, tlo, thi)
    if table == "narrow":
        half = float(pp[K.P_HALF])
        tlo, thi = float(pp[K.P_BRES]) - 0.5 * half, float(pp[K.P_BRES]) + 0.5 * half
        coef = K.moment_table(pp, tlo, thi)
        assert coef.size
    missed = 0
    rho3 = next(iter(exp.sample.densities.values()))
    origin = np.asarray(exp.sample.origin, float)
    voxel = np.asarray(exp.sample.voxel, float)
    # magnet centre above the sample as the solver puts it (tip at x = 0.37, y = 0.16 voxels)
    tip = np.array([0.37 * voxel[0], 0.16 * voxel[1], exp.scan.height[0] + half_h])
    k = SK.protocol_kernels(kid)
    fbuf, cls, flagged = D.scratch(True)
    out, cr, stack = S.scratch()
    rng = np.random.default_rng(9)
    seen = dict.fromkeys(("screened", "out", "in", "cut", "edge", "flag", "split"), 0)
    nx, ny, nz = rho3.shape
    for _ in range(60):
        la, lb, lc = rng.integers(1, 7, 3)  # at most 216 <= DENSE_VOXELS
        a0 = int(rng.integers(0, nx - la + 1))
        b0 = int(rng.integers(0, ny - lb + 1))
        c0 = int(rng.integers(0, nz - lc + 1))
        n = la * lb * lc
        if table == "narrow":  # the flags with the solver's table, for comparison
            D.dense_box(mp, pol, *tip, rho3, a0, a0 + la, b0, b0 + lb, c0, c0 + lc, origin,
                        voxel, pp, *full, fbuf, cls, flagged, out)
            flagged_full = flagged[:n].copy()
        part, nflag = D.dense_box(mp, pol, *tip, rho3, a0, a0 + la, b0, b0 + lb, c0, c0 + lc,
                                  origin, voxel, pp, coef, tlo, thi, fbuf, cls, flagged, out)
        if table == "narrow":
            assert np.all(flagged[:n] | ~flagged_full)  # a narrower table flags more
            missed += int(np.sum(flagged[:n] & ~flagged_full))
        assert nflag == int(flagged[:n].sum())
        whole = rest = mass = 0.0
        q = 0
        for i in range(a0, a0 + la):
            for j in range(b0, b0 + lb):
                for kk in range(c0, c0 + lc):
                    c = origin + np.array([i, j, kk]) * voxel - tip
                    v = rho3[i, j, kk] * k.voxel_value(mp, pol, *c, *voxel, pp, out, cr, stack)
                    whole += v
                    mass += abs(v)
                    if flagged[q]:
                        rest += v
                    q += 1
        assert part + rest == pytest.approx(whole, rel=0.0, abs=RTOL * mass + 1e-300)
        # the classes of the voxels compact() kept (the others are silent or empty)
        m = D.compact(mp, pol, *tip, rho3, a0, a0 + la, b0, b0 + lb, c0, c0 + lc, origin,
                      voxel, pp, fbuf, np.zeros_like(cls), np.zeros_like(flagged), out)[0]
        cl = cls[0, :m]
        box_flags = flagged[cls[1, :m]]
        seen["screened"] += n - m - int(np.sum(rho3[a0:a0 + la, b0:b0 + lb, c0:c0 + lc] == 0))
        seen["out"] += int(np.sum(cl == DP.OUT))
        seen["in"] += int(np.sum(cl == DP.IN))
        seen["cut"] += int(np.sum(cl == DP.CUT))
        seen["edge"] += int(np.sum(cl == DP.EDGE))
        seen["flag"] += int(np.sum(cl == DP.FLAG))
        seen["split"] += int(np.sum(box_flags & (cl == DP.EDGE)))
    # (with the narrow table every voxel an edge may cut is beyond it, so flagged)
    keys = {"narrow": ("out", "in", "flag"), "full": ("screened", "out", "in", "edge", "flag",
                                                     "split")}[table]
    if wide:
        keys = ("screened", "out", "in", "cut")
    assert all(seen[k] > 0 for k in keys), seen
    assert (missed > 0) == (table == "narrow"), missed


def test_dense_box_refuses_a_box_larger_than_its_scratch():
    exp = _exp("curie-invert-lz")
    kid, mp, pol, pp, half_h = _kernel_args(exp)
    dense, coef, tlo, thi = D.setup(kid, 0, pp, C.CUBATURE_TOL)
    rho3 = next(iter(exp.sample.densities.values()))
    fbuf, cls, flagged = D.scratch(True)
    out = S.scratch()[0]
    with pytest.raises(ValueError, match="more voxels than its scratch"):
        D.dense_box(mp, pol, 0.0, 0.0, 70e-9, rho3, 0, 8, 0, 8, 0, 8,
                    np.asarray(exp.sample.origin, float), np.asarray(exp.sample.voxel, float),
                    pp, coef, tlo, thi, fbuf, cls, flagged, out)


def _moment_pp(spin=0.5, moment=9.28e-24, temperature=4.0):
    pp = np.zeros(K.PP_LEN)
    pp[K.P_MOMENT] = moment
    pp[K.P_SPIN] = spin
    pp[K.P_T] = temperature
    return pp


@pytest.mark.parametrize("spin,temperature,lo,hi", [
    (0.5, 4.0, 0.55, 0.63), (0.5, 0.3, 0.4, 0.9), (2.5, 1.0, 0.1, 0.3), (0.5, 11.0, -0.05, 0.05)])
def test_moment_table_matches_the_brillouin_moment(spin, temperature, lo, hi):
    pp = _moment_pp(spin=spin, temperature=temperature)
    coef = K.moment_table(pp, lo, hi)
    assert coef.size > 0
    bs = np.concatenate([[lo, hi], np.random.default_rng(1).uniform(lo, hi, 3000)])
    got = np.empty(bs.size)
    K.table_moments.py_func(coef, lo, hi, bs, bs.size, got, np.empty(bs.size))
    exact = K._mean_moments(pp, bs)
    assert np.max(np.abs(got - exact)) <= 2 * K.MOMENT_TABLE_TOL * np.max(np.abs(exact))


def test_moment_table_is_remembered_but_each_caller_gets_its_own_array():
    pp = _moment_pp(temperature=2.0)
    first = K.moment_table(pp, 0.5, 0.7)
    kept = first.copy()
    first[:] = 0.0  # a caller's changes do not reach the remembered table
    again = K.moment_table(pp, 0.5, 0.7)
    np.testing.assert_array_equal(again, kept)
    assert again is not first and again.flags.writeable
    # other parameters, another table: the key is the whole parameter vector
    assert not np.array_equal(K.moment_table(_moment_pp(temperature=3.0), 0.5, 0.7), kept)


def test_moment_table_refuses_where_no_degree_is_accurate():
    # electrons at 10 mK across zero field: the moment is a step no degree-32 series follows
    assert K.moment_table(_moment_pp(temperature=0.01), -1.0, 1.0).size == 0
    assert K.moment_table(_moment_pp(), 0.6, 0.6).size == 0
    assert K.moment_table(_moment_pp(), 0.6, float("nan")).size == 0


def test_sweep_reaches_covers_every_spin_the_factor_may_differ_at():
    """inversion_factor returns 1 before any Landau-Zener arithmetic unless factor_applies
    and |b - B_res| / depth < 1; sweep_reaches must hold wherever that quotient test does
    (including offsets at and next to the depth, where the quotient rounds)."""
    rng = np.random.default_rng(2)
    pp = np.zeros(K.PP_LEN)
    pp[K.P_BRES] = 0.6
    pp[K.P_HALF] = 0.02
    pp[K.P_INVERT] = 1.0
    hits = 0
    assert LZ.factor_applies.py_func(K.CERMIT, pp)
    for xpk in (0.0, 1e-10):
        pp[K.P_XPK] = xpk
        for _ in range(20000):
            gx = rng.normal(0.0, 1e5)
            depth = LZ.sweep_depth.py_func(K.CERMIT, gx, pp)
            b = 0.6 + depth * rng.choice([rng.uniform(-1.2, 1.2), 1.0, -1.0,
                                          np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0)])
            if depth > 0.0 and abs((b - pp[K.P_BRES]) / depth) < 1.0:
                hits += 1
                assert LZ.sweep_reaches.py_func(K.CERMIT, b - pp[K.P_BRES], gx, pp[K.P_HALF],
                                                xpk)
    assert hits > 1000
    pp[K.P_INVERT] = 0.0  # saturate: the factor is 1 everywhere
    assert not LZ.factor_applies.py_func(K.CERMIT, pp)
