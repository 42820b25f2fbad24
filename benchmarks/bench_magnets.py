"""Throughput of the analytic tip magnets, side by side with magpylib in the same run.

For each shape (sphere, cuboid, axially magnetized cylinder) it times mrfm computing B and the
full gradient (order 1: 12 numbers per point) at N random points in a box of +-3 magnet sizes
around the magnet (inside and outside), and magpylib computing B alone at the same points,
both through its public ``getB`` and through its raw ``magpylib.core`` kernels (magpylib is
single-threaded numpy; mrfm runs numba ``prange`` on all threads, and is also timed on one
thread). The ratios use the faster of the two magpylib timings (and, separately, ``getB``).
Times are the best of ``repeats`` interleaved runs. Prints one JSON object.

Usage::

    python benchmarks/bench_magnets.py            # 10^6 points
    python benchmarks/bench_magnets.py --quick    # 2 * 10^4 points, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import magpylib as magpy
import numba
import numpy as np

from mrfm.physics.magnets import (
    CuboidMagnet,
    CylinderMagnet,
    SphereMagnet,
    magnet_field_quantities,
)

SIZE = 100e-9


def _best_times(fns: dict, repeats: int) -> dict:
    """Best wall time of each callable; the callables are interleaved in every repeat so that
    a varying machine load affects all of them alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    return best


def _one_thread(fn):
    def run():
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            fn()
        finally:
            numba.set_num_threads(threads)

    return run


def _field_and_gradient(magnet, pts):
    """(n, 12): B and the gradient G row-major, one kernel pass."""
    return magnet_field_quantities(magnet.shape_id, magnet.params, magnet.polarization, pts,
                                   center=magnet.center, order=1)


def _cases():
    sphere = SphereMagnet(radius=0.5 * SIZE, polarization=(0.0, 0.0, 1.0))
    cuboid = CuboidMagnet(dimension=(SIZE, SIZE, 1.5 * SIZE), polarization=(0.0, 0.0, 1.0))
    cylinder = CylinderMagnet(diameter=SIZE, height=1.5 * SIZE, polarization=1.0)
    core = magpy.core

    def sphere_core(p):
        n = len(p)
        return core.magnet_sphere_Bfield(p, np.full(n, SIZE), np.tile(sphere.polarization, (n, 1)))

    def cuboid_core(p):
        n = len(p)
        return core.magnet_cuboid_Bfield(p, np.tile(cuboid.dimension, (n, 1)),
                                         np.tile(cuboid.polarization, (n, 1)))

    def cylinder_core(p):
        n = len(p)
        radius = 0.5 * cylinder.diameter
        r = np.hypot(p[:, 0], p[:, 1])
        br, _, bz = core.magnet_cylinder_axial_Bfield(
            np.full(n, 0.5 * cylinder.height / radius), r / radius, p[:, 2] / radius)
        phi = np.arctan2(p[:, 1], p[:, 0])
        jz = cylinder.polarization[2]
        return np.stack([jz * br * np.cos(phi), jz * br * np.sin(phi), jz * bz], axis=1)

    return [
        ("sphere", sphere, magpy.magnet.Sphere(diameter=SIZE, polarization=(0, 0, 1.0)),
         sphere_core),
        ("cuboid", cuboid, magpy.magnet.Cuboid(dimension=tuple(cuboid.dimension),
                                               polarization=(0, 0, 1.0)), cuboid_core),
        ("cylinder", cylinder, magpy.magnet.Cylinder(dimension=(SIZE, 1.5 * SIZE),
                                                     polarization=(0, 0, 1.0)), cylinder_core),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2e4 points, one repeat")
    parser.add_argument("-n", "--points", type=int, default=None, help="number of points")
    args = parser.parse_args(argv)
    n = args.points or (20_000 if args.quick else 1_000_000)
    repeats = 1 if args.quick else 5
    rng = np.random.default_rng(0)
    pts = rng.uniform(-3 * SIZE, 3 * SIZE, size=(n, 3))
    results = {}
    for name, magnet, source, core_fn in _cases():
        magnet.gradient(pts[:64])  # compile / load the numba cache outside the timing
        core_fn(pts[:64])
        times = _best_times({
            "mrfm": lambda m=magnet: _field_and_gradient(m, pts),
            "mrfm_1": _one_thread(lambda m=magnet: _field_and_gradient(m, pts)),
            "getB": lambda s=source: magpy.getB(s, pts),
            "core": lambda f=core_fn: f(pts),
        }, repeats)
        t_mrfm, t_mrfm_1, t_getb, t_core = (times[k] for k in ("mrfm", "mrfm_1", "getB", "core"))
        ours = _field_and_gradient(magnet, pts[:1000])[:, :3]
        ref = magpy.getB(source, pts[:1000])
        t_ref = min(t_getb, t_core)
        results[name] = {
            "mrfm_field_and_gradient_points_per_s": n / t_mrfm,
            "mrfm_field_and_gradient_points_per_s_1_thread": n / t_mrfm_1,
            "magpylib_getB_points_per_s": n / t_getb,
            "magpylib_core_B_points_per_s": n / t_core,
            "ratio_vs_fastest_magpylib": t_ref / t_mrfm,
            "ratio_vs_magpylib_getB": t_getb / t_mrfm,
            "ratio_1_thread_vs_fastest_magpylib": t_ref / t_mrfm_1,
            "max_abs_B_difference_T": float(np.max(np.abs(ours - ref))),
        }
    out = {
        "benchmark": "bench_magnets",
        "points": n,
        "repeats": repeats,
        "quick": bool(args.quick),
        "numba_threads": numba.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "magpylib": magpy.__version__,
        "results": results,
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
