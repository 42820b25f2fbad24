"""The ziggurat's tail: 1e8 normal draws counted beyond r = 3.654 and further out.

Truth: the standard normal tail P(|z| > t) = erfc(t / sqrt 2) (scipy.special). The old slow
path restarted the ziggurat when Marsaglia's tail test rejected, which drew |z| > r about
6.7 % too rarely; with 1e8 draws the expected count beyond r is 25,800 and its Poisson
standard error 0.62 %, so the 5-sigma bound (3.1 %) separates the two. The counting is a
numba kernel (no array of draws is kept), about a second.
"""

import math

import pytest
import scipy.special
from numba import njit

from mrfm.timedomain import noise

DRAWS = 100_000_000
THRESHOLDS = (noise.ZIG_R, 4.0, 4.5, 5.0)


@njit(cache=True)
def _count_beyond(k0, k1, stream, pairs, t0, t1, t2, t3):  # pragma: no cover - numba
    c0 = c1 = c2 = c3 = 0
    for n in range(pairs):
        a, b = noise.normal_pair(k0, k1, stream, n)
        for z in (abs(a), abs(b)):
            if z > t0:
                c0 += 1
                if z > t1:
                    c1 += 1
                    if z > t2:
                        c2 += 1
                        if z > t3:
                            c3 += 1
    return c0, c1, c2, c3


def test_tail_counts_match_the_normal_tail_with_1e8_draws():
    k0, k1 = noise.seed_key(20260315)
    counts = _count_beyond(k0, k1, 3, DRAWS // 2, *THRESHOLDS)
    for t, observed in zip(THRESHOLDS, counts, strict=True):
        expected = DRAWS * scipy.special.erfc(t / math.sqrt(2.0))
        assert abs(observed - expected) < 5.0 * math.sqrt(expected), (t, observed, expected)
    # the deficit of the restarting slow path would be 6.7 % beyond r: excluded here
    assert counts[0] / (DRAWS * scipy.special.erfc(noise.ZIG_R / math.sqrt(2.0))) == (
        pytest.approx(1.0, abs=0.031))
