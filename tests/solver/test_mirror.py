"""The direct path's mirror fold (mrfm.solver.mirror, partition.work_items): exact.

A tip on the voxel lattice (or halfway between two voxel centres) of a z-polarized sphere
has the curvature protocols' kernel even about it; the direct path then sums one of each
pair of mirrored voxel slabs twice. Checked against plain sums: the index ranges against
brute-force sums of even functions, and the solver's folded voxel-by-voxel sums against
the unfolded ones, for uniform, mirror-symmetric and asymmetric densities.
"""

from __future__ import annotations

import numpy as np
import pytest

from mrfm.physics import Sample
from mrfm.solver import cubature as C
from mrfm.solver import kernels as K
from mrfm.solver import mirror as M
from mrfm.solver import partition as P
from mrfm.solver import simulate

from .helpers import ELECTRON, make_exp, slab_sample


def _even(d):
    return np.exp(-(d / 3.0) ** 2) + 1e-3 * d**4 + np.cos(d)


@pytest.mark.parametrize("n", [1, 2, 7, 16])
@pytest.mark.parametrize("m_half", [-3.0, -0.5, 0.0, 0.5, 2.0, 3.5, 7.5, 9.0, 14.5, 20.0])
def test_fold_axis_sums_an_even_summand_exactly(n, m_half):
    origin, pitch = -1.25e-9, 0.5e-9
    tip = origin + m_half * pitch
    d = (origin + np.arange(n) * pitch - tip) / pitch
    ranges = M.fold_axis(origin, pitch, n, tip)
    covered = np.zeros(n)
    total = 0.0
    for lo, hi, w in ranges:
        assert 0 <= lo < hi <= n and w in (1.0, 2.0)
        covered[lo:hi] += 1
        total += w * _even(d[lo:hi]).sum()
    assert np.all(covered <= 1)  # disjoint
    assert total == pytest.approx(_even(d).sum(), rel=1e-13)
    pairs = M.mirror_pairs(origin, pitch, n, tip)
    if pairs is None:
        assert ranges == [(0, n, 1.0)]
    else:
        a, b = pairs
        assert a + b == round(2 * m_half) and b > a
        assert any(w == 2.0 for _, _, w in ranges)
        assert np.sum(covered) < n  # fewer voxels summed


@pytest.mark.parametrize("n", [1, 2, 7, 16])
@pytest.mark.parametrize("m_half", [-3.0, -0.5, 0.0, 0.5, 2.0, 3.5, 7.5, 9.0, 14.5, 20.0])
def test_fold_axis_sums_an_odd_summand_exactly(n, m_half):
    """Odd parity: the pairs and the slab on the mirror plane are left out (they sum to 0);
    against the brute-force sum of an odd function (which cancels to rounding)."""
    origin, pitch = -1.25e-9, 0.5e-9
    tip = origin + m_half * pitch
    d = (origin + np.arange(n) * pitch - tip) / pitch

    def odd(x):
        return np.sin(x) + x**3 * np.exp(-x * x / 9.0)

    ranges = M.fold_axis(origin, pitch, n, tip, -1)
    covered = np.zeros(n)
    total = 0.0
    for lo, hi, w in ranges:
        assert 0 <= lo < hi <= n and w == 1.0
        covered[lo:hi] += 1
        total += odd(d[lo:hi]).sum()
    assert np.all(covered <= 1)
    scale = np.abs(odd(d)).sum() if n else 1.0
    assert abs(total - odd(d).sum()) <= 1e-13 * max(scale, 1.0)
    pairs = M.mirror_pairs(origin, pitch, n, tip)
    if pairs is None:
        assert ranges == [(0, n, 1.0)]
    else:
        a, b = pairs
        assert np.all(covered[a:b + 1] == 0) and np.all(covered[:a] == 1)
        assert np.all(covered[b + 1:] == 1)
    assert M.fold_axis(origin, pitch, n, tip, 0) == [(0, n, 1.0)]


def test_off_lattice_tips_are_not_folded():
    assert M.mirror_pairs(0.0, 1e-9, 20, 3.3e-9) is None
    assert M.fold_axis(0.0, 1e-9, 20, 3.3e-9) == [(0, 20, 1.0)]
    assert M.mirror_pairs(0.0, 1e-9, 20, 3.5e-9 + 1e-21) == (0, 7)  # rounding, not physics
    # 1e-16 m off a 1 nm lattice is 2e-7 pitches: a real offset, not folded (a fold there
    # would be wrong to first order in the offset)
    assert M.mirror_pairs(0.0, 1e-9, 20, 3.5e-9 + 1e-16) is None
    assert M.mirror_pairs(0.0, 1e-9, 20, float("nan")) is None
    assert M.fold_axis(0.0, 1e-9, 20, float("inf")) == [(0, 20, 1.0)]


def test_a_tip_just_off_the_lattice_keeps_the_mirror_symmetry_of_the_signal(monkeypatch):
    """S(+h) = S(-h) about a lattice point for tips 1e-16 m to either side (folded tips
    there would differ to first order in h)."""
    exp = make_exp(protocol="force-gradient", sample=_sample("uniform"), species=ELECTRON,
                   x=np.array([-1e-16, 1e-16]), y=np.array([0.0]), heights=(20e-9,),
                   amplitude=0.2e-9, B0=0.2)
    monkeypatch.setattr(C, "CUBATURE_TOL", 0.0)
    minus, plus = simulate(exp, method="direct", progress=False).signal.ravel()
    assert plus == pytest.approx(minus, rel=1e-12)


def test_density_mirrored():
    rng = np.random.default_rng(3)
    rho = rng.uniform(size=(9, 6, 3))
    sym = rho + rho[::-1]  # symmetric about i = 4 along x over [0, 8]
    assert M.density_mirrored(sym, 0, 0, 8)
    assert not M.density_mirrored(rho, 0, 0, 8)
    assert not M.density_mirrored(sym, 1, 0, 5)
    sym_y = rho + rho[:, ::-1]
    assert M.density_mirrored(sym_y, 1, 0, 5)
    sym_y[2, 1, 0] += 1e-300 if sym_y[2, 1, 0] == 0 else sym_y[2, 1, 0] * 1e-15
    assert not M.density_mirrored(sym_y, 1, 0, 5)


def _sample(kind: str) -> Sample:
    base = slab_sample(nx=16, ny=14, nz=6, voxel=1e-9, species=ELECTRON)
    rho = next(iter(base.densities.values())).copy()
    if kind == "symmetric":  # mirror-symmetric about x = 0 and y = 0 (the grid's centre)
        i = np.abs(np.arange(16) - 7.5)[:, None, None]
        j = np.abs(np.arange(14) - 6.5)[None, :, None]
        rho = rho * (1.0 + 0.05 * i + 0.03 * j**2) * np.ones((1, 1, 6))
        rho[:, :, 2] = 0.0
    elif kind == "asymmetric":
        rho = rho * np.random.default_rng(5).uniform(0.5, 1.5, size=rho.shape)
    return Sample(origin=base.origin, voxel=base.voxel, densities={ELECTRON.name: rho})


# x: 0 is halfway between two voxel centres of the 16-voxel axis, 0.5 nm a centre, 3.5 nm a
# centre with 7 unpaired slabs, 0.3 nm off the lattice; y: 0 a centre-between, 1 nm likewise
TIPS_X = np.array([0.0, 0.5e-9, 3.5e-9, 0.3e-9])
TIPS_Y = np.array([0.0, 1.0e-9])


CASES = {
    "force-gradient": dict(protocol="force-gradient"),
    "CERMIT-high": dict(protocol="CERMIT", high_field=True, cermit_mode="invert",
                        adiabatic="landau-zener", B1=2e-6),
    "CERMIT-exact": dict(protocol="CERMIT", high_field=False, cermit_mode="invert",
                         adiabatic="landau-zener", B1=2e-6),
    "CAI-statistical": dict(protocol="CAI", polarization="statistical",
                            slice_profile="fundamental"),
    "CAI-statistical-cos2": dict(protocol="CAI", polarization="statistical",
                                 slice_profile="cos2", high_field=False),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", ["uniform", "symmetric", "asymmetric"])
def test_folded_direct_sum_equals_the_unfolded_sum(case, kind, monkeypatch):
    exp = make_exp(sample=_sample(kind), species=ELECTRON, x=TIPS_X, y=TIPS_Y,
                   heights=(20e-9,), amplitude=0.2e-9, fm_depth=0.1, B0=0.2, **CASES[case])
    assert M.mirror_symmetric(*_kernel_of(exp))
    monkeypatch.setattr(C, "CUBATURE_TOL", 0.0)  # voxel by voxel: the fold alone differs
    folded = simulate(exp, method="direct", progress=False).signal
    with monkeypatch.context() as m:
        m.setattr(M, "mirror_symmetric", lambda *a: False)
        plain = simulate(exp, method="direct", progress=False).signal
    peak = np.abs(plain).max()
    assert peak > 0
    np.testing.assert_allclose(folded, plain, rtol=0, atol=1e-11 * peak)


def _kernel_of(exp):
    """(kid, shape_id, polarization, statistical) of exp, as the solver passes them."""
    from mrfm.solver.protocols import protocol_info

    m = exp.magnet
    return (protocol_info(exp.protocol.name).kernel_id, int(m.shape_id),
            np.asarray(m.polarization, float), exp.protocol.polarization == "statistical")


@pytest.mark.parametrize("kind", ["uniform", "symmetric", "asymmetric"])
@pytest.mark.parametrize("profile", ["hard", "fundamental-lz"])
def test_curie_force_odd_fold_equals_the_unfolded_sum(kind, profile, monkeypatch):
    """CAI's Curie force, odd in x: the folded voxel-by-voxel sums (pairs about lattice tips
    left out) against the unfolded ones; exactly 0 at the tips on the grid's mirror plane
    x = 0 (the unfolded sum there cancels to rounding)."""
    extra = {} if profile == "hard" else dict(slice_profile="fundamental",
                                              adiabatic="landau-zener", B1=2e-5)
    exp = make_exp(protocol="CAI", sample=_sample(kind), species=ELECTRON, x=TIPS_X, y=TIPS_Y,
                   heights=(20e-9,), fm_depth=0.1, B0=0.2, **extra)
    assert M.mirror_parity(*_kernel_of(exp)) == (-1, 1)
    monkeypatch.setattr(C, "CUBATURE_TOL", 0.0)
    folded = simulate(exp, method="direct", progress=False).signal
    with monkeypatch.context() as m:
        m.setattr(M, "mirror_parity", lambda *a: (0, 0))
        plain = simulate(exp, method="direct", progress=False).signal
    peak = np.abs(plain).max()
    assert peak > 0
    np.testing.assert_allclose(folded, plain, rtol=0, atol=1e-11 * peak)
    if kind != "asymmetric":
        assert np.all(folded[0] == 0.0)  # x = 0: the grid's mirror plane
        assert np.all(np.abs(plain[0]) < 1e-11 * peak)
    else:
        assert np.all(folded[0] != 0.0)  # not folded: the density is not symmetric


def test_a_cancelled_curie_force_is_not_reported_as_a_missed_slice():
    """The all-zero Curie map of a centred tip over a symmetric sample is a cancellation:
    no ResonanceOutsideSampleWarning. A slice that misses the sample still warns."""
    import warnings

    from mrfm.solver import ResonanceOutsideSampleWarning

    exp = make_exp(protocol="CAI", sample=_sample("uniform"), species=ELECTRON,
                   x=np.array([0.0]), y=np.array([0.0]), heights=(20e-9,), fm_depth=0.1,
                   B0=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResonanceOutsideSampleWarning)
        sig = simulate(exp, method="direct", progress=False).signal
    assert np.all(sig == 0.0)
    far = make_exp(protocol="CAI", sample=_sample("uniform"), species=ELECTRON,
                   x=np.array([0.0]), y=np.array([0.0]), heights=(20e-9,), fm_depth=1e-4,
                   B0=0.2, rf_frequency=1e6)  # resonance at 36 uT, |B| >= 0.2 T here
    with pytest.warns(ResonanceOutsideSampleWarning):
        simulate(far, method="direct", progress=False)


def test_only_even_kernels_fold():
    z = np.array([0.0, 0.0, 1.8])
    for kid in (K.FORCE_GRADIENT, K.CERMIT):
        assert M.mirror_symmetric(kid, 0, z) and M.mirror_symmetric(kid, 0, z, True)
    assert M.mirror_symmetric(K.CAI, 0, z, True)  # the variance: (d|B|/dx)^2
    assert not M.mirror_symmetric(K.CAI, 0, z)  # the Curie force: d|B|/dx, odd in x
    assert not M.mirror_symmetric(K.OSCAR, 0, z) and not M.mirror_symmetric(K.OSCAR, 0, z, True)
    assert not M.mirror_symmetric(K.CAI, 0, np.array([0.1, 0.0, 1.8]), True)
    assert not M.mirror_symmetric(K.CERMIT, 1, z)
    assert M.mirror_parity(K.CAI, 0, z) == (-1, 1)  # the Curie force folds as odd in x
    assert M.mirror_parity(K.CAI, 0, np.array([0.1, 0.0, 1.8])) == (0, 0)
    assert M.mirror_parity(K.OSCAR, 0, z) == (0, 0) and M.mirror_parity(K.CAI, 1, z) == (0, 0)


def test_the_curie_force_is_odd(monkeypatch):
    """CAI's Curie force at mirrored tips has opposite signs: an even fold would be wrong
    (it is folded as odd, :func:`test_curie_force_odd_fold_equals_the_unfolded_sum`)."""
    exp = make_exp(protocol="CAI", sample=_sample("uniform"), species=ELECTRON,
                   x=np.array([-2.5e-9, 2.5e-9]), y=np.array([0.0]), heights=(20e-9,),
                   fm_depth=0.1, B0=0.2)
    sig = simulate(exp, method="direct", progress=False).signal.ravel()
    assert sig[0] != 0.0 and sig[1] == pytest.approx(-sig[0], rel=1e-9)


def _columns(items, weights):
    cols = (items[:, 2] - items[:, 1]) * (items[:, 4] - items[:, 3])
    return int(cols.sum()), float((weights * cols).sum())


@pytest.mark.parametrize("kind,folds", [("uniform", True), ("symmetric", True),
                                        ("asymmetric", False)])
def test_work_items_fold_a_lattice_tip_where_the_density_allows(kind, folds):
    rho = next(iter(_sample(kind).densities.values()))
    origin = np.array([-7.5e-9, -6.5e-9, 0.0])
    voxel = np.full(3, 1e-9)
    uniform = kind == "uniform"
    centres = np.array([[0.0, 0.0, 30e-9], [0.3e-9, 0.0, 30e-9], [0.3e-9, 0.3e-9, 30e-9]])
    items, weights = P.work_items(centres, rho, origin, voxel, (1, 1), lambda: uniform)
    assert items.shape[1] == 5 and items.shape[0] == weights.shape[0]
    for t, expect in enumerate([8 * 7, 16 * 7, 16 * 14]):  # folded x and y, y only, none
        mine = items[:, 0] == t
        summed, weighted = _columns(items[mine], weights[mine])
        assert weighted == 16 * 14  # every column counted once, with its weight
        assert summed == (expect if folds else 16 * 14)
    items, weights = P.work_items(centres, rho, origin, voxel, (0, 0), lambda: uniform)
    assert np.all(weights == 1.0) and _columns(items, weights)[0] == 3 * 16 * 14
