"""Fast special cases of the direct path, each against the general (slow) evaluation.

- the tabulated Landau-Zener moments (``fundamental_moments_tabulated``)
  against the graded-mesh quadrature of :func:`~mrfm.solver.box_fraction.fundamental_moments`;
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrfm.solver import box_fraction as BF


def test_tabulated_lz_moments_match_the_quadrature():
    rng = np.random.default_rng(7)
    ks = np.concatenate([[0.0, 1e-12, 1e-6, 1e-3, 0.27, 1.0, 39.999, 40.0],
                         rng.uniform(0.0, 40.0, 200), 10.0 ** rng.uniform(-6.0, 1.6, 200)])
    worst = 0.0
    for k in ks:
        m0, m2 = BF.fundamental_moments(False, k)
        t0, t2 = BF.fundamental_moments_tabulated(False, k)
        worst = max(worst, abs(t0 - m0), abs(t2 - m2))
    assert worst < 5e-11  # |m0| <= 2, |m2| <= 1/2
    # the limits: k = 0 (every passage fails, retention -1) and ideal (closed forms)
    assert BF.fundamental_moments_tabulated(False, 0.0)[0] == pytest.approx(-2.0, abs=1e-12)
    assert BF.fundamental_moments_tabulated(False, 0.0)[1] == pytest.approx(-0.5, abs=1e-12)
    assert BF.fundamental_moments_tabulated(False, 41.0) == (2.0, 0.5)
    assert BF.fundamental_moments_tabulated(True, 1.0) == pytest.approx(
        (64.0 / (3.0 * math.pi**2), 64.0 / (15.0 * math.pi**2)), rel=1e-15)
