"""Layout helpers of the FFT path (:mod:`mrfm.solver.fft`): mirror symmetry of the kernel
over the lateral offset grid and runs of equal voxel layers. Both are exact savings: a
mirrored offset gets the value of its mirror image, equal layers share one transform.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mrfm.solver import kernels as K


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


def mirror_symmetric(kid: int, shape_id: int, pol: np.ndarray) -> bool:
    """Whether the kernel is even in both lateral offsets: K(-dx, dy) = K(dx, -dy) = K(dx, dy).

    True for the curvature protocols (force gradient, CERMIT) under a sphere polarized
    along z: its field has B_z, |B| and the transverse magnitude even in x and in y, and
    the cantilever's swing along x maps onto itself, so d2|B|/dx2, its trajectory average,
    the slice weight and the Landau-Zener factor are all even (CAI and OSCAR use d|B|/dx,
    which is odd in x).
    """
    return (kid in (K.FORCE_GRADIENT, K.CERMIT) and shape_id == 0 and pol[0] == 0.0
            and pol[1] == 0.0)


def mirror_map(d: np.ndarray) -> tuple[slice, np.ndarray | None]:
    """The part of a uniform offset axis to evaluate, and where every offset finds its value.

    For ``d_i = d_0 + i s`` with ``-2 d_0 / s`` an integer m, offset i mirrors to m - i
    (``d_{m-i} = -d_i``). Returns ``(block, index)``: the kernel is evaluated on
    ``d[block]`` (the longer side of zero, contiguous) and the full axis is
    ``values[index]``; ``(slice(None), None)`` when the axis has no mirror pairs.
    """
    n = d.size
    if n < 2:
        return slice(None), None
    step = d[1] - d[0]
    m_float = -2.0 * d[0] / step
    m = round(m_float)
    if abs(m_float - m) > 1e-6 or m <= 0:
        return slice(None), None
    if -d[0] <= d[-1]:
        lo, hi = (m + 1) // 2, n
    else:
        lo, hi = 0, min(n, m // 2 + 1)
    idx = np.arange(n)
    inside = (idx >= lo) & (idx < hi)
    src = np.where(inside, idx, m - idx) - lo
    if np.any(src < 0) or np.any(src >= hi - lo) or hi - lo == n:
        return slice(None), None
    return slice(lo, hi), src


__all__ = ["add_expanded", "layer_runs", "mirror_map", "mirror_symmetric"]
