"""Counter-based random numbers (Philox-4x32-10 + ziggurat) used inside the kernels.

Truths: the Random123 known-answer vectors for Philox-4x32-10 (tests/kat_vectors of
github.com/DEShawResearch/random123; Salmon et al., SC'11 (2011)); Marsaglia & Tsang's
256-layer ziggurat edge r = 3.6541528853610088 (J. Stat. Softw. 5(8) (2000)); the standard
normal and uniform distributions (scipy.stats); equipartition <x^2> = kB T / k.

Statistical tolerances (fixed seeds, so the tests are deterministic; the bounds are what a
correct generator passes with probability > 0.999 for a random seed): means within 5
standard errors (1/sqrt N), variances within 5 standard errors (sqrt(2/N)), correlations
|rho| < 5/sqrt(N), Kolmogorov–Smirnov and chi-square p-values > 1e-3.
"""

import math

import numpy as np
import pytest
import scipy.constants as sc
import scipy.optimize
import scipy.special
import scipy.stats

from mrfm.timedomain import noise
from mrfm.timedomain.oscillator import discretize, propagate_thermal

N = 1_000_000


@pytest.mark.parametrize("counter, key, expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(counter, key, expected):
    assert tuple(int(v) for v in noise.philox([counter], [key])[0]) == expected


def test_ziggurat_tables():
    assert noise.ZIG_R == pytest.approx(3.6541528853610088, rel=1e-13)  # Marsaglia & Tsang
    # the stored edge is the root of the top layer's closure, as brentq finds it again
    edges = noise.ziggurat_edges
    solved = scipy.optimize.brentq(lambda t: edges(t)[1], 3.0, 4.5, xtol=1e-15, rtol=1e-15,
                                   maxiter=200)
    assert abs(solved - noise.ZIG_R) <= 1e-15 + 1e-15 * noise.ZIG_R
    assert edges(noise.ZIG_R - 1e-12)[1] > 0.0 > edges(noise.ZIG_R + 1e-12)[1]
    x, f = noise.ZIG_X, noise.ZIG_F
    assert np.all(np.diff(x[1:]) < 0) and x[-1] == 0.0
    r = noise.ZIG_R
    v = r * math.exp(-r * r / 2) + math.sqrt(math.pi / 2) * scipy.special.erfc(r / math.sqrt(2))
    areas = x[1:256] * (f[2:257] - f[1:256])  # layers 1..255
    np.testing.assert_allclose(areas, v, rtol=1e-10)
    assert x[0] * f[0] == pytest.approx(v, rel=1e-14)  # base layer incl. the tail
    # 256 layers of area v cover the half-density sqrt(pi/2) plus the ziggurat overhang
    assert 256 * v > math.sqrt(math.pi / 2)


def test_normals_moments_and_distribution():
    z = noise.normals(12345, 1, 0, N // 2).reshape(-1)
    assert abs(z.mean()) < 5 / math.sqrt(N)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / N)
    assert abs(scipy.stats.skew(z)) < 5 * math.sqrt(6 / N)
    assert abs(scipy.stats.kurtosis(z)) < 5 * math.sqrt(24 / N)
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-3
    # chi-square over 200 equiprobable bins (exercises every ziggurat layer and wedge)
    edges = scipy.stats.norm.ppf(np.linspace(0, 1, 201))
    counts, _ = np.histogram(z, bins=edges)
    assert scipy.stats.chisquare(counts).pvalue > 1e-3
    # the tail beyond r comes from the exact tail algorithm: P(|z| > r) = erfc(r/sqrt 2)
    p_tail = scipy.special.erfc(noise.ZIG_R / math.sqrt(2))
    observed = np.count_nonzero(np.abs(z) > noise.ZIG_R)
    assert abs(observed - N * p_tail) < 5 * math.sqrt(N * p_tail)
    assert np.abs(z).max() > noise.ZIG_R


def test_uniforms_distribution():
    u = noise.uniforms(7, 3, 10, N)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert scipy.stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / (12 * N))


def test_independence_between_streams_slots_seeds_and_lags():
    n = N // 2
    a = noise.normals(1, 1, 0, n)
    tol = 5 / math.sqrt(n)
    others = {"stream 2": noise.normals(1, 2, 0, n)[:, 0],
              "seed 0 (keys differ in one bit)": noise.normals(0, 1, 0, n)[:, 0],
              "seed 2**32 (high key word)": noise.normals(2**32 + 1, 1, 0, n)[:, 0],
              "slot 1": a[:, 1], "lag 1": np.roll(a[:, 0], 1)}
    for name, b in others.items():
        assert abs(np.corrcoef(a[:, 0], b)[0, 1]) < tol, name
    # squares too (a dependence in magnitude would not show in the plain correlation)
    assert abs(np.corrcoef(a[:, 0] ** 2, a[:, 1] ** 2)[0, 1]) < tol
    assert abs(np.corrcoef(a[:, 0] ** 2, others["stream 2"] ** 2)[0, 1]) < tol
    # shared bits: layer index, sign and abscissa come from disjoint bits of one word
    same = np.count_nonzero(a[:, 0] == others["stream 2"])
    assert same == 0


def test_buffered_draws_equal_per_sample_draws_and_pieces():
    k0, k1 = noise.seed_key(99)
    n0, n = 3 * 2**32 + 5, 3 * noise.FILL_BLOCK + 7  # counter crosses into the high word
    one = np.empty((n, 2))
    noise.normals_unbuffered(k0, k1, 4, n0, one)
    np.testing.assert_array_equal(noise.normals(99, 4, n0, n), one)
    parts = np.concatenate([noise.normals(99, 4, n0, 10), noise.normals(99, 4, n0 + 10, n - 10)])
    np.testing.assert_array_equal(parts, one)
    u = np.empty(n)
    noise.uniforms_unbuffered(k0, k1, 4, n0, u)
    np.testing.assert_array_equal(noise.uniforms(99, 4, n0, n), u)
    with pytest.raises(ValueError):
        noise.seed_key(-1)


def test_thermal_kernel_is_chunk_independent_and_obeys_equipartition():
    """One record of 2e6 samples at Q = 10 (correlation time Q/(pi f0) = 13 samples at
    dt = T0/20): the variance estimate has a relative SE ~ sqrt(2 * 2 * 13 / 2e6) = 0.7 %;
    tolerance 4 %."""
    k, f0, q, temp = 1e-4, 5e3, 10.0, 4.2
    w0 = 2 * math.pi * f0
    d = discretize(k=k, omega0=w0, Q=q, temperature=temp, dt=1 / (20 * f0))
    n = 2_000_000
    x, v = np.empty(n), np.empty(n)
    xe, ve = propagate_thermal(d.phi, d.gamma_in, d.chol, 0.0, 0.0, 3, 0, 1, 0, np.empty(0),
                               x, v)
    assert np.var(x[1000:]) == pytest.approx(sc.k * temp / k, rel=0.04)
    assert np.var(v[1000:]) == pytest.approx(sc.k * temp * w0**2 / k, rel=0.04)
    # the same record in two pieces (the second starts at an odd, mid-block index)
    cut = noise.FILL_BLOCK * 3 + 11
    x2, v2 = np.empty(n), np.empty(n)
    s = propagate_thermal(d.phi, d.gamma_in, d.chol, 0.0, 0.0, 3, 0, 1, 0, np.empty(0),
                          x2[:cut], v2[:cut])
    e = propagate_thermal(d.phi, d.gamma_in, d.chol, s[0], s[1], 3, 0, 1, cut, np.empty(0),
                          x2[cut:], v2[cut:])
    np.testing.assert_array_equal(x, x2)
    assert e == (xe, ve)
