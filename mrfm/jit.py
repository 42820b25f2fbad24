"""numba helpers shared by the kernels of :mod:`mrfm.physics` and :mod:`mrfm.solver`."""

from __future__ import annotations

import contextlib
import fcntl
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from numba import njit
from numba.core.errors import NumbaIRAssumptionWarning


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


def inlined_kernel(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """:func:`scalar_kernel` that LLVM inlines into every numba caller (``forceinline``:
    the compiled function carries LLVM's ``alwaysinline`` attribute and is inlined when the
    caller's module is linked and optimized), for large per-voxel functions called from
    many places.

    numba's own ``inline="always"`` copies the callee's IR, with everything inlined into
    it, at every call site and at every typing of a call inside an inlined overload:
    the force gradient's curvature (:func:`mrfm.solver.curvature.field_and_curvature`) was
    copied 11 times into one compilation of the direct path. Compiled once per signature
    and inlined by LLVM instead, the per-voxel code is the same after optimization (the
    same numbers, the same speed in paired runs) and the direct path's first compilation
    for the force gradient took 12 instead of about 50 CPU-seconds (docs/PERFORMANCE.md,
    "Which inlining pays"). Used bare or with options, as :func:`scalar_kernel`.
    """
    if fn is None:
        return lambda f: inlined_kernel(f, **options)
    return scalar_kernel(fn, forceinline=True, **options)


#: ``jit_options`` of an ``@overload`` (e.g. a compile-time protocol dispatch) whose
#: implementation is a scalar kernel called from its numba callers rather than inlined into
#: them: compiled without the reference-counting runtime, as :func:`scalar_kernel`.
#: Inlining (``inline="always"``) copies the implementation's IR, and that of everything
#: inlined into it, at every call site: numba deep-copies it block by block, so the cost
#: grows with the size of the inlined tree (docs/PERFORMANCE.md, "Which inlining pays")
SCALAR_OVERLOAD = {"_nrt": False}


def compile_closure(fn: Callable[..., Any], suffix: str, **options: Any) -> Any:
    """``njit(cache=True, fastmath=False, **options)`` of a closure made for particular
    constants (a tip shape, a protocol family), under a name of its own.

    numba names compiled code and its environment after the qualified name, the argument
    types and a per-process counter. Closures built by one factory share the first two,
    so two of them compiled by different processes into the on-disk cache could carry the
    same symbol names, and loading both into one process then failed
    (``NRT_adapt_ndarray_to_python: 'descr' is NULL``). ``suffix`` (e.g. ``"kid1_shape0"``)
    is appended to the closure's name and qualified name, which also gives each version
    cache files of its own. Returned as a :class:`SharedCompile` (the dispatcher is its
    ``dispatcher``): processes compiling it at the same time compile it once.
    """
    fn.__qualname__ = f"{fn.__qualname__}_{suffix}"
    fn.__name__ = f"{fn.__name__}_{suffix}"
    return shared_kernel(fn, **options)


def shared_kernel(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``njit(cache=True, fastmath=False, **options)`` of a kernel that only Python calls
    (an entry point, never called from other kernels), as a :class:`SharedCompile`: its
    first compilation is shared between the processes that start it at the same time.
    Used bare (``@shared_kernel``) or with options."""
    if fn is None:
        return lambda f: shared_kernel(f, **options)
    return SharedCompile(njit(cache=True, fastmath=False, **options)(fn))


#: folder of the compile locks of :class:`SharedCompile` (one empty file per kernel)
LOCK_DIR = Path(tempfile.gettempdir()) / "mrfm-numba-locks"


@contextlib.contextmanager
def compile_lock(name: str) -> Iterator[None]:
    """An exclusive lock, across the processes of this machine, named ``name``.

    ``flock`` on a file in :data:`LOCK_DIR`: released when the holder's file is closed,
    also when the holder dies. Where the lock file cannot be made (no writable temporary
    folder) nothing is locked: each process then compiles for itself, as without it.
    """
    try:
        LOCK_DIR.mkdir(exist_ok=True)
        fh = open(LOCK_DIR / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".lock"), "a")  # noqa: SIM115
    except OSError:
        yield
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


class SharedCompile:
    """A compiled kernel whose first compilation in a process is shared with the others.

    On a cold cache, processes that start the same kernels at the same time (the workers
    of a dataset, a test suite's workers, a scan beside a simulation) each used to compile
    it: 20-50 s of CPU per protocol, as many times as processes. Here the first call of a
    process compiles (or loads from numba's on-disk cache) under :func:`compile_lock`:
    one process compiles and writes the cache, the others wait and then load it. Calls
    then go straight to the numba dispatcher (``dispatcher``)."""

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        self._ready = False

    def __call__(self, *args: Any) -> Any:
        if not self._ready:
            d = self.dispatcher
            sig = tuple(d.typeof_pyval(a) for a in args)
            if sig not in d.overloads:
                with compile_lock(d.py_func.__qualname__), warnings.catch_warnings():
                    # numba's own consistency check of inlined IR (NumbaIRAssumptionWarning,
                    # "variable ... is not in scope ... please report") fires while it
                    # compiles some of the solver's kernels; the compiled kernels are the
                    # ones the tests check, and a user cannot act on it
                    warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
                    d.compile(sig)
            self._ready = True
        return self.dispatcher(*args)
