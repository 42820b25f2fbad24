"""numba helpers shared by the kernels of :mod:`mrfm.physics` and :mod:`mrfm.solver`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit


def compile_closure(fn: Callable[..., Any], suffix: str, **options: Any) -> Any:
    """``njit(cache=True, fastmath=False, **options)`` of a closure made for particular
    constants (a tip shape, a protocol family), under a name of its own.

    numba names compiled code and its environment after the qualified name, the argument
    types and a per-process counter. Closures built by one factory share the first two,
    so two of them compiled by different processes into the on-disk cache could carry the
    same symbol names, and loading both into one process then failed
    (``NRT_adapt_ndarray_to_python: 'descr' is NULL``). ``suffix`` (e.g. ``"kid1_shape0"``)
    is appended to the closure's name and qualified name, which also gives each version
    cache files of its own.
    """
    fn.__qualname__ = f"{fn.__qualname__}_{suffix}"
    fn.__name__ = f"{fn.__name__}_{suffix}"
    return njit(cache=True, fastmath=False, **options)(fn)
