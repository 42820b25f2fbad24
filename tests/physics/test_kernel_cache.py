"""numba's on-disk cache and edits of a callee in another file (mrfm.kernel_cache).

A two-module package compiled with ``cache=True`` in fresh processes: after an edit of
the callee alone, numba computes with the old callee code cached inside the caller
(the hazard); removing the cache files older than the newest source gives the new
result. Also: which files count as stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mrfm.kernel_cache import KERNEL_PACKAGES, kernel_sources, remove_stale, stale_cache_files

_RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    if sys.argv[2] == "refresh":
        from mrfm.kernel_cache import remove_stale
        pkg = Path(sys.argv[1]) / "kpkg"
        remove_stale(sorted(pkg.glob("*.py")), [pkg])
    from kpkg.caller import g
    print(g(1.0))
""")


def _write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(textwrap.dedent(text))
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _run(root: Path, mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _RUN, str(root), mode], capture_output=True,
                         text=True, timeout=120, check=True)
    return float(out.stdout.split()[-1])


def test_removing_stale_files_recompiles_a_caller_after_a_callee_edit(tmp_path):
    pkg = tmp_path / "kpkg"
    pkg.mkdir()
    t0 = time.time_ns() - 3600 * 10**9  # an hour ago
    _write(pkg / "__init__.py", "", t0)
    _write(pkg / "callee.py", """
        from numba import njit

        @njit(cache=True)
        def f(x):
            return x + 1.0
        """, t0)
    _write(pkg / "caller.py", """
        from numba import njit
        from kpkg.callee import f

        @njit(cache=True)
        def g(x):
            return 2.0 * f(x)
        """, t0)
    assert _run(tmp_path, "plain") == 4.0  # compiled and cached
    assert list((pkg / "__pycache__").glob("caller.g-*.nbi"))
    _write(pkg / "callee.py", """
        from numba import njit

        @njit(cache=True)
        def f(x):
            return x + 2.0
        """, time.time_ns())  # edited after the cache was written; caller.py not
    assert _run(tmp_path, "plain") == 4.0  # numba's cache still holds the old callee
    assert _run(tmp_path, "refresh") == 6.0
    assert _run(tmp_path, "plain") == 6.0  # the new cache files are kept


def test_stale_files_are_those_older_than_the_newest_source(tmp_path):
    src = tmp_path / "a.py"
    src.write_text("")
    cache = tmp_path / "sub" / "__pycache__"
    cache.mkdir(parents=True)
    old, new, other = cache / "a.f-1.py311.nbi", cache / "a.f-1.py311.1.nbc", cache / "a.pyc"
    for f in (old, new, other):
        f.write_text("")
    os.utime(src, ns=(2 * 10**18, 2 * 10**18))
    os.utime(old, ns=(1 * 10**18, 1 * 10**18))
    os.utime(other, ns=(1 * 10**18, 1 * 10**18))
    os.utime(new, ns=(3 * 10**18, 3 * 10**18))
    assert stale_cache_files([src], [tmp_path]) == [old]
    assert remove_stale([src], [tmp_path]) == 1
    assert not old.exists() and new.exists() and other.exists()
    assert stale_cache_files([], [tmp_path]) == []


def test_kernel_sources_cover_the_numba_subpackages():
    sources = kernel_sources()
    names = {p.relative_to(p.parents[1]).as_posix() for p in sources}
    assert "solver/slice.py" in names and "physics/_sphere.py" in names
    assert "timedomain/chain.py" in names
    assert {p.parent.name for p in sources if p.name == "__init__.py"} >= set(KERNEL_PACKAGES)
