"""mrfm.jit.scalar_kernel: a kernel compiled without numba's reference-counting runtime gives
the same numbers as the same source compiled with it (cos2_fraction, whose callees are
shared), and a kernel that would allocate is refused at compile time instead of leaking."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from mrfm.jit import scalar_kernel
from mrfm.solver import box_fraction as BF


def _allocates(n):
    return np.zeros(n).sum()


def test_scalar_kernel_refuses_to_allocate():
    with pytest.raises(TypingError):
        scalar_kernel(_allocates)(3)


def test_scalar_kernel_matches_the_runtime_version():
    rng = np.random.default_rng(3)
    plain = njit(BF.cos2_fraction.py_func)
    for _ in range(200):
        s0, half = rng.uniform(-1.5, 1.5), 1.0
        g = rng.normal(size=3)
        a = rng.uniform(0.05, 1.0, size=3)
        assert BF.cos2_fraction(s0, *g, *a, half) == plain(s0, *g, *a, half)
