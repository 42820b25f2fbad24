"""Solver benchmark: direct-path pair rates (CAI, OSCAR, CERMIT) and FFT-path wall time.

Usage: python benchmarks/bench_solver.py [--quick]   (prints one JSON object)

Full run: direct paths on a 32^3 slab x 16 tips; FFT path on a 256^3 sample x 256x256 tip grid.
--quick: 16^3 x 4 tips and a 64^3 x 64x64 FFT problem (seconds). Numba compilation is done
by a warm-up call first and is not timed.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from numba import get_num_threads

from mrfm.config.sections import RF, Protocol, ScanGrid
from mrfm.physics import Cantilever, Sample, SphereMagnet, SpinSpecies
from mrfm.solver import SolverSettings, simulate


class _Exp:
    """Minimal experiment object with the attributes simulate() reads."""

    def __init__(self, *, protocol, n, tips, amplitude=0.0, species="1H", B0=0.5):
        sp = SpinSpecies.from_name(species)
        self.magnet = SphereMagnet(radius=50e-9, polarization=1.8)
        voxel = 2e-9
        self.sample = Sample.slab(size=(n * voxel, n * voxel), thickness=n * voxel, density=5e28,
                                  species=species, voxel=voxel)
        self.cantilever = Cantilever(k=1e-4, f0=5e3, Q=1e4, T=4.0)
        self.amplitude = amplitude
        self.B0 = B0
        h = 20e-9
        bz = self.magnet.field(np.array([0.0, 0.0, -(h + 50e-9) - 5e-9]))[2]
        f = abs(sp.gamma) * (B0 + bz) / (2 * np.pi)
        self.rf = RF(frequency=f, B1=2e-4, fm_depth=2e-3)
        self.protocol = Protocol(name=protocol)
        self.scan = ScanGrid(x=tips[0], y=tips[1], height=np.array([h]))
        self.source_text = ""


def _time(fn):
    t = time.perf_counter()
    res = fn()
    return res, time.perf_counter() - t


def direct_rate(protocol, n, ntip, **kw):
    axis = np.linspace(-10e-9, 10e-9, ntip)
    exp = _Exp(protocol=protocol, n=n, tips=(axis, np.zeros(1)), **kw)
    small = _Exp(protocol=protocol, n=4, tips=(axis[:1], np.zeros(1)), **kw)
    simulate(small, method="direct", progress=False)  # compile
    res, dt = _time(lambda: simulate(exp, method="direct", progress=False))
    pairs = ntip * int(np.count_nonzero(next(iter(exp.sample.densities.values()))))
    return {"pairs": pairs, "seconds": dt, "pairs_per_s": pairs / dt, "peak": res.peak}


def fft_time(n, ntip):
    axis = (np.arange(ntip) - ntip // 2) * 2e-9
    exp = _Exp(protocol="CAI", n=n, tips=(axis, axis))
    small = _Exp(protocol="CAI", n=4, tips=(axis[:2], axis[:2]))
    simulate(small, method="fft", progress=False)
    res, dt = _time(lambda: simulate(exp, method="fft", progress=False))
    return {"sample": [n, n, n], "tips": [ntip, ntip], "seconds": dt, "peak": res.peak}


def mrfmsim_comparison():
    try:
        import mrfmsim  # noqa: F401
    except ImportError:
        return {"status": "not run: mrfmsim is not installed in this environment (it must "
                          "never be a dependency of mrfm; install it in a separate venv)"}
    return {"status": "installed; comparison not automated"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small problems (seconds)")
    args = ap.parse_args()
    n, ntip = (16, 4) if args.quick else (32, 16)
    out = {
        "threads": get_num_threads(),
        "quick": args.quick,
        "settings": SolverSettings().__dict__,
        "direct_CAI": direct_rate("CAI", n, ntip),
        "direct_OSCAR": direct_rate("OSCAR", max(8, n // 2), ntip, amplitude=5e-9,
                                    species="electron", B0=0.05),
        "direct_CERMIT": direct_rate("CERMIT", max(8, n // 2), ntip, amplitude=5e-9),
        "fft_CAI": fft_time(*((64, 64) if args.quick else (256, 256))),
        "mrfmsim": mrfmsim_comparison(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
