"""Layout helpers of the FFT path (:mod:`mrfm.solver.fft`): runs of equal voxel layers
(an exact saving: equal layers share one transform) and the expansion of a kernel plane
evaluated on a mirrored half (:mod:`mrfm.solver.mirror`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False)
def layer_runs(rho):
    """Occupied layers and runs of equal consecutive layers of ``rho`` (nx, ny, nz), one pass.

    Returns
    -------
    (occupied, run) : ((nz,) bool, (nz,) int64)
        Whether layer k has a nonzero voxel; the first layer of the run of exactly equal
        consecutive layers that holds layer k (layers j and k are equal when
        ``run[j] == run[k]``).
    """
    nz = rho.shape[2]
    occupied = np.zeros(nz, dtype=np.bool_)
    differs = np.zeros(nz, dtype=np.bool_)  # layer k differs from layer k - 1
    for i in range(rho.shape[0]):
        for j in range(rho.shape[1]):
            for k in range(nz):
                v = rho[i, j, k]
                if v != 0.0:
                    occupied[k] = True
                if k > 0 and v != rho[i, j, k - 1]:
                    differs[k] = True
    run = np.zeros(nz, dtype=np.int64)
    for k in range(1, nz):
        run[k] = k if differs[k] else run[k - 1]
    return occupied, run


@njit(cache=True, fastmath=False)
def add_expanded(dst, sub, ix, iy):
    """``dst[i, j] += sub[ix[i], iy[j]]`` (a kernel plane evaluated on a mirrored half)."""
    for i in range(dst.shape[0]):
        a = ix[i]
        for j in range(dst.shape[1]):
            dst[i, j] += sub[a, iy[j]]


__all__ = ["add_expanded", "layer_runs"]
