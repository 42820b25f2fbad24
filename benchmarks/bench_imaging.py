"""Imaging benchmarks (JSON on stdout; ``--quick`` runs in seconds).

1. Dataset throughput (items/s) with 1 and 2 LocalCluster workers in the same run
   (goal: 2 workers >= 1.7x one worker).
2. One reconstruction iteration (FISTA and Landweber) on an N^3 volume versus one forward
   FFT convolution of the same size (goal: <= 3x); N = 128, or 48 with ``--quick``.

Usage: ``python benchmarks/bench_imaging.py [--quick] [--skip-dataset]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parents[1] / "tests" / "imaging" / "test_dataset.py"


def bench_iteration(n: int, repeats: int) -> dict[str, float]:
    from mrfm.imaging.operators import ConvolutionOperator
    from mrfm.imaging.reconstruct import ReconstructionSettings, reconstruct

    rng = np.random.default_rng(0)
    shape = (n, n, n)
    kernel = rng.random(tuple(2 * s - 1 for s in shape))
    op = ConvolutionOperator(kernel, object_shape=shape, data_shape=shape)
    x = rng.random(shape)
    data = op.forward(x)
    op.forward(x)  # warm plans
    t0 = time.perf_counter()
    for _ in range(repeats):
        op.forward(x)
    forward = (time.perf_counter() - t0) / repeats
    out = {"n": n, "forward_s": forward}
    for method in ("fista", "landweber"):
        s = ReconstructionSettings(method=method, stopping="fixed", iterations=repeats)
        t0 = time.perf_counter()
        reconstruct(op, data, settings=s)
        per_iter = (time.perf_counter() - t0) / repeats
        out[f"{method}_iteration_s"] = per_iter
        out[f"{method}_ratio"] = per_iter / forward
    return out


#: the dataset's imaging grid (tests/imaging/test_dataset.py's configuration, larger)
GRID = "grid = [20, 20, 4]"


def _warm_worker(text: str, out_dir: str) -> str:
    """One item on this worker (imports, numba kernels loaded), written to its own folder."""
    import os

    from mrfm.imaging.dataset_io import run_item

    folder = Path(out_dir) / f"warm-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return run_item(text, 0, str(folder), str(folder))["status"]


def bench_dataset(count: int, rounds: int = 2) -> dict[str, float]:
    """Items per second with 1 and 2 LocalCluster workers (best of ``rounds`` runs each,
    every worker warmed by one item of its own first: with items of ~40 ms, a worker
    that loads its kernels during the timed run would be measured, not the scaling)."""
    from mrfm.imaging.dataset import connect, generate_dataset

    text = CONFIG.read_text().split('CONFIG = """', 1)[1].split('"""', 1)[0]
    text = text.replace("grid = [12, 12, 3]", GRID)
    out: dict[str, float] = {"items": count, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "exp.toml"
        cfg.write_text(text)
        for workers in (1, 2):
            client, cluster = connect(None, workers)
            try:
                client.wait_for_workers(workers)
                warm = client.run(_warm_worker, text, tmp)
                assert set(warm.values()) == {"ok"}, warm
                rates = []
                for r in range(rounds):
                    t0 = time.perf_counter()
                    done = generate_dataset(cfg, count=count, out_dir=Path(tmp) / f"w{workers}-{r}",
                                            client=client, progress=False)
                    rates.append(count / (time.perf_counter() - t0))
                    assert done["generated"] == count and done["failed"] == 0, done
                out[f"items_per_s_{workers}w_rounds"] = rates
                out[f"items_per_s_{workers}w"] = max(rates)
            finally:
                client.close()
                cluster.close()
    out["speedup_2w"] = out["items_per_s_2w"] / out["items_per_s_1w"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-dataset", action="store_true")
    args = parser.parse_args()
    result = {"quick": args.quick,
              "iteration": bench_iteration(48 if args.quick else 128, 3 if args.quick else 5)}
    if not args.skip_dataset:
        result["dataset"] = bench_dataset(6 if args.quick else 80)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
