"""Compile the solver's numba kernels ahead of the tests that use them (not a test module).

``tests/conftest.py`` starts this script in the background when the whole suite runs on
pytest-xdist workers. On a cold cache (a fresh clone) numba spends 5-50 s of CPU on each
protocol's kernels (the solver compiles one specialization per protocol and tip shape).
Compiled here, from the start of the run, they are in numba's on-disk cache by the time
most solver tests need them. A test (or a CLI subprocess of one) that gets to a kernel
while this script compiles it waits for it and loads it (:class:`mrfm.jit.SharedCompile`):
each kernel is compiled once. That is also why this runs at the workers' priority: at a
lower one the waiting workers would wait on a starved compiler. Tiny problems through
the public solver, as the tests run it, so the compiled specializations are exactly the
ones the tests load. Nothing is asserted here: the tests check the numbers.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

#: (protocol settings of tests/solver/helpers.make_exp) in the order the suite needs them
CASES = (
    dict(protocol="CAI", fm_depth=3e-3),
    dict(protocol="OSCAR", amplitude=6e-9, B1=2e-4, B0=0.05),
    dict(protocol="CERMIT", fm_depth=3e-3, amplitude=4e-9),
    dict(protocol="force-gradient"),
)


def main() -> int:
    warnings.simplefilter("ignore")  # e.g. CERMIT's slice missing this tiny sample
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mrfm.physics import Sample
    from mrfm.solver import simulate
    from tests.solver.helpers import ELECTRON, PROTON, make_exp

    x = np.arange(-1, 2) * 5e-9  # one voxel pitch: the FFT path applies
    for case in CASES:
        species = ELECTRON if case["protocol"] == "OSCAR" else PROTON
        sample = Sample(origin=np.array([-2.5e-9, -2.5e-9, -7.5e-9]), voxel=np.full(3, 5e-9),
                        densities={species.name: np.full((2, 2, 2), 5e28)},
                        points={species.name: np.array([[1e-9, 2e-9, -3e-9]])})
        exp = make_exp(sample=sample, species=species, x=x, y=x, **case)
        for method in ("direct", "fft"):
            simulate(exp, method=method)
    return 0


if __name__ == "__main__":
    sys.exit(main())
