"""Keeping numba's on-disk kernel cache in step with the package's sources.

numba caches each compiled kernel next to its source (``__pycache__/*.nbi`` index and
``*.nbc`` data files) and reuses it while *that* source file is unchanged. A compiled
kernel also holds the code of every kernel it calls (linked in, or inlined), which may
live in other files: after an edit of a callee alone, numba loads the caller's old
machine code and computes with the old callee, silently. It happens in editable
installs (the README's) updated by ``git pull``, and to anyone editing the kernels.

:func:`refresh_kernel_cache` removes, once per process, every cache file of the
numba-bearing subpackages that is older than the newest of their sources, so each kernel
is compiled again from the current code. Files written after that moment (by other
processes compiling at the same time) are kept. A tree where nothing changed costs one
``stat`` per file (about 1 ms). Caches outside the source tree (``NUMBA_CACHE_DIR``, or
numba's per-user directory for a read-only install, which a package upgrade replaces
whole) are not touched.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

#: the subpackages whose modules hold numba kernels that call each other
KERNEL_PACKAGES = ("solver", "physics", "timedomain")

_ROOT = Path(__file__).resolve().parent


def kernel_sources(root: Path = _ROOT) -> list[Path]:
    """The package's source files that hold (or feed) numba kernels."""
    files = [root / "jit.py"]
    for name in KERNEL_PACKAGES:
        files.extend(sorted((root / name).rglob("*.py")))
    return [f for f in files if f.is_file()]


def stale_cache_files(sources: Iterable[Path], trees: Iterable[Path]) -> list[Path]:
    """numba cache files under ``trees`` (in ``__pycache__`` folders) older than the newest
    of ``sources`` (modification times); [] if there are no sources."""
    times = [_mtime(f) for f in sources]
    times = [t for t in times if t is not None]
    if not times:
        return []
    newest = max(times)
    stale = []
    for tree in trees:
        for pattern in ("__pycache__/*.nbi", "__pycache__/*.nbc"):
            for f in tree.rglob(pattern):
                t = _mtime(f)
                if t is not None and t < newest:
                    stale.append(f)
    return stale


def remove_stale(sources: Iterable[Path], trees: Iterable[Path]) -> int:
    """Delete :func:`stale_cache_files`; returns how many were deleted (files that vanish
    meanwhile or cannot be deleted are skipped: numba then recompiles or, for a read-only
    tree, keeps its own per-user cache)."""
    removed = 0
    for f in stale_cache_files(sources, trees):
        try:
            f.unlink()
        except OSError:
            continue
        removed += 1
    return removed


@functools.cache
def refresh_kernel_cache() -> int:
    """Remove the package's stale numba cache files, once per process (see the module
    notes); returns how many were removed. Called when :mod:`mrfm.solver`,
    :mod:`mrfm.physics` or :mod:`mrfm.timedomain` is first imported."""
    return remove_stale(kernel_sources(), [_ROOT / name for name in KERNEL_PACKAGES])


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


__all__ = ["KERNEL_PACKAGES", "kernel_sources", "refresh_kernel_cache", "remove_stale",
           "stale_cache_files"]
