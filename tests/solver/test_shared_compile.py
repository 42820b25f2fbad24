"""Processes that first call the same compiled closure at the same time compile it once
(:class:`mrfm.jit.SharedCompile`): one compiles and writes numba's cache, the others load it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mrfm.jit import compile_lock

KERNEL = '''
import json, sys
import numpy as np
from mrfm.jit import compile_closure

def factory(k):
    def scaled_sum(a):
        s = 0.0
        for v in a:
            s += k * v
        return s
    return compile_closure(scaled_sum, "k3")

f = factory(3.0)
value = f(np.arange(4.0))
d = f.dispatcher
print(json.dumps({"value": value, "hits": sum(d.stats.cache_hits.values()),
                  "misses": sum(d.stats.cache_misses.values())}))
'''


def test_concurrent_first_calls_compile_once(tmp_path):
    module = tmp_path / "shared_kernel.py"
    module.write_text(KERNEL)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    name = "factory.<locals>.scaled_sum_k3"
    with compile_lock(name):  # both processes reach their first call while this is held
        procs = [subprocess.Popen([sys.executable, str(module)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env,
                                  cwd=Path(__file__).resolve().parents[2])
                 for _ in range(2)]
        time.sleep(3.0)
        assert all(p.poll() is None for p in procs), "a process did not wait for the lock"
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["value"] for r in results] == [18.0, 18.0]
    # one compiled (a cache miss), the other loaded what it wrote (a hit, no miss)
    assert sorted((r["misses"], r["hits"]) for r in results) == [(0, 1), (1, 0)]
