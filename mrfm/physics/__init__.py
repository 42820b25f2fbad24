"""Physics models of an MRFM experiment: cantilever, tip magnets, spins, sample and stage.

All quantities are SI. The magnet classes live in :mod:`mrfm.physics.magnets` and are
imported on first use, so ``import mrfm.physics`` stays light (no numba compilation).
"""

from __future__ import annotations

from mrfm.kernel_cache import refresh_kernel_cache
from mrfm.lazy_exports import lazy_exports
from mrfm.physics.cantilever import Cantilever
from mrfm.physics.sample import Sample
from mrfm.physics.spins import SpinSpecies
from mrfm.physics.stage import Stage

refresh_kernel_cache()  # numba cache files older than the kernels' sources go

_LAZY = {
    "SphereMagnet": "mrfm.physics.magnets",
    "CuboidMagnet": "mrfm.physics.magnets",
    "CylinderMagnet": "mrfm.physics.magnets",
}

__all__ = [
    "Cantilever",
    "CuboidMagnet",
    "CylinderMagnet",
    "Sample",
    "SphereMagnet",
    "SpinSpecies",
    "Stage",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
