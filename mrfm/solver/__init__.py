"""Force-signal solver: every MRFM detection protocol over a grid of tip positions.

``simulate(exp)`` returns a :class:`SignalMap`. The signal of a rigid sample
is ``S(r_t) = sum_v rho_v V K(r_v - r_t)`` (+ point spins), with the
protocol's kernel K (CAI, OSCAR, iOSCAR, CERMIT, force-gradient; see
:mod:`mrfm.solver.protocols`) integrated over each voxel with an exact
treatment of thin resonance slices (:mod:`mrfm.solver.slice`). Two
evaluation paths give the same numbers: direct summation
(:mod:`mrfm.solver.direct`) and FFT correlation for tip grids commensurate
with the voxel grid (:mod:`mrfm.solver.fft`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrfm.kernel_cache import refresh_kernel_cache

refresh_kernel_cache()  # numba cache files older than the kernels' sources go

if TYPE_CHECKING:
    from mrfm.solver.protocols import SolverSettings
    from mrfm.solver.result import SignalMap
    from mrfm.solver.simulation import (
        METHODS,
        ResonanceOutsideSampleWarning,
        choose_method,
        sample_top,
        simulate,
    )

#: public name -> the submodule that defines it. They are imported on first use (PEP 562),
#: so ``from mrfm.solver.result import SignalMap`` (``mrfm plot``) does not import numba
#: and the compiled paths.
_LAZY = {
    "METHODS": "simulation",
    "ResonanceOutsideSampleWarning": "simulation",
    "choose_method": "simulation",
    "sample_top": "simulation",
    "simulate": "simulation",
    "SignalMap": "result",
    "SolverSettings": "protocols",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mrfm.solver' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"mrfm.solver.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["METHODS", "ResonanceOutsideSampleWarning", "SignalMap", "SolverSettings",
           "choose_method", "sample_top", "simulate"]
