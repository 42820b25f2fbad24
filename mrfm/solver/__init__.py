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
from mrfm.lazy_exports import lazy_exports

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

#: public name -> the module that defines it, imported on first use (PEP 562): reading a
#: map's dataclass (``mrfm plot``, ``from mrfm.solver.result import SignalMap``) does not
#: import numba and the compiled paths
_LAZY = {
    "METHODS": "mrfm.solver.simulation",
    "ResonanceOutsideSampleWarning": "mrfm.solver.simulation",
    "choose_method": "mrfm.solver.simulation",
    "sample_top": "mrfm.solver.simulation",
    "simulate": "mrfm.solver.simulation",
    "SignalMap": "mrfm.solver.result",
    "SolverSettings": "mrfm.solver.protocols",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = ["METHODS", "ResonanceOutsideSampleWarning", "SignalMap", "SolverSettings",
           "choose_method", "sample_top", "simulate"]
