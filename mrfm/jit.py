"""numba helpers shared by the kernels of :mod:`mrfm.physics` and :mod:`mrfm.solver`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit


def scalar_kernel(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``njit(cache=True, fastmath=False, **options)`` without numba's reference-counting
    runtime, for the per-voxel kernels: functions of scalars and of arrays they only read
    (or caller-owned scratch they write) that allocate nothing.

    Compiled with the runtime, every call of such a function that is not inlined
    increments and decrements the reference count of each array argument (atomic
    operations): measured on this machine, a rejected voxel of the direct path cost 58 ns
    through ``_slice_leaf`` with them and 14 ns without, the field evaluation alone
    12-14 ns. numba refuses to compile a function under this decorator that allocates an
    array (no silent leak). Used bare (``@scalar_kernel``) or with options
    (``@scalar_kernel(error_model="numpy")``).
    """
    if fn is None:
        return lambda f: scalar_kernel(f, **options)
    return njit(cache=True, fastmath=False, _nrt=False, **options)(fn)


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
